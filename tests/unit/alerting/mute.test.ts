/**
 * Muting, in the manner of Alertmanager's inhibit_test.go and silence_test.go: silences and
 * inhibition are two implementations of one interface; each case says whether it mutes and why.
 */
import { describe, expect, test } from 'vitest'
import { alerting, PLACES } from '../../helpers/alerting.js'

const HOUR = 3_600_000
const duty = { id: 'duty', approver: true }

describe('silences mute matching alerts', () => {
  const cases: {
    name: string
    matcher: { stationId?: string; region?: string; hazard?: string }
    muted: boolean
  }[] = [
    { name: 'by station', matcher: { stationId: 'WL-LW-01' }, muted: true },
    { name: 'by another station', matcher: { stationId: 'WL-LT-01' }, muted: false },
    { name: 'by the township around the gauge', matcher: { region: PLACES.hekou }, muted: true },
    { name: 'by another village', matcher: { region: PLACES.longtan }, muted: false },
    { name: 'by hazard', matcher: { hazard: 'flood' }, muted: true },
    { name: 'by another hazard', matcher: { hazard: 'rainstorm' }, muted: false },
    {
      name: 'by station and the wrong hazard',
      matcher: { stationId: 'WL-LW-01', hazard: 'rainstorm' },
      muted: false,
    },
  ]

  test.each(cases)('$name → muted: $muted', async ({ matcher, muted }) => {
    const a = alerting()
    const now = a.clock.now()
    const s = await a.manager.addSilence(
      {
        stationId: matcher.stationId ?? null,
        region: matcher.region ?? null,
        hazard: matcher.hazard ?? null,
        startsAt: now,
        endsAt: now + HOUR,
        reason: 'gauge maintenance',
      },
      'duty',
    )
    expect(s.ok).toBe(true)
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const alert = a.stores.alerts.alert('river-flood', 'WL-LW-01')!
    expect(alert.mutedBy !== null).toBe(muted)
    expect(a.warnings().length).toBe(muted ? 0 : 1)
    if (muted) expect(a.audit('alert_silenced')[0]!.detail).toMatchObject({ reason: 'gauge maintenance' })
  })

  test('when the silence ends the alert raises its warning; a silence starting later mutes it again', async () => {
    const a = alerting()
    const now = a.clock.now()
    await a.manager.addSilence(
      {
        stationId: 'WL-LW-01',
        region: null,
        hazard: null,
        startsAt: now,
        endsAt: now + HOUR,
        reason: 'maintenance',
      },
      'duty',
    )
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    a.clock.advance(HOUR - 1)
    await a.manager.tick()
    expect(a.warnings()).toHaveLength(0) // still silenced one millisecond before the end
    a.clock.advance(1)
    await a.manager.tick()
    expect(a.warnings().map((w) => `${w.state} ${w.level}`)).toEqual(['active orange'])
    expect(a.audit('alert_unsilenced')).toHaveLength(1)

    const later = a.clock.now() + HOUR
    await a.manager.addSilence(
      {
        stationId: null,
        region: null,
        hazard: 'flood',
        startsAt: later,
        endsAt: later + HOUR,
        reason: 'drill',
      },
      'duty',
    )
    await a.manager.tick()
    expect(a.warnings()[0]!.state).toBe('active') // not yet in force
    a.clock.advance(HOUR)
    await a.manager.tick()
    expect(a.warnings()[0]!.state).toBe('lifted')
  })

  test('ending a silence early is audited; ending one that is not in force is refused', async () => {
    const a = alerting()
    const now = a.clock.now()
    const s = await a.manager.addSilence(
      { stationId: 'WL-LW-01', region: null, hazard: null, startsAt: now, endsAt: now + HOUR, reason: 'm' },
      'duty',
    )
    if (!s.ok) throw new Error('silence refused')
    expect(await a.manager.endSilence(s.id, 'duty')).toEqual({ ok: true })
    expect(await a.manager.endSilence(s.id, 'duty')).toMatchObject({ ok: false, reason: 'not_found' })
    expect(a.audit('silence_ended')).toHaveLength(1)
  })
})

