/**
 * The Grafana dashboards (dashboards/grafana): the committed JSON is what the TypeScript builders
 * make now, every panel names a provisioned datasource; and every query they hold — panels,
 * annotations, template variables — answers with data from the real server of its flavour:
 *
 * - InfluxQL against InfluxDB 1.6 and MetricsQL against VictoriaMetrics, loaded with the sink's
 *   line protocol (tests/services/grafana-data.ts) — VictoriaMetrics through the InfluxDB v2 write
 *   API of @influxdata/influxdb-client, as the sink writes;
 * - the operations dashboard against VictoriaMetrics scraping a real gateway's /metrics, to which a
 *   real authenticated device published readings that raised a warning its loudspeakers played.
 *
 * Grafana's macros are substituted as Grafana would for a six-hour range (`$timeFilter`,
 * `$__interval`, `$__rate_interval`, `$__range`, `$station`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { InfluxDB } from '@influxdata/influxdb-client'
import type { MqttClient } from 'mqtt'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { defaultDashboard, type Dashboard, type Panel, type RowPanel } from '@grafana/schema'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic, terminalReceiptTopic } from '../../gateway/src/contracts/topics.js'
import {
  DATASOURCES,
  dashboards,
  serialize,
  THRESHOLDS_FILE,
  type Flavour,
  type ThresholdsFile,
} from '../../dashboards/grafana/src/index.js'
import { fetchThresholds } from '../../dashboards/grafana/src/thresholds.js'
import { device } from '../helpers/devices.js'
import { connect, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import {
  hasInfluxdb,
  hasVictoriaMetrics,
  influxQuery,
  influxWriteV1,
  startInfluxdb1,
  startVictoriaMetrics,
  vmExport,
  type ServiceProcess,
} from '../helpers/services.js'
import { until } from '../helpers/wait.js'
import { demoLines, type DemoData } from './grafana-data.js'

const GRAFANA = join(import.meta.dirname, '../../dashboards/grafana')
const thresholdsFile = JSON.parse(readFileSync(join(GRAFANA, THRESHOLDS_FILE), 'utf8')) as ThresholdsFile
const built = dashboards(thresholdsFile)

/**
 * ---- THE INFLUXDB SINK'S CONFIGURATION (lead: adapt this one constant to the merged shape) ----
 * The gateway.yaml lines that point the sink at `url` with the token from TOKEN_ENV.
 */
const SINK_TOKEN_ENV = 'SHAOBING_TEST_SINK_TOKEN'
const SINK_CONFIG = (url: string): string =>
  `sinks: { influx: { url: ${JSON.stringify(url)}, org: shaobing, bucket: shaobing, token: { env: ${SINK_TOKEN_ENV} }, snapshotEvery: 1s } }`
/** The sink's snapshots (warnings on the air, coverage) come every second above, not every minute, for the test. */

// ---- What the dashboards hold ----

type AnyPanel = Panel | RowPanel
const allPanels = (d: Dashboard): AnyPanel[] =>
  (d.panels ?? []).flatMap((p) => [p, ...(p.type === 'row' ? (p as RowPanel).panels : [])])

interface Query {
  readonly dashboard: string
  readonly where: string
  readonly flavour: Flavour
  /** InfluxQL or MetricsQL, macros unsubstituted. */
  readonly text: string
  /** A Prometheus label_values() variable (label values API, not a query). */
  readonly labelValues?: { selector: string; label: string }
  readonly interval?: string
  readonly step?: string
  readonly alias?: string
  readonly legend?: string
  readonly overrides?: readonly string[]
}

const flavourOf = (uid: string | undefined): Flavour | undefined =>
  (Object.keys(DATASOURCES) as Flavour[]).find((f) => DATASOURCES[f].uid === uid)

