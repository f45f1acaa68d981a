/**
 * Operator accounts, their login sessions and their API tokens. An account carries a password hash,
 * never a password; sessions and tokens are kept only as the SHA-256 of the bearer token, so a copy
 * of the database lets nobody in. `shaobing operator` writes here while the gateway runs; the
 * gateway reads these tables on every authenticated request, so a change applies at once.
 */
import type { OperatorRole } from '../contracts/api.js'
import type { Db } from './db.js'

export interface OperatorAccount {
  readonly id: string
  readonly name: string
  readonly roles: readonly OperatorRole[]
  /** scrypt PHC string (security/passwords.ts). */
  readonly hash: string
  /** Created by `shaobing demo` with a printed password: a real deployment refuses to start with one. */
  readonly demo: boolean
  /** Consecutive wrong passwords since the last good one (or the last lock). */
  readonly failedLogins: number
  /** No password login before this (epoch ms); null when not locked. */
  readonly lockedUntil: number | null
  readonly passwordChangedAt: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly disabledAt: number | null
}

export interface SessionRow {
  readonly id: number
  readonly operatorId: string
  readonly createdAt: number
  /** The absolute end; a session also ends when unused for the idle timeout. */
  readonly expiresAt: number
  readonly lastUsedAt: number
  readonly revokedAt: number | null
}

export interface TokenRow {
  readonly id: string
  readonly operatorId: string
  readonly name: string
  /** The scope: a subset of the owner's roles when it was made (narrowed again at each use). */
  readonly roles: readonly OperatorRole[]
  readonly createdBy: string
  readonly createdAt: number
  readonly expiresAt: number | null
  readonly lastUsedAt: number | null
  readonly revokedAt: number | null
}

const accountFrom = (r: Record<string, unknown>): OperatorAccount => ({
  id: r.id as string,
  name: r.name as string,
  roles: JSON.parse(r.roles as string) as OperatorRole[],
  hash: r.hash as string,
  demo: r.demo === 1,
  failedLogins: r.failed_logins as number,
  lockedUntil: r.locked_until as number | null,
  passwordChangedAt: r.password_changed_at as number,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  disabledAt: r.disabled_at as number | null,
})

const sessionFrom = (r: Record<string, unknown>): SessionRow => ({
  id: r.id as number,
  operatorId: r.operator_id as string,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number,
  lastUsedAt: r.last_used_at as number,
  revokedAt: r.revoked_at as number | null,
})

const tokenFrom = (r: Record<string, unknown>): TokenRow => ({
  id: r.id as string,
  operatorId: r.operator_id as string,
  name: r.name as string,
  roles: JSON.parse(r.roles as string) as OperatorRole[],
  createdBy: r.created_by as string,
  createdAt: r.created_at as number,
  expiresAt: r.expires_at as number | null,
  lastUsedAt: r.last_used_at as number | null,
  revokedAt: r.revoked_at as number | null,
})

export type NewAccount = Pick<OperatorAccount, 'id' | 'name' | 'roles' | 'hash' | 'demo'>

export class OperatorStore {
  constructor(private readonly db: Db) {}

  // ---- accounts ------------------------------------------------------------------------------

  get(id: string): OperatorAccount | undefined {
    const r = this.db.prepare('SELECT * FROM operator_accounts WHERE id = ?').get(id) as
      Record<string, unknown> | undefined
    return r ? accountFrom(r) : undefined
  }

  list(): OperatorAccount[] {
    return (
      this.db.prepare('SELECT * FROM operator_accounts ORDER BY id').all() as Record<string, unknown>[]
    ).map(accountFrom)
  }

