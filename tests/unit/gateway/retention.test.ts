/**
 * Retention on an in-memory store: the raw period, the rules' windows behind each station's latest
 * reading, the sinks' cursor, tight passes at the budget, late readings merged into a folded
 * bucket, buckets dropped after their own period.
 */
import { describe, expect, test } from 'vitest'
import { openMemoryDb } from '../../../gateway/src/store/db.js'
import { ReadingStore, type Reading } from '../../../gateway/src/store/readings.js'
import { Retention } from '../../../gateway/src/store/retention.js'

const H = 3_600_000
const D = 24 * H
const NOW = Date.UTC(2026, 11, 4, 12)

function setup(opts: { cursor?: number; lookbackMs?: number; now?: () => number } = {}) {
  const db = openMemoryDb()
  const store = new ReadingStore(db, { batchMaxMessages: 100_000, batchMaxDelayMs: 1000, now: () => NOW })
  let now = NOW
  const retention = new Retention(db, ':memory:', {
    rawMs: 30 * D,
    everyMs: H,
    downsampledMs: 400 * D,
    lookbackMs: () => opts.lookbackMs ?? 4 * D,
    sinkCursor: () => opts.cursor,
    now: opts.now ?? (() => now),
  })
  const add = (sensorId: string, ts: number, values: Record<string, number>) => {
    const r: Reading = { stationId: sensorId.toUpperCase(), sensorId, kind: 'rain', ts, values }
    store.add(r, (e) => {
      if (e) throw e
    })
  }
  const raw = (sensorId: string) =>
    (
      db.prepare('SELECT ts FROM readings WHERE sensor_id = ? ORDER BY ts').all(sensorId) as { ts: number }[]
    ).map((r) => r.ts)
  return { db, store, retention, add, raw, setNow: (t: number) => (now = t) }
}

describe('retention', () => {
  test('readings past the raw period are folded into hourly buckets; newer ones stay raw', async () => {
    const { store, retention, add, raw } = setup()
    // A reading every 10 minutes from 40 to 20 days ago.
    for (let t = NOW - 40 * D; t < NOW - 20 * D; t += 10 * 60_000) add('rg1', t, { rain_mm: 0.5 })
    store.flush()
    const r = await retention.pass()
    const cut = NOW - 30 * D
    expect(r).toEqual({ folded: 10 * 24 * 6, unsent: 0, droppedBuckets: 0 })
    expect(raw('rg1').every((t) => t >= cut)).toBe(true)
    const buckets = retention.aggregates('RG1', 0, NOW, 10_000)
    expect(buckets).toHaveLength(10 * 24)
    expect(buckets[0]).toEqual({
      sensorId: 'rg1',
      kind: 'rain',
      bucket: NOW - 40 * D,
      span: H,
      n: 6,
      stats: { rain_mm: { min: 0.5, max: 0.5, sum: 3, n: 6, last: 0.5, lastTs: NOW - 40 * D + 50 * 60_000 } },
    })
    // A second pass finds nothing more to fold.
    expect((await retention.pass()).folded).toBe(0)
  })

  test('a station whose readings all stopped long ago keeps the rules’ windows behind its latest raw', async () => {
    const { store, retention, add, raw } = setup({ lookbackMs: 4 * D })
    for (let t = NOW - 100 * D; t <= NOW - 90 * D; t += H) add('rg2', t, { rain_mm: 1 })
    store.flush()
    await retention.pass()
    const latest = NOW - 90 * D
    expect(raw('rg2')[0]).toBeGreaterThanOrEqual(latest - 4 * D - H)
    expect(raw('rg2').at(-1)).toBe(latest)
  })

  test('readings a history sink has not sent wait for it; a tight pass takes them and counts them', async () => {
    const { db, store, retention, add, raw } = setup({ cursor: 100, lookbackMs: H })
    for (let i = 0; i < 300; i++) add('rg3', NOW - 60 * D + i * 60_000, { rain_mm: 0.1 })
    store.flush()
    const ids = (db.prepare('SELECT min(id) AS lo FROM readings').get() as { lo: number }).lo
    expect(ids).toBe(1)
    expect(await retention.pass()).toEqual({ folded: 100, unsent: 0, droppedBuckets: 0 })
    expect(raw('rg3')).toHaveLength(200)
    const tight = await retention.pass(true)
    expect(tight.unsent).toBe(tight.folded)
    expect(tight.folded).toBeGreaterThan(0)
  })

  test('a late reading into a folded bucket is merged into it, not counted twice', async () => {
    const { store, retention, add } = setup()
    const hour = NOW - 40 * D
    add('rg4', hour + 10 * 60_000, { rain_mm: 1 })
    add('rg4', hour + 20 * 60_000, { rain_mm: 2 })
    add('rg4', NOW - D, { rain_mm: 0 })
    store.flush()
    await retention.pass()
    add('rg4', hour + 5 * 60_000, { rain_mm: 4 }) // a logger's backlog, weeks late
    store.flush()
    await retention.pass()
    const [b] = retention.aggregates('RG4', hour, hour + 1, 10)
    expect(b).toMatchObject({
      n: 3,
      stats: { rain_mm: { min: 1, max: 4, sum: 7, n: 3, last: 2, lastTs: hour + 20 * 60_000 } },
    })
  })

  test('buckets past their own period are dropped', async () => {
    const { store, retention, add, setNow } = setup()
    add('rg5', NOW - 40 * D, { rain_mm: 1 })
    add('rg5', NOW - D, { rain_mm: 1 })
    store.flush()
    await retention.pass()
    expect(retention.aggregates('RG5', 0, NOW, 10)).toHaveLength(1)
    setNow(NOW + 400 * D)
    expect((await retention.pass()).droppedBuckets).toBe(1)
    expect(retention.aggregates('RG5', 0, NOW + 400 * D, 10)).toHaveLength(0)
  })

  test('a reconfigured raw period applies at the next pass', async () => {
    const { store, retention, add, raw } = setup()
    for (let t = NOW - 20 * D; t < NOW - 10 * D; t += H) add('rg6', t, { rain_mm: 1 })
    store.flush()
    expect((await retention.pass()).folded).toBe(0)
    retention.configure({ rawMs: 15 * D, everyMs: H, downsampledMs: 400 * D })
    expect((await retention.pass()).folded).toBe(5 * 24)
    expect(raw('rg6')[0]).toBe(NOW - 15 * D)
  })
})