function queries(): Query[] {
  const out: Query[] = []
  for (const { file, dashboard: d } of built) {
    for (const p of allPanels(d)) {
      if (p.type === 'row') continue
      const panel = p as Panel
      const overrides = (panel.fieldConfig?.overrides ?? [])
        .filter((o) => o.matcher.id === 'byRegexp')
        .map((o) => String(o.matcher.options))
      for (const t of panel.targets ?? []) {
        const flavour = flavourOf((t.datasource as { uid?: string } | undefined)?.uid)!
        out.push({
          dashboard: file,
          where: `panel ${panel.id} “${panel.title}” ${String(t.refId)}`,
          flavour,
          text: String(flavour === 'influxdb' ? t.query : t.expr),
          ...(panel.interval !== undefined ? { interval: panel.interval } : {}),
          ...(typeof t.alias === 'string' ? { alias: t.alias } : {}),
          ...(typeof t.legendFormat === 'string' ? { legend: t.legendFormat } : {}),
          ...(overrides.length > 0 ? { overrides } : {}),
        })
      }
    }
    for (const a of d.annotations?.list ?? []) {
      if (a.builtIn === 1) continue
      const flavour = flavourOf(a.datasource?.uid ?? undefined)!
      const target = a.target as unknown as { query?: string; expr?: string; interval?: string }
      out.push({
        dashboard: file,
        where: `annotation “${a.name}”`,
        flavour,
        text: String(flavour === 'influxdb' ? target.query : target.expr),
        ...(target.interval !== undefined ? { step: target.interval } : {}),
      })
    }
    for (const v of d.templating?.list ?? []) {
      const flavour = flavourOf(v.datasource?.uid)!
      const text = String(v.query)
      const lv = /^label_values\((.+),\s*(\w+)\)$/.exec(text)
      out.push({
        dashboard: file,
        where: `variable $${v.name}`,
        flavour,
        text,
        ...(lv ? { labelValues: { selector: lv[1]!, label: lv[2]! } } : {}),
      })
    }
  }
  return out
}

const RANGE_MS = 6 * 3600_000
const seconds = (span: string): number => {
  const m = /^(\d+)(s|m|h)$/.exec(span)
  if (!m) throw new Error(`unexpected interval ${span}`)
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h']
}

/** The query as Grafana sends it for the last six hours; fails on a macro it does not know. */
function substitute(
  q: Query,
  station: string | undefined,
  rateInterval: string,
  defaultInterval: string,
): string {
  const interval = q.interval ?? defaultInterval
  const text = q.text
    .replaceAll('$timeFilter', 'time > now() - 6h')
    .replaceAll('$__interval_ms', String(seconds(interval) * 1000))
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', interval)
    .replaceAll('$__range', '6h')
    .replaceAll('$station', station ?? '$station')
  const left = /\$[A-Za-z_{]\w*/.exec(text)
  if (left) throw new Error(`${q.dashboard} ${q.where}: unsubstituted ${left[0]} in ${text}`)
  return text
}

interface Answer {
  /** At least one series with a value. */
  readonly data: boolean
  /** The series' names as Grafana would show them (alias or legend). */
  readonly names: string[]
}

async function runInflux(url: string, q: Query, station: string | undefined): Promise<Answer> {
  const results = await influxQuery(url, substitute(q, station, '1m', '1m'), 'shaobing')
  const names: string[] = []
  let data = false
  for (const s of results.flatMap((r) => r.series ?? [])) {
    s.columns.forEach((col, k) => {
      if (col === 'time' && s.columns.length > 1) return
      if (!s.values.some((row) => row[k] !== null && row[k] !== undefined)) return
      data = true
      if (q.alias !== undefined)
        names.push(
          q.alias.replaceAll('$col', col).replace(/\$tag_(\w+)/g, (_, tag: string) => s.tags?.[tag] ?? ''),
        )
    })
  }
  return { data, names }
}

async function runProm(
  url: string,
  q: Query,
  station: string | undefined,
  rateInterval: string,
): Promise<Answer> {
  const end = Math.floor(Date.now() / 1000)
  const start = end - RANGE_MS / 1000
  if (q.labelValues) {
    const params = new URLSearchParams({
      'match[]': q.labelValues.selector,
      start: String(start),
      end: String(end),
    })
    const res = await fetch(`${url}/api/v1/label/${q.labelValues.label}/values?${params}`)
    const body = (await res.json()) as { status: string; data?: string[]; error?: string }
    if (body.status !== 'success') throw new Error(`${q.where}: ${body.error}`)
    return { data: (body.data ?? []).length > 0, names: body.data ?? [] }
  }
  const step = q.step ?? q.interval ?? '1m'
  const params = new URLSearchParams({
    query: substitute(q, station, rateInterval, step),
    start: String(start),
    end: String(end),
    step: String(seconds(step)),
  })
  const res = await fetch(`${url}/api/v1/query_range`, { method: 'POST', body: params })
  const body = (await res.json()) as {
    status: string
    error?: string
    data?: { result: { metric: Record<string, string>; values: [number, string][] }[] }
  }
  if (body.status !== 'success') throw new Error(`${q.dashboard} ${q.where}: ${body.error}`)
  const series = (body.data?.result ?? []).filter((r) => r.values.some(([, v]) => Number.isFinite(Number(v))))
  return {
    data: series.length > 0,
    names: series.map((r) =>
      (q.legend ?? '').replace(/\{\{\s*(\w+)\s*\}\}/g, (_, label: string) => r.metric[label] ?? ''),
    ),
  }
}

/** An instant query's single value (undefined: no series). */
async function promValue(url: string, expr: string): Promise<number | undefined> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query: expr }),
  })
  const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } }
  const v = body.data?.result[0]?.value[1]
  return v === undefined ? undefined : Number(v)
}

