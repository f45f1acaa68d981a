/** Every shipped rule cites an entry of the thresholds reference that ships beside the catalogues. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { expect, test } from 'vitest'
import { shippedCatalogues } from '../../helpers/catalog.js'

const REFERENCE = join(import.meta.dirname, '../../../rules/reference/thresholds.yaml')

test('each rule names an entry of rules/reference/thresholds.yaml', () => {
  const doc = parse(readFileSync(REFERENCE, 'utf8')) as Record<string, unknown>
  const ids = new Set<string>()
  for (const section of Object.values(doc))
    if (Array.isArray(section))
      for (const entry of section as { id?: unknown }[]) if (typeof entry?.id === 'string') ids.add(entry.id)
  expect(ids.size).toBeGreaterThan(20)
  const rules = shippedCatalogues().flatMap((c) => c.rules)
  expect(rules.length).toBeGreaterThan(20)
  const missing = rules.filter((r) => !ids.has(r.reference)).map((r) => `${r.id} → ${r.reference}`)
  expect(missing).toEqual([])
})
