/**
 * The SL 651 listener over real TCP on loopback: an RTU's reports become stored readings and a
 * warning; a resend after a lost confirmation is stored once; garbage, bad CRCs, unknown stations
 * and wrong passwords are refused without a reply and without harming another RTU; multi-packet
 * (M3) messages are confirmed once or asked for the missing packet; a clock running behind is a
 * fault. "No reply" is checked against a later marker: the next good frame's confirmation is the
 * next frame the connection receives.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { decodeBody, encodeKeepAlive, encodeReport, FN } from '../../gateway/src/contracts/sl651/body.js'
import { ACK, EOT, ETB, ETX, NAK } from '../../gateway/src/contracts/sl651/frame.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import {
  BEIJING,
  reportFrame,
  RTU,
  rtuLink,
  sl651Registry,
  timedReport,
  uplinkFrame,
  type RtuLink,
} from '../helpers/sl651.js'
import { until } from '../helpers/wait.js'

const T0 = Date.UTC(2026, 7, 3, 9) // 17:00 Beijing time
const MIN = 60_000

let gw: RunningGateway
let lines: Record<string, unknown>[]
const links: RtuLink[] = []
const link = async () => {
  const l = await rtuLink(gw.urls.sl651!)
  links.push(l)
  return l
}

beforeAll(async () => {
  const { dir } = makeConfigDir()
  const registry = sl651Registry(dir)
  const { config } = makeConfigDir(
    registry,
    'sl651: { host: 127.0.0.1, port: 0, centerAddress: 1, allowFrom: [127.0.0.0/8] }',
  )
  ;({ gw, lines } = await startTestGateway(config))
})
afterAll(async () => {
  for (const l of links) await l.close().catch(() => {})
  await gw?.stop()
})

const readings = (from: number, to: number) =>
  getJson<{ readings: { sensorId: string; ts: number; values: Record<string, number>; seq?: number }[] }>(
    gw.urls.http,
    `/api/stations/${RTU.station}/readings?from=${from}&to=${to}`,
  ).then((r) => r.readings)

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${gw.urls.http}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line ? Number(line.split(' ').at(-1)) : 0
}

/** The confirmation's fields, checked against the standard (table 21): who it is for, which serial. */
function expectConfirmation(
  f: Awaited<ReturnType<RtuLink['reply']>>,
  serial: number,
  end: number,
  fn: number = FN.timed,
) {
  expect(f.direction).toBe('down')
  expect(f.address).toBe(RTU.address)
  expect(f.center).toBe(1)
  expect(f.password).toBe(RTU.password)
  expect(f.fn).toBe(fn)
  expect(f.end).toBe(end)
  const body = decodeBody(f.encoding, FN.keepAlive, f.body, f.address, BEIJING)
  expect(body.ok && body.report.serial).toBe(serial)
}

