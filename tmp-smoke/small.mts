import { InfluxDB } from '@influxdata/influxdb-client'
import { startVictoriaMetrics } from '../tests/helpers/services.ts'
const vm = await startVictoriaMetrics()
const w = new InfluxDB({ url: vm.url, timeout: 10000 }).getWriteApi('o', 'b', 'ms', { maxRetries: 0, flushInterval: 0, batchSize: 100000 })
for (let i = 0; i < 3; i++) {
  const t = performance.now()
  w.writeRecord(`warnings_active,level=red count=${i}i ${Date.now()}`)
  await w.flush().catch((e) => console.log('err', e.message))
  console.log('write', i, (performance.now() - t).toFixed(0), 'ms')
}
await vm.close()