// ---- The generated files ----

describe('the generated dashboards', () => {
  test('the committed JSON is what the builders make now (npx tsx dashboards/grafana/build.ts)', async () => {
    for (const { file, dashboard } of built) {
      const path = join(GRAFANA, file)
      expect(readFileSync(path, 'utf8'), file).toBe(await serialize(dashboard, path))
    }
  })

  test('schema version of the published types, unique panel ids, provisioned datasources', () => {
    const provisioned = parse(
      readFileSync(join(GRAFANA, 'provisioning/datasources/shaobing.yaml'), 'utf8'),
    ) as { datasources: { uid: string; type: string; url: string }[] }
    const byUid = new Map(provisioned.datasources.map((d) => [d.uid, d.type]))
    expect(provisioned.datasources.every((d) => /^\$\{\w+\}$/.test(d.url))).toBe(true)
    expect(new Set(built.map((b) => b.dashboard.uid)).size).toBe(built.length)
    for (const { file, dashboard: d } of built) {
      // The published types' version (what Grafana migrates from); 36 made datasources references by uid.
      expect(d.schemaVersion, file).toBe(defaultDashboard.schemaVersion)
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(36)
      const panels = allPanels(d)
      expect(panels.length, file).toBeGreaterThan(3)
      const ids = panels.map((p) => p.id)
      expect(new Set(ids).size, `${file}: duplicate panel ids`).toBe(ids.length)
      const refs = [
        ...panels
          .filter((p) => p.type !== 'row')
          .flatMap((p) => {
            const panel = p as Panel
            return [
              panel.datasource,
              ...(panel.targets ?? []).map((t) => t.datasource as Panel['datasource']),
            ]
          }),
        ...(d.annotations?.list ?? []).filter((a) => a.builtIn !== 1).map((a) => a.datasource ?? undefined),
        ...(d.templating?.list ?? []).map((v) => v.datasource ?? undefined),
      ]
      for (const ref of refs) {
        expect(
          ref?.uid !== undefined && byUid.has(ref.uid),
          `${file}: datasource ${JSON.stringify(ref)}`,
        ).toBe(true)
        expect(byUid.get(ref!.uid!), `${file}: type of ${ref?.uid}`).toBe(ref?.type)
      }
    }
    const provider = parse(readFileSync(join(GRAFANA, 'provisioning/dashboards/shaobing.yaml'), 'utf8')) as {
      providers: { type: string; options: { path: string; foldersFromFilesStructure: boolean } }[]
    }
    expect(provider.providers.map((p) => [p.type, p.options.foldersFromFilesStructure])).toEqual([
      ['file', true],
    ])
  })
})

// ---- Every data query against the real servers ----

const runData = hasVictoriaMetrics() && hasInfluxdb()

