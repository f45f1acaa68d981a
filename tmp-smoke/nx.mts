import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDb } from '../gateway/src/store/db.ts'
import { ReadingStore } from '../gateway/src/store/readings.ts'
import { SinkOutbox, seriesIds } from '../gateway/src/sinks/outbox.ts'
import { readingSeries, storedReadingLine } from '../gateway/src/sinks/influx/lines.ts'
const N = 200_000
const db = openDb({ dataDir: mkdtempSync(join(tmpdir(), 'p-')), synchronous: 'normal' })
const store = new ReadingStore(db, { batchMaxMessages: 50000, batchMaxDelayMs: 1000, now: Date.now })
for (let i = 0; i < N; i++) store.add({ stationId: `WL-${i % 200}`, sensorId: `wl-${i % 200}`, kind: 'water_level', ts: 1.78e12 + Math.floor(i / 200) * 60000, values: { stage_m: 30 + (i % 190) / 100 } }, () => {})
store.close()
const cache = new Map<string, string>()
for (const mode of ['none', 'format']) {
  const box = new SinkOutbox(db, 'x' + mode, { maxBacklog: 1e9, thinToMs: 1, maxEvents: 1e6, readingLine: mode === 'none' ? () => 'x' : (r) => { let s = cache.get(r.series); if (!s) { s = readingSeries(seriesIds(r.series), { region: '511823100201' }); cache.set(r.series, s) } return storedReadingLine(s, r.vals, r.derived, r.ts, () => undefined) } })
  const t = performance.now(); let n = 0
  for (;;) { const b = box.next(5000); if (b.empty) break; n += b.lines.length; box.ack(b, 0) }
  console.log(mode, n, ((performance.now() - t) / n * 1000).toFixed(2), 'µs/row')
}
