import { describe, expect, test } from 'vitest'
import {
  codeOfPrefix,
  groupPrefix,
  levelOfCode,
  outermost,
  parentCode,
  regionAt,
  regionContains,
} from '../../../rules/src/index.js'

const VILLAGE = '420102003004'
const TOWNSHIP = '420102003000'
const COUNTY = '420102000000'

describe('region codes (省2 市2 县2 乡3 村3)', () => {
  test.each([
    [VILLAGE, 'township', TOWNSHIP],
    [VILLAGE, 'county', COUNTY],
    [VILLAGE, 'city', '420100000000'],
    [VILLAGE, 'village', VILLAGE],
    [TOWNSHIP, 'village', TOWNSHIP], // a township is already above village level
    [COUNTY, 'township', COUNTY],
  ] as const)('regionAt(%s, %s) = %s', (code, level, want) => {
    expect(regionAt(code, level)).toBe(want)
  })

  test('parent chain climbs one level at a time to the province', () => {
    const chain: string[] = []
    for (let c: string | undefined = VILLAGE; c !== undefined; c = parentCode(c)) chain.push(c)
    expect(chain).toEqual([VILLAGE, TOWNSHIP, COUNTY, '420100000000', '420000000000'])
    expect(chain.map(levelOfCode)).toEqual(['village', 'township', 'county', 'city', 'province'])
  })

  test('containment, prefixes and the k-of-n group key', () => {
    expect(regionContains(COUNTY, VILLAGE)).toBe(true)
    expect(regionContains(VILLAGE, COUNTY)).toBe(false)
    expect(regionContains('420102004000', VILLAGE)).toBe(false)
    expect(codeOfPrefix('420102')).toBe(COUNTY)
    expect(groupPrefix(VILLAGE, 9)).toBe('420102003')
    expect(groupPrefix(undefined, 9)).toBe('*')
  })

  test('outermost keeps only regions no other one contains', () => {
    expect(outermost([VILLAGE, TOWNSHIP, '420102004000', '420103000000'])).toEqual([
      TOWNSHIP,
      '420102004000',
      '420103000000',
    ])
  })
})