describe.skipIf(!runData)('every data dashboard query answers from the server of its flavour', () => {
  let vm: ServiceProcess
  let influxd: ServiceProcess
  let demo: DemoData

  beforeAll(async () => {
    ;[vm, influxd] = await Promise.all([startVictoriaMetrics(), startInfluxdb1()])
    demo = demoLines(Date.now(), thresholdsFile)
    const write = new InfluxDB({ url: vm.url, token: 'x' }).getWriteApi('shaobing', 'shaobing', 'ms')
    write.writeRecords(demo.lines)
    await write.flush()
    await write.close()
    await influxQuery(influxd.url, 'CREATE DATABASE shaobing')
    await influxWriteV1(influxd.url, 'shaobing', demo.lines)
    // Searchable once every point is: each reading field, and one numeric field of each other measurement.
    const expected: Record<string, number> = {
      '{__name__=~"reading_.+"}': demo.readingFields,
      alert_level: demo.points.alert ?? 0,
      warning_level: demo.points.warning ?? 0,
      fault_active: demo.points.fault ?? 0,
      warnings_active_count: demo.points.warnings_active ?? 0,
      coverage_ratio: demo.points.coverage ?? 0,
    }
    for (const [match, n] of Object.entries(expected))
      await until(
        async () => (await vmExport(vm.url, match)).reduce((s, x) => s + x.values.length, 0),
        (got) => got === n,
        `VictoriaMetrics to hold the ${n} samples of ${match}`,
        15_000,
      )
  })
  afterAll(async () => {
    await Promise.all([vm?.close(), influxd?.close()])
  })

  test('the demo data has every measurement, every action and a warning lifted', () => {
    expect(Object.keys(demo.points).sort()).toEqual([
      'alert',
      'coverage',
      'fault',
      'reading',
      'warning',
      'warnings_active',
    ])
    for (const action of ['issue', 'update', 'acknowledge', 'lift'])
      expect(
        demo.lines.some((l) => l.startsWith('warning,') && l.includes(`action=${action}`)),
        action,
      ).toBe(true)
  })

  const dataQueries = queries().filter((q) => !q.dashboard.endsWith('operations.json'))
  test.each(dataQueries.map((q) => [`${q.dashboard} ${q.where}`, q] as const))('%s', async (_name, q) => {
    const run = (station: string | undefined) =>
      q.flavour === 'influxdb' ? runInflux(influxd.url, q, station) : runProm(vm.url, q, station, '1m')
    if (!q.text.includes('$station')) {
      expect((await run(undefined)).data, substitute(q, undefined, '1m', '1m')).toBe(true)
      return
    }
    // A station view's query: data for at least one station; each station's threshold override
    // names a series the query returns for it.
    const names: string[] = []
    const withData: string[] = []
    for (const station of demo.stations) {
      const a = await run(station)
      if (a.data) withData.push(station)
      names.push(...a.names)
    }
    expect(withData.length, `no station has data for ${q.text}`).toBeGreaterThan(0)
    // Every station reports something.
    if (q.where.includes('“All quantities”')) expect(withData).toEqual(demo.stations)
    for (const o of q.overrides ?? [])
      expect(
        names.some((n) => new RegExp(o).test(n)),
        `override ${o} matches none of ${names.join(', ')}`,
      ).toBe(true)
  })
})

// ---- The operations dashboard against a real gateway's /metrics ----

const GAUGE = 'wl-lw-01'
const TERMINALS = ['T511823100201-01', 'T511823100201-02', 'T511823100201-03', 'T511823100201-04']

