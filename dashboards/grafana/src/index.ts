/**
 * Every dashboard Grafana provisions, by the file it is written to (under `dashboards/grafana/`):
 * `json/influxdb/` the InfluxQL flavour, `json/prometheus/` the VictoriaMetrics one. The generator
 * (`build.ts`) writes them; the test builds them again and compares.
 */
import type { Dashboard } from '@grafana/schema'
import { format, resolveConfig } from 'prettier'
import { countyDashboard } from './county.js'
import { operationsDashboard } from './operations.js'
import { stationDashboard } from './station.js'
import type { ThresholdsFile } from './thresholds.js'

export type { Flavour } from './builder.js'
export { DATASOURCES } from './builder.js'
export type { ThresholdsFile } from './thresholds.js'

/** The folder of each flavour's JSON, the one the dashboard provider reads. */
export const JSON_DIR = 'json'
export const THRESHOLDS_FILE = 'thresholds.json'

export function dashboards(thresholds: ThresholdsFile): { file: string; dashboard: Dashboard }[] {
  return [
    { file: `${JSON_DIR}/influxdb/station.json`, dashboard: stationDashboard('influxdb', thresholds) },
    { file: `${JSON_DIR}/influxdb/county.json`, dashboard: countyDashboard('influxdb') },
    { file: `${JSON_DIR}/prometheus/station.json`, dashboard: stationDashboard('prometheus', thresholds) },
    { file: `${JSON_DIR}/prometheus/county.json`, dashboard: countyDashboard('prometheus') },
    { file: `${JSON_DIR}/prometheus/operations.json`, dashboard: operationsDashboard() },
  ]
}

/** A dashboard as the generator writes it: JSON as the repository's prettier settings format it. */
export async function serialize(d: Dashboard, file: string): Promise<string> {
  const options = (await resolveConfig(file)) ?? {}
  return format(JSON.stringify(d), { ...options, parser: 'json' })
}
