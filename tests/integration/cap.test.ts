/**
 * CAP 1.2: every released version as a CAP alert valid against the OASIS schema (checked with
 * Debian's xmllint), the Atom feed of active warnings, CAP intake from an upstream platform
 * (Alert, Update, Cancel; refusals with reasons), and drills reaching only drill terminals.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { afterEach, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import {
  api,
  collector,
  connect,
  DEMO_REGISTRY,
  getJson,
  makeConfigDir,
  startTestGateway,
} from '../helpers/gateway.js'
import { requireBinary } from '../helpers/requires.js'
import { until } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

// The OASIS schema, kept in the repository (tests/fixtures/cap/README.md says where it comes from).
const XSD = join(import.meta.dirname, '../fixtures/cap/CAP-v1.2.xsd')
const XMLLINT = '/usr/bin/xmllint'
const haveXmllint = requireBinary(XMLLINT, 'libxml2-utils')
const T0 = Date.UTC(2026, 6, 15)
const M = 60_000

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

/** Validates XML against the CAP 1.2 schema; returns xmllint's complaint, or '' when valid. */
function validate(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cap-'))
  const file = join(dir, 'alert.xml')
  writeFileSync(file, xml)
  try {
    execFileSync(XMLLINT, ['--noout', '--schema', XSD, file], { stdio: 'pipe' })
    return ''
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e)
  }
}

const parse = (xml: string) =>
  new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml) as {
    alert: Record<string, unknown> & { info: Record<string, unknown> }
  }

async function stages(series: [number, number][]) {
  const c = await connect(
    gw!.urls.mqtt,
    device('wl-lw-01', { clientId: `wl-lw-01-${Math.random().toString(36).slice(2, 6)}` }),
  )
  for (const [min, v] of series)
    await c.publishAsync(
      sensorDataTopic('water_level', 'wl-lw-01'),
      JSON.stringify({ ts: T0 + min * M, values: { stage_m: v } }),
      { qos: 1 },
    )
  await c.endAsync()
}

describe.runIf(haveXmllint)('CAP 1.2 out', () => {
  test('issue, update and lift of a flood warning are valid CAP Alert, Update and Cancel with references', async () => {
    ;({ gw } = await startTestGateway(
      makeConfigDir(DEMO_REGISTRY, 'cap: { sender: shaobing.511823, senderName: 示范县应急管理局 }').config,
    ))
    await stages([
      [0, 33.0],
      [10, 35.3],
      [20, 33.0],
      [60, 31.0],
      [100, 31.0],
      [140, 31.0],
    ])
    const { warnings } = await getJson<{
      warnings: { id: string; hazard: string; state: string; versions: { version: number }[] }[]
    }>(gw.urls.http, '/api/warnings?state=all')
    const flood = warnings.find((w) => w.hazard === 'flood')!
    expect(flood.state).toBe('lifted')
    const alerts: ReturnType<typeof parse>[] = []
    for (const v of flood.versions) {
      const res = await fetch(`${gw.urls.http}/api/warnings/${flood.id}/versions/${v.version}/cap`)
      expect(res.headers.get('content-type')).toContain('application/cap+xml')
      const xml = await res.text()
      expect(validate(xml)).toBe('')
      alerts.push(parse(xml))
    }
    expect(alerts.map((a) => [a.alert.msgType, a.alert.info.severity])).toEqual([
      ['Alert', 'Moderate'],
      ['Update', 'Extreme'],
      ['Update', 'Moderate'],
      ['Cancel', 'Moderate'],
    ])
    const first = alerts[0]!.alert
    expect(first).toMatchObject({ sender: 'shaobing.511823', status: 'Actual', scope: 'Public' })
    expect(String(first.sent)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/)
    expect(first.info).toMatchObject({
      language: 'zh-CN',
      category: 'Met',
      senderName: '示范县应急管理局',
      eventCode: { valueName: 'CN-EventType', value: '11A01' },
      area: { geocode: { valueName: 'GB/T 2260', value: '511823100201' } },
    })
    // The Cancel references all three earlier versions.
    const refs = String(alerts[3]!.alert.references).split(' ')
    expect(refs).toHaveLength(3)
    expect(refs[0]).toBe(`shaobing.511823,${String(first.identifier)},${String(first.sent)}`)
    expect(alerts[3]!.alert.info).toMatchObject({ responseType: 'AllClear', urgency: 'Past' })
  })

  test('the Atom feed lists the active warnings, each linking to its CAP alert', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    await stages([[0, 34.2]])
    await until(
      () => getJson<{ warnings: unknown[] }>(gw!.urls.http, '/api/warnings?state=active'),
      (r) => r.warnings.length === 1,
      'the warning',
    )
    const res = await fetch(`${gw.urls.http}/api/cap/feed.atom`)
    expect(res.headers.get('content-type')).toContain('application/atom+xml')
    const xml = await res.text()
    const dir = mkdtempSync(join(tmpdir(), 'atom-'))
    writeFileSync(join(dir, 'feed.xml'), xml)
    execFileSync(XMLLINT, ['--noout', join(dir, 'feed.xml')]) // well-formed
    const feed = new XMLParser({ ignoreAttributes: false }).parse(xml) as {
      feed: { entry: { link: { '@_href': string; '@_type': string } } | unknown[] }
    }
    const entries = Array.isArray(feed.feed.entry) ? feed.feed.entry : [feed.feed.entry]
    expect(entries).toHaveLength(1)
    const link = (entries[0] as { link: { '@_href': string; '@_type': string } }).link
    expect(link['@_type']).toBe('application/cap+xml')
    const cap = await (await fetch(link['@_href'])).text()
    expect(validate(cap)).toBe('')
  })
})

