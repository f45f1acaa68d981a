/** Plays a shipped scenario (sensors-sim/scenarios/{name}.yaml) against a running test gateway. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatFileIssue } from '../../rules/src/index.js'
import { loadScenario, type Scenario } from '../../sensors-sim/src/scenario.js'
import { runScenario, type RunSummary } from '../../sensors-sim/src/sensors.js'
import { simCredentials } from './devices.js'
import { getJson } from './gateway.js'

export const scenarioFile = (name: string): string =>
  join(import.meta.dirname, `../../sensors-sim/scenarios/${name}.yaml`)

/** The scenario, validated; a scenario that does not load fails the test with its issues. */
export function shippedScenario(name: string): Scenario {
  const file = scenarioFile(name)
  const loaded = loadScenario(readFileSync(file, 'utf8'), file)
  if (!loaded.ok) throw new Error(loaded.error.map(formatFileIssue).join('\n'))
  return loaded.value
}

export function playScenario(url: string, name: string, speed: number, startMs: number): Promise<RunSummary> {
  const scenario = shippedScenario(name)
  return runScenario({
    url,
    scenario,
    speed,
    startMs,
    credentials: simCredentials(scenario.sensors.map((s) => s.id)),
  })
}

/** A warning as `GET /api/warnings` shows it, with the fields the scenario tests read. */
export interface WarningView {
  id: string
  ruleId: string
  stationId: string
  region: string
  hazard: string
  state: string
  level: string | null
  versions: { action: string; level: string | null; ts: number; text: string }[]
}

/** Every warning the gateway has issued, active and lifted. */
export const allWarnings = (http: string): Promise<WarningView[]> =>
  getJson<{ warnings: WarningView[] }>(http, '/api/warnings?state=all').then((r) => r.warnings)
