import { InfluxDB } from '@influxdata/influxdb-client'
import { startVictoriaMetrics, vmExport } from '../tests/helpers/services.ts'
const vm = await startVictoriaMetrics()
const w = new InfluxDB({ url: vm.url }).getWriteApi('o', 'b', 'ms', { maxRetries: 0, flushInterval: 0 })
for (const name of ['a', 'b']) {
  w.writeRecord(`${name},level=red count=1i ${Date.now()}`)
  await w.flush()
  const t = performance.now()
  while ((await vmExport(vm.url, `${name}_count`)).length === 0) await new Promise((r) => setTimeout(r, 25))
  console.log(name, 'visible after', (performance.now() - t).toFixed(0), 'ms')
}
await vm.close()
