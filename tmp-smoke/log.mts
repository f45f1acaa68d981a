import { InfluxDB, setLogger } from '@influxdata/influxdb-client'
setLogger({ error: (m) => console.log('MINE', m), warn: (m) => console.log('MINEW', m) })
const w = new InfluxDB({ url: 'http://127.0.0.1:1' }).getWriteApi('o', 'b', 'ms', { maxRetries: 0, flushInterval: 0 })
w.writeRecords(['a b=1 1'])
await w.flush().catch((e) => console.log('rejected', e.message))
