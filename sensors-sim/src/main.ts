/**
 * Simulator command line:
 *   node dist/sensors-sim/src/main.js --url mqtt://127.0.0.1:1883 --scenario FILE [--registry FILE] [--credentials FILE]
 *     [--sl651 tcp://127.0.0.1:PORT]
 *     [--speed N] [--connections N] [--terminals-offline F] [--terminals-flaky F]
 *     [--terminals-slow F] [--keep-terminals]
 * Starts a loudspeaker terminal for every terminal in the registry, plays the scenario, prints
 * progress and a summary, and with --keep-terminals keeps the terminals connected until SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import { formatFileIssue } from '../../rules/src/index.js'
import { loadCredentials, type SimCredentials } from './credentials.js'
import { loadScenario } from './scenario.js'
import { runScenario } from './sensors.js'
import { startTerminals, type TerminalSpec } from './terminals.js'

/** The terminals listed in a registry file; only ids and languages are read. */
export function registryTerminals(file: string): TerminalSpec[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    terminals?: { id?: unknown; language?: unknown }[]
  } | null
  return (doc?.terminals ?? []).flatMap((t) =>
    typeof t.id === 'string'
      ? [{ id: t.id, ...(typeof t.language === 'string' ? { language: t.language } : {}) }]
      : [],
  )
}

/**
 * The simulator's command line. `forked`: this process was forked by `shaobing demo` (it runs as
 * the script, never as a library inside another program's process): it tells its parent when the
 * scenario is played and stops when the parent is gone.
 */
