/**
 * Operators authenticate with a bearer token; the configuration holds only its SHA-256. Read-only
 * endpoints are open on the (loopback by default) HTTP port; everything that changes state needs
 * an operator, and approving needs the approver role.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { GatewayConfigFile } from '../config/schema.js'

export type Operator = GatewayConfigFile['operators'][number]
export type Role = Operator['roles'][number]

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/** The operator whose token the `Authorization: Bearer …` header carries, if any. */
export function authenticate(
  header: string | undefined,
  operators: readonly Operator[],
): Operator | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '')
  if (!m) return undefined
  const digest = Buffer.from(sha256Hex(m[1]!), 'hex')
  return operators.find((o) => timingSafeEqual(Buffer.from(o.tokenSha256, 'hex'), digest))
}