describe('SL 651 listener', () => {
  test('timed reports become stored readings and a river-flood warning; each is confirmed with EOT after its commit', async () => {
    const rtu = await link()
    const stages = [31.2, 31.8, 32.4, 32.9, 33.4, 33.6]
    for (const [i, stage] of stages.entries()) {
      rtu.send(reportFrame({}, timedReport(i + 1, T0 + i * 5 * MIN, stage, Date.now(), 0.5)))
      expectConfirmation(await rtu.reply(), i + 1, EOT)
      // Confirmed means durable: the reading is there the moment the confirmation is.
      const stored = await readings(T0 + i * 5 * MIN, T0 + i * 5 * MIN + 1)
      expect(stored.map((r) => [r.sensorId, r.values]).sort()).toEqual([
        [RTU.rain, { rain_mm: 0.5 }],
        [RTU.stage, { stage_m: stage, supply_v: 12.6 }],
      ])
      expect(stored[0]!.seq).toBe(i + 1)
    }
    const warnings = await until(
      () =>
        getJson<{ warnings: { stationId: string; ruleId: string; level: string }[] }>(
          gw.urls.http,
          '/api/warnings',
        ),
      (r) => r.warnings.some((w) => w.stationId === RTU.station && w.ruleId === 'river-flood'),
      'a river-flood warning for the SL 651 station',
    )
    expect(warnings.warnings.find((w) => w.stationId === RTU.station)?.level).toBe('yellow')
  })

  test('a report sent again after a lost confirmation is confirmed again and stored once', async () => {
    const ts = T0 + 60 * MIN
    const frame = reportFrame({}, timedReport(40, ts, 31.0))
    const first = await link()
    first.send(frame)
    await first.reply() // the RTU's DTU drops the link before this reaches it …
    await first.close()
    const before = await metric('shaobing_sl651_duplicates_total')
    const again = await link() // … and it reconnects and sends the same serial (§6.6.2.4)
    again.send(frame)
    again.send(reportFrame({ encoding: 'hex' }, { ...timedReport(40, ts, 31.0), sentAt: Date.now() + 1000 }))
    expectConfirmation(await again.reply(), 40, EOT)
    expectConfirmation(await again.reply(), 40, EOT)
    expect(await readings(ts, ts + 1)).toHaveLength(1)
    expect(await metric('shaobing_sl651_duplicates_total')).toBe(before + 2)
  })

  test('garbage, a bad CRC, an unknown station and a wrong password get no reply, and another RTU is unharmed', async () => {
    const bad = await link()
    const good = await link()
    const refused = (reason: string) => metric('shaobing_sl651_refused_total', `reason="${reason}"`)
    const before = {
      garbage: await refused('garbage'),
      crc: await refused('bad_crc'),
      station: await refused('unknown_station'),
      password: await refused('bad_password'),
    }
    const ts = T0 + 2 * 60 * MIN
    const corrupt = reportFrame({}, timedReport(50, ts, 31.1))
    corrupt[corrupt.length - 1]! ^= 0xff
    bad.send(Buffer.from('GET / HTTP/1.1\r\n\r\n\x00\xff\x7e garbage'))
    bad.send(corrupt)
    bad.send(reportFrame({ address: '0099999999' }, timedReport(51, ts, 31.1)))
    bad.send(reportFrame({ password: '9999' }, timedReport(52, ts, 31.1)))
    // Meanwhile the other RTU reports as usual.
    good.send(reportFrame({}, timedReport(53, ts + MIN, 31.3)))
    expectConfirmation(await good.reply(), 53, EOT)
    // The marker: a good frame on the bad connection; its confirmation is the first reply there.
    bad.send(reportFrame({ encoding: 'ascii' }, timedReport(54, ts + 2 * MIN, 31.4)))
    const marker = await bad.reply()
    expect(marker.encoding).toBe('ascii')
    expectConfirmation(marker, 54, EOT)
    expect(bad.waiting).toBe(0)
    expect((await readings(ts, ts + 3 * MIN)).map((r) => r.values.stage_m)).toEqual([31.3, 31.4])
    expect(await refused('garbage')).toBeGreaterThan(before.garbage)
    expect(await refused('bad_crc')).toBe(before.crc + 1)
    expect(await refused('unknown_station')).toBe(before.station + 1)
    expect(await refused('bad_password')).toBe(before.password + 1)
    const logged = lines.filter((l) => l.msg === 'SL 651 input refused')
    expect(logged.some((l) => l.reason === 'unknown_station' && l.source === '0099999999')).toBe(true)
  })

  test('an hourly report’s 5-minute series become twelve readings; missing values are not stored', async () => {
    const rtu = await link()
    const hour = T0 + 3 * 60 * MIN
    rtu.send(
      reportFrame(
        { fn: FN.hourly },
        {
          serial: 60,
          sentAt: Date.now(),
          stations: [
            {
              address: RTU.address,
              category: 'H',
              groups: [
                {
                  observedAt: hour + 5 * MIN,
                  elements: [
                    { id: 'DRP', value: [0.5, 0, 0, 0, 2, null, null, 1.2, 0, 0, 0, 0.1] },
                    { id: 'DRZ1', value: [2.5, 2.5, 2.6, 2.6, 2.7, null, 2.7, 2.8, 2.8, 2.8, 2.9, 2.9] },
                  ],
                },
              ],
            },
          ],
        },
      ),
    )
    expectConfirmation(await rtu.reply(), 60, EOT, FN.hourly)
    const stored = await readings(hour, hour + 61 * MIN)
    const rain = stored
      .filter((r) => r.sensorId === RTU.rain)
      .map((r) => [(r.ts - hour) / MIN, r.values.rain_mm])
    expect(rain).toEqual([
      [5, 0.5],
      [10, 0],
      [15, 0],
      [20, 0],
      [25, 2],
      [40, 1.2],
      [45, 0],
      [50, 0],
      [55, 0],
      [60, 0.1],
    ])
    // Relative stage plus the station's datum (水位基值 28.5 m).
    const stage = stored.filter((r) => r.sensorId === RTU.stage).map((r) => r.values.stage_m)
    expect(stage).toEqual([31, 31, 31.1, 31.1, 31.2, 31.2, 31.3, 31.3, 31.3, 31.4, 31.4])
    expect(await metric('shaobing_sl651_missing_values_total')).toBeGreaterThanOrEqual(3)
  })

  test('M2 frames ending ETB are confirmed with ACK; an M3 message is confirmed once, or the missing packet is asked for', async () => {
    const rtu = await link()
    const ts = T0 + 5 * 60 * MIN
    rtu.send(reportFrame({ end: ETB }, timedReport(70, ts, 31.5)))
    expectConfirmation(await rtu.reply(), 70, ACK)
    // M3: one message in three packets (SYN, total/seq); only the first carries the serial.
    const body = encodeReport('hex', timedReport(71, ts + MIN, 31.6), BEIJING)
    const parts = [body.subarray(0, 10), body.subarray(10, 20), body.subarray(20)]
    const packet = (seq: number) =>
      uplinkFrame({ end: seq === 3 ? ETX : ETB, packet: { total: 3, seq } }, parts[seq - 1]!)
    rtu.send(packet(1))
    rtu.send(packet(3)) // packet 2 lost on the way
    const nak = await rtu.reply()
    expect(nak.end).toBe(NAK)
    expect(nak.packet).toEqual({ total: 3, seq: 2 })
    rtu.send(packet(2))
    rtu.send(packet(3))
    const done = await rtu.reply()
    expectConfirmation(done, 71, EOT)
    expect(done.packet).toEqual({ total: 3, seq: 3 })
    expect(rtu.waiting).toBe(0)
    expect((await readings(ts, ts + 2 * MIN)).map((r) => r.values.stage_m)).toEqual([31.5, 31.6])
  })

  test('a keep-alive gets no reply; a test report is confirmed but not stored', async () => {
    const rtu = await link()
    const ts = T0 + 6 * 60 * MIN
    rtu.send(uplinkFrame({ fn: FN.keepAlive }, encodeKeepAlive('hex', 71, Date.now(), BEIJING)))
    rtu.send(reportFrame({ fn: FN.test }, timedReport(72, ts, 30.0)))
    expectConfirmation(await rtu.reply(), 72, EOT, FN.test)
    expect(rtu.waiting).toBe(0)
    expect(await readings(ts, ts + 1)).toEqual([])
  })

  test('a report older than the station’s latest is stored and confirmed, not graded, and the log says so', async () => {
    const rtu = await link()
    const ts = T0 + 30 * MIN // before the first test's later reports
    rtu.send(reportFrame({}, timedReport(85, ts, 35.9)))
    expectConfirmation(await rtu.reply(), 85, EOT)
    expect((await readings(ts, ts + 1)).map((r) => r.values.stage_m)).toEqual([35.9])
    expect(
      lines.some(
        (l) =>
          l.msg?.toString().startsWith('reading not evaluated') && l.station === RTU.station && l.ts === ts,
      ),
    ).toBe(true)
  })

  test('a send time far behind the gateway’s clock is a clock fault of the station’s sensors', async () => {
    const rtu = await link()
    const ts = T0 + 7 * 60 * MIN
    rtu.send(reportFrame({}, timedReport(80, ts, 31.0, Date.now() - 47 * MIN)))
    expectConfirmation(await rtu.reply(), 80, EOT)
    const faults = await getJson<{ faults: { sensorId: string; kind: string; detail: string }[] }>(
      gw.urls.http,
      '/api/faults',
    )
    const clock = faults.faults.find((f) => f.sensorId === RTU.stage && f.kind === 'clock')
    expect(clock?.detail).toMatch(/4[67] min behind the gateway clock/)
  })

  test('a peer outside allowFrom is disconnected before it can send anything', async () => {
    const { dir } = makeConfigDir()
    const { config } = makeConfigDir(
      sl651Registry(dir),
      'sl651: { host: 127.0.0.1, port: 0, allowFrom: [10.64.0.0/12] }',
    )
    const { gw: other, lines: otherLines } = await startTestGateway(config)
    try {
      const rtu = await rtuLink(other.urls.sl651!)
      rtu.send(reportFrame({}, timedReport(90, T0, 31.0)))
      await rtu.closed
      expect(rtu.waiting).toBe(0)
      expect(otherLines.some((l) => l.reason === 'not_allowed' && l.msg === 'SL 651 input refused')).toBe(
        true,
      )
    } finally {
      await other.stop()
    }
  })
})
