/** Runs every shipped case file against the shipped catalogues, as `shaobing rules test` does. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { expandSeries, formatFileIssue, parseCases, runCases } from '../../../rules/src/index.js'
import { CATALOG_DIR, shippedCatalogues } from '../../helpers/catalog.js'

const files = readdirSync(CATALOG_DIR).filter((f) => f.endsWith('.cases.yaml'))

test('every catalogue has a case file', () => {
  const catalogues = readdirSync(CATALOG_DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.cases.yaml'))
  expect(files.map((f) => f.replace('.cases.yaml', '.yaml')).sort()).toEqual(catalogues.sort())
})

describe.each(files)('%s', (f) => {
  const file = join(CATALOG_DIR, f)
  const parsed = parseCases(readFileSync(file, 'utf8'), file)
  if (!parsed.ok) throw new Error(parsed.error.map(formatFileIssue).join('\n'))
  test.each(runCases(shippedCatalogues(), parsed.value).map((r) => [r.name, r] as const))(
    '%s',
    (_name, r) => {
      expect(r.actual).toEqual(r.expected)
    },
  )
})

describe('series notation', () => {
  test.each([
    ['30', [30]],
    ['30x3', [30, 30, 30]],
    ['30+0.5x2', [30, 30.5, 31]],
    ['1-0.1x2', [1, 0.9, 0.8]],
    ['_ 1 _x2', [null, 1, null, null]],
    ['1 2  3', [1, 2, 3]],
  ])('%s', (notation, values) => expect(expandSeries(notation)).toEqual(values))

  test('nonsense is refused', () => expect(expandSeries('30y4')).toBeUndefined())
})
