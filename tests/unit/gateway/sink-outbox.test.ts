/**
 * The sink's line protocol (escaping, bounded tags) and its durable outbox on a real SQLite file:
 * the cursor over the readings table, outbox rows acknowledged only when accepted, a failed batch
 * read again unchanged, thinning beyond the bound, and a restart resuming from the cursor.
 */
import { mkdtempSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  line,
  readingLine,
  readingSeries,
  storedReadingLine,
  warningLine,
} from '../../../gateway/src/sinks/influx/lines.js'
import { seriesIds, SinkOutbox, type Batch, type OutboxOptions } from '../../../gateway/src/sinks/outbox.js'
import { dbFile, openDb, type Db } from '../../../gateway/src/store/db.js'
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

  test('the stored-reading fast path writes byte for byte what readingLine writes, and falls back where it cannot', () => {
    const place = { region: '511823100201' }
    const cases: [Record<string, number>, Record<string, number> | undefined][] = [
      [{ stage_m: 30.5 }, undefined],
      [
        { rain_mm: 0, t: -1.25e-7 },
        { rain_mm_sum_1h: 12.5, rain_mm_sum_3h: 1e21 },
      ],
      [{ rain_mm: 2 }, { rain_mm: 3 }], // an aggregate named like a value: the slow way
      [{}, { x_sum_1h: 1 }],
      [{}, undefined],
    ]
    for (const [values, derived] of cases) {
      const r = { stationId: 'RG 1', sensorId: 'rg-1', kind: 'rain', ts: 1_784_073_600_000, values, derived }
      const slow = () => readingLine(r, place)
      expect(
        storedReadingLine(
          readingSeries(r, place),
          JSON.stringify(values),
          derived ? JSON.stringify(derived) : null,
          r.ts,
          slow,
        ),
      ).toBe(slow())
    }
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

/** The sink's own formatting: the series from readingSeries, the slow way through readingLine. */
const place = { region: '511823100201' }
const opts = (over: Partial<OutboxOptions> = {}): OutboxOptions => ({
  maxBacklog: 1_000_000,
  thinToMs: 600_000,
  maxEvents: 1000,
  readingLine: (r) =>
    readingLine(
      { ...seriesIds(r.series), ts: r.ts, values: JSON.parse(r.vals) as Record<string, number> },
      place,
    ),
  series: (sensorId, stationId, kind) => readingSeries({ sensorId, stationId, kind }, place),
  ...over,
})
/** A batch's lines. */
const lines = (b: Batch): string[] => b.parts.flatMap((p) => p.split('\n'))
/** The line of test reading `i` of sensor `sensor`. */
const rg = (i: number, sensor = 'rg') =>
  `reading,kind=rain,region=511823100201,sensor=${sensor},station=${sensor.toUpperCase()} rain_mm=${i} ${i * 60_000}`

describe('the outbox', () => {
  test('outbox rows come first, then readings in order; nothing moves until acknowledged; a restart resumes from the cursor', () => {
    const { dataDir, db, add } = fixture()
    add('rg', 0, 10)
    let box = new SinkOutbox(db, 'influx', opts())
    box.enqueue('event', ['warning a', 'warning b'], 1)
    const first = box.next(5)
    expect(lines(first)).toEqual(['warning a', 'warning b', rg(0), rg(1), rg(2)])
    expect(first.points).toBe(5)
    expect(first.counts).toEqual({ reading: 3, event: 2, snapshot: 0 })
    // Not acknowledged (the write failed): read again, the same.
    expect(lines(box.next(5))).toEqual(lines(first))
    box.ack(first, 100)
    expect(box.depth()).toEqual({ readings: 7, outbox: 0 })
    // A new outbox: the cursor is in the database, not in memory.
    db.close()
    const db2 = openDb({ dataDir, synchronous: 'normal' })
    box = new SinkOutbox(db2, 'influx', opts())
    expect(lines(box.next(100))).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => rg(i)))
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
      expect(lines(box.next(200))).toEqual(lines(b)) // unacknowledged: the same again
      sent.push(...lines(b))
      thinned += b.thinned
      box.ack(b, 0)
    }
    const beyond = Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 10 === 0)
    const within = Array.from({ length: 1000 }, (_, i) => 2000 + i)
    expect(sent).toEqual([...beyond, ...within].map((i) => rg(i)))
    expect(thinned).toBe(2000 - beyond.length)
  })

  test('the backlog written by SQLite is byte for byte what readingLine writes, values, aggregates and all', () => {
    const { db } = fixture()
    const store = new ReadingStore(db, { batchMaxMessages: 100, batchMaxDelayMs: 1000, now: () => 0 })
    const shapes: [Record<string, number>, Record<string, number> | undefined][] = [
      [{ stage_m: 30.5 }, undefined],
      [
        { rain_mm: 0, t: -1.25e-7 },
        { rain_mm_sum_1h: 12.5, rain_mm_sum_3h: 1e21 },
      ],
      [{}, { x_sum_1h: 1 }],
      [{}, undefined], // nothing to write
      [{ a: 1, b: 2, c: 3 }, { a_max_10m: 4 }],
    ]
    shapes.forEach(([values, derived], i) =>
      store.add({ stationId: 'ST-1', sensorId: 'sen-1', kind: 'k', ts: 1000 + i, values, derived }, () => {}),
    )
    store.flush()
    const b = new SinkOutbox(db, 'influx', opts()).next(100)
    const want = shapes
      .map(([values, derived], i) =>
        readingLine(
          { stationId: 'ST-1', sensorId: 'sen-1', kind: 'k', ts: 1000 + i, values, derived },
          place,
        ),
      )
      .filter((l) => l !== undefined)
    expect(lines(b)).toEqual(want)
    expect(b.points).toBe(4)
    expect(b.counts.reading).toBe(4)
  })

  test.each([
    ['on the event loop', false],
    ['in the reader thread', true],
  ])(
    'interleaved sensors in batches, read %s: lines in id order, the series SQL remembers right, made again when the registry changes',
    async (_how, readInWorker) => {
      const { db } = fixture()
      const store = new ReadingStore(db, { batchMaxMessages: 10_000, batchMaxDelayMs: 1000, now: () => 0 })
      const shapes: Record<string, number>[] = [{ rain_mm: 1 }, { rain_mm: 0.5, t: -3 }, { a: 1, b: 2, c: 3 }]
      const rows: {
        stationId: string
        sensorId: string
        kind: string
        ts: number
        values: Record<string, number>
      }[] = []
      for (let i = 0; i < 5000; i++) {
        // 37 sensors in a scrambled order; sensor s-3 reports from two stations (moved in the field).
        const s = (i * 17) % 37
        const stationId = s === 3 && i % 2 === 0 ? 'ST-3B' : `ST-${s}`
        rows.push({ stationId, sensorId: `s-${s}`, kind: 'rain', ts: i * 1000, values: shapes[i % 3]! })
      }
      for (const r of rows) store.add(r, () => {})
      store.flush()
      let region = '511823100201'
      let version = 1
      const box = new SinkOutbox(
        db,
        'influx',
        opts({
          series: (sensorId, stationId, kind) => readingSeries({ sensorId, stationId, kind }, { region }),
          seriesVersion: () => version,
          readInWorker,
          onReaderFailed: (err) => {
            throw err
          },
        }),
      )
      expect(box.readsInWorker).toBe(readInWorker)
      const want = (from: number, to: number) =>
        rows.slice(from, to).map((r) => readingLine({ ...r, derived: undefined }, { region }))
      const read = async (n: number): Promise<string[]> => {
        const got: string[] = []
        while (got.length < n) {
          const b = await box.nextAsync(700)
          if (b.empty) break
          got.push(...lines(b))
          box.ack(b, 0)
        }
        return got
      }
      expect(await read(2800)).toEqual(want(0, 2800))
      // The registry moves every station to another village: the series are made again.
      region = '511823100202'
      version++
      expect(await read(2200)).toEqual(want(2800, 5000))
      expect(box.readsInWorker).toBe(readInWorker) // it never fell back
      await box.close()
    },
  )

  test('a reader thread that cannot read is reported once, and the outbox reads on the event loop instead', async () => {
    const { dataDir, db, add } = fixture()
    add('rg', 0, 10)
    const failures: Error[] = []
    const box = new SinkOutbox(
      db,
      'influx',
      opts({ readInWorker: true, onReaderFailed: (e) => failures.push(e) }),
    )
    // The file goes before the worker (still starting) opens it; this connection keeps its own.
    unlinkSync(dbFile(dataDir))
    const first = await box.nextAsync(4)
    expect(lines(first)).toEqual([0, 1, 2, 3].map((i) => rg(i)))
    box.ack(first, 0)
    expect(lines(await box.nextAsync(100))).toEqual([4, 5, 6, 7, 8, 9].map((i) => rg(i)))
    expect(failures).toHaveLength(1)
    expect(box.readsInWorker).toBe(false)
    await box.close()
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
    const got = lines(box.next(5000))
    expect(got.filter((l) => l.startsWith('e'))).toHaveLength(600)
    expect(got.filter((l) => l.startsWith('s'))).toEqual(Array.from({ length: 500 }, (_, i) => `s${100 + i}`))
  })
})