/** An upstream alert in the shape the national release system sends. */
function upstream(opts: {
  identifier: string
  msgType: 'Alert' | 'Update' | 'Cancel'
  severity?: string
  references?: string
  geocode?: string
  status?: string
  ns?: string
}) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="${opts.ns ?? 'urn:oasis:names:tc:emergency:cap:1.2'}">
  <identifier>${opts.identifier}</identifier>
  <sender>qxj.511823@cma.gov.cn</sender>
  <sent>2026-07-15T15:32:00+08:00</sent>
  <status>${opts.status ?? 'Actual'}</status>
  <msgType>${opts.msgType}</msgType>
  <scope>Public</scope>
  ${opts.references ? `<references>${opts.references}</references>` : ''}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨预警</event>
    <urgency>Unknown</urgency>
    <severity>${opts.severity ?? 'Severe'}</severity>
    <certainty>Unknown</certainty>
    <eventCode><valueName>CN-EventType</valueName><value>11B03</value></eventCode>
    <senderName>示范县气象局</senderName>
    <headline>示范县气象台发布暴雨橙色预警信号</headline>
    <description>预计未来3小时示范县降雨量将达50毫米以上。</description>
    <area><areaDesc>示范县</areaDesc><geocode><valueName>GB/T 2260</valueName><value>${opts.geocode ?? '511823'}</value></geocode></area>
  </info>
