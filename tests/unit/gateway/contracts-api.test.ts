import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import {
  Level,
  LEVELS,
  ManualIssue,
  REGION_LEVELS,
  RegionCode,
  Silence,
} from '../../../gateway/src/contracts/api.js'
import { RegionCode as RegistryRegionCode } from '../../../gateway/src/registry/schema.js'
import {
  Level as RulesLevel,
  LEVELS as RULES_LEVELS,
  REGION_LEVELS as RULES_REGION_LEVELS,
} from '../../../rules/src/index.js'

// contracts/ may import nothing but zod, so it repeats these two; they must not drift apart.
describe('the API contract repeats the registry and the rules exactly', () => {
  test('levels: the same six, in the same order of severity', () => {
    expect(LEVELS).toEqual(RULES_LEVELS)
    expect(Level.options).toEqual(RulesLevel.options)
  })

  test('region levels: the same five, outermost first', () => {
    expect(REGION_LEVELS).toEqual(RULES_REGION_LEVELS)
  })

  test('region codes: the same pattern and the same message', () => {
    const pattern = (s: z.ZodType) => (z.toJSONSchema(s) as { pattern?: string }).pattern
    expect(pattern(RegionCode)).toBe(pattern(RegistryRegionCode))
    for (const code of ['511823100201', '5118231002', '51182310020x', ' 511823100201', '5118231002011'])
      expect(RegionCode.safeParse(code).success, code).toBe(RegistryRegionCode.safeParse(code).success)
    const message = (s: z.ZodType) => s.safeParse('51').error?.issues[0]?.message
    expect(message(RegionCode)).toBe(message(RegistryRegionCode))
  })
})

describe('request contracts', () => {
  test('a manual warning defaults to Actual and refuses unknown fields', () => {
    expect(ManualIssue.parse({ hazard: 'flood', level: 'red', regions: ['511823100201'] })).toEqual({
      hazard: 'flood',
      level: 'red',
      status: 'Actual',
      regions: ['511823100201'],
    })
    const r = ManualIssue.safeParse({ hazard: 'flood', level: 'red', regions: ['511823100201'], colour: 1 })
    expect(r.error?.issues.map((i) => i.code)).toEqual(['unrecognized_keys'])
  })

  test('a silence takes epoch ms or ISO-8601 with an offset, and needs a matcher', () => {
    expect(
      Silence.parse({
        hazard: 'flood',
        startsAt: '2026-07-15T08:00:00+08:00',
        endsAt: 1_784_080_800_000,
        reason: 'x',
      }),
    ).toMatchObject({ startsAt: Date.UTC(2026, 6, 15), endsAt: 1_784_080_800_000 })
    expect(Silence.safeParse({ endsAt: 1, reason: 'x' }).error?.issues[0]?.path).toEqual(['stationId'])
    expect(Silence.safeParse({ hazard: 'flood', endsAt: '2026-07-15T08:00:00', reason: 'x' }).success).toBe(
      false,
    )
  })
})
