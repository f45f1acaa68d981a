/** Grouping: which alerts make one warning (Alertmanager's dispatch), table-driven. */
import { describe, expect, test } from 'vitest'
import { alerting, PLACES } from '../../helpers/alerting.js'

type Case = {
  name: string
  groupBy?: { public?: 'station' | 'village' | 'township' | 'county'; alarm?: 'site' | 'station' | 'village' }
  alerts: [
    rule: string,
    station: string,
    level: 'blue' | 'yellow' | 'orange' | 'red' | 'level_1' | 'level_2',
  ][]
  keys: string[]
  levels: string[]
}

const cases: Case[] = [
  {
    name: 'two rules at one gauge make one village warning at the higher level',
    alerts: [
      ['river-flood', 'WL-LW-01', 'yellow'],
      ['rapid-rise', 'WL-LW-01', 'blue'],
    ],
    keys: [`flood|${PLACES.liuwan}`],
    levels: ['yellow'],
  },
  {
    name: 'rain gauges of two villages make two village warnings',
    alerts: [
      ['rainstorm', 'RG-LW-01', 'blue'],
      ['rainstorm', 'RG-SM-01', 'yellow'],
    ],
    keys: [`rainstorm|${PLACES.liuwan}`, `rainstorm|${PLACES.shimen}`],
    levels: ['blue', 'yellow'],
  },
  {
    name: '… and one township warning when grouped by township',
    groupBy: { public: 'township' },
    alerts: [
      ['rainstorm', 'RG-LW-01', 'blue'],
      ['rainstorm', 'RG-SM-01', 'yellow'],
    ],
    keys: [`rainstorm|${PLACES.hekou}`],
    levels: ['yellow'],
  },
  {
    name: 'grouped by station, each gauge is its own warning',
    groupBy: { public: 'station' },
    alerts: [
      ['rainstorm', 'RG-LW-01', 'blue'],
      ['rainstorm', 'RG-SM-01', 'blue'],
    ],
    keys: ['rainstorm|station:RG-LW-01', 'rainstorm|station:RG-SM-01'],
    levels: ['blue', 'blue'],
  },
  {
    name: 'an enterprise alarm stage is grouped by its site, not its village',
    alerts: [['combustible-gas', 'GAS-PK-01', 'level_1']],
    keys: ['gas_leak|site:GAS-PK-01'],
    levels: ['level_1'],
  },
]

describe('grouping', () => {
  test.each(cases)('$name', async (c) => {
    const a = alerting(c.groupBy ? { groupBy: c.groupBy } : {})
    for (const [rule, station, level] of c.alerts) await a.apply(rule, station, null, level)
    const ws = a.warnings()
    expect(ws.map((w) => w.key)).toEqual(c.keys)
    expect(ws.map((w) => w.level)).toEqual(c.levels)
    // One released version per warning change, each told to the event stream.
    expect(a.released()).toHaveLength(ws.reduce((n, w) => n + w.versions.length, 0))
  })

  test('an alert that clears lowers its warning to the next alert, and the last one lifts it', async () => {
    const a = alerting()
    await a.apply('river-flood', 'WL-LW-01', null, 'yellow')
    await a.apply('rapid-rise', 'WL-LW-01', null, 'blue')
    await a.apply('river-flood', 'WL-LW-01', 'yellow', null)
    await a.apply('rapid-rise', 'WL-LW-01', 'blue', null)
    const [w] = a.warnings()
    expect(w!.versions.map((v) => `${v.action} ${v.level}`)).toEqual([
      'issue yellow',
      'update blue',
      'lift null',
    ])
    expect(w!.state).toBe('lifted')
    expect(w!.endReason).toBe('cleared')
  })

  test('a version decided while a contributing station has a fault is unverified', async () => {
    const a = alerting()
    a.faulty.add('WL-LW-01')
    await a.apply('river-flood', 'WL-LW-01', null, 'orange')
    const w = a.warnings()[0]!
    expect(a.stores.warnings.version(w.id, 1)!.verified).toBe(false)
  })
})
