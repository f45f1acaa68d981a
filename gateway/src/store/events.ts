/** The `events` table: the durable window of the event stream (see events/bus.ts). */
import type { EventType, GatewayEvent, NewEvent } from '../events/types.js'
import type { Db } from './db.js'

/** What a reader of the stream asks for: after an id, of some types, inside a region, of a hazard. */
export interface EventFilter {
  readonly after: number
  readonly types?: readonly EventType[] | undefined
  /** A 12-digit code: events whose region lies inside it (prefix match). */
  readonly regionPrefix?: string | undefined
  readonly hazard?: string | undefined
  readonly limit: number
}

const eventFrom = (r: Record<string, unknown>): GatewayEvent =>
  ({
    id: r.id as number,
    at: r.at as number,
    type: r.type as EventType,
    region: r.region as string | null,
    hazard: r.hazard as string | null,
    data: JSON.parse(r.data as string) as unknown,
  }) as GatewayEvent

export class EventStore {
  constructor(private readonly db: Db) {}

  /** Appends an event (inside the caller's transaction, if any) and returns it with its id. */
  append(e: NewEvent, at: number): GatewayEvent {
    const info = this.db
      .prepare('INSERT INTO events (at, type, region, hazard, data) VALUES (?, ?, ?, ?, ?)')
      .run(at, e.type, e.region ?? null, e.hazard ?? null, JSON.stringify(e.data))
    return { ...e, region: e.region ?? null, hazard: e.hazard ?? null, id: Number(info.lastInsertRowid), at }
  }

  /** Whether an event is stored (false when the transaction that wrote it rolled back). */
  has(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM events WHERE id = ?').get(id) !== undefined
  }

  /** Events after `filter.after` that match, oldest first. */
  read(filter: EventFilter): GatewayEvent[] {
    const where = ['id > ?']
    const args: unknown[] = [filter.after]
    if (filter.types && filter.types.length > 0) {
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`)
      args.push(...filter.types)
    }
    if (filter.regionPrefix !== undefined) {
      where.push('substr(region, 1, ?) = ?')
      args.push(filter.regionPrefix.length, filter.regionPrefix)
    }
    if (filter.hazard !== undefined) {
      where.push('hazard = ?')
      args.push(filter.hazard)
    }
    return (
      this.db
        .prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
        .all(...args, filter.limit) as Record<string, unknown>[]
    ).map(eventFrom)
  }

  /** The oldest and newest ids kept (0 when empty). */
  bounds(): { oldest: number; newest: number } {
    const r = this.db
      .prepare('SELECT coalesce(min(id), 0) AS oldest, coalesce(max(id), 0) AS newest FROM events')
      .get() as {
      oldest: number
      newest: number
    }
    if (r.newest === 0) {
      // Empty window: the next id still follows the last one ever given (AUTOINCREMENT).
      const seq = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
        { seq: number } | undefined
      return { oldest: (seq?.seq ?? 0) + 1, newest: seq?.seq ?? 0 }
    }
    return r
  }

  /** Drops events older than `before` (wall clock) and beyond the newest `maxRows`. Returns how many. */
  prune(before: number, maxRows: number): number {
    const byAge = this.db.prepare('DELETE FROM events WHERE at < ?').run(before).changes
    const { newest } = this.bounds()
    const byCount = this.db.prepare('DELETE FROM events WHERE id <= ?').run(newest - maxRows).changes
    return byAge + byCount
  }
}