export async function simMain(
  argv: string[],
  { forked = false }: { forked?: boolean } = {},
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      scenario: { type: 'string' },
      registry: { type: 'string' },
      speed: { type: 'string' },
      connections: { type: 'string' },
      'terminals-offline': { type: 'string', default: '0' },
      'terminals-flaky': { type: 'string', default: '0' },
      'terminals-slow': { type: 'string', default: '0' },
      'keep-terminals': { type: 'boolean', default: false },
      credentials: { type: 'string' },
      /** The gateway's SL 651 listener, for the scenario's RTUs (`rtus:`). */
      sl651: { type: 'string' },
      /** The gateway's command-signing public key (PEM); repeat during a key rotation. */
      'command-key': { type: 'string', multiple: true },
    },
  })
  if (values.scenario === undefined) {
    console.error(
      'usage: sim --url URL --scenario FILE [--registry FILE] [--credentials FILE] [--command-key FILE] [--speed N] [--connections N]\n' +
        '           [--sl651 tcp://HOST:PORT]\n' +
        '           [--terminals-offline F] [--terminals-flaky F] [--terminals-slow F] [--keep-terminals]',
    )
    return 2
  }
  const fractions: Record<string, number> = {}
  for (const k of ['terminals-offline', 'terminals-flaky', 'terminals-slow'] as const) {
    const f = Number(values[k])
    if (!(f >= 0 && f <= 1)) {
      console.error(`--${k} must be a share between 0 and 1, got ${values[k]}`)
      return 2
    }
    fractions[k] = f
  }
  const connections = values.connections !== undefined ? Number(values.connections) : undefined
  if (connections !== undefined && !(Number.isInteger(connections) && connections > 0)) {
    console.error(`--connections must be a positive integer, got ${values.connections}`)
    return 2
  }
  let text: string
  try {
    text = readFileSync(values.scenario, 'utf8')
  } catch (e) {
    console.error(`cannot read scenario ${values.scenario}: ${(e as Error).message}`)
    return 1
  }
  const loaded = loadScenario(text, values.scenario)
  if (!loaded.ok) {
    for (const i of loaded.error) console.error(formatFileIssue(i))
    return 1
  }
  const scenario = loaded.value
  if (values.sl651 !== undefined && !/^tcp:\/\/[^/:]+:\d+$/.test(values.sl651)) {
    console.error(`--sl651 must be tcp://HOST:PORT, got ${values.sl651}`)
    return 2
  }
  if (scenario.rtus.length > 0 && values.sl651 === undefined) {
    console.error(
      `scenario ${scenario.name} has ${scenario.rtus.length} SL 651 RTUs: give the gateway's listener with --sl651 tcp://HOST:PORT`,
    )
    return 2
  }
  const speed = values.speed !== undefined ? Number(values.speed) : scenario.speed
  if (!(speed > 0)) {
    console.error(`--speed must be a positive number, got ${values.speed}`)
    return 2
  }
  let credentials: SimCredentials | undefined
  let trustedKeys: string[] | undefined
  try {
    credentials = values.credentials !== undefined ? loadCredentials(values.credentials) : undefined
    trustedKeys = values['command-key']?.map((f) => readFileSync(f, 'utf8'))
  } catch (e) {
    console.error((e as Error).message)
    return 1
  }
  const terminals = values.registry ? registryTerminals(values.registry) : []
  const fleet =
    terminals.length > 0
      ? await startTerminals({
          url: values.url,
          terminals,
          offlineFraction: fractions['terminals-offline']!,
          flakyFraction: fractions['terminals-flaky']!,
          slowFraction: fractions['terminals-slow']!,
          ...(credentials ? { credentials } : {}),
          ...(trustedKeys ? { trustedKeys } : {}),
        })
      : undefined
  const out = (s: string) => process.stderr.write(`[sim] ${s}\n`)
  if (fleet)
    out(
      `${fleet.online.length} loudspeaker terminals connected` +
        (fleet.offline.length > 0 ? `, ${fleet.offline.length} offline` : '') +
        (fleet.slow.length > 0 ? `, ${fleet.slow.length} slow` : '') +
        (fleet.connectRetries() > 0 ? ` (${fleet.connectRetries()} connect retries)` : ''),
    )
  out(
    `playing scenario ${scenario.name} (${scenario.duration} of event time at ${speed}×): ${scenario.description}`,
  )

  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // Forked by `shaobing demo`: a gateway that is gone (killed, crashed) takes its simulator along.
  if (forked) process.once('disconnect', onSignal)
  let last = 0
  let lastTs = 0
  let previous = 0
  const everyMs = 10_000
  const progress = setInterval(() => {
    if (lastTs > 0)
      out(
        `event time ${new Date(lastTs).toISOString()}  readings taken ${last} ` +
          `(${Math.round(((last - previous) * 1000) / everyMs)}/s)`,
      )
    previous = last
  }, everyMs)
  out(
    `connecting ${connections !== undefined ? `${connections} concentrators` : `${scenario.sensors.length} sensors`}`,
  )
  const summary = await runScenario({
    url: values.url,
    scenario,
    speed,
    signal: stop.signal,
    ...(credentials ? { credentials } : {}),
    ...(connections !== undefined ? { connections } : {}),
    ...(values.sl651 !== undefined ? { sl651Url: values.sl651 } : {}),
    onReading: (r) => {
      last++
      lastTs = r.ts
    },
  })
  clearInterval(progress)
  out(
    `done over ${summary.connections} connections: sent ${summary.sent}, acknowledged ${summary.acknowledged}, ` +
      `failed ${summary.failed}, lost in outages ${summary.lost}, backfilled ${summary.backfilled}, ` +
      `reconnects ${summary.reconnects}, connect retries ${summary.connectRetries}`,
  )
  if (summary.sl651) {
    const r = summary.sl651
    out(
      `SL 651 over ${r.rtus} RTUs: reports sent ${r.sent}, confirmed ${r.confirmed}, resent ${r.resent}, ` +
        `failed ${r.failed}, keep-alives ${r.keepAlives}, reconnects ${r.reconnects}`,
    )
  }
  for (const [kind, k] of Object.entries(summary.perKind))
    out(
      `  ${kind.padEnd(12)} sent ${k.sent}  acknowledged ${k.acknowledged}${k.lost > 0 ? `  lost ${k.lost}` : ''}`,
    )
  // A parent that forked the simulator (`shaobing demo`) hears that the scenario is played; the
  // channel then no longer keeps this process alive.
  let told = false
  const tellParent = () => {
    if (!forked || !process.send || told) return
    told = true
    process.send({ type: 'scenario-done', sent: summary.sent, failed: summary.failed })
    process.channel?.unref()
  }
  if (fleet) {
    const played = fleet.played()
    out(`loudspeakers played ${played.length} announcements`)
    for (const p of played.filter(
      (r, i, a) => a.findIndex((x) => x.warningId === r.warningId && x.version === r.version) === i,
    ))
      out(`  v${p.version} ${p.text}`)
    if (values['keep-terminals'] && !stop.signal.aborted) {
      out('terminals stay connected; stop with Ctrl-C')
      tellParent()
      await new Promise<void>((resolve) =>
        stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      )
    }
    await fleet.close()
  }
  tellParent()
  return summary.failed === 0 ? 0 : 1
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await simMain(process.argv.slice(2), { forked: process.send !== undefined })
}
