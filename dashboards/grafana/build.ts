/**
 * Writes the JSON files Grafana provisions from the TypeScript dashboards:
 *
 *   npx tsx dashboards/grafana/build.ts
 *
 * With `--thresholds-from <gateway url>` it first refreshes `thresholds.json` from a running
 * gateway's `GET /api/stations` and `GET /api/stations/:id/thresholds` (a bearer token from
 * SHAOBING_TOKEN where reads need a viewer), so the station view draws that registry's thresholds.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { format, resolveConfig } from 'prettier'
import { dashboards, serialize, THRESHOLDS_FILE, type ThresholdsFile } from './src/index.js'
import { fetchThresholds } from './src/thresholds.js'

const here = import.meta.dirname

async function main() {
  const args = process.argv.slice(2)
  const from = args.indexOf('--thresholds-from')
  if (from >= 0) {
    const base = args[from + 1]
    if (!base) throw new Error('--thresholds-from needs the gateway’s URL')
    const file = await fetchThresholds(base, process.env.SHAOBING_TOKEN)
    const path = join(here, THRESHOLDS_FILE)
    writeFileSync(
      path,
      await format(JSON.stringify(file), { ...(await resolveConfig(path)), parser: 'json' }),
    )
  }
  const thresholds = JSON.parse(readFileSync(join(here, THRESHOLDS_FILE), 'utf8')) as ThresholdsFile
  for (const { file, dashboard } of dashboards(thresholds)) {
    const path = join(here, file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, await serialize(dashboard, path))
    process.stdout.write(`wrote ${file}\n`)
  }
}

await main()
