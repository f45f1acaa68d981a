/**
 * The gateway's HTTP API as the console uses it: every call carries the session's bearer token;
 * a 401 ends the session (the login screen says why); a refused command names its reason.
 */
import type { LoggedIn } from './types.js'

const KEY = 'shaobing.session'

export interface Session {
  readonly token: string
  readonly operator: LoggedIn['operator']
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; reason?: string } | undefined,
  ) {
    super(body?.message ?? body?.reason ?? body?.error ?? `HTTP ${status}`)
  }
}

let session: Session | null = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null
  } catch {
    return null
  }
})()
let onExpired: () => void = () => {}

export const currentSession = (): Session | null => session
export function setSession(s: Session | null): void {
  session = s
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s))
  else sessionStorage.removeItem(KEY)
}
/** Called once when the gateway refuses the session's token (expired, revoked, logged out). */
export function whenExpired(f: () => void): void {
  onExpired = f
}

export const authHeaders = (): Record<string, string> =>
  session ? { authorization: `Bearer ${session.token}` } : {}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  const parsed = text ? (JSON.parse(text) as unknown) : undefined
  if (res.status === 401 && session && path !== '/api/login') {
    setSession(null)
    onExpired()
  }
  if (!res.ok) throw new ApiError(res.status, parsed as ApiError['body'])
  return parsed as T
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path)
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body)
