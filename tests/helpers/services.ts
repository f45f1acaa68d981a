/**
 * Real time-series servers for the services suites, each started on free loopback ports in a fresh
 * temporary directory and stopped (and started again on the same port) by the test:
 *
 * - VictoriaMetrics (Debian `victoria-metrics`): accepts the InfluxDB v2 write API the sink uses,
 *   answers MetricsQL and exports raw samples; it can also scrape a gateway's `/metrics`.
 * - InfluxDB 1.6 (Debian `influxdb`): InfluxQL, loaded through its v1 `/write`.
 *
 * Where the binary is missing the suite skips with a loud line (`requireBinary`), which
 * SHAOBING_REQUIRE_SERVICES=1 turns into a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './ports.js'
import { requireBinary } from './requires.js'

export const VICTORIA_METRICS = '/usr/bin/victoria-metrics'
export const INFLUXD = '/usr/bin/influxd'

export const hasVictoriaMetrics = (): boolean => requireBinary(VICTORIA_METRICS, 'victoria-metrics')
export const hasInfluxdb = (): boolean => requireBinary(INFLUXD, 'influxdb')

/** A server process the test can stop and start again on the same port and data. */
export interface ServiceProcess {
  readonly url: string
  readonly port: number
  /** Stops it (SIGTERM, then SIGKILL after 10 s); resolves once it has exited. */
  stop(): Promise<void>
  /** Starts it again on the same port and data directory; resolves once it answers. */
  start(): Promise<void>
  /** Stops it and removes its data. */
  close(): Promise<void>
  /** Its stderr and stdout so far, for a failing test's message. */
  output(): string
}

async function startProcess(
  bin: string,
  args: () => string[],
  port: number,
  ready: (url: string) => Promise<boolean>,
  dir: string,
): Promise<ServiceProcess> {
  const url = `http://127.0.0.1:${port}`
  let proc: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let out = ''
  const start = async () => {
    const p = spawn(bin, args(), { stdio: ['ignore', 'pipe', 'pipe'] })
    proc = p
    const keep = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-20_000)
    }
    p.stdout.on('data', keep)
    p.stderr.on('data', keep)
    exited = new Promise((r) => p.once('exit', () => r()))
    const end = Date.now() + 20_000
    for (;;) {
      if (p.exitCode !== null) throw new Error(`${bin} exited with ${p.exitCode}:\n${out.slice(-3000)}`)
      if (await ready(url).catch(() => false)) return
      if (Date.now() > end)
        throw new Error(`${bin} did not answer on ${url} within 20 s:\n${out.slice(-3000)}`)
      await sleep(50)
    }
  }
  const stop = async () => {
    const p = proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    p.kill('SIGTERM')
    const killer = setTimeout(() => p.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(killer)
  }
  await start()
  return {
    url,
    port,
    start,
    stop,
    output: () => out,
    close: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface VictoriaMetricsOptions {
  /** Prometheus scrape targets (`host:port`, path /metrics), scraped every `scrapeInterval`. */
  readonly scrape?: readonly string[]
  readonly scrapeInterval?: string
}

/**
 * VictoriaMetrics with a 100-year retention (its default of one month silently drops older points)
 * and no query latency offset (by default the last 30 s are hidden from queries).
 */
export async function startVictoriaMetrics(opts: VictoriaMetricsOptions = {}): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-vm-'))
  const port = await freePort()
  const scrapeFile = join(dir, 'scrape.yaml')
  if (opts.scrape)
    writeFileSync(
      scrapeFile,
      [
        'scrape_configs:',
        '  - job_name: shaobing',
        `    scrape_interval: ${opts.scrapeInterval ?? '1s'}`,
        '    static_configs:',
        `      - targets: [${opts.scrape.map((t) => JSON.stringify(t)).join(', ')}]`,
        '',
      ].join('\n'),
    )
  const args = () => [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir, 'data')}`,
    '-retentionPeriod=100y',
    '-search.latencyOffset=1ms', // 0 means the default (30 s) before VictoriaMetrics 1.88
    '-search.disableCache',
    '-loggerLevel=ERROR',
    ...(opts.scrape ? [`-promscrape.config=${scrapeFile}`] : []),
  ]
  return startProcess(VICTORIA_METRICS, args, port, async (url) => (await fetch(`${url}/health`)).ok, dir)
}

/**
 * Makes what VictoriaMetrics has accepted searchable now (`/internal/force_flush`): by itself it
 * buffers for up to seconds, and a new series shows in searches after about 10 s.
 */
export async function vmFlush(url: string): Promise<void> {
  const res = await fetch(`${url}/internal/force_flush`)
  if (!res.ok) throw new Error(`force_flush failed: ${res.status}`)
}

/** Every raw sample VictoriaMetrics holds for series matching `match` (its JSON-lines export), flushed first. */
export async function vmExport(
  url: string,
  match = '{__name__=~".+"}',
): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]> {
  await vmFlush(url)
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}`)
  if (!res.ok) throw new Error(`export failed: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] })
}

/** InfluxDB 1.6 on free ports (HTTP and the backup RPC), reporting off, in its own directory. */
export async function startInfluxdb1(): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-influx-'))
  const port = await freePort()
  const rpc = await freePort()
  const conf = join(dir, 'influxdb.conf')
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '',
    ].join('\n'),
  )
  return startProcess(
    INFLUXD,
    () => ['-config', conf],
    port,
    async (url) => (await fetch(`${url}/ping`)).status === 204,
    dir,
  )
}

/** Runs InfluxQL on a 1.x server (`/query`); returns its JSON results or throws with the error. */
export async function influxQuery(
  url: string,
  q: string,
  db?: string,
): Promise<
  { series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[]
> {
  const params = new URLSearchParams({ q, epoch: 'ms', ...(db ? { db } : {}) })
  const res = await fetch(`${url}/query`, { method: 'POST', body: params })
  const body = (await res.json()) as {
    results?: {
      error?: string
      series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]
    }[]
    error?: string
  }
  if (!res.ok || body.error) throw new Error(`InfluxQL ${q}: ${res.status} ${body.error ?? ''}`)
  for (const r of body.results ?? []) if (r.error) throw new Error(`InfluxQL ${q}: ${r.error}`)
  return body.results ?? []
}

/** Writes line protocol (millisecond precision) through a 1.x server's `/write`. */
export async function influxWriteV1(url: string, db: string, lines: readonly string[]): Promise<void> {
  const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  })
  if (res.status !== 204) throw new Error(`v1 write failed: ${res.status} ${await res.text()}`)
}
