/**
 * Warning release → Node-RED output, through the shipped nodes (`dashboards/node-red/`), beside the
 * same events reaching a plain SSE client (the `eventsource` package) in the same run.
 *
 * The gateway and Node-RED each run as their own process on 127.0.0.1. `--warnings` hand-issued
 * warnings are released and lifted one after another, `--gap-ms` apart (two released versions
 * each). In Node-RED two warning-in nodes listen: one as it comes (coverage off), one with the
 * coverage so far attached (its default: one more HTTP call per version). A function node behind
 * each takes `Date.now() - msg.payload.at` (`at`: when the gateway released the version, the same
 * machine's clock) and the flow posts each figure back here. The plain SSE client does the same
 * subtraction as each event arrives.
 *
 *   npm run build && npm run bench:node-red            # about a minute
 *   npm run bench:node-red -- --warnings 100 --gap-ms 50
 */
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { EventSource } from 'eventsource'
import { DEMO_REGISTRY, OPERATORS_YAML, TOKENS } from '../tests/helpers/gateway.js'
import { freePort } from '../tests/helpers/ports.js'
import { percentile } from './lib/load.js'
import { ensureNodeRed, requireBuild, ROOT, startGatewayProcess } from './lib/procs.js'
import { markdownTable, writeResults } from './lib/report.js'

const { values: args } = parseArgs({
  options: {
    warnings: { type: 'string', default: '300' },
    'gap-ms': { type: 'string', default: '20' },
  },
})
const WARNINGS = Number(args.warnings)
const GAP_MS = Number(args['gap-ms'])
const VILLAGE = '511823100201'
requireBuild()

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-node-red-'))
const config = join(dir, 'gateway.yaml')
writeFileSync(
  config,
  [
    `registry: ${JSON.stringify(DEMO_REGISTRY)}`,
    'dataDir: data',
    'mqtt: { host: 127.0.0.1, port: 0, wsPort: null }',
    'http: { host: 127.0.0.1, port: 0 }',
    'log: { level: warn }',
    OPERATORS_YAML,
    '',
  ].join('\n'),
)
const gw = await startGatewayProcess(config)
const base = `http://127.0.0.1:${gw.httpPort}`

// Where the flow posts each figure as it is taken.
const fromNodeRed: Record<string, number[]> = { nodeRed: [], nodeRedCoverage: [] }
const sink = createServer((req, res) => {
  let body = ''
  req.on('data', (c: Buffer) => (body += c.toString()))
  req.on('end', () => {
    res.end('ok')
    const f = JSON.parse(body) as { name: string; ms: number }
    fromNodeRed[f.name]?.push(f.ms)
  })
})
sink.listen(0, '127.0.0.1')
await once(sink, 'listening')
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/figures`

// Node-RED with the package visible in its user directory, as `npm install` would put it.
const userDir = join(dir, 'node-red')
mkdirSync(join(userDir, 'node_modules'), { recursive: true })
symlinkSync(join(ROOT, 'dashboards/node-red'), join(userDir, 'node_modules/node-red-contrib-shaobing'))
writeFileSync(
  join(userDir, 'package.json'),
  JSON.stringify({ name: 'bench', dependencies: { 'node-red-contrib-shaobing': '*' } }),
)
const total = WARNINGS * 2
const take = (name: string) =>
  `msg.payload = { name: '${name}', ms: Date.now() - msg.payload.at }\nmsg.headers = { 'content-type': 'application/json' }\nreturn msg`
const flows = [
  { id: 'tab', type: 'tab', label: 'bench' },
  { id: 'gw', type: 'shaobing-gateway', url: base, mqttUrl: '' },
  {
    id: 'plain',
    type: 'shaobing-warning-in',
    z: 'tab',
    gateway: 'gw',
    coverage: false,
    x: 0,
    y: 0,
    wires: [['f1']],
  },
  {
    id: 'cov',
    type: 'shaobing-warning-in',
    z: 'tab',
    gateway: 'gw',
    coverage: true,
    x: 0,
    y: 0,
    wires: [['f2']],
  },
  { id: 'f1', type: 'function', z: 'tab', func: take('nodeRed'), outputs: 1, x: 0, y: 0, wires: [['post']] },
  {
    id: 'f2',
    type: 'function',
    z: 'tab',
    func: take('nodeRedCoverage'),
    outputs: 1,
    x: 0,
    y: 0,
    wires: [['post']],
  },
  {
    id: 'post',
    type: 'http request',
    z: 'tab',
    method: 'POST',
    ret: 'txt',
    url: sinkUrl,
    x: 0,
    y: 0,
    wires: [[]],
  },
]
writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows))
const redPort = await freePort()
writeFileSync(
  join(userDir, 'settings.js'),
  `module.exports = { uiHost: '127.0.0.1', uiPort: ${redPort}, flowFile: 'flows.json', httpAdminRoot: false, httpNodeRoot: false, logging: { console: { level: 'warn' } }, editorTheme: { tours: false } }\n`,
)
const red = spawn(process.execPath, [ensureNodeRed(), '-u', userDir, '-s', join(userDir, 'settings.js')], {
  stdio: ['ignore', 'inherit', 'inherit'],
})

// The plain SSE client.
const sse: number[] = []
const es = new EventSource(`${base}/api/events?types=warning.released`)
es.addEventListener('warning.released', (m) => {
  sse.push(Date.now() - (JSON.parse(m.data as string) as { at: number }).at)
})
await new Promise<void>((r) => es.addEventListener('open', () => r(), { once: true }))

const call = async (path: string, body: unknown) => {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.duty}` },
    body: JSON.stringify(body),
  })
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as { warningId: string }
}

