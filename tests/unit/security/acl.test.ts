/**
 * The ACL file in Mosquitto's conventions and the topic checks behind it: parsing with line
 * numbers, filter matching as MQTT 3.1.1 §4.7 defines it, and what a subscription may cover.
 */
import { describe, expect, test } from 'vitest'
import {
  entriesFor,
  FilterSet,
  matches,
  overlaps,
  parseAcl,
  Permissions,
  within,
} from '../../../gateway/src/security/acl.js'
import { isGatewayOnly } from '../../../gateway/src/security/roles.js'

describe('topic filters (MQTT 3.1.1 §4.7)', () => {
  test.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/broker/load', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/broker/load', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(matches(filter, topic)).toBe(expected)
    expect(new FilterSet([filter]).has(topic)).toBe(expected)
  })

  test('a subscription is within a grant only if every topic it can match is', () => {
    expect(within('sensors/rain/rg-1/#', 'sensors/#')).toBe(true)
    expect(within('sensors/+/rg-1/data', 'sensors/+/+/data')).toBe(true)
    expect(within('sensors/#', 'sensors/+/+/data')).toBe(false)
    expect(within('#', 'sensors/#')).toBe(false)
    expect(within('terminals/+/cmd', 'terminals/T-1/cmd')).toBe(false)
    expect(within('terminals/T-1/cmd', 'terminals/T-1/cmd')).toBe(true)
    expect(within('$SYS/#', '#')).toBe(false)
  })

  test('overlap: some topic matches both', () => {
    expect(overlaps('terminals/+/cmd', 'terminals/T-1/#')).toBe(true)
    expect(overlaps('warnings/#', 'sensors/#')).toBe(false)
    expect(overlaps('a/+', 'a/b/c')).toBe(false)
  })

  test('only the gateway publishes commands, warnings and faults', () => {
    for (const t of ['terminals/T-1/cmd', 'warnings/511823100201/flood', 'warnings', 'faults/x/y', '$SYS/x'])
      expect(isGatewayOnly(t)).toBe(true)
    for (const t of ['terminals/T-1/receipt', 'terminals/T-1/cmd/x', 'sensors/rain/r/data'])
      expect(isGatewayOnly(t)).toBe(false)
  })
})

describe('the ACL file', () => {
  const file = [
    '# site ACL',
    'topic read warnings/#', // anonymous
    '',
    'user county-platform',
    'topic read sensors/#',
    'topic deny sensors/gas/#',
    'user plc bridge', // Mosquitto takes the rest of the line, spaces included
    'topic write sensors/water_level/+/data',
    'pattern write devices/%u/status',
    'pattern read devices/%c/cmd',
  ].join('\n')

  test('parses users, anonymous entries and patterns', () => {
    const r = parseAcl(file, 'acl.conf')
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.anonymous).toEqual([{ access: 'read', filter: 'warnings/#' }])
    expect([...r.value.users.keys()]).toEqual(['county-platform', 'plc bridge'])
    expect(entriesFor(r.value, 'plc bridge', 'plc-7')).toEqual([
      { access: 'write', filter: 'sensors/water_level/+/data' },
      { access: 'write', filter: 'devices/plc bridge/status' },
      { access: 'read', filter: 'devices/plc-7/cmd' },
    ])
    // A name that would smuggle in a wildcard or a level matches no pattern.
    expect(entriesFor(r.value, 'x/#', 'c')).toEqual([{ access: 'read', filter: 'devices/c/cmd' }])
  })

  test('a deny wins over a grant, for publish and for any overlapping subscription', () => {
    const r = parseAcl(file, 'acl.conf')
    if (!r.ok) throw new Error('unparsed')
    const p = new Permissions(entriesFor(r.value, 'county-platform', 'cp'))
    expect(p.canSubscribe('sensors/rain/#')).toBe(true)
    expect(p.canSubscribe('sensors/#')).toBe(false) // it could receive gas readings
    expect(p.canSubscribe('sensors/gas/gas-1/data')).toBe(false)
    expect(p.canPublish('sensors/rain/r/data')).toBe(false) // read is not write
  })

  test('every bad line is reported with its number, and nothing is applied', () => {
    const r = parseAcl(
      'user a\ntopic read sensors/#/x\ntopic bogus\nallow everything\ntopic write a/b+\nuser\n',
      'acl.conf',
    )
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.map((i) => [i.line, i.message])).toEqual([
      [2, 'sensors/#/x: # must be the last level'],
      [4, 'unknown keyword allow: expected topic, user or pattern'],
      [5, 'a/b+: a wildcard must be a whole level'],
      [6, 'user needs a username'],
    ])
  })
})
