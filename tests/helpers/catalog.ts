/** The shipped rule catalogues, loaded by the gateway's own loader, for unit tests of the engine. */
import { DEFAULT_RULES, loadCatalogues } from '../../gateway/src/config/load.js'
import type { Catalogue } from '../../rules/src/index.js'

export const CATALOG_DIR = DEFAULT_RULES

export function shippedCatalogues(): Catalogue[] {
  const loaded = loadCatalogues([CATALOG_DIR])
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error))
  return loaded.value.map((c) => c.catalogue)
}

export const H = 3_600_000
export const M = 60_000
/** Event time origin for test series: 2026-07-15T00:00:00Z. */
export const T0 = Date.UTC(2026, 6, 15)
