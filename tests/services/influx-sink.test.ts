/**
 * The InfluxDB sink against a real VictoriaMetrics (Debian `victoria-metrics`), written through
 * the real `@influxdata/influxdb-client` and read back through VictoriaMetrics' raw export: every
 * point arrives exactly once, also across the server stopping in the middle of a load, a gateway
 * restart with a non-empty outbox, Retry-After, and the bound's thinning (counted).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { loadConfig } from '../../gateway/src/config/load.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import type { MqttClient } from 'mqtt'
import { gaugeRegistry, startChildGateway } from '../helpers/child-gateway.js'
import { device } from '../helpers/devices.js'
import { api, connect, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import {
  hasVictoriaMetrics,
  startVictoriaMetrics,
  vmExport,
  type ServiceProcess,
} from '../helpers/services.js'
import { until } from '../helpers/wait.js'

const T0 = Date.UTC(2026, 6, 15)
const TOKEN_ENV = 'SHAOBING_TEST_INFLUX_TOKEN'
process.env[TOKEN_ENV] = 'test-token-not-checked-by-victoria-metrics'

const sinkYaml = (url: string, extra = '') =>
  `sinks: { influx: { url: ${JSON.stringify(url)}, org: shaobing, bucket: shaobing, token: { env: ${TOKEN_ENV} }, flushEvery: 50ms, retry: { min: 100ms, max: 500ms }${extra} } }`

const gateways: RunningGateway[] = []
const servers: ServiceProcess[] = []
afterAll(async () => {
  for (const g of gateways) await g.stop()
  for (const s of servers) await s.close()
})

/** Publishes rain readings of `sensor` at T0 + i minutes for i in [from, to), QoS 1, 100 in flight. */
async function publishRain(url: string, sensor: string, from: number, to: number) {
  const c = await connect(url, device(sensor))
  for (let i = from; i < to; i += 100) {
    const sends: Promise<unknown>[] = []
    for (let j = i; j < Math.min(to, i + 100); j++)
      sends.push(
        c.publishAsync(
          sensorDataTopic('rain', sensor),
          JSON.stringify({ ts: T0 + j * 60_000, values: { rain_mm: (j % 7) * 0.5 } }),
          { qos: 1 },
        ),
      )
    await Promise.all(sends)
  }
  await c.endAsync()
}

/** The timestamps VictoriaMetrics holds for one sensor's `reading_rain_mm`, as stored (duplicates kept). */
async function stored(vm: string, sensor: string): Promise<number[]> {
  const series = await vmExport(vm, `reading_rain_mm{sensor="${sensor}"}`)
  return series.flatMap((s) => s.timestamps).sort((a, b) => a - b)
}

const expected = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => T0 + (from + i) * 60_000)

async function metric(http: string, name: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0)
}

