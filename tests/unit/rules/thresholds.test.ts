/** A rule's simple thresholds: which comparisons are kept, and their values as the engine resolves them. */
import { describe, expect, test } from 'vitest'
import { Rule, ruleThresholds } from '../../../rules/src/index.js'

const rule = (levels: unknown[], extra: Record<string, unknown> = {}) =>
  Rule.parse({
    id: 'r',
    name: 'r',
    hazard: 'flood',
    kinds: ['water_level'],
    reference: 'x',
    confidence: 'derived',
    source: 'test',
    levels,
    ...extra,
  })

describe('ruleThresholds', () => {
  test('constants, station constants with scale and offset, and defaults, as the engine resolves them', () => {
    const r = rule([
      {
        level: 'red',
        any_of: [
          { quantity: 'stage_m', op: '>=', ref: 'top' },
          { quantity: 'rain_mm', agg: 'sum', window: '1h', op: '>', value: 50 },
        ],
      },
      {
        level: 'orange',
        any_of: [{ quantity: 'stage_m', op: '>=', ref: 'top', scale: 0.9, offset: 'shift' }],
      },
      { level: 'yellow', any_of: [{ quantity: 'stage_m', op: '>=', ref: 'unset', default: 20 }] },
      { level: 'blue', any_of: [{ quantity: 'stage_m', op: '>=', ref: 'unset' }] },
    ])
    expect(ruleThresholds(r, { top: 30, shift: -1 })).toEqual([
      {
        ruleId: 'r',
        hazard: 'flood',
        level: 'red',
        quantity: 'stage_m',
        agg: 'last',
        op: '>=',
        value: 30,
        ref: 'top',
      },
      {
        ruleId: 'r',
        hazard: 'flood',
        level: 'red',
        quantity: 'rain_mm',
        agg: 'sum',
        window: '1h',
        op: '>',
        value: 50,
      },
      {
        ruleId: 'r',
        hazard: 'flood',
        level: 'orange',
        quantity: 'stage_m',
        agg: 'last',
        op: '>=',
        value: 26,
        ref: 'top',
      },
      {
        ruleId: 'r',
        hazard: 'flood',
        level: 'yellow',
        quantity: 'stage_m',
        agg: 'last',
        op: '>=',
        value: 20,
        ref: 'unset',
        defaulted: true,
      },
    ])
    // The offset's constant unset: that level cannot fire, so it has no threshold.
    expect(ruleThresholds(r, { top: 30 }).map((t) => t.level)).toEqual(['red', 'red', 'yellow'])
  })

  test('rates, counts, day aggregates and conjunctions are left out; a conjunction of one is kept', () => {
    const r = rule([
      {
        level: 'red',
        all_of: [
          { quantity: 'stage_m', agg: 'rate_per_h', window: '1h', op: '>=', value: 1 },
          { quantity: 'stage_m', op: '>=', value: 3 },
        ],
      },
      {
        level: 'orange',
        any_of: [
          { quantity: 'stage_m', agg: 'count', window: '1h', op: '>=', value: 3 },
          { quantity: 'stage_m', agg: 'daily', of: 'max', op: '>=', value: 3 },
          { all_of: [{ quantity: 'stage_m', agg: 'max', window: '10m', op: '>=', value: 2 }] },
        ],
      },
      { level: 'yellow', all_of: [{ quantity: 'stage_m', op: '<', value: 1 }] },
    ])
    expect(ruleThresholds(r, {}).map((t) => `${t.level} ${t.agg} ${t.op} ${t.value}`)).toEqual([
      'orange max >= 2',
      'yellow last < 1',
    ])
  })

  test('a k-of-n rule has none: a level needs other stations too', () => {
    const r = rule([{ level: 'red', any_of: [{ quantity: 'stage_m', op: '>=', value: 3 }] }], {
      network: { k: 2, within: '1h' },
    })
    expect(ruleThresholds(r, {})).toEqual([])
  })
})
