import { describe, expect, test } from 'vitest'
import { coverage, deliverySummary } from '../../../gateway/src/reports/coverage.js'
import { ruleStats, type AlertCounts } from '../../../gateway/src/reports/rule-stats.js'

describe('rule statistics', () => {
  const stats = (counts: AlertCounts[], flaps: unknown[]) => {
    const asked: unknown[] = []
    const r = ruleStats(
      {
        alertStats: (quickMs) => (asked.push(quickMs), counts),
        auditLog: (filter) => (asked.push(filter), flaps.map((detail) => ({ detail }))),
      },
      600_000,
    )
    return { r, asked }
  }

  test('every rule that fired or flapped, sorted, with zeros where it has none', () => {
    const { r, asked } = stats(
      [
        { ruleId: 'river-flood', fired: 5, cleared: 4, quickLifts: 2 },
        { ruleId: 'gale', fired: 1, cleared: 1, quickLifts: 0 },
      ],
      [{ ruleId: 'river-flood' }, { ruleId: 'rapid-rise' }, { ruleId: 'river-flood' }],
    )
    expect(asked).toEqual([{ action: 'flap_detected', limit: 100_000 }, 600_000])
    expect(r).toEqual({
      quickLiftWithinMs: 600_000,
      rules: [
        { ruleId: 'gale', fired: 1, cleared: 1, quickLifts: 0, flaps: 0 },
        { ruleId: 'rapid-rise', fired: 0, cleared: 0, quickLifts: 0, flaps: 1 },
        { ruleId: 'river-flood', fired: 5, cleared: 4, quickLifts: 2, flaps: 2 },
      ],
    })
  })

  test('flap entries without a rule are not counted against any', () => {
    const { r } = stats([], [null, {}, { ruleId: '' }, { ruleId: 7 }, 'text'])
    expect(r.rules).toEqual([])
  })
})

describe('coverage', () => {
  const loudspeakers = [
    { version: 1, targeted: 4, played: 4 },
    { version: 2, targeted: 4, played: 3 },
  ]
  const sms = [
    { version: 1, purpose: 'warning' as const, state: 'delivered' },
    { version: 1, purpose: 'warning' as const, state: 'submitted' },
    { version: 1, purpose: 'callout' as const, state: 'delivered' },
    { version: 2, purpose: 'warning' as const, state: 'delivered' },
  ]
  const calls = [
    { version: 1, state: 'answered' },
    { version: 1, state: 'escalated' },
    { version: 2, state: 'waiting' },
  ]

  test('joins each version’s loudspeakers with its warning SMS and its 叫应 calls', () => {
    const asked: string[] = []
    const r = coverage('w1', {
      warnings: { coverage: (id) => (asked.push(`coverage ${id}`), loudspeakers) },
      sms: { messages: (id) => (asked.push(`sms ${id}`), sms) },
      people: { callouts: (id) => (asked.push(`calls ${id}`), calls) },
    })
    expect(asked.sort()).toEqual(['calls w1', 'coverage w1', 'sms w1'])
    expect(r).toEqual([
      {
        version: 1,
        targeted: 4,
        played: 4,
        sms: { targeted: 2, delivered: 1 },
        callouts: { called: 2, answered: 1 },
      },
      {
        version: 2,
        targeted: 4,
        played: 3,
        sms: { targeted: 1, delivered: 1 },
        callouts: { called: 1, answered: 0 },
      },
    ])
  })

  test('without an SMS channel, nothing went out by SMS', () => {
    const r = coverage('w1', {
      warnings: { coverage: () => loudspeakers.slice(0, 1) },
      sms: undefined,
      people: { callouts: () => [] },
    })
    expect(r).toEqual([
      {
        version: 1,
        targeted: 4,
        played: 4,
        sms: { targeted: 0, delivered: 0 },
        callouts: { called: 0, answered: 0 },
      },
    ])
  })

  test('deliveries counted per version and state', () => {
    expect(
      deliverySummary([
        { version: 1, state: 'played' },
        { version: 1, state: 'played' },
        { version: 1, state: 'offline' },
        { version: 2, state: 'sent' },
      ]),
    ).toEqual({ 1: { played: 2, offline: 1 }, 2: { sent: 1 } })
    expect(deliverySummary([])).toEqual({})
  })
})
