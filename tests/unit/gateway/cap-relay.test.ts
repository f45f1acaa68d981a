import { describe, expect, test } from 'vitest'
import { refuse, type Outcome } from '../../../gateway/src/core/outcome.js'
import { readCap } from '../../../gateway/src/cap/intake.js'
import {
  regionsCovered,
  relayCap,
  type Relayable,
  type RelayCount,
  type RelayPort,
} from '../../../gateway/src/cap/relay.js'

const COUNTY = '511823000000'
const TOWNSHIP = '511823100000'
const VILLAGE = '511823100201'
const OTHER_TOWNSHIP = '511823101000'

/** A county registry's regions; and one without the county, whose tops are its townships. */
const COUNTY_REGISTRY = [COUNTY, TOWNSHIP, VILLAGE, OTHER_TOWNSHIP]
const TOWNSHIPS_ONLY = [TOWNSHIP, VILLAGE, OTHER_TOWNSHIP]

describe('the regions an upstream alert covers', () => {
  test('a code the registry knows stands for itself', () => {
    expect(regionsCovered([VILLAGE], COUNTY_REGISTRY)).toEqual([VILLAGE])
    expect(regionsCovered([TOWNSHIP, VILLAGE, TOWNSHIP], COUNTY_REGISTRY)).toEqual([TOWNSHIP, VILLAGE])
  })

  test('a wider code stands for the registry’s top regions inside it', () => {
    expect(regionsCovered(['510000000000'], COUNTY_REGISTRY)).toEqual([COUNTY])
    expect(regionsCovered([COUNTY], TOWNSHIPS_ONLY)).toEqual([TOWNSHIP, OTHER_TOWNSHIP])
  })

  test('codes of other places cover nothing', () => {
    expect(regionsCovered(['110101000000', '511824000000'], COUNTY_REGISTRY)).toEqual([])
    expect(regionsCovered([], COUNTY_REGISTRY)).toEqual([])
  })
})

