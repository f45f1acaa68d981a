/** Approval before release (审核签发): pending, one or two approvers, rejection, timeout. */
import { describe, expect, test } from 'vitest'
import { alerting, PLACES } from '../../helpers/alerting.js'

const MIN = 60_000
const policy = (twoPerson: boolean) => ({
  approval: [{ hazards: ['flood'], levels: ['red' as const], timeout: '2m', twoPerson }],
})

describe('approval', () => {
  test.each([
    { level: 'orange' as const, release: 'released' },
    { level: 'red' as const, release: 'pending' },
  ])('a $level flood version is $release', async ({ level, release }) => {
    const a = alerting(policy(false))
    await a.apply('river-flood', 'WL-LW-01', null, level)
    const w = a.warnings()[0]!
    expect(w.versions[0]!.release).toBe(release)
    expect(a.released()).toHaveLength(release === 'released' ? 1 : 0)
    expect(a.events.filter((e) => e.type === 'approval.needed')).toHaveLength(release === 'pending' ? 1 : 0)
  })

  const decisions: { name: string; twoPerson: boolean; steps: [string, 'approve' | 'reject', string][] }[] = [
    { name: 'one approver releases', twoPerson: false, steps: [['duty', 'approve', 'released']] },
    { name: 'a rejection keeps it off the air', twoPerson: false, steps: [['duty', 'reject', 'rejected']] },
    {
      name: 'two-person: the first approval leaves it pending, a repeat is refused, the second releases',
      twoPerson: true,
      steps: [
        ['duty', 'approve', 'pending'],
        ['duty', 'approve', 'already_decided'],
        ['approver2', 'approve', 'released'],
      ],
    },
    {
      name: 'a decided version takes no more decisions',
      twoPerson: false,
      steps: [
        ['duty', 'approve', 'released'],
        ['approver2', 'approve', 'not_pending'],
      ],
    },
  ]

  test.each(decisions)('$name', async ({ twoPerson, steps }) => {
    const a = alerting(policy(twoPerson))
    await a.apply('river-flood', 'WL-LW-01', null, 'red')
    const id = a.warnings()[0]!.id
    for (const [who, decision, want] of steps) {
      const r = await a.manager.decide(id, 1, who, decision)
      expect(r.ok ? r.release : r.reason).toBe(want)
    }
    const v = a.stores.warnings.version(id, 1)!
    expect(a.released()).toEqual(v.release === 'released' ? [`${id}#1 red`] : [])
    if (v.release === 'released') expect(v.releasedBy).toEqual(twoPerson ? ['duty', 'approver2'] : ['duty'])
  })

  test('unanswered, it goes out at its deadline, released by the system', async () => {
    const a = alerting(policy(true))
    await a.apply('river-flood', 'WL-LW-01', null, 'red')
    const id = a.warnings()[0]!.id
    a.clock.advance(2 * MIN - 1)
    await a.manager.tick()
    expect(a.stores.warnings.version(id, 1)!.release).toBe('pending')
    a.clock.advance(1)
    await a.manager.tick()
    expect(a.stores.warnings.version(id, 1)).toMatchObject({ release: 'released', releasedBy: ['system'] })
    expect(a.audit('approval_timeout')).toHaveLength(1)
  })

  test('a new version supersedes the one still waiting', async () => {
    const a = alerting(policy(false))
    await a.apply('river-flood', 'WL-LW-01', null, 'red')
    await a.apply('river-flood', 'WL-LW-01', 'red', 'orange')
    const w = a.warnings()[0]!
    expect(w.versions.map((v) => `${v.level} ${v.release}`)).toEqual(['red superseded', 'orange released'])
  })

  test('an approver issuing by hand approves as they issue; a clerk waits for one', async () => {
    const a = alerting(policy(false))
    const byApprover = await a.manager.issueManual(
      { hazard: 'flood', level: 'red', regions: [PLACES.liuwan] },
      { id: 'duty', approver: true },
    )
    const byClerk = await a.manager.issueManual(
      { hazard: 'flood', level: 'red', regions: [PLACES.shimen] },
      { id: 'clerk', approver: false },
    )
    expect(byApprover).toMatchObject({ ok: true, release: 'released' })
    expect(byClerk).toMatchObject({ ok: true, release: 'pending' })
    expect(
      await a.manager.issueManual(
        { hazard: 'flood', level: 'red', regions: ['511823999999'] },
        { id: 'duty', approver: true },
      ),
    ).toMatchObject({
      ok: false,
      reason: 'unknown_region',
    })
  })
})
