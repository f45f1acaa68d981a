/**
 * The dissemination policy: per hazard and level, channels and population groups; a station's
 * hazard polygon adds the loudspeakers inside it (downstream villages); a bad policy file is
 * refused with its location.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { loadConfig } from '../../gateway/src/config/load.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { inPolygon } from '../../gateway/src/dissemination/policy.js'
import { startSmsc, type Smsc } from '../../sensors-sim/src/smsc.js'
import {
  collector,
  connect,
  DEMO_REGISTRY,
  makeConfigDir,
  MARKER,
  startTestGateway,
} from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

let gw: RunningGateway | undefined
let smsc: Smsc | undefined
afterEach(async () => {
  await gw?.stop()
  await smsc?.close()
  gw = undefined
  smsc = undefined
})

test('point in polygon: inside, outside, and in a hole', () => {
  const square = [
    [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ],
    [
      [4, 4],
      [6, 4],
      [6, 6],
      [4, 6],
      [4, 4],
    ],
  ]
  expect(inPolygon(1, 1, square)).toBe(true)
  expect(inPolygon(11, 1, square)).toBe(false)
  expect(inPolygon(5, 5, square)).toBe(false)
})

test("a gauge's downstream polygon brings the loudspeakers and people inside it; policies choose channels and groups", async () => {
  const { dir } = makeConfigDir()
  const reg = join(dir, 'county.yaml')
  // The Liuwan gauge's downstream polygon reaches Longtan's first loudspeaker (29.395, 102.703 in
  // the demo) and a resident beside it, and no other loudspeaker of the county.
  writeFileSync(
    reg,
    readFileSync(DEMO_REGISTRY, 'utf8')
      .replace(
        'people:\n',
        "people:\n  - { id: P-LT-RES, name: 龙潭下游住户, region: '511823101201', roles: [resident], phone: '13900000001', lat: 29.396, lon: 102.704 }\n",
      )
      .replace(
        '    sensors: [{ id: wl-lw-01, kind: water_level }]',
        '    sensors: [{ id: wl-lw-01, kind: water_level }]\n    hazardAreas: [{ type: Polygon, coordinates: [[[102.700, 29.392], [102.706, 29.392], [102.706, 29.398], [102.700, 29.398], [102.700, 29.392]]] }]',
      ),
  )
  const policy = join(dir, 'dissemination.yaml')
  writeFileSync(
    policy,
    [
      'policies:',
      '  - { hazards: [flood], levels: [yellow], channels: [loudspeaker, sms], groups: [village_head, resident], repeat: 2, priority: 150 }',
      "  - { hazards: ['*'], levels: ['*'], channels: [loudspeaker, sms], polygons: false }",
    ].join('\n'),
  )
  smsc = await startSmsc()
  ;({ gw } = await startTestGateway(
    makeConfigDir(
      reg,
      `dissemination: ${JSON.stringify(policy)}\nsms: { url: 'smpp://127.0.0.1:${smsc.port}', systemId: s, password: s }`,
    ).config,
  ))
  const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd', { hazard: 'flood' })
  const c = await connect(gw.urls.mqtt, device('wl-lw-01'))
  await c.publishAsync(
    sensorDataTopic('water_level', 'wl-lw-01'),
    JSON.stringify({ ts: Date.UTC(2026, 6, 15), values: { stage_m: 33.0 } }),
    {
      qos: 1,
    },
  )
  await c.endAsync()
  await cmds.waitFor(5)
  await until(
    () => smsc!.received().length,
    (n) => n >= 2,
    'the SMS',
  )
  // A marker to the whole county: every terminal gets its command and every responsible person
  // its SMS (the SMS queue goes out in order) after whatever the flood warning sent them.
  await cmds.mark(gw.urls.http, '511823000000', 28)
  await until(
    () => smsc!.received().filter((m) => m.text === MARKER.text).length,
    (n) => n === 8,
    "the marker's SMS to the county's eight responsible people",
  )
  const to = cmds.messages.map((m) => m.topic.split('/')[1]).sort()
  // Liuwan's four, and Longtan's first (inside the polygon); not Longtan's second (outside).
  expect(to).toEqual([
    'T511823100201-01',
    'T511823100201-02',
    'T511823100201-03',
    'T511823100201-04',
    'T511823101201-01',
  ])
  expect(cmds.messages[0]!.payload).toMatchObject({ repeat: 2, priority: 150 })
  // SMS: Liuwan's village head, and the resident inside the polygon; not Longtan's head (outside
  // the polygon) nor the duty officers (not in the policy's groups).
  expect(
    smsc
      .received()
      .filter((m) => m.text !== MARKER.text)
      .map((m) => m.to)
      .sort(),
  ).toEqual(['13800000101', '13900000001'])
  await cmds.close()
})

test('a policy file with a mistake is refused with its line', () => {
  const { dir } = makeConfigDir()
  const policy = join(dir, 'dissemination.yaml')
  writeFileSync(
    policy,
    'policies:\n  - hazards: [flood]\n    levels: [crimson]\n    channels: [loudspeaker]\n',
  )
  const { config } = makeConfigDir(undefined, `dissemination: ${JSON.stringify(policy)}`)
  const r = loadConfig(config)
  expect(!r.ok && r.error.map((i) => [i.file.endsWith('dissemination.yaml'), i.line, i.path])).toEqual([
    [true, 3, 'policies.0.levels'],
  ])
})