</alert>`
}

const postCap = (xml: string) =>
  fetch(`${gw!.urls.http}/api/cap`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', authorization: 'Bearer test-token-duty' },
    body: xml,
  })

describe('CAP intake', () => {
  test("the bureau's rainstorm signal is relayed to the county's loudspeakers, updated, then cancelled", async () => {
    if (haveXmllint)
      expect(validate(upstream({ identifier: '51182341600000_20260715153200', msgType: 'Alert' }))).toBe('')
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
    const id = '51182341600000_20260715153200'
    const r = await postCap(upstream({ identifier: id, msgType: 'Alert' }))
    expect(r.status).toBe(200)
    const { warningId } = (await r.json()) as { warningId: string }
    await cmds.waitFor(28)
    expect(cmds.messages[0]!.payload).toMatchObject({ hazard: 'rainstorm', level: 'orange', kind: 'issue' })
    expect(String(cmds.messages[0]!.payload.text)).toContain('示范县气象台发布暴雨橙色预警信号')

    const ref = `qxj.511823@cma.gov.cn,${id},2026-07-15T15:32:00+08:00`
    expect(
      (
        await postCap(
          upstream({ identifier: `${id}-u1`, msgType: 'Update', severity: 'Extreme', references: ref }),
        )
      ).status,
    ).toBe(200)
    await cmds.waitFor(56)
    expect(
      (await postCap(upstream({ identifier: `${id}-c`, msgType: 'Cancel', references: ref }))).status,
    ).toBe(200)
    await cmds.waitFor(84)
    const w = await getJson<{
      state: string
      upstream: string
      versions: { action: string; level: string | null }[]
    }>(gw.urls.http, `/api/warnings/${warningId}`)
    expect(w).toMatchObject({ state: 'lifted', upstream: `qxj.511823@cma.gov.cn,${id}` })
    expect(w.versions.map((v) => [v.action, v.level])).toEqual([
      ['issue', 'orange'],
      ['update', 'red'],
      ['lift', null],
    ])
    await cmds.close()
  })

  test('alerts that are malformed, for another area, or not public are refused with their reason', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const bad = await postCap('<alert><identifier>x</alert>')
    expect(bad.status).toBe(400)
    const ns = await postCap(
      upstream({ identifier: 'a1', msgType: 'Alert', ns: 'urn:oasis:names:tc:emergency:cap:1.1' }),
    )
    expect(await ns.json()).toMatchObject({ issues: [{ message: expect.stringContaining('namespace') }] })
    const sev = await postCap(upstream({ identifier: 'a2', msgType: 'Alert', severity: 'Dreadful' }))
    expect(((await sev.json()) as { issues: { message: string }[] }).issues[0]!.message).toContain(
      'info.0.severity',
    )
    expect((await postCap(upstream({ identifier: 'a3', msgType: 'Alert', geocode: '110101' }))).status).toBe(
      422,
    )
    expect((await postCap(upstream({ identifier: 'a4', msgType: 'Alert', status: 'Draft' }))).status).toBe(
      400,
    )
    expect(
      (
        await fetch(`${gw.urls.http}/api/cap`, {
          method: 'POST',
          headers: { 'content-type': 'application/xml' },
          body: upstream({ identifier: 'a5', msgType: 'Alert' }),
        })
      ).status,
    ).toBe(401)
    const text = await (await fetch(`${gw.urls.http}/metrics`)).text()
    expect(text).toMatch(/shaobing_cap_intake_total\{outcome="refused"\} 4/)
  })
})

describe('drills', () => {
  test('a drill (CAP Exercise) reaches only drill terminals, and its CAP alert says Exercise', async () => {
    const { dir } = makeConfigDir()
    const reg = join(dir, 'county.yaml')
    writeFileSync(
      reg,
      readFileSync(DEMO_REGISTRY, 'utf8').replace(
        'name: 柳湾村1号大喇叭,',
        'name: 柳湾村1号大喇叭, drill: true,',
      ),
    )
    ;({ gw } = await startTestGateway(makeConfigDir(reg).config))
    const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
    const r = await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'red',
      regions: ['511823000000'],
      status: 'Exercise',
    })
    const { warningId } = (await r.json()) as { warningId: string }
    await cmds.waitFor(1)
    // A marker to every terminal of the county: a drill command to any of them would be here first.
    await cmds.mark(gw.urls.http, '511823000000', 28)
    expect(cmds.messages.map((m) => m.topic)).toEqual(['terminals/T511823100201-01/cmd'])
    const cap = await (await fetch(`${gw.urls.http}/api/warnings/${warningId}/versions/1/cap`)).text()
    expect(parse(cap).alert.status).toBe('Exercise')
    if (haveXmllint) expect(validate(cap)).toBe('')
    await cmds.close()
  })
})
