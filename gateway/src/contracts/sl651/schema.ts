/** zod schemas of an SL 651 station's identity, shared by the registry and the simulator's scenarios. */
import { z } from 'zod'

/** 遥测站地址: 10 hex digits (a hydrological station's is BCD: 00 and its SL 502 code, §6.2.3.2). */
export const Sl651Address = z
  .string()
  .regex(/^[0-9A-Fa-f]{10}$/, 'expected the 10 hex digits of the 5-byte station address')
  .transform((a) => a.toUpperCase())

/** 密码: 4 hex digits (2 bytes, §6.2.3.3). */
export const Sl651Password = z
  .string()
  .regex(/^[0-9A-Fa-f]{4}$/, 'expected the 4 hex digits of the 2-byte password')
  .transform((p) => p.toUpperCase())