describe.runIf(hasVictoriaMetrics())('InfluxDB sink into VictoriaMetrics', () => {
  test('readings, with the rules window sums, arrive exactly once across a server outage mid-load and a gateway restart with a full outbox', async () => {
    const vm = await startVictoriaMetrics()
    servers.push(vm)
    const { config } = makeConfigDir(undefined, sinkYaml(vm.url))
    let { gw, lines } = await startTestGateway(config)
    gateways.push(gw)
    const logs = [lines]

    await publishRain(gw.urls.mqtt, 'rg-lw-01', 0, 400)
    await until(
      () => stored(vm.url, 'rg-lw-01'),
      (t) => t.length >= 400,
      '400 readings in VictoriaMetrics',
      20_000,
    )

    // The server goes away in the middle of a load; the readings keep coming and are acknowledged.
    const load = publishRain(gw.urls.mqtt, 'rg-lw-01', 400, 1400)
    await until(
      () => metric(gw.urls.http, 'shaobing_sink_points_written_total{sink="influx",class="reading"}'),
      (n) => n > 500,
      'part of the load written',
    )
    await vm.stop()
    await load
    await until(
      () => metric(gw.urls.http, 'shaobing_sink_connected'),
      (n) => n === 0,
      'the sink noticing the outage',
    )
    // … and the gateway restarts while its outbox is not empty. The backlog on /metrics is current
    // while the server is away (the 200 readings since the outage are behind at the least).
    await publishRain(gw.urls.mqtt, 'rg-lw-01', 1400, 1600)
    expect(
      await metric(gw.urls.http, 'shaobing_sink_backlog_points{sink="influx",class="reading"}'),
    ).toBeGreaterThanOrEqual(200)
    expect(await metric(gw.urls.http, 'shaobing_sink_lag_seconds')).toBeGreaterThan(0)
    await gw.stop()
    ;({ gw, lines } = await startTestGateway(config))
    gateways.push(gw)
    logs.push(lines)
    await publishRain(gw.urls.mqtt, 'rg-lw-01', 1600, 1700)
    await vm.start()

    const all = await until(
      () => stored(vm.url, 'rg-lw-01'),
      (t) => t.length >= 1700,
      'all 1700 readings',
      30_000,
    )
    expect(all).toEqual(expected(0, 1700)) // every one, once, none twice
    await until(
      () => metric(gw.urls.http, 'shaobing_sink_backlog_points{sink="influx",class="reading"}'),
      (n) => n === 0,
      'an empty backlog',
    )
    expect(await metric(gw.urls.http, 'shaobing_sink_dropped_total')).toBe(0)
    // The outage was logged (once, not per retry), and the token never was.
    const text = JSON.stringify(logs)
    expect(text).toContain('history sink write failed; the points wait in the outbox')
    expect(text).not.toContain(process.env[TOKEN_ENV]!)

    // The rules' 1 h rain sum rides along with each reading, as the engine computed it.
    const sums = await vmExport(vm.url, 'reading_rain_mm_sum_1h{sensor="rg-lw-01"}')
    expect(sums.flatMap((s) => s.timestamps)).toHaveLength(1700)
    const byTs = new Map(sums[0]!.timestamps.map((t, i) => [t, sums[0]!.values[i]!]))
    // At minute 100: the readings of minutes 41..100 (the window is (t-1h, t]), each (j % 7) * 0.5.
    let want = 0
    for (let j = 41; j <= 100; j++) want += (j % 7) * 0.5
    expect(byTs.get(T0 + 100 * 60_000)).toBeCloseTo(want, 6)
    // Tags from the registry: station, kind, region (its village), no unbounded values.
    expect(sums[0]!.metric).toMatchObject({
      station: 'RG-LW-01',
      kind: 'rain',
      region: '511823100201',
      sensor: 'rg-lw-01',
    })
  })

  test('warnings and their lift arrive as points, with text and level, for annotations', async () => {
    const vm = await startVictoriaMetrics()
    servers.push(vm)
    const { config } = makeConfigDir(undefined, sinkYaml(vm.url))
    const { gw } = await startTestGateway(config)
    gateways.push(gw)
    const res = await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'flash_flood',
      level: 'red',
      regions: ['511823100201'],
      text: '山洪红色预警：柳湾村立即转移',
    })
    expect(res.status).toBe(200)
    const { warningId } = (await res.json()) as { warningId: string }
    expect((await api(gw.urls.http, 'POST', `/api/warnings/${warningId}/lift`)).status).toBe(200)
    const levels = await until(
      () => vmExport(vm.url, 'warning_level{hazard="flash_flood"}'),
      (s) => s.flatMap((x) => x.values).length >= 2,
      'issue and lift as warning points',
      20_000,
    )
    const byAction = Object.fromEntries(levels.map((s) => [s.metric.action, s.values]))
    expect(byAction.issue).toEqual([4])
    expect(byAction.lift).toEqual([0])
    expect(levels[0]!.metric).toMatchObject({ region: '511823100201', status: 'Actual', rule: 'manual' })
    const active = await until(
      () => vmExport(vm.url, 'warnings_active_count{level="red"}'),
      (s) => s.length > 0,
      'a snapshot of active warnings',
    )
    expect(active[0]!.values.length).toBeGreaterThan(0)
  })

  test('a 429 with Retry-After is honoured: the same points are sent again no sooner, and once accepted', async () => {
    const vm = await startVictoriaMetrics()
    servers.push(vm)
    // In front of the server: the first write is refused with Retry-After: 2, then writes pass.
    const seen: { at: number; status: number; encoding: string | undefined; bytes: number }[] = []
    const front: Server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (!req.url?.startsWith('/api/v2/write')) return void res.writeHead(404).end()
        if (seen.length === 0) {
          seen.push({
            at: Date.now(),
            status: 429,
            encoding: req.headers['content-encoding'],
            bytes: Buffer.concat(chunks).length,
          })
          return void res
            .writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' })
            .end('{"code":"too many requests"}')
        }
        seen.push({
          at: Date.now(),
          status: 204,
          encoding: req.headers['content-encoding'],
          bytes: Buffer.concat(chunks).length,
        })
        const headers: Record<string, string> = {}
        for (const h of ['content-type', 'content-encoding'])
          if (req.headers[h]) headers[h] = String(req.headers[h])
        void fetch(`${vm.url}${req.url}`, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(
          async (r) => res.writeHead(r.status).end(await r.text()),
          () => res.writeHead(502).end(),
        )
      })
    })
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
    const port = (front.address() as AddressInfo).port
    try {
      const { config } = makeConfigDir(undefined, sinkYaml(`http://127.0.0.1:${port}`))
      const { gw } = await startTestGateway(config)
      gateways.push(gw)
      await publishRain(gw.urls.mqtt, 'rg-sm-01', 0, 50)
      const got = await until(
        () => stored(vm.url, 'rg-sm-01'),
        (t) => t.length >= 50,
        '50 readings after the 429',
        20_000,
      )
      expect(got).toEqual(expected(0, 50))
      expect(seen[0]!.status).toBe(429)
      // Bodies over gzipAbove (1000 bytes) are gzipped; only small ones (a snapshot) go plain.
      expect(seen.some((s) => s.encoding === 'gzip')).toBe(true)
      expect(seen.filter((s) => s.encoding !== 'gzip').every((s) => s.bytes <= 1000)).toBe(true)
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(1950)
      expect(
        await metric(gw.urls.http, 'shaobing_sink_write_errors_total{sink="influx",reason="http_429"}'),
      ).toBe(1)
    } finally {
      await new Promise<void>((r) => front.close(() => r()))
    }
  })

  test('at the bound, the oldest readings are thinned to one per sensor per thinTo, and every skipped one is counted', async () => {
    const vm = await startVictoriaMetrics()
    servers.push(vm)
    await vm.stop() // the server is away while 3000 readings arrive
    const { config } = makeConfigDir(undefined, sinkYaml(vm.url, ', maxBacklog: 1000, thinTo: 10m'))
    const { gw } = await startTestGateway(config)
    gateways.push(gw)
    await publishRain(gw.urls.mqtt, 'rg-ty-01', 0, 3000)
    await vm.start()
    // The newest 1000 arrive whole; the 2000 before them as one per 10 minutes of event time.
    const want = [...expected(0, 2000).filter((t) => (t - T0) % 600_000 === 0), ...expected(2000, 3000)]
    const got = await until(
      () => stored(vm.url, 'rg-ty-01'),
      (t) => t.length >= want.length,
      'the thinned history',
      20_000,
    )
    await until(
      () => metric(gw.urls.http, 'shaobing_sink_backlog_points{sink="influx",class="reading"}'),
      (n) => n === 0,
      'an empty backlog',
    )
    expect(got).toEqual(want)
    expect(
      await metric(
        gw.urls.http,
        'shaobing_sink_dropped_total{sink="influx",class="reading",reason="thinned"}',
      ),
    ).toBe(3000 - want.length)
  })
})

