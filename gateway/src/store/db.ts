/**
 * The embedded SQLite database (better-sqlite3, WAL). One file per gateway holds readings,
 * warnings with their versions, and per-terminal deliveries.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from './migrations.js'

export type Db = Database.Database
/** A prepared statement, for the modules outside store/ that own the SQL of their tables. */
export type Statement = Database.Statement<unknown[]>

export interface OpenOptions {
  readonly dataDir: string
  readonly synchronous: 'normal' | 'full'
}

/** The database file in a data directory. */
export const dbFile = (dataDir: string): string => join(dataDir, 'shaobing.db')

export function openDb(opts: OpenOptions): Db {
  mkdirSync(opts.dataDir, { recursive: true })
  const db = new Database(dbFile(opts.dataDir))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`)
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)
  cacheStatements(db)
  return db
}

/** A migrated database in memory: the unit tests' store (same schema, no file). */
export function openMemoryDb(): Db {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  migrate(db)
  cacheStatements(db)
  return db
}

/** Runs `fn` in one transaction (nested ones become savepoints); what it throws rolls it all back. */
export const atomically = <T>(db: Db, fn: () => T): T => db.transaction(fn)()

const uncached = new WeakMap<Db, Db['prepare']>()

/**
 * A statement of the caller's own, never shared through the cache, that returns rows as arrays:
 * for a hot read of many rows, where building an object per row is the cost (measured on the
 * sink's backlog read: half the time).
 */
export function prepareRaw(db: Db, sql: string): Statement {
  const prepare = uncached.get(db) ?? db.prepare.bind(db)
  return prepare(sql).raw(true) as Statement
}

/**
 * better-sqlite3 compiles the SQL on every prepare(); the gateway's modules prepare where they
 * query, so each statement is compiled once here and reused (the SQL texts are a fixed set, so the
 * cache stays small). Statements from it are never switched to raw, pluck or expand mode, which a
 * shared statement would carry over (`prepareRaw` makes one of its own instead).
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db)
  uncached.set(db, prepare)
  const cache = new Map<string, Database.Statement>()
  db.prepare = ((sql: string) => {
    let st = cache.get(sql)
    if (!st) {
      st = prepare(sql)
      cache.set(sql, st)
    }
    return st
  }) as Db['prepare']
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