describe.skipIf(!hasVictoriaMetrics())(
  'the operations dashboard answers from a gateway’s /metrics, scraped',
  () => {
    let sinkVm: ServiceProcess
    let scraper: ServiceProcess
    let gw: RunningGateway
    const clients: MqttClient[] = []
    let commands = 0
    let gauge: MqttClient
    let seq = 0
    let lastReading = 0
    /** A reading of the gauge now, at most one a second, at the level it reached (nothing new is raised). */
    const reading = async () => {
      if (Date.now() - lastReading < 1000) return
      lastReading = Date.now()
      await gauge.publishAsync(
        sensorDataTopic('water_level', GAUGE),
        JSON.stringify({ ts: Date.now(), seq: seq++, values: { stage_m: 34.6 } }),
        { qos: 1 },
      )
    }

    beforeAll(async () => {
      sinkVm = await startVictoriaMetrics()
      process.env[SINK_TOKEN_ENV] = 'test-sink-token'
      ;({ gw } = await startTestGateway(makeConfigDir(undefined, SINK_CONFIG(sinkVm.url)).config))
      scraper = await startVictoriaMetrics({ scrape: [`127.0.0.1:${gw.ports.http}`] })
      // Scraped before anything happens, so each counter's first sample is before its increase (a
      // rate needs both).
      await until(
        () => promValue(scraper.url, 'shaobing_readings_received_total'),
        (v) => v !== undefined,
        'the first scrape of the gateway',
        15_000,
      )
      // The village's loudspeakers, answering each command as real ones do.
      for (const id of TERMINALS) {
        const t = await connect(gw.urls.mqtt, device(id))
        t.on('message', (_topic, payload) => {
          commands++
          const cmd = JSON.parse(payload.toString('utf8')) as { warningId: string; version: number }
          for (const state of ['accepted', 'playing', 'played'])
            t.publish(terminalReceiptTopic(id), JSON.stringify({ ...cmd, state, ts: Date.now() }), { qos: 1 })
        })
        await t.subscribeAsync(`terminals/${id}/cmd`, { qos: 1 })
        clients.push(t)
      }
      // The river gauge, logged in as itself: a rise through the warning levels, then a malformed message.
      gauge = await connect(gw.urls.mqtt, device(GAUGE))
      clients.push(gauge)
      const stages = [30.0, 31.2, 32.6, 33.1, 34.1, 34.6]
      const t0 = Date.now() - stages.length * 60_000
      for (const [i, stage] of stages.entries())
        await gauge.publishAsync(
          sensorDataTopic('water_level', GAUGE),
          JSON.stringify({ ts: t0 + i * 60_000, seq: seq++, values: { stage_m: stage } }),
          { qos: 1 },
        )
      await gauge.publishAsync(sensorDataTopic('water_level', GAUGE), '{"ts": "not a reading"', { qos: 0 })
      await until(
        () => commands,
        (n) => n >= TERMINALS.length,
        'the warning’s commands at the village loudspeakers',
        15_000,
      )
    })
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync()))
      await gw?.stop()
      await Promise.all([scraper?.close(), sinkVm?.close()])
    })

    test('an outage of the sink’s server shows as write errors and a backlog, then a replay', async () => {
      // So the sink's error and replay series exist for the panels below (counters with labels
      // have no series until they first count).
      await sinkVm.stop()
      await until(
        async () => (await reading(), promValue(scraper.url, 'sum(shaobing_sink_write_errors_total)')),
        (v) => v !== undefined && v > 0,
        'write errors while the sink’s server is down',
        20_000,
      )
      expect(await promValue(scraper.url, 'max(shaobing_sink_connected)')).toBe(0)
      await sinkVm.start()
      await until(
        async () => (
          await reading(),
          promValue(scraper.url, 'max_over_time(max(shaobing_sink_replay_rate)[1m:1s])')
        ),
        (v) => v !== undefined && v > 0,
        'the outbox replayed once the server is back',
        30_000,
      )
    }, 60_000)

    test('the VictoriaMetrics station and county views answer from what the gateway’s own sink wrote', async () => {
      // The gauge's station; it raised a flood warning (no fault, and only a water level).
      const station = 'WL-LW-01'
      const relevant = queries().filter(
        (q) =>
          q.flavour === 'prometheus' &&
          !q.dashboard.endsWith('operations.json') &&
          !q.text.includes('fault_active') &&
          !(
            q.text.startsWith('{__name__=~"reading_') &&
            !/^\{__name__=~"reading_(stage_m\(|\.\+")/.test(q.text)
          ),
      )
      expect(relevant.length).toBeGreaterThan(8)
      for (const q of relevant) {
        const a = await until(
          () => runProm(sinkVm.url, q, station, '1m'),
          (a) => a.data,
          `${q.dashboard} ${q.where}: data from the sink for ${q.text}`,
          15_000,
        )
        // The station's threshold lines land on the series the sink wrote.
        const mine = (q.overrides ?? []).filter((o) => o.startsWith(`^${station} `))
        for (const o of mine)
          expect(
            a.names.some((n) => new RegExp(o).test(n)),
            `${o} in ${a.names.join(', ')}`,
          ).toBe(true)
        if (q.text.includes('reading_stage_m')) expect(mine.length).toBeGreaterThan(0)
      }
    }, 120_000)

    test('thresholds.json is what the gateway serves for the demo county', async () => {
      expect((await fetchThresholds(gw.urls.http)).stations).toEqual(thresholdsFile.stations)
    })

    const opsQueries = queries().filter((q) => q.dashboard.endsWith('operations.json'))
    test('the operations dashboard is Prometheus-only', () => {
      expect(opsQueries.length).toBeGreaterThan(10)
      expect(new Set(opsQueries.map((q) => q.flavour))).toEqual(new Set(['prometheus']))
    })
    test.each(opsQueries.map((q) => [q.where, q] as const))('%s', async (_name, q) => {
      // Scraped every second: poll until the series is there and its rate spans two scrapes.
      await until(
        () => runProm(scraper.url, { ...q, interval: '5s' }, undefined, '1m'),
        (a) => a.data,
        `data for ${q.text}`,
        20_000,
      )
    })
  },
)
