import { InfluxDB } from '@influxdata/influxdb-client'
import { startVictoriaMetrics } from '../tests/helpers/services.ts'
import { readingLine } from '../gateway/src/sinks/influx/lines.ts'
const N = 200_000, B = Number(process.argv[2] ?? 5000)
const lines = Array.from({ length: N }, (_, i) => readingLine({ stationId: `WL-${String(i % 200).padStart(5, '0')}`, sensorId: `wl-${String(i % 200).padStart(5, '0')}`, kind: 'water_level', ts: 1784073600000 + Math.floor(i / 200) * 60000, values: { stage_m: 30 + (i % 190) / 100 } }, { region: '511823100201' })!)
for (const conc of [1, 2, 4]) {
  const vm = await startVictoriaMetrics()
  const apis = Array.from({ length: conc }, () => new InfluxDB({ url: vm.url }).getWriteApi('o', 'b', 'ms', { batchSize: B + 1, flushInterval: 0, maxRetries: 0, gzipThreshold: 1000, maxBatchBytes: 1 << 30 }))
  const t0 = performance.now()
  let next = 0
  await Promise.all(apis.map(async (w) => { for (;;) { const i = next; next += B; if (i >= N) return; w.writeRecords(lines.slice(i, i + B)); await w.flush() } }))
  console.log(`batch ${B} concurrency ${conc}: ${Math.round(N / ((performance.now() - t0) / 1000))} points/s`)
  await vm.close()
}