describe.runIf(hasVictoriaMetrics())('InfluxDB sink across kill -9', () => {
  test('every acknowledged reading reaches the server after the gateway is killed mid-load and restarted; repeats are only the identical points of the batch in flight', async () => {
    const vm = await startVictoriaMetrics()
    servers.push(vm)
    const { dir } = makeConfigDir()
    const SENSORS = 10
    writeFileSync(join(dir, 'registry.yaml'), gaugeRegistry(SENSORS))
    const config = join(dir, 'durable.yaml')
    writeFileSync(
      config,
      `registry: registry.yaml\ndataDir: data\nlog: { level: warn }\n${sinkYaml(vm.url, ', batchSize: 500')}\n`,
    )
    let gw = await startChildGateway(config)
    const acked = new Set<number>() // ts (per sensor: sensor index * 1e9 + seq)
    let killed = false
    const clients: MqttClient[] = []
    for (let s = 0; s < SENSORS; s++) {
      const c = await connect(gw.mqttUrl, device(`wl-${String(s).padStart(5, '0')}`))
      c.on('error', () => {})
      clients.push(c)
    }
    const pumps = clients.map(async (c, s) => {
      const id = `wl-${String(s).padStart(5, '0')}`
      for (let seq = 0; !killed && seq < 100_000; seq++) {
        c.publish(
          sensorDataTopic('water_level', id),
          JSON.stringify({ ts: T0 + seq * 1000, values: { stage_m: 30 + (seq % 10) / 10 } }),
          { qos: 1 },
          (err) => {
            if (!err && !killed) acked.add(s * 1e9 + seq)
          },
        )
        await new Promise((r) => setTimeout(r, 5))
      }
    })
    // Killed while the sink is writing: part of the load is already in the server, part is not.
    await until(
      () => metric(gw.httpUrl, 'shaobing_sink_points_written_total{sink="influx",class="reading"}'),
      (n) => n >= 1500,
      'the sink writing under load',
      60_000,
    )
    gw.proc.kill('SIGKILL')
    killed = true
    const snapshot = new Set(acked)
    await gw.exited
    await Promise.all(pumps)
    for (const c of clients) c.end(true)

    gw = await startChildGateway(config, { enroll: false })
    try {
      const all = async () =>
        (await vmExport(vm.url, 'reading_stage_m')).flatMap((x) =>
          x.timestamps.map((t) => Number(x.metric.sensor!.slice(3)) * 1e9 + (t - T0) / 1000),
        )
      const got = await until(
        all,
        (v) => [...snapshot].every((k) => v.includes(k)),
        'every acknowledged reading in the server',
        60_000,
      )
      const seen = new Map<number, number>()
      for (const k of got) seen.set(k, (seen.get(k) ?? 0) + 1)
      const repeated = [...seen.values()].filter((n) => n > 1)
      // At-least-once: only the batch the server accepted just before the kill can come twice.
      expect(repeated.every((n) => n === 2)).toBe(true)
      expect(repeated.length).toBeLessThanOrEqual(500)
      expect(snapshot.size).toBeGreaterThan(1500)
    } finally {
      gw.proc.kill('SIGKILL')
      await gw.exited
    }
  })
})