  /** Adds an account; false if the id is taken. */
  add(a: NewAccount, at: number): boolean {
    return (
      this.db
        .prepare(
          `INSERT INTO operator_accounts (id, name, roles, hash, demo, password_changed_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        )
        .run(a.id, a.name, JSON.stringify(a.roles), a.hash, a.demo ? 1 : 0, at, at, at).changes > 0
    )
  }

  /** Changes the name and/or the roles. */
  update(id: string, patch: { name?: string; roles?: readonly OperatorRole[] }, at: number): boolean {
    const a = this.get(id)
    if (!a) return false
    this.db
      .prepare('UPDATE operator_accounts SET name = ?, roles = ?, updated_at = ? WHERE id = ?')
      .run(patch.name ?? a.name, JSON.stringify(patch.roles ?? a.roles), at, id)
    return true
  }

  /**
   * A new password hash. It clears the failures and any lock, and the demo mark (with `demo`
   * false): a password someone set is no longer the printed one.
   */
  setHash(id: string, hash: string, at: number, demo = false): boolean {
    return (
      this.db
        .prepare(
          `UPDATE operator_accounts SET hash = ?, demo = ?, failed_logins = 0, locked_until = NULL,
             password_changed_at = ?, updated_at = ? WHERE id = ?`,
        )
        .run(hash, demo ? 1 : 0, at, at, id).changes > 0
    )
  }

  setDisabled(id: string, disabled: boolean, at: number): boolean {
    return (
      this.db
        .prepare(
          disabled
            ? 'UPDATE operator_accounts SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL'
            : 'UPDATE operator_accounts SET disabled_at = NULL, updated_at = ? WHERE id = ? AND disabled_at IS NOT NULL',
        )
        .run(...(disabled ? [at, at, id] : [at, id])).changes > 0
    )
  }

  /**
   * One more wrong password. The failure that reaches `maxFailures` locks the account until
   * `lockUntil` and starts the count again. Returns the count after it and whether it locked.
   */
  recordFailure(id: string, maxFailures: number, lockUntil: number): { failed: number; locked: boolean } {
    return this.db.transaction(() => {
      const r = this.db
        .prepare(
          'UPDATE operator_accounts SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins',
        )
        .get(id) as { failed_logins: number } | undefined
      const failed = r?.failed_logins ?? 0
      if (failed < maxFailures) return { failed, locked: false }
      this.db
        .prepare('UPDATE operator_accounts SET failed_logins = 0, locked_until = ? WHERE id = ?')
        .run(lockUntil, id)
      return { failed, locked: true }
    })()
  }

  /** A good password: the failures start again from none. */
  clearFailures(id: string): void {
    this.db
      .prepare('UPDATE operator_accounts SET failed_logins = 0 WHERE id = ? AND failed_logins > 0')
      .run(id)
  }

  /** Lifts a lock and forgets the failures; false if there was neither. */
  unlock(id: string, at: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE operator_accounts SET failed_logins = 0, locked_until = NULL, updated_at = ?
           WHERE id = ? AND (failed_logins > 0 OR locked_until IS NOT NULL)`,
        )
        .run(at, id).changes > 0
    )
  }

  /** Enabled accounts the demo created whose printed password is still theirs. */
  demoAccounts(): string[] {
    return (
      this.db
        .prepare('SELECT id FROM operator_accounts WHERE demo = 1 AND disabled_at IS NULL ORDER BY id')
        .all() as { id: string }[]
    ).map((r) => r.id)
  }

  // ---- sessions ------------------------------------------------------------------------------

  addSession(tokenSha256: string, operatorId: string, at: number, expiresAt: number): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO operator_sessions (token_sha256, operator_id, created_at, expires_at, last_used_at)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(tokenSha256, operatorId, at, expiresAt, at).lastInsertRowid,
    )
  }

  session(tokenSha256: string): SessionRow | undefined {
    const r = this.db.prepare('SELECT * FROM operator_sessions WHERE token_sha256 = ?').get(tokenSha256) as
      Record<string, unknown> | undefined
    return r ? sessionFrom(r) : undefined
  }

  touchSession(id: number, at: number): void {
    this.db.prepare('UPDATE operator_sessions SET last_used_at = ? WHERE id = ?').run(at, id)
  }

  /** Ends one session (logout); false if it had ended already. */
  revokeSession(id: number, at: number): boolean {
    return (
      this.db
        .prepare('UPDATE operator_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(at, id).changes > 0
    )
  }

  /** Ends every session of an account but `except` (a password change keeps the one that made it). */
  revokeSessions(operatorId: string, at: number, except?: number): number {
    return this.db
      .prepare(
        'UPDATE operator_sessions SET revoked_at = ? WHERE operator_id = ? AND revoked_at IS NULL AND id IS NOT ?',
      )
      .run(at, operatorId, except ?? null).changes
  }

  /** Forgets sessions that ended before `before` (expired or revoked): they can never be used again. */
  pruneSessions(before: number): number {
    return this.db
      .prepare('DELETE FROM operator_sessions WHERE expires_at < ? OR revoked_at < ?')
      .run(before, before).changes
  }

  // ---- API tokens ----------------------------------------------------------------------------

  addToken(t: Omit<TokenRow, 'lastUsedAt' | 'revokedAt'>, tokenSha256: string): void {
    this.db
      .prepare(
        `INSERT INTO operator_tokens (id, token_sha256, operator_id, name, roles, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.id,
        tokenSha256,
        t.operatorId,
        t.name,
        JSON.stringify(t.roles),
        t.createdBy,
        t.createdAt,
        t.expiresAt,
      )
  }

  token(tokenSha256: string): TokenRow | undefined {
    const r = this.db.prepare('SELECT * FROM operator_tokens WHERE token_sha256 = ?').get(tokenSha256) as
      Record<string, unknown> | undefined
    return r ? tokenFrom(r) : undefined
  }

  tokens(operatorId: string): TokenRow[] {
    return (
      this.db
        .prepare('SELECT * FROM operator_tokens WHERE operator_id = ? ORDER BY created_at, id')
        .all(operatorId) as Record<string, unknown>[]
    ).map(tokenFrom)
  }

  touchToken(id: string, at: number): void {
    this.db.prepare('UPDATE operator_tokens SET last_used_at = ? WHERE id = ?').run(at, id)
  }

  /** Revokes one of an account's tokens; false if it has no such token or it was revoked already. */
  revokeToken(operatorId: string, tokenId: string, at: number): boolean {
    return (
      this.db
        .prepare(
          'UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND operator_id = ? AND revoked_at IS NULL',
        )
        .run(at, tokenId, operatorId).changes > 0
    )
  }
}
