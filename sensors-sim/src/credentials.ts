/**
 * How simulated devices log in, as real ones are provisioned: each device's username is its id
 * (sensor or terminal id, the same as its client id) with the password it was given; sensors
 * sharing a concentrator's connections log in as the concentrator. The file is JSON:
 *
 *   { "devices": { "wl-lw-01": "<password>", "T-001": "<password>" }, "concentrator": "dtu-01" }
 *
 * `shaobing demo` writes one for its demo identities; tests and benchmarks enroll their own.
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'

export const SimCredentials = z.strictObject({
  devices: z.record(z.string().min(1), z.string().min(1)),
  /** The identity shared links log in as (a station-role identity covering their stations). */
  concentrator: z.string().min(1).optional(),
  /** Operator accounts' passwords (`shaobing demo` keeps them here too); the simulator ignores them. */
  operators: z.record(z.string().min(1), z.string().min(1)).optional(),
})
export type SimCredentials = z.infer<typeof SimCredentials>

export function loadCredentials(file: string): SimCredentials {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new Error(`cannot read credentials ${file}: ${(e as Error).message}`)
  }
  const r = SimCredentials.safeParse(json)
  if (!r.success) throw new Error(`credentials ${file}: ${r.error.issues[0]?.message ?? 'invalid'}`)
  return r.data
}

/** MQTT connect options for `username`; none without credentials (a gateway that does not authenticate). */
export function login(
  creds: SimCredentials | undefined,
  username: string,
): { username: string; password: string } | Record<string, never> {
  if (!creds) return {}
  const password = creds.devices[username]
  if (password === undefined) throw new Error(`no credentials for device ${username}`)
  return { username, password }
}
