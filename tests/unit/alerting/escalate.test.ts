/** Acknowledgement, escalation by tier, and expiry, on a controlled wall clock. */
import { describe, expect, test } from 'vitest'
import { alerting, PLACES } from '../../helpers/alerting.js'

const MIN = 60_000

describe('escalation', () => {
  test.each([
    { level: 'blue' as const, escalates: false },
    { level: 'yellow' as const, escalates: true },
    { level: 'red' as const, escalates: true },
  ])('an unacknowledged $level village warning escalates: $escalates', async ({ level, escalates }) => {
    const a = alerting({ escalation: { after: '10m' } })
    await a.apply('river-flood', 'WL-LW-01', null, level)
    const id = a.warnings()[0]!.id
    a.clock.advance(10 * MIN - 1)
    await a.manager.tick()
    expect(a.stores.warnings.escalations(id)).toEqual([])
    a.clock.advance(1)
    await a.manager.tick()
    const tiers = a.stores.warnings.escalations(id).map((e) => [e.tier, e.region, e.people.map((p) => p.id)])
    expect(tiers).toEqual(escalates ? [[1, PLACES.hekou, ['P-HK-DUTY']]] : [])
    if (!escalates) return
    a.clock.advance(10 * MIN)
    await a.manager.tick()
    expect(a.stores.warnings.escalations(id).map((e) => e.tier)).toEqual([1, 2])
    expect(a.stores.warnings.escalations(id)[1]!.people.map((p) => p.id)).toEqual(['P-CO-DUTY'])
    expect(a.events.filter((e) => e.type === 'warning.escalated')).toHaveLength(2)
  })

  test('an acknowledgement stops it; acknowledging twice is refused; a higher level asks again', async () => {
    const a = alerting({ escalation: { after: '10m' } })
    await a.apply('river-flood', 'WL-LW-01', null, 'yellow')
    const id = a.warnings()[0]!.id
    expect(await a.manager.ack(id, 'duty')).toMatchObject({ ok: true })
    expect(await a.manager.ack(id, 'duty')).toMatchObject({ ok: false, reason: 'already_acknowledged' })
    a.clock.advance(30 * MIN)
    await a.manager.tick()
    expect(a.stores.warnings.escalations(id)).toEqual([])
    await a.apply('river-flood', 'WL-LW-01', 'yellow', 'orange')
    expect(a.stores.warnings.get(id)).toMatchObject({ ackedAt: null, escalateAt: a.clock.now() + 10 * MIN })
    expect(await a.manager.ack('no-such-warning', 'duty')).toMatchObject({ ok: false, reason: 'not_found' })
  })
})

describe('expiry', () => {
  test('a warning with no new version for expireAfter is lifted as expired', async () => {
    const a = alerting({ expireAfter: '6h' })
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const id = a.warnings()[0]!.id
    a.clock.advance(6 * 60 * MIN - 1)
    await a.manager.tick()
    expect(a.stores.warnings.get(id)!.state).toBe('active')
    a.clock.advance(1)
    await a.manager.tick()
    expect(a.stores.warnings.get(id)).toMatchObject({ state: 'lifted', endReason: 'expired' })
    expect(a.released()).toEqual([`${id}#1 orange`, `${id}#2 lift`])
  })

  test('an operator lifts any active warning; a lifted one cannot be lifted again', async () => {
    const a = alerting()
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const id = a.warnings()[0]!.id
    expect(await a.manager.lift(id, 'duty')).toEqual({ ok: true, version: 2 })
    expect(await a.manager.lift(id, 'duty')).toMatchObject({ ok: false, reason: 'not_found' })
    expect(a.stores.warnings.get(id)!.endReason).toBe('lifted')
  })

  test('a rule-issued warning cannot be changed by hand', async () => {
    const a = alerting()
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const id = a.warnings()[0]!.id
    expect(await a.manager.updateManual(id, { level: 'red' }, { id: 'duty', approver: true })).toMatchObject({
      ok: false,
      reason: 'rule_issued',
    })
  })
})
