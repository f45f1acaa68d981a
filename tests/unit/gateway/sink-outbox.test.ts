/**
 * The sink's line protocol (escaping, bounded tags) and its durable outbox on a real SQLite file:
 * the cursor over the readings table, outbox rows acknowledged only when accepted, a failed batch
 * read again unchanged, thinning beyond the bound, and a restart resuming from the cursor.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { line, readingLine, warningLine } from '../../../gateway/src/sinks/influx/lines.js'
import { SinkOutbox, type OutboxOptions } from '../../../gateway/src/sinks/outbox.js'
import { openDb, type Db } from '../../../gateway/src/store/db.js'
import { ReadingStore } from '../../../gateway/src/store/readings.js'

describe('line protocol', () => {
  test('escapes measurement, tag and field syntax, sorts tags, leaves out empty tags and non-finite numbers', () => {
    expect(
      line(
        'reading',
        { station: 'S 1,a=b', kind: 'rain', site: undefined, region: '' },
        { rain_mm: 1.5, bad: Number.NaN, n: { int: 3 }, text: 'say "hi" \\ now', ok: true },
        1_700_000_000_123.7,
      ),
    ).toBe(
      'reading,kind=rain,station=S\\ 1\\,a\\=b rain_mm=1.5,n=3i,text="say \\"hi\\" \\\\ now",ok=true 1700000000123',
    )
    expect(line('x', {}, { a: Number.POSITIVE_INFINITY }, 1)).toBeUndefined()
  })

  test('a reading carries its station, sensor, kind, region and site as tags; values and aggregates as fields', () => {
    expect(
      readingLine(
        {
          stationId: 'GAS-PK-01',
          sensorId: 'gas-pk-01',
          kind: 'gas',
          ts: 5,
          values: { lel_pct: 12 },
          derived: { lel_pct_max_10m: 20 },
        },
        { region: '511823100301', site: 'plant-a' },
      ),
    ).toBe(
      'reading,kind=gas,region=511823100301,sensor=gas-pk-01,site=plant-a,station=GAS-PK-01 lel_pct=12,lel_pct_max_10m=20 5',
    )
  })

  test('a warning keeps its id and text as fields, never as tags (unbounded)', () => {
    const l = warningLine({
      warningId: 'w-123',
      ruleId: 'manual',
      hazard: 'flash_flood',
      region: '511823100201',
      action: 'issue',
      status: 'Actual',
      level: 'red',
      version: 1,
      targets: 4,
      text: '山洪红色预警，立即转移',
      at: 9,
    })
    expect(l).toBe(
      'warning,action=issue,hazard=flash_flood,region=511823100201,rule=manual,status=Actual level=4i,version=1i,targets=4i,warning_id="w-123",text="山洪红色预警，立即转移" 9',
    )
  })
})

function fixture() {
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-outbox-'))
  const db = openDb({ dataDir, synchronous: 'normal' })
  const store = new ReadingStore(db, { batchMaxMessages: 10_000, batchMaxDelayMs: 1000, now: () => 0 })
  const add = (sensor: string, from: number, to: number) => {
    for (let i = from; i < to; i++)
      store.add(
        {
          stationId: sensor.toUpperCase(),
          sensorId: sensor,
          kind: 'rain',
          ts: i * 60_000,
          values: { rain_mm: i },
        },
        () => {},
      )
    store.flush()
  }
  return { dataDir, db, add }
}

const opts = (over: Partial<OutboxOptions> = {}): OutboxOptions => ({
  maxBacklog: 1_000_000,
  thinToMs: 600_000,
  maxEvents: 1000,
  readingLine: (r) => `${r.sensor_id}:${r.ts / 60_000}`,
  ...over,
})

describe('the outbox', () => {
  test('outbox rows come first, then readings in order; nothing moves until acknowledged; a restart resumes from the cursor', () => {
    const { dataDir, db, add } = fixture()
    add('rg', 0, 10)
    let box = new SinkOutbox(db, 'influx', opts())
    box.enqueue('event', ['warning a', 'warning b'], 1)
    const first = box.next(5)
    expect(first.lines).toEqual(['warning a', 'warning b', 'rg:0', 'rg:1', 'rg:2'])
    expect(first.counts).toEqual({ reading: 3, event: 2, snapshot: 0 })
    // Not acknowledged (the write failed): read again, the same.
    expect(box.next(5).lines).toEqual(first.lines)
    box.ack(first, 100)
    expect(box.depth()).toEqual({ readings: 7, outbox: 0 })
    // A new outbox: the cursor is in the database, not in memory.
    db.close()
    const db2 = openDb({ dataDir, synchronous: 'normal' })
    box = new SinkOutbox(db2, 'influx', opts())
    expect(box.next(100).lines).toEqual(['rg:3', 'rg:4', 'rg:5', 'rg:6', 'rg:7', 'rg:8', 'rg:9'])
    db2.close()
  })

  test('beyond the bound readings are thinned to one per sensor per thinTo; a failed thinned batch is read again the same', () => {
    const { db, add } = fixture()
    add('rg', 0, 3000) // one a minute for 50 hours
    const box = new SinkOutbox(db, 'influx', opts({ maxBacklog: 1000 }))
    const sent: string[] = []
    let thinned = 0
    for (;;) {
      const b = box.next(200)
      if (b.empty) break
      expect(box.next(200).lines).toEqual(b.lines) // unacknowledged: the same again
      sent.push(...b.lines)
      thinned += b.thinned
      box.ack(b, 0)
    }
    const beyond = Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 10 === 0)
    const within = Array.from({ length: 1000 }, (_, i) => 2000 + i)
    expect(sent).toEqual([...beyond, ...within].map((i) => `rg:${i}`))
    expect(thinned).toBe(2000 - beyond.length)
  })

  test('at maxEvents the oldest snapshots make room; events are never dropped', () => {
    const { db } = fixture()
    const dropped: number[] = []
    const box = new SinkOutbox(
      db as Db,
      'influx',
      opts({ maxEvents: 1000, onDropped: (_c, n) => dropped.push(n) }),
    )
    box.enqueue(
      'snapshot',
      Array.from({ length: 600 }, (_, i) => `s${i}`),
      0,
    )
    box.enqueue(
      'event',
      Array.from({ length: 600 }, (_, i) => `e${i}`),
      0,
    )
    expect(dropped).toEqual([100])
    const lines = box.next(5000).lines
    expect(lines.filter((l) => l.startsWith('e'))).toHaveLength(600)
    expect(lines.filter((l) => l.startsWith('s'))).toEqual(
      Array.from({ length: 500 }, (_, i) => `s${100 + i}`),
    )
  })
})