/** The manager's side of the relay, in memory: warnings by upstream reference, commands recorded. */
function fakeManager() {
  const warnings = new Map<string, { id: string; state: 'active' | 'lifted'; upstream: string }>()
  const commands: unknown[][] = []
  const port: RelayPort = {
    byUpstream: (ref) => [...warnings.values()].find((w) => w.upstream === ref),
    issueManual: async (input, actor) => {
      commands.push(['issue', input, actor])
      const id = `w${warnings.size + 1}`
      warnings.set(id, { id, state: 'active', upstream: input.upstream ?? '' })
      return { ok: true, warningId: id, version: 1 }
    },
    updateManual: async (id, input, actor) => {
      commands.push(['update', id, input, actor])
      return { ok: true, version: 2 }
    },
    lift: async (id, by): Promise<Outcome<{ version: number }>> => {
      commands.push(['lift', id, by])
      const w = warnings.get(id)
      if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${id}`)
      warnings.set(id, { ...w, state: 'lifted' })
      return { ok: true, version: 3 }
    },
  }
  return { port, warnings, commands }
}

const relay = (r: Partial<Relayable> & Pick<Relayable, 'kind'>): Relayable => ({
  ref: 'qxj@cma,a1',
  references: [],
  status: 'Actual',
  hazard: 'rainstorm',
  level: 'orange',
  codes: [COUNTY],
  text: '暴雨橙色预警',
  ...r,
})

function run(r: Relayable, m = fakeManager(), regions = COUNTY_REGISTRY) {
  const counted: RelayCount[] = []
  const outcome = relayCap(r, 'duty', { warnings: m.port, regions, count: (c) => counted.push(c) })
  return { outcome, counted, m }
}

describe('relaying an upstream alert', () => {
  test('an Alert issues a warning to the regions it covers, marked with its reference', async () => {
    const { outcome, counted, m } = run(relay({ kind: 'issue', codes: ['510000000000', VILLAGE] }))
    expect(await outcome).toEqual({ ok: true, warningId: 'w1', version: 1 })
    expect(counted).toEqual(['issue'])
    expect(m.commands).toEqual([
      [
        'issue',
        {
          hazard: 'rainstorm',
          level: 'orange',
          regions: [COUNTY, VILLAGE],
          text: '暴雨橙色预警',
          status: 'Actual',
          upstream: 'qxj@cma,a1',
        },
        // Relayed versions are not the operator's own: they still need approval where policy asks.
        { id: 'duty', approver: false },
      ],
    ])
  })

  test('an Alert for another area is refused as not for this area', async () => {
    const { outcome, counted, m } = run(relay({ kind: 'issue', codes: ['110101000000'] }))
    expect(await outcome).toMatchObject({ ok: false, reason: 'not_for_this_area' })
    expect((await outcome) as { message: string }).toMatchObject({
      message: expect.stringContaining('110101000000'),
    })
    expect(counted).toEqual(['not_here'])
    expect(m.commands).toEqual([])
    const none = await run(relay({ kind: 'issue', codes: [] })).outcome
    expect(none).toMatchObject({ message: expect.stringContaining('no GB/T 2260 geocode') })
  })

  test('an Update changes the active warning relaying what it references; Cancel lifts it', async () => {
    const m = fakeManager()
    await run(relay({ kind: 'issue' }), m).outcome
    const update = run(
      relay({ kind: 'update', ref: 'qxj@cma,a2', references: ['x,y', 'qxj@cma,a1'], level: 'red' }),
      m,
    )
    expect(await update.outcome).toEqual({ ok: true, version: 2 })
    expect(update.counted).toEqual(['update'])
    expect(m.commands[1]).toEqual([
      'update',
      'w1',
      { level: 'red', text: '暴雨橙色预警' },
      { id: 'duty', approver: false },
    ])

    const cancel = run(relay({ kind: 'cancel', references: ['qxj@cma,a1'], level: null }), m)
    expect(await cancel.outcome).toEqual({ ok: true, version: 3 })
    expect(cancel.counted).toEqual(['cancel'])
    expect(m.commands[2]).toEqual(['lift', 'w1', 'duty'])

    // Once lifted, the warning no longer answers to the reference: a second Cancel finds nothing.
    const again = run(relay({ kind: 'cancel', references: ['qxj@cma,a1'], level: null }), m)
    expect(await again.outcome).toMatchObject({
      ok: false,
      reason: 'not_found',
      message: 'no active warning relays the referenced alert',
    })
    expect(again.counted).toEqual(['cancel'])
  })

  test('an Update of nothing known is relayed as a new warning', async () => {
    const { outcome, counted, m } = run(relay({ kind: 'update', references: ['qxj@cma,unknown'] }))
    expect(await outcome).toMatchObject({ ok: true, warningId: 'w1' })
    expect(counted).toEqual(['issue'])
    expect(m.commands[0]![0]).toBe('issue')
  })

  test('what intake reads goes through the relay unchanged', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>a9</identifier><sender>qxj@cma</sender><sent>2026-07-15T15:32:00+08:00</sent>
  <status>Exercise</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>zh-CN</language><category>Met</category><event>暴雨预警</event><urgency>Expected</urgency>
    <severity>Extreme</severity><certainty>Likely</certainty>
    <area><areaDesc>示范县</areaDesc><geocode><valueName>GB/T 2260</valueName><value>511823</value></geocode></area>
  </info>
</alert>`
    const read = readCap(xml)
    if (read.kind === 'refused') throw new Error(read.reasons.join('; '))
    const { outcome, m } = run(read)
    expect(await outcome).toMatchObject({ ok: true })
    expect(m.commands[0]![1]).toMatchObject({
      level: 'red',
      regions: [COUNTY],
      status: 'Exercise',
      upstream: 'qxj@cma,a9',
    })
  })
})
