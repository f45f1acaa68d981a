/** Target selection, table-driven: regions, hazard polygons, population groups, drills, policy. */
import { describe, expect, test } from 'vitest'
import { PolicyFile } from '../../../gateway/src/dissemination/policy.js'
import { resolveTargets } from '../../../gateway/src/dissemination/targets.js'
import { Registry } from '../../../gateway/src/registry/registry.js'
import { RegistryFile } from '../../../gateway/src/registry/schema.js'

const UP = '511823100201' // upstream village, where the gauge is
const DOWN = '511823100202' // downstream village, inside the gauge's hazard polygon
const AWAY = '511823101201' // another township's village

const registry = new Registry(
  RegistryFile.parse({
    regions: [
      { code: '511823000000', name: '示范县', level: 'county' },
      { code: '511823100000', name: '河口镇', level: 'township' },
      { code: UP, name: '上村', level: 'village' },
      { code: DOWN, name: '下村', level: 'village' },
      { code: '511823101000', name: '清溪镇', level: 'township' },
      { code: AWAY, name: '远村', level: 'village' },
    ],
    stations: [
      {
        id: 'GAUGE',
        name: '上村水位站',
        region: UP,
        sensors: [{ id: 'g1', kind: 'water_level' }],
        hazardAreas: [
          {
            type: 'Polygon',
            coordinates: [
              [
                [102.0, 29.0],
                [102.2, 29.0],
                [102.2, 29.2],
                [102.0, 29.2],
                [102.0, 29.0],
              ],
            ],
          },
        ],
      },
    ],
    terminals: [
      { id: 'T-UP', region: UP },
      { id: 'T-UP-DRILL', region: UP, drill: true },
      { id: 'T-DOWN-IN', region: DOWN, lat: 29.1, lon: 102.1 }, // inside the polygon
      { id: 'T-DOWN-OUT', region: DOWN, lat: 29.5, lon: 102.5 },
      { id: 'T-AWAY', region: AWAY },
    ],
    people: [
      { id: 'HEAD-UP', name: '上村村主任', region: UP, roles: ['village_head'], phone: '13800000001' },
      { id: 'RES-UP', name: '上村村民', region: UP, roles: ['resident'], phone: '13800000002' },
      { id: 'NOPHONE', name: '无电话', region: UP, roles: ['village_head'] },
      {
        id: 'HEAD-DOWN',
        name: '下村村主任',
        region: DOWN,
        roles: ['village_head'],
        phone: '13800000003',
        lat: 29.1,
        lon: 102.1,
      },
      {
        id: 'DUTY-AWAY',
        name: '清溪镇值班员',
        region: '511823101000',
        roles: ['duty_officer'],
        phone: '13800000004',
      },
    ],
  }),
  {},
)

const policies = PolicyFile.parse({
  policies: [
    {
      hazards: ['*'],
      levels: ['red'],
      channels: ['loudspeaker', 'sms'],
      groups: ['village_head', 'resident'],
      polygons: true,
    },
    { hazards: ['*'], levels: ['*'], channels: ['loudspeaker'], groups: ['village_head'], polygons: false },
  ],
})

type Case = {
  name: string
  targets: string[]
  level: 'yellow' | 'red'
  status?: 'Actual' | 'Exercise'
  terminals: string[]
  people: string[]
  channels: string[]
}

const cases: Case[] = [
  {
    name: 'yellow: the village only, no polygons; village heads with a phone',
    targets: [UP],
    level: 'yellow',
    terminals: ['T-UP', 'T-UP-DRILL'],
    people: ['HEAD-UP'],
    channels: ['loudspeaker'],
  },
  {
    name: 'red: the polygon adds the downstream terminal and person inside it, residents too',
    targets: [UP],
    level: 'red',
    terminals: ['T-UP', 'T-UP-DRILL', 'T-DOWN-IN'],
    people: ['HEAD-UP', 'RES-UP', 'HEAD-DOWN'],
    channels: ['loudspeaker', 'sms'],
  },
  {
    name: 'a drill reaches drill terminals only',
    targets: [UP],
    level: 'red',
    status: 'Exercise',
    terminals: ['T-UP-DRILL'],
    people: ['HEAD-UP', 'RES-UP', 'HEAD-DOWN'],
    channels: ['loudspeaker', 'sms'],
  },
  {
    name: 'a township covers its villages',
    targets: ['511823100000'],
    level: 'yellow',
    terminals: ['T-UP', 'T-UP-DRILL', 'T-DOWN-IN', 'T-DOWN-OUT'],
    people: ['HEAD-UP', 'HEAD-DOWN'],
    channels: ['loudspeaker'],
  },
  {
    name: 'two targets, each terminal once',
    targets: [UP, '511823000000'],
    level: 'yellow',
    terminals: ['T-UP', 'T-UP-DRILL', 'T-DOWN-IN', 'T-DOWN-OUT', 'T-AWAY'],
    people: ['HEAD-UP', 'HEAD-DOWN'],
    channels: ['loudspeaker'],
  },
]

describe('targets', () => {
  test.each(cases)('$name', (c) => {
    const t = resolveTargets(
      registry,
      policies,
      { targets: c.targets, status: c.status ?? 'Actual', hazard: 'flood', stationId: 'GAUGE' },
      c.level,
    )
    expect(t.terminals).toEqual(c.terminals)
    expect(t.people.map((p) => p.id)).toEqual(c.people)
    expect(t.policy.channels).toEqual(c.channels)
  })
})
