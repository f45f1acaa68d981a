/**
 * The shipped demo scenario end to end, at high speed: simulated sensors and all the county's
 * simulated loudspeakers over real MQTT, and the warnings the gateway produced checked; and
 * `shaobing demo` itself, as npm start runs it, to the summary that says every warning is lifted.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { DEMO_CONFIG, loadConfig } from '../../gateway/src/config/load.js'
import { plausibleValues } from '../../gateway/src/ingest/decode.js'
import { RulesEngine } from '../../rules/src/index.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { Simulation } from '../../sensors-sim/src/signals.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { registryCredentials } from '../helpers/devices.js'
import { shippedScenario, allWarnings } from '../helpers/scenario.js'
import { DEMO_REGISTRY, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

let gw: RunningGateway | undefined
let fleet: TerminalFleet | undefined
let demo: ChildProcess | undefined
afterAll(async () => {
  if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL')
  await fleet?.close()
  await gw?.stop()
})

test('demo-flood: flood, rainstorm and flash-flood warnings rise and are lifted; every targeted loudspeaker plays every version', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const credentials = registryCredentials(DEMO_REGISTRY)
  fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals: registryTerminals(DEMO_REGISTRY),
    playMs: 5,
    credentials,
  })
  expect(fleet.online).toHaveLength(28)

  const summary = await runScenario({
    url: gw.urls.mqtt,
    scenario: shippedScenario('demo-flood'),
    speed: 60_000,
    startMs: Date.UTC(2026, 6, 15),
    credentials,
  })
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)
  expect(summary.sent).toBe(6 * 108)

  const warnings = await allWarnings(gw.urls.http)
  const byKey = new Map(warnings.map((w) => [`${w.ruleId} ${w.stationId}`, w]))
  expect(warnings.every((w) => w.state === 'lifted')).toBe(true)
  const flood = byKey.get('river-flood WL-LW-01')!
  expect(flood.versions.map((v) => v.level)).toEqual([
    'blue',
    'yellow',
    'orange',
    'red',
    'orange',
    'yellow',
    'blue',
    null,
  ])
  // Both gauges: the rainstorm signal reaches red; each gauge's village thresholds call for
  // evacuation (red = 立即转移).
  for (const id of ['RG-LW-01', 'RG-SM-01']) {
    expect(byKey.get(`rainstorm ${id}`)!.versions.map((v) => v.level)).toContain('red')
    expect(byKey.get(`flash-flood-village ${id}`)!.versions.map((v) => v.level)).toContain('red')
  }
  // The two gauges of 河口镇 confirm each other: one township-wide warning, for the township.
  const township = warnings.filter((w) => w.ruleId === 'flash-flood-township')
  expect(township.map((w) => w.region)).toEqual(['511823100000'])
  expect(new Set(warnings.map((w) => w.ruleId))).toEqual(
    new Set(['river-flood', 'rainstorm', 'flash-flood-village', 'flash-flood-township']),
  )

  // Every delivery of every version was played by every terminal of the warning's region, and
  // by no other.
  const terminals = registryTerminals(DEMO_REGISTRY)
  const inRegion = (region: string) => {
    const prefix = region.replace(/(000)+$/, '')
    // Demo terminal ids are T{village code}-NN.
    return terminals.filter((t) => t.id.slice(1, 13).startsWith(prefix))
  }
  const expected = warnings.reduce((n, w) => n + w.versions.length * inRegion(w.region).length, 0)
  const played = await until(
    () => fleet!.played().length,
    (n) => n >= expected,
    'every delivery played',
  )
  expect(played).toBe(expected)
  const villages = new Set(fleet.played().map((p) => p.terminalId.slice(1, 13)))
  expect(villages).toEqual(new Set(['511823100201', '511823100202', '511823100203']))
  for (const w of warnings) {
    const { summary: counts } = await getJson<{ summary: Record<string, Record<string, number>> }>(
      gw.urls.http,
      `/api/warnings/${w.id}/deliveries`,
    )
    expect(Object.values(counts)).toEqual(w.versions.map(() => ({ played: inRegion(w.region).length })))
    // Coverage: every version reached all its loudspeakers; time to first and to 95 % playback known.
    const { versions } = await getJson<{
      versions: { targeted: number; played: number; firstPlayMs: number | null; p95PlayMs: number | null }[]
    }>(gw.urls.http, `/api/warnings/${w.id}/coverage`)
    for (const v of versions) {
      expect(v.played).toBe(v.targeted)
      expect(v.firstPlayMs).not.toBeNull()
      expect(v.p95PlayMs).toBeGreaterThanOrEqual(v.firstPlayMs!)
    }
  }
  const text = await (await fetch(`${gw.urls.http}/metrics`)).text()
  expect(text).toMatch(/shaobing_time_to_95pct_playback_seconds_count [1-9]/)
}, 60_000)

test('demo-flood decides the same wherever its event time is placed (issue 17: a demo run without warnings)', () => {
  // `shaobing demo` places the scenario to end at the present, so each run lands elsewhere in the
  // (Beijing) day and off the interval grid by its own milliseconds. Nothing the rules decide may
  // depend on it: the same transitions, at the same scenario times, for placements over a whole day.
  const loaded = loadConfig(DEMO_CONFIG)
  if (!loaded.ok) throw new Error('demo configuration refused')
  const { registry, catalogues } = loaded.value
  const scenario = shippedScenario('demo-flood')
  const decide = (startMs: number) => {
    const engine = new RulesEngine(
      catalogues.map((c) => c.catalogue),
      (id) => registry.stationInfo(id),
    )
    const sim = new Simulation(scenario, startMs)
    const out: string[] = []
    for (let i = 1; i <= sim.steps; i++)
      for (const r of sim.step()) {
        const sensor = registry.sensor(r.sensorId)!
        const kind = registry.kind(sensor.kind)!
        const { transitions, late } = engine.evaluate({
          stationId: sensor.station.id,
          kind: sensor.kind,
          ts: r.ts,
          values: plausibleValues(r.values, kind),
        })
        expect(late).toBe(false)
        for (const t of transitions)
          out.push(`${t.ruleId} ${t.stationId} ${t.to ?? 'clear'} +${t.ts - startMs}`)
      }
    return out
  }
  const day = Date.UTC(2026, 11, 3, 16) // midnight in Beijing
  const reference = decide(day)
  expect(reference.filter((t) => t.startsWith('river-flood WL-LW-01 '))).toHaveLength(8)
  for (let k = 1; k < 48; k++) expect(decide(day + k * 30 * 60_000 + k * 37)).toEqual(reference)
})

test('shaobing demo plays until every warning it raised is lifted, says so with the coverage, and keeps running until stopped', async () => {
  const root = join(import.meta.dirname, '../..')
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-demo-'))
  const env: Record<string, string | undefined> = { ...process.env }
  delete env.SHAOBING_LOG_FORMAT
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'tests/helpers/gateway-process.ts'),
      'demo',
      ...['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dataDir],
      ...['--speed', '60000'],
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env },
  )
  demo = proc
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  // stdout is a pipe: every line a JSON log line, the simulator's among them.
  const logs: Record<string, unknown>[] = []
  const notJson: string[] = []
  createInterface({ input: proc.stdout }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>)
    } catch {
      notJson.push(l)
    }
  })
  // stderr is for the person: the banner, then the summary once the gateway says the demo is done.
  let stderr = ''
  const summary = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no summary line:\n${stderr}`)), 110_000)
    createInterface({ input: proc.stderr }).on('line', (l) => {
      stderr += l + '\n'
      const m =
        /demo done: every warning lifted: (\d+) warning\(s\) raised, (\d+) lifted; (\d+) loudspeaker\(s\) reached, (\d+) of (\d+) announcement\(s\) played/.exec(
          l,
        )
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    void exited.then((code) => reject(new Error(`demo exited (${code}) before its summary:\n${stderr}`)))
  })
  const [, raised, lifted, loudspeakers, played, targeted] = (await summary).map(Number)

  // The banner: the console's URL first, with the demo's duty login.
  const consoleUrl = /▶ console +(http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1]
  expect(consoleUrl).toBeDefined()
  expect(stderr).toMatch(/demo login +duty \/ \S{20,}/)
  expect(stderr).toMatch(/console and API +http:\/\/127\.0\.0\.1:\d+ /)
  expect(stderr).toMatch(
    new RegExp(`the gateway keeps running: console ${consoleUrl!.replace(/[.:/]/g, '\\$&')}.*Ctrl-C`),
  )

  // The same counts as the gateway's own API: six warnings, all lifted, every announcement played
  // in the three villages' twelve loudspeakers.
  expect(raised).toBe(6)
  expect(lifted).toBe(raised)
  expect(played).toBe(targeted)
  expect(targeted).toBeGreaterThan(0)
  expect(loudspeakers).toBe(12)
  const warnings = await allWarnings(consoleUrl!)
  expect(warnings).toHaveLength(raised!)
  expect(warnings.every((w) => w.state === 'lifted')).toBe(true)

  expect(notJson).toEqual([])
  expect(logs.some((l) => l.msg === 'gateway ready')).toBe(true)
  expect(logs.filter((l) => l.component === 'sim').map((l) => l.msg)).toContain(
    'terminals stay connected; stop with Ctrl-C',
  )

  // Still running until stopped; then a clean stop.
  expect(proc.exitCode).toBeNull()
  proc.kill('SIGINT')
  expect(await exited).toBe(0)
  expect(logs.at(-1)?.msg).toBe('gateway stopped')
}, 120_000)
