import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { openDb } from '../gateway/src/store/db.ts'
import { ReadingStore } from '../gateway/src/store/readings.ts'
import { InfluxSink } from '../gateway/src/sinks/influx/sink.ts'
import { createMetrics } from '../gateway/src/metrics.ts'
import { InfluxSinkConfig } from '../gateway/src/config/schema.ts'
import { startVictoriaMetrics } from '../tests/helpers/services.ts'
const N = 200_000
const db = openDb({ dataDir: mkdtempSync(join(tmpdir(), 'p-')), synchronous: 'normal' })
const store = new ReadingStore(db, { batchMaxMessages: 50000, batchMaxDelayMs: 1000, now: Date.now })
for (let i = 0; i < N; i++) store.add({ stationId: `WL-${i % 200}`, sensorId: `wl-${i % 200}`, kind: 'water_level', ts: 1.78e12 + Math.floor(i / 200) * 60000, values: { stage_m: 30 + (i % 190) / 100 } }, () => {})
store.close()
const vm = await startVictoriaMetrics()
const metrics = createMetrics()
const registry = { station: () => ({ region: '511823100201' }) }
const sink = new InfluxSink({ db, config: InfluxSinkConfig.parse({ url: vm.url, org: 'o', bucket: 'b', batchSize: Number(process.argv[2] ?? 5000), gzipAbove: Number(process.argv[3] ?? 1000) }), runtime: (() => ({ registry })) as never, warnings: { get: () => undefined, active: () => [] }, coverage: () => [], metrics, log: pino({ level: 'silent' }), now: Date.now })
const t0 = performance.now()
sink.start()
const c = metrics.sinkWritten.labels('influx', 'reading')
for (;;) { const v = (await metrics.registry.getSingleMetric('shaobing_sink_points_written_total')!.get()).values.find((x) => x.labels.class === 'reading')!.value; if (v >= N) break; await new Promise((r) => setTimeout(r, 5)) }
console.log('sink', Math.round(N / ((performance.now() - t0) / 1000)), 'points/s'); void c
await sink.stop(); await vm.close()