describe('inhibition mutes a lower version under a higher warning', () => {
  type Source = {
    hazard: string
    level: 'orange' | 'red'
    regions: string[]
    pending?: boolean
    status?: 'Actual' | 'Exercise'
  }
  const cases: { name: string; source: Source; inhibit?: boolean; muted: boolean }[] = [
    {
      name: 'red flood over the township',
      source: { hazard: 'flood', level: 'red', regions: [PLACES.hekou] },
      muted: true,
    },
    {
      name: 'red flood over the county',
      source: { hazard: 'flood', level: 'red', regions: [PLACES.county] },
      muted: true,
    },
    {
      name: 'red flood over the other township',
      source: { hazard: 'flood', level: 'red', regions: ['511823101000'] },
      muted: false,
    },
    {
      name: 'red rainstorm over the township',
      source: { hazard: 'rainstorm', level: 'red', regions: [PLACES.hekou] },
      muted: false,
    },
    {
      name: 'orange flood: not more severe',
      source: { hazard: 'flood', level: 'orange', regions: [PLACES.hekou] },
      muted: false,
    },
    {
      name: 'red flood still waiting for approval',
      source: { hazard: 'flood', level: 'red', regions: [PLACES.hekou], pending: true },
      muted: false,
    },
    {
      name: 'a red flood drill never inhibits a real warning',
      source: { hazard: 'flood', level: 'red', regions: [PLACES.county], status: 'Exercise' },
      muted: false,
    },
    {
      name: 'inhibition switched off',
      source: { hazard: 'flood', level: 'red', regions: [PLACES.hekou] },
      inhibit: false,
      muted: false,
    },
  ]

  test.each(cases)('$name → muted: $muted', async ({ source, inhibit, muted }) => {
    const a = alerting({
      ...(inhibit === false ? { inhibit: false } : {}),
      approval: [{ hazards: ['flood'], levels: ['red'], timeout: '10m' }],
    })
    const issued = await a.manager.issueManual(
      {
        hazard: source.hazard,
        level: source.level,
        regions: source.regions,
        status: source.status ?? 'Actual',
      },
      source.pending ? { id: 'clerk', approver: false } : duty,
    )
    expect(issued).toMatchObject({ ok: true, release: source.pending ? 'pending' : 'released' })
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const village = a.stores.warnings.activeByKey(`flood|${PLACES.liuwan}`)!
    const v = a.stores.warnings.version(village.id, 1)!
    expect(v.release).toBe(muted ? 'inhibited' : 'released')
    const held = a.events.filter((e) => e.type === 'version.held')
    expect(held.map((e) => e.data)).toEqual(
      muted
        ? [
            {
              warningId: village.id,
              version: 1,
              release: 'inhibited',
              inhibitedBy: issued.ok ? issued.warningId : '',
            },
          ]
        : [],
    )
  })

  test('lifting the higher warning releases the inhibited one, once', async () => {
    const a = alerting()
    const red = await a.manager.issueManual({ hazard: 'flood', level: 'red', regions: [PLACES.hekou] }, duty)
    if (!red.ok) throw new Error('refused')
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const village = a.stores.warnings.activeByKey(`flood|${PLACES.liuwan}`)!
    expect(a.released()).toEqual([`${red.warningId}#1 red`])
    await a.manager.lift(red.warningId, 'duty')
    expect(a.released()).toEqual([
      `${red.warningId}#1 red`,
      `${red.warningId}#2 lift`,
      `${village.id}#1 orange`,
    ])
    expect(a.audit('version_released')[0]!.detail).toMatchObject({ why: 'inhibition_ended' })
    await a.manager.tick()
    expect(a.released()).toHaveLength(3)
  })
})