test('the token comes from an environment variable or a file; a missing one is refused with its reason, and it is never in the configuration', () => {
  const vmUrl = 'http://127.0.0.1:1'
  const missing = makeConfigDir(undefined, sinkYaml(vmUrl).replace(TOKEN_ENV, 'SHAOBING_NO_SUCH_VARIABLE'))
  const refused = loadConfig(missing.config)
  expect(refused.ok).toBe(false)
  if (!refused.ok)
    expect(refused.error.map((i) => `${i.path}: ${i.message}`)).toContain(
      'sinks.influx.token.env: environment variable SHAOBING_NO_SUCH_VARIABLE is not set',
    )

  const fromFile = makeConfigDir(
    undefined,
    sinkYaml(vmUrl).replace(`{ env: ${TOKEN_ENV} }`, '{ file: influx.token }'),
  )
  writeFileSync(join(fromFile.dir, 'influx.token'), 'secret-from-file\n')
  const loaded = loadConfig(fromFile.config)
  expect(loaded.ok && loaded.value.influxToken).toBe('secret-from-file')
  expect(loaded.ok && JSON.stringify(loaded.value.config)).not.toContain('secret-from-file')

  const inline = makeConfigDir(undefined, sinkYaml(vmUrl).replace(`{ env: ${TOKEN_ENV} }`, 'plain-token'))
  expect(loadConfig(inline.config).ok).toBe(false)
})