// Node-RED is ready once both its warning-in nodes are connected (each opens its own stream, from
// now on its first start): warm-up warnings until both have reported one.
for (let i = 0; fromNodeRed.nodeRed!.length === 0 || fromNodeRed.nodeRedCoverage!.length === 0; i++) {
  if (i > 120) throw new Error('Node-RED did not report a warning within a minute')
  const w = await call('/api/warnings', {
    hazard: 'test_marker',
    level: 'blue',
    regions: [VILLAGE],
    text: 'warm-up',
  })
  await call(`/api/warnings/${w.warningId}/lift`, {})
  await sleep(500)
}
await sleep(1000) // the warm-up's last figures in
sse.length = 0
fromNodeRed.nodeRed!.length = 0
fromNodeRed.nodeRedCoverage!.length = 0
process.stdout.write(`releasing ${WARNINGS} warnings and their lifts, ${GAP_MS} ms apart…\n`)
for (let i = 0; i < WARNINGS; i++) {
  const w = await call('/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: [VILLAGE],
    text: `bench ${i}`,
  })
  await sleep(GAP_MS)
  await call(`/api/warnings/${w.warningId}/lift`, {})
  await sleep(GAP_MS)
}
for (let i = 0; fromNodeRed.nodeRed!.length < total || fromNodeRed.nodeRedCoverage!.length < total; i++) {
  if (i > 600) throw new Error('Node-RED did not report every version within a minute')
  await sleep(100)
}
es.close()
red.kill('SIGTERM')
await once(red, 'exit')
await gw.stop()
sink.close()
const row = (name: string, xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { name, n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN }
}
const plain = row('plain SSE client (eventsource)', sse)
const nr = row('Node-RED, warning-in (coverage off)', fromNodeRed.nodeRed!)
const nrc = row('Node-RED, warning-in (coverage attached, its default)', fromNodeRed.nodeRedCoverage!)
const fmt = (n: number) => n.toFixed(1)
console.log(
  '\n' +
    markdownTable(
      ['release → output', 'versions', 'p50 ms', 'p99 ms', 'max ms', 'p50 / SSE', 'p99 / SSE'],
      [plain, nr, nrc].map((r) => [
        r.name,
        String(r.n),
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.max),
        (r.p50 / plain.p50).toFixed(2),
        (r.p99 / plain.p99).toFixed(2),
      ]),
    ) +
    '\n',
)
console.log(
  `raw: ${writeResults('node-red', { warnings: WARNINGS, gapMs: GAP_MS, sse, nodeRed: fromNodeRed })}`,
)
process.exit(0)
