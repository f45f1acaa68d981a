/** Loads the shipped rule catalogues the way the gateway does, for unit tests of the engine. */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseCatalogue, type Catalogue } from '../../rules/src/index.js'

export const CATALOG_DIR = join(import.meta.dirname, '../../rules/catalog')

export function shippedCatalogues(): Catalogue[] {
  return readdirSync(CATALOG_DIR)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.cases.yaml'))
    .sort()
    .map((f) => {
      const file = join(CATALOG_DIR, f)
      const parsed = parseCatalogue(readFileSync(file, 'utf8'), file)
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.error))
      return parsed.value
    })
}

export const H = 3_600_000
export const M = 60_000
/** Event time origin for test series: 2026-07-15T00:00:00Z. */
export const T0 = Date.UTC(2026, 6, 15)
