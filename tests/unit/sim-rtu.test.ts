/**
 * The simulated SL 651 telemetry station against a small centre written here with the codec, on
 * loopback port 0: confirmation mode M2 (resends keep the serial, two at most), M3 packets, both
 * encodings, reconnects, keep-alive, serial wrap, the clock error in the send time.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import {
  decodeBody,
  encodeAck,
  encodeConfirmation,
  FN,
  type Report,
} from '../../gateway/src/contracts/sl651/body.js'
import {
  encodeFrame,
  EOT,
  ETB,
  ETX,
  FrameReader,
  NAK,
  type Frame,
  type FrameEncoding,
} from '../../gateway/src/contracts/sl651/frame.js'
import { simMain } from '../../sensors-sim/src/main.js'
import { SimRtu, type RtuOptions } from '../../sensors-sim/src/rtu.js'
import { until } from '../helpers/wait.js'

const ADDRESS = '0061234567'
const T = Date.UTC(2026, 6, 15, 2, 5) // 10:05 Beijing time
const OFFSET = 480

/** What the test centre does with an uplink frame. */
type Policy = (f: Frame, reply: (end: number, packet?: Frame['packet']) => void, sock: Socket) => void

interface Centre {
  readonly url: string
  readonly frames: Frame[]
  connections: number
  policy: Policy
  close(): Promise<void>
}

/** A body's serial, its first field (read raw: a first M3 packet is not a whole body). */
const serialOf = (f: Frame): number =>
  f.encoding === 'hex' ? f.body.readUInt16BE(0) : Number.parseInt(f.body.toString('latin1', 0, 4), 16)

/** Confirms every report ending ETX with EOT (the listener's behaviour for M2). */
const confirmAll: Policy = (f, reply) => {
  if (f.fn !== FN.keepAlive && f.end === ETX && !f.packet) reply(EOT)
}

