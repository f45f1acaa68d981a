/**
 * The console benchmark (issue 13), on the 1,000-terminal county with its map (10 townships × 10
 * villages × 10 loudspeakers, outlines and coordinates), all loudspeakers connected and answering,
 * in Debian's Chromium through playwright-core:
 *
 * 1. Time to first render: from navigation to the console drawn with the gateway's state (regions,
 *    1,000 terminals, warnings), signed in. Reference: the same requests the console makes at
 *    start, fetched by a plain client (no browser, no drawing).
 * 2. Release → page: a warning is issued by hand to one village (released at once); the time from
 *    its release (the event's own time) to its card being in the page. Reference: the same event
 *    reaching a plain SSE client of `/api/events`.
 * 3. Receipts → page: the village's 10 loudspeakers play it; the time from the last `played`
 *    receipt reaching the plain SSE client to the page showing 10/10 played.
 *
 *   npm run build && npm run bench:console [-- --runs 5 --releases 20]
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { buildConsole } from '../dashboards/console/build.mjs'
import { startGateway, type RunningGateway } from '../gateway/src/app.js'
import { startTerminals } from '../sensors-sim/src/terminals.js'
import { enrollTestDevices, simCredentials } from '../tests/helpers/devices.js'
import { CHROMIUM, launchBrowser, probe, untilProbe } from '../tests/helpers/browser.js'
import type { Browser } from 'playwright-core'
import { countyRegistry, countyTerminalIds, villageCodes } from './lib/county.js'
import { percentile } from './lib/load.js'
import { BENCH_MQTT_YAML } from './lib/procs.js'
import { markdownTable, writeResults } from './lib/report.js'
import { existsSync } from 'node:fs'

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, releases: { type: 'string', default: '20' } },
})
const RUNS = Number(args.runs)
const RELEASES = Number(args.releases)
const TOKEN = 'bench-console-token'

async function gateway(): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-console-'))
  writeFileSync(join(dir, 'county.yaml'), countyRegistry({ geo: true }))
  writeFileSync(
    join(dir, 'gateway.yaml'),
    [
      'registry: county.yaml',
      'dataDir: data',
      BENCH_MQTT_YAML.replace('mqtt: {', 'mqtt: { host: 127.0.0.1, port: 0, wsPort: null,'),
      'http: { host: 127.0.0.1, port: 0 }',
      'callout: { levels: [] }',
      'log: { level: warn }',
      `operators: [{ id: bench, name: 基准值班员, roles: [operator, approver], tokenSha256: ${createHash('sha256').update(TOKEN).digest('hex')} }]`,
    ].join('\n'),
  )
  await enrollTestDevices(join(dir, 'gateway.yaml'))
  return startGateway({ configPath: join(dir, 'gateway.yaml'), logger: pino({ level: 'warn' }) })
}

interface Released {
  readonly at: number
  readonly seenAt: number
}

/** A plain SSE client: the release of each warning, and its loudspeakers' played receipts. */
async function sseClient(base: string, signal: AbortSignal) {
  const released = new Map<string, Released>()
  const played = new Map<string, number[]>()
  const res = await fetch(`${base}/api/events?types=warning.released,delivery.changed`, {
    headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' },
    signal,
  })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  void (async () => {
    let buf = ''
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: '', done: true }))
      if (done) return
      buf += value
      let end: number
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end)
        buf = buf.slice(end + 2)
        const data = block.split('\n').find((l) => l.startsWith('data: '))
        if (!data) continue
        const e = JSON.parse(data.slice(6)) as { type: string; at: number; data: Record<string, string> }
        const id = e.data['warningId']!
        if (e.type === 'warning.released') released.set(id, { at: e.at, seenAt: Date.now() })
        else if (e.data['state'] === 'played') played.set(id, [...(played.get(id) ?? []), Date.now()])
      }
    }
  })()
  return { released, played }
}

/** A new browser context with the console open, signed in with the bench's token, drawn once. */
async function openConsole(browser: Browser, base: string) {
  const session = JSON.stringify({ token: TOKEN, operator: { id: 'bench', name: '基准值班员', roles: [] } })
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } })
  await ctx.addInitScript((s) => sessionStorage.setItem('shaobing.session', s), session)
  const page = await ctx.newPage()
  await page.goto(`${base}/`)
  await untilProbe(page, 'readyAt')
  return { ctx, page }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: percentile(s, 50), p95: percentile(s, 95), max: s[s.length - 1] ?? NaN }
}
const ms = (x: number) => `${x.toFixed(1)} ms`
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a')

