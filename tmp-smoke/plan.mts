import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDb } from '../gateway/src/store/db.ts'
import { ReadingStore } from '../gateway/src/store/readings.ts'
const db = openDb({ dataDir: mkdtempSync(join(tmpdir(), 'p-')), synchronous: 'normal' })
console.log(db.prepare('EXPLAIN QUERY PLAN SELECT id, station_id, sensor_id, kind, ts, received_at, vals, derived FROM readings WHERE id > ? ORDER BY id LIMIT ?').all(0, 10))
const store = new ReadingStore(db, { batchMaxMessages: 50000, batchMaxDelayMs: 1000, now: Date.now })
for (let i = 0; i < 200000; i++) store.add({ stationId: `WL-${i % 200}`, sensorId: `wl-${i % 200}`, kind: 'water_level', ts: 1e12 + Math.floor(i / 200) * 60000, values: { stage_m: 30.5 } }, () => {})
store.close()
const st = db.prepare('SELECT id, station_id, sensor_id, kind, ts, received_at, vals, derived FROM readings WHERE id > ? ORDER BY id LIMIT ?')
let t = performance.now(); let c = 0
for (let from = 0; from < 200000; from += 5000) c += st.all(from, 5000).length
console.log('all()', c, (performance.now() - t).toFixed(0), 'ms')
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 5000) for (const r of st.iterate(from, 5000)) c++
console.log('iterate()', c, (performance.now() - t).toFixed(0), 'ms')
t = performance.now(); c = 0
const st2 = db.prepare('SELECT id FROM readings WHERE id > ? ORDER BY id LIMIT ?')
for (let from = 0; from < 200000; from += 5000) c += st2.all(from, 5000).length
console.log('id only', c, (performance.now() - t).toFixed(0), 'ms')
const st3 = db.prepare('SELECT vals FROM readings WHERE id > ? ORDER BY id LIMIT ?')
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 5000) c += st3.all(from, 5000).length
console.log('vals only', c, (performance.now() - t).toFixed(0), 'ms')
console.log(db.pragma('cache_size'), db.pragma('page_size'), db.pragma('mmap_size'))
const st4 = db.prepare(`SELECT id, ts, sensor_id || char(31) || station_id || char(31) || kind AS k, replace(replace(substr(vals, 2, length(vals) - 2), '":', '='), '"', '') || CASE WHEN derived IS NULL THEN '' ELSE ',' || replace(replace(substr(derived, 2, length(derived) - 2), '":', '='), '"', '') END || ' ' || ts AS tail FROM readings WHERE id > ? ORDER BY id LIMIT ?`)
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 5000) c += st4.all(from, 5000).length
console.log('sql-built', c, (performance.now() - t).toFixed(0), 'ms', st4.get(0, 1))
const st5 = db.prepare(`SELECT id, ts, sensor_id || char(31) || station_id || char(31) || kind AS series, vals, derived FROM readings WHERE id > ? ORDER BY id LIMIT ?`)
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 5000) c += st5.all(from, 5000).length
console.log('series+vals', c, (performance.now() - t).toFixed(0), 'ms')
const st6 = db.prepare(`SELECT id, ts, sensor_id || char(31) || station_id || char(31) || kind AS series, vals, derived FROM readings WHERE id > ? ORDER BY id LIMIT ? -- raw`).raw(true)
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 5000) c += st6.all(from, 5000).length
console.log('raw series+vals', c, (performance.now() - t).toFixed(0), 'ms')
t = performance.now(); c = 0
for (let from = 0; from < 200000; from += 625) c += st5.all(from, 625).length
console.log('series+vals slices of 625', c, (performance.now() - t).toFixed(0), 'ms')