const servers: Server[] = []
const rtus: SimRtu[] = []
afterEach(async () => {
  for (const r of rtus.splice(0)) r.destroy()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

async function centre(policy: Policy = confirmAll): Promise<Centre> {
  const c = {
    frames: [] as Frame[],
    connections: 0,
    policy,
  } as Centre & { frames: Frame[] }
  const server = createServer((sock) => {
    c.connections++
    const reader = new FrameReader()
    let serial = 0
    sock.on('error', () => {})
    sock.on('data', (chunk) => {
      reader.push(chunk)
      for (let r = reader.read(); r; r = reader.read()) {
        if (!('frame' in r)) throw new Error(`the RTU sent a bad frame: ${r.problem.detail}`)
        const f = r.frame
        c.frames.push(f)
        // Only a message's first packet carries the serial.
        if (!f.packet || f.packet.seq === 1) serial = serialOf(f)
        c.policy(f, (end, packet) => sock.write(encodeConfirmation(f, serial, T, OFFSET, end, packet)), sock)
      }
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return Object.assign(c, {
    url: `tcp://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })
}

async function rtu(url: string, opts: Partial<RtuOptions> = {}): Promise<SimRtu> {
  const r = new SimRtu({
    url,
    address: ADDRESS,
    password: '1234',
    encoding: 'hex',
    category: 'H',
    center: 1,
    now: () => T + 30_000,
    // Long enough never to expire by slowness; tests of the timeout itself set a short one.
    confirmTimeoutMs: 10_000,
    reconnectMs: 20,
    ...opts,
  })
  rtus.push(r)
  await r.start()
  return r
}

const stage = (z: number, pj = 0.5) => [
  {
    observedAt: T,
    elements: [
      { id: 'Z', value: z },
      { id: 'PJ', value: pj },
      { id: 'VT', value: 12.61 },
    ],
  },
]

const decoded = (f: Frame): Report => {
  const d = decodeBody(f.encoding, f.fn, f.body, f.address, OFFSET)
  if (!d.ok) throw new Error(d.error.detail)
  return d.report
}

const reports = (c: Centre) => c.frames.filter((f) => f.fn !== FN.keepAlive)

describe.each<FrameEncoding>(['hex', 'ascii'])('%s encoding', (encoding) => {
  test('a timed report (32H) is confirmed; its elements and times decode as sent', async () => {
    const c = await centre()
    const r = await rtu(c.url, { encoding, clockErrorMs: -20 * 60_000 })
    await expect(r.report(stage(31.234))).resolves.toBe('confirmed')
    expect(c.frames).toHaveLength(1)
    const f = c.frames[0]!
    expect(f).toMatchObject({
      encoding,
      direction: 'up',
      fn: FN.timed,
      address: ADDRESS,
      password: '1234',
      center: 1,
    })
    const rep = decoded(f)
    expect(rep.serial).toBe(1)
    // The send time is the RTU's clock: the wall clock plus its error (20 minutes behind here).
    expect(rep.sentAt).toBe(T + 30_000 - 20 * 60_000)
    expect(rep.stations).toEqual([{ address: ADDRESS, category: 'H' }])
    expect(rep.observations.map((o) => [o.element, o.observedAt, o.value])).toEqual([
      ['Z', T, 31.234],
      ['PJ', T, 0.5],
      ['VT', T, 12.61],
    ])
    expect(r.counters).toMatchObject({ sent: 1, confirmed: 1, resent: 0, failed: 0 })
  })

  test('a lost confirmation: the same frame again, same serial', async () => {
    let ignored = 0
    const c = await centre((f, reply) => {
      if (f.fn === FN.keepAlive) return
      if (ignored++ === 0) return // the first confirmation is lost
      reply(EOT)
    })
    const r = await rtu(c.url, { encoding, confirmTimeoutMs: 300 })
    await expect(r.report(stage(30.5))).resolves.toBe('confirmed')
    // (A slow centre may see a third copy; every copy is the same frame.)
    const sent = reports(c)
    expect(sent.length).toBeGreaterThanOrEqual(2)
    expect(new Set(sent.map(serialOf))).toEqual(new Set([1]))
    for (const f of sent) expect(f.body.equals(sent[0]!.body)).toBe(true)
    expect(r.counters).toMatchObject({ sent: 1, confirmed: 1, failed: 0 })
    expect(r.counters.resent).toBe(sent.length - 1)
    // The next report has the next serial.
    await expect(r.report(stage(30.6))).resolves.toBe('confirmed')
    expect(serialOf(reports(c).at(-1)!)).toBe(2)
  })

  test('gives up after two resends, then goes on with the next report', async () => {
    let confirm = false
    const c = await centre((f, reply) => {
      if (confirm && f.fn !== FN.keepAlive) reply(EOT)
    })
    const r = await rtu(c.url, { encoding, confirmTimeoutMs: 150 })
    await expect(r.report(stage(30.5))).resolves.toBe('failed')
    expect(reports(c).map(serialOf)).toEqual([1, 1, 1])
    expect(r.counters).toMatchObject({ sent: 1, confirmed: 0, resent: 2, failed: 1 })
    confirm = true
    await expect(r.report(stage(30.6))).resolves.toBe('confirmed')
    const serials = reports(c).map(serialOf)
    expect(serials.slice(0, 4)).toEqual([1, 1, 1, 2])
    expect(new Set(serials.slice(4))).toEqual(new Set(serials.length > 4 ? [2] : []))
    expect(r.counters).toMatchObject({ sent: 2, confirmed: 1, failed: 1 })
  })

  test('M3: a long body goes as packets after SYN; only the first carries the serial', async () => {
    let nakOnce = true
    const got = new Set<number>()
    const c = await centre((f, reply) => {
      if (!f.packet) return
      const { total, seq } = f.packet
      got.add(seq)
      // Packet 2 "lost" the first time: NAK with its number; the RTU resends just that one.
      if (seq === total && nakOnce) {
        nakOnce = false
        got.delete(2)
        reply(NAK, { total, seq: 2 })
        return
      }
      // Complete: one confirmation of the whole message, its packet field total/total.
      if (got.size === total) reply(EOT, { total, seq: total })
    })
    const r = await rtu(c.url, { encoding, maxPacketBody: 24 })
    const groups = [0, 1, 2, 3].map((k) => ({
      observedAt: T + k * 300_000,
      elements: [
        { id: 'Z', value: 31 + k / 10 },
        { id: 'PJ', value: k },
      ],
    }))
    await expect(r.report(groups)).resolves.toBe('confirmed')
    const packets = c.frames
    const total = packets[0]!.packet!.total
    expect(total).toBeGreaterThan(2)
    // All packets in order, then packet 2 again.
    expect(packets.map((p) => p.packet)).toEqual([
      ...Array.from({ length: total }, (_, i) => ({ total, seq: i + 1 })),
      { total, seq: 2 },
    ])
    expect(packets.map((p) => p.end)).toEqual([...Array<number>(total - 1).fill(ETB), ETX, ETB])
    expect(packets.every((p) => p.body.length <= 24)).toBe(true)
    expect(packets[total]!.body.equals(packets[1]!.body)).toBe(true)
    // Reassembled, the packets are one body: serial and send time once, at the start.
    const whole = { ...packets[0]!, body: Buffer.concat(packets.slice(0, total).map((p) => p.body)) }
    const rep = decoded(whole)
    expect(rep.serial).toBe(1)
    expect(rep.observations.filter((o) => o.element === 'Z').map((o) => [o.observedAt, o.value])).toEqual([
      [T, 31],
      [T + 300_000, 31.1],
      [T + 600_000, 31.2],
      [T + 900_000, 31.3],
    ])
    expect(r.counters).toMatchObject({ sent: 1, confirmed: 1, resent: 1, failed: 0 })
  })
})

test('hourly (34H) with 5-minute series DRP and DRZ1', async () => {
  const c = await centre()
  const r = await rtu(c.url)
  const rain = [0, 0.5, 1, 1.5, 2, 0, 0, 0, 0.1, 0.2, null, 0]
  const rel = Array.from({ length: 12 }, (_, i) => 2.5 + i / 100)
  await expect(
    r.report(
      [
        {
          observedAt: T,
          elements: [
            { id: 'DRP', value: rain },
            { id: 'DRZ1', value: rel },
          ],
        },
      ],
      FN.hourly,
    ),
  ).resolves.toBe('confirmed')
  const rep = decoded(c.frames[0]!)
  expect(c.frames[0]!.fn).toBe(FN.hourly)
  expect(rep.observations.filter((o) => o.element === 'DRP').map((o) => o.value)).toEqual(rain)
  expect(rep.observations.filter((o) => o.element === 'DRZ1').map((o) => o.value)).toEqual(rel)
})

test('a dropped link: reconnects and sends what is unconfirmed, in order, same serials', async () => {
  let dropped = false
  const c = await centre((f, reply, sock) => {
    if (!dropped) {
      dropped = true
      sock.destroy() // the link drops before the confirmation
      return
    }
    reply(EOT)
  })
  const r = await rtu(c.url, { confirmTimeoutMs: 5000 })
  const done = [r.report(stage(30.1)), r.report(stage(30.2)), r.report(stage(30.3))]
  await expect(Promise.all(done)).resolves.toEqual(['confirmed', 'confirmed', 'confirmed'])
  expect(c.frames.map(serialOf)).toEqual([1, 1, 2, 3])
  expect(c.connections).toBe(2)
  expect(r.counters).toMatchObject({ sent: 3, confirmed: 3, resent: 1, failed: 0, reconnects: 1 })
})

test('keep-alive (2FH) while idle, with the last serial; the centre does not answer it', async () => {
  const c = await centre()
  const r = await rtu(c.url, { keepAliveMs: 30 })
  await r.report(stage(30.1))
  await until(
    () => c.frames.filter((f) => f.fn === FN.keepAlive).length,
    (n) => n >= 2,
    'two keep-alives',
  )
  const ka = c.frames.find((f) => f.fn === FN.keepAlive)!
  expect(ka.end).toBe(ETX)
  expect(serialOf(ka)).toBe(1)
  expect(r.counters.keepAlives).toBeGreaterThanOrEqual(2)
})

test('serials cycle 65535 → 1 (0 is never used)', async () => {
  const c = await centre()
  const r = await rtu(c.url, { firstSerial: 65535 })
  await r.report(stage(30.1))
  await r.report(stage(30.2))
  expect(c.frames.map(serialOf)).toEqual([65535, 1])
})

test('a confirmation of another serial does not confirm the report', async () => {
  let first = true
  const c = await centre((f, reply, sock) => {
    if (first) {
      first = false
      // A stale confirmation (serial 7) arrives first, then the right one.
      sock.write(
        encodeFrame({
          encoding: 'hex',
          direction: 'down',
          center: f.center,
          address: f.address,
          password: f.password,
          fn: f.fn,
          body: encodeAck('hex', 7, T, OFFSET),
          end: EOT,
        }),
      )
    }
    reply(EOT)
  })
  const r = await rtu(c.url, { confirmTimeoutMs: 5000 })
  await expect(r.report(stage(30.1))).resolves.toBe('confirmed')
  expect(c.frames).toHaveLength(1)
})

test('an outage holds reports while the link is down; they go in order when it returns', async () => {
  const c = await centre()
  const r = await rtu(c.url)
  await r.report(stage(30.1))
  r.suspend()
  const held = [r.report(stage(30.2)), r.report(stage(30.3))]
  await until(
    () => c.connections,
    (n) => n === 1,
    'the first connection',
  )
  r.resume()
  await expect(Promise.all(held)).resolves.toEqual(['confirmed', 'confirmed'])
  expect(c.frames.map(serialOf)).toEqual([1, 2, 3])
  expect(c.connections).toBe(2)
  expect(r.counters).toMatchObject({ sent: 3, confirmed: 3, resent: 0, failed: 0, reconnects: 1 })
})

test('shaobing sim refuses a scenario with RTUs without --sl651, and a malformed --sl651', async () => {
  const file = join(import.meta.dirname, '../../sensors-sim/scenarios/sl651-river.yaml')
  const errors: string[] = []
  const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void errors.push(m))
  try {
    await expect(simMain(['--scenario', file])).resolves.toBe(2)
    await expect(simMain(['--scenario', file, '--sl651', 'http://x'])).resolves.toBe(2)
  } finally {
    spy.mockRestore()
  }
  expect(errors).toEqual([
    'scenario sl651-river has 1 SL 651 RTUs: give the gateway’s listener with --sl651 tcp://HOST:PORT'.replace(
      '’',
      "'",
    ),
    '--sl651 must be tcp://HOST:PORT, got http://x',
  ])
})