async function main() {
  if (!existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} not found: apt-get install -y chromium`)
    process.exit(2)
  }
  await buildConsole()
  const gw = await gateway()
  const base = gw.urls.http
  const terminals = countyTerminalIds()
  const fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals,
    playMs: 5,
    credentials: simCredentials(terminals.map((t) => t.id)),
  })
  const browser = await launchBrowser()
  const stop = new AbortController()
  try {
    // 1. Time to first render, cold (a new browser context each run).
    const firstRender: number[] = []
    const plainStart: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const { ctx, page } = await openConsole(browser, base)
      firstRender.push((await probe(page, 'readyAt'))!)
      await ctx.close()
      // The same start-up requests, by a plain client.
      const t0 = performance.now()
      const auth = { headers: { authorization: `Bearer ${TOKEN}` } }
      await Promise.all(
        ['/', '/console/app.js', '/console/app.css'].map((p) => fetch(base + p).then((r) => r.arrayBuffer())),
      )
      await fetch(`${base}/api/me`, auth).then((r) => r.json())
      await Promise.all(
        [
          '/api/regions',
          '/api/stations',
          '/api/terminals',
          '/api/warnings?limit=200',
          '/api/approvals',
          '/api/alerts',
          '/api/silences',
          '/api/faults?state=active',
        ].map((p) => fetch(base + p, auth).then((r) => r.json())),
      )
      plainStart.push(performance.now() - t0)
    }

    // 2 and 3. Releases, one village at a time, the console open and live.
    const sse = await sseClient(base, stop.signal)
    const { ctx, page } = await openConsole(browser, base)
    // The page notes when each warning's card appears and when it shows all 10 played.
    await page.evaluate(() => {
      const seen: Record<string, number> = {}
      const full: Record<string, number> = {}
      Object.assign(window, { seen, full })
      new MutationObserver(() => {
        for (const el of document.querySelectorAll<HTMLElement>('#active-warnings li[data-warning]')) {
          const id = el.dataset['warning']!
          const at = performance.timeOrigin + performance.now()
          seen[id] ??= at
          if (full[id] === undefined && /\b10\/10\b/.test(el.querySelector('.reach-line')?.textContent ?? ''))
            full[id] = at
        }
      }).observe(document.body, { childList: true, subtree: true, characterData: true })
    })
    const toPage: number[] = []
    const toSse: number[] = []
    const receiptsToPage: number[] = []
    const villages = villageCodes()
    for (let i = 0; i < RELEASES; i++) {
      const res = await fetch(`${base}/api/warnings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          hazard: 'geohazard',
          level: 'yellow',
          regions: [villages[i % villages.length]],
        }),
      })
      const { warningId } = (await res.json()) as { warningId: string }
      await page.waitForFunction(
        (id) => (window as unknown as { full: Record<string, number> }).full[id] !== undefined,
        warningId,
        { timeout: 30_000 },
      )
      const rel = sse.released.get(warningId)!
      const pageSeen = await page.evaluate(
        (id) => (window as unknown as { seen: Record<string, number> }).seen[id]!,
        warningId,
      )
      const pageFull = await page.evaluate(
        (id) => (window as unknown as { full: Record<string, number> }).full[id]!,
        warningId,
      )
      const played = sse.played.get(warningId) ?? []
      toPage.push(pageSeen - rel.at)
      toSse.push(rel.seenAt - rel.at)
      if (played.length === 10) receiptsToPage.push(pageFull - played[played.length - 1]!)
      // Lifted again, so the list stays the size of one duty shift's.
      await fetch(`${base}/api/warnings/${warningId}/lift`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      })
    }
    await ctx.close()

    const fr = stats(firstRender)
    const ps = stats(plainStart)
    const tp = stats(toPage)
    const ts = stats(toSse)
    const rp = stats(receiptsToPage)
    const rows = [
      ['time to first render p50 (cold, signed in)', ms(fr.p50), ms(ps.p50), ratio(fr.p50, ps.p50)],
      ['time to first render max', ms(fr.max), ms(ps.max), ratio(fr.max, ps.max)],
      ['release → shown p50', ms(tp.p50), ms(ts.p50), ratio(tp.p50, ts.p50)],
      ['release → shown p95', ms(tp.p95), ms(ts.p95), ratio(tp.p95, ts.p95)],
      ['last played receipt → 10/10 shown p50', ms(rp.p50), '0 (it is the event)', ''],
      ['last played receipt → 10/10 shown p95', ms(rp.p95), '', ''],
    ]
    const table = markdownTable(
      ['1,000-terminal county', 'console (Chromium)', 'plain client', 'ratio'],
      rows,
    )
    console.log(
      `\n${table}\n\n${RUNS} cold starts, ${RELEASES} releases; reference: the same requests / the same event stream without a browser`,
    )
    console.log(
      `results: ${writeResults('console', { firstRender, plainStart, toPage, toSse, receiptsToPage, table })}`,
    )
  } finally {
    stop.abort()
    await browser.close()
    await fleet.close()
    await gw.stop()
  }
}

await main()
