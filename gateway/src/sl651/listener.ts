/**
 * The SL 651-2014 listener: hydrology telemetry stations (遥测站, RTUs) connect over TCP through
 * their GPRS/4G DTUs and send self-reports (自报) in HEX/BCD or ASCII frames. Each frame is
 * checked (CRC, header, the station's address and password), its body decoded, its elements
 * mapped by the registry to sensor quantities, and the readings go the way MQTT readings go
 * (faults, rules on the observation time, group commit). The confirmation (确认帧, §6.3.1.2 b)
 * leaves only after the commit, so a confirmed report is durable; an RTU that heard no
 * confirmation resends the same serial (§6.6.2.4) and is confirmed again without a second copy.
 *
 * Transmission modes (§6.3.1): M1 needs no reply (a confirmation does no harm); M2 gets ACK for a
 * frame ending ETB and EOT (or ESC) for the last one, ending ETX; M3 (SYN, several packets) gets
 * one confirmation after its last packet, or NAK with the number of a packet that never came.
 * Invalid frames get no reply at all, as the standard asks, and are counted and logged.
 */
import { BlockList, createServer, isIPv6, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import { durationMs } from '../../../rules/src/index.js'
import { decodeBody, encodeConfirmation, FN, type Report } from '../contracts/sl651/body.js'
import {
  ACK,
  CONTROL_NAMES,
  EOT,
  ESC,
  ETB,
  ETX,
  FrameReader,
  NAK,
  type Frame,
} from '../contracts/sl651/frame.js'
import type { Sl651Config } from '../config/schema.js'
import { LogThrottle } from '../core/log-throttle.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { ReadingIntake } from '../ingest/reading.js'
import type { Metrics } from '../metrics.js'
import type { Sl651Mapping, Station } from '../registry/schema.js'
import type { CurrentRuntime } from '../runtime.js'

/** Function codes whose reports are taken in; others (queries' answers, pictures) are refused. */
const REPORTS: ReadonlySet<number> = new Set([FN.test, FN.interval, FN.timed, FN.added, FN.hourly, FN.manual])
/** Confirmed reports remembered per station, to know a resend (its serial and content). */
const RECENT_PER_STATION = 16

export interface Sl651Deps {
  readonly config: Sl651Config
  readonly runtime: CurrentRuntime
  readonly intake: ReadingIntake
  readonly faults: Pick<FaultMonitor, 'seen'>
  readonly metrics: Metrics
  readonly log: Logger
  /** Wall clock: the confirmation's 发报时间, timeouts. */
  readonly now: () => number
  /** Refusals, one per source and reason a minute (as logged), for the event stream. */
  readonly onRefused?: (r: {
    reason: string
    source: string
    topic: string
    detail: string
    suppressed: number
  }) => void
}

/** Minutes east of UTC of an offset like +08:00. */
export const offsetMinutes = (offset: string): number => {
  const sign = offset.startsWith('-') ? -1 : 1
  const [h, m] = offset.slice(1).split(':').map(Number) as [number, number]
  return sign * (h * 60 + m)
}

interface Recent {
  readonly key: string
  /** Settles true once the report's readings are committed. */
  readonly committed: Promise<boolean>
}

export class Sl651Listener {
  private server: Server | undefined
  private readonly connections = new Set<Connection>()
  private readonly throttle = new LogThrottle()
  private readonly recent = new Map<string, Recent[]>()
  private readonly mappings = new WeakMap<Sl651Mapping, Map<string, Sl651Mapping['elements'][number]>>()
  private readonly allow: BlockList | undefined
  readonly offsetMin: number
  readonly log: Logger

  constructor(readonly deps: Sl651Deps) {
    this.log = deps.log.child({ component: 'sl651' })
    this.offsetMin = offsetMinutes(deps.config.utcOffset)
    if (deps.config.allowFrom.length > 0) {
      const list = new BlockList()
      for (const cidr of deps.config.allowFrom) {
        const [net, bits] = cidr.split('/') as [string, string]
        list.addSubnet(net, Number(bits), isIPv6(net) ? 'ipv6' : 'ipv4')
      }
      this.allow = list
    }
  }

  /** Listens on the configured address; resolves with the port. */
  async start(): Promise<number> {
    const { host, port, maxConnections } = this.deps.config
    const server = createServer((socket) => this.accept(socket))
    server.maxConnections = maxConnections
    server.on('drop', (d) =>
      this.refuse('too_many_connections', d?.remoteAddress ?? '?', '', `over ${maxConnections} connections`),
    )
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port ?? 0, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    const bound = typeof address === 'object' && address ? address.port : 0
    this.log.info({ host, port: bound }, 'SL 651 listener started')
    return bound
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.destroy()
    const server = this.server
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(socket: Socket): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    if (this.allow && !this.allowed(socket.remoteAddress)) {
      this.refuse('not_allowed', remote, '', `${socket.remoteAddress} is outside sl651.allowFrom`)
      socket.destroy()
      return
    }
    const c = new Connection(this, socket, remote)
    this.connections.add(c)
    this.deps.metrics.sl651Connections.set(this.connections.size)
    socket.once('close', () => {
      this.connections.delete(c)
      this.deps.metrics.sl651Connections.set(this.connections.size)
    })
  }

  private allowed(address: string | undefined): boolean {
    if (address === undefined || !this.allow) return false
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
    return v4 !== undefined
      ? this.allow.check(v4, 'ipv4')
      : this.allow.check(address, isIPv6(address) ? 'ipv6' : 'ipv4')
  }

  /** Counts and logs (throttled per source and reason) a refusal. */
  refuse(reason: string, source: string, topic: string, detail: string): void {
    this.deps.metrics.sl651Refused.labels(reason).inc()
    const suppressed = this.throttle.allow(`${reason}\u0000${source}`, Date.now())
    if (suppressed === undefined) return
    const line = { reason, source: source.slice(0, 64), topic, detail: detail.slice(0, 300), suppressed }
    this.log.warn(line, 'SL 651 input refused')
    this.deps.onRefused?.(line)
  }

  /** The element → quantity map of a station's mapping (built once per registry). */
  elementMap(m: Sl651Mapping): Map<string, Sl651Mapping['elements'][number]> {
    let map = this.mappings.get(m)
    if (!map) {
      map = new Map(m.elements.map((e) => [e.element, e]))
      this.mappings.set(m, map)
    }
    return map
  }

  /**
   * Takes a report in once. A copy of a report already taken (the RTU resends after a lost
   * confirmation) waits for the first copy's commit and is not taken again; a copy of one whose
   * commit failed is taken.
   */
  async once(
    address: string,
    key: string,
    take: () => Promise<boolean>,
  ): Promise<{ duplicate: boolean; committed: boolean }> {
    const list = this.recent.get(address) ?? []
    const prior = list.find((r) => r.key === key)
    if (prior && (await prior.committed)) return { duplicate: true, committed: true }
    const entry = { key, committed: take() }
    const kept = list.filter((r) => r.key !== key)
    kept.push(entry)
    if (kept.length > RECENT_PER_STATION) kept.shift()
    this.recent.set(address, kept)
    return { duplicate: false, committed: await entry.committed }
  }

  /** A report's readings into the intake; resolves true once all are committed. */
  take(report: Report, header: Station, remote: string, fn: number): Promise<boolean> {
    const { registry } = this.deps.runtime()
    const groups = new Map<
      string,
      { station: Station; sensorId: string; ts: number; values: Record<string, number> }
    >()
    // What this report already refused or marked (unknown stations, unmapped elements, relayed stations seen).
    const noted = new Set<string>()
    let missing = 0
    for (const o of report.observations) {
      const station = o.station === header.sl651!.address ? header : registry.rtu(o.station)
      if (!station?.sl651) {
        if (!noted.has(o.station)) {
          noted.add(o.station)
          // (a relay's report for a station the registry does not know)
          this.refuse(
            'unknown_station',
            o.station,
            topicOf(header, fn),
            `station ${o.station} in a report from ${header.sl651!.address} is not in the registry`,
          )
        }
        continue
      }
      const m = this.elementMap(station.sl651).get(o.element)
      if (!m) {
        // Once per element and report: a 5-minute series is one refusal, not twelve.
        const which = `${station.id}\u0000${o.element}`
        if (noted.has(which)) continue
        noted.add(which)
        this.refuse(
          'unmapped_element',
          station.sl651.address,
          topicOf(station, fn),
          `element ${o.element} is not mapped for station ${station.id}`,
        )
        continue
      }
      if (station !== header && !noted.has(station.id)) {
        // A station reported through a relay is alive too.
        noted.add(station.id)
        for (const sensor of station.sensors) this.deps.faults.seen(sensor.id)
      }
      if (o.value === null) {
        missing++
        continue
      }
      const key = `${m.sensor}\u0000${o.observedAt}`
      let g = groups.get(key)
      if (!g) {
        g = { station, sensorId: m.sensor, ts: o.observedAt, values: {} }
        groups.set(key, g)
      }
      // Rounded: 0.12 m of relative stage on a 28.5 m datum is 28.62 m, not 28.619999….
      g.values[m.quantity] = Math.round((o.value + m.offset) * 1e6) / 1e6
    }
    if (missing > 0) this.deps.metrics.sl651Missing.inc(missing)
    const commits: Promise<void>[] = []
    // Oldest first: a station's windows move forward in event time.
    for (const g of [...groups.values()].sort((a, b) => a.ts - b.ts)) {
      const sensor = registry.sensor(g.sensorId)
      const kind = sensor && registry.kind(sensor.kind)
      if (!sensor || !kind) continue // the mapping is checked against the registry at load
      this.deps.metrics.readingsReceived.inc()
      const faults = Object.entries(g.values)
        .filter(([q, v]) => {
          const spec = kind.quantities[q]
          return spec !== undefined && (v < spec.min || v > spec.max)
        })
        .map(([q]) => q)
      commits.push(
        new Promise<void>((resolve, reject) =>
          this.deps.intake(
            sensor,
            kind,
            { ok: true, ts: g.ts, seq: report.serial, values: g.values, faults },
            (e) => (e ? reject(e) : resolve()),
            report.sentAt,
          ),
        ),
      )
    }
    return Promise.all(commits).then(
      () => true,
      (e: unknown) => {
        this.log.error(
          { err: e, remote, station: header.id },
          'SL 651 readings not stored; the RTU is not confirmed and will resend',
        )
        return false
      },
    )
  }
}

const topicOf = (station: Station, fn: number) =>
  `sl651/${station.sl651?.address ?? station.id}/${fn.toString(16).toUpperCase()}H`

/** One RTU's TCP connection: frames in order, replies in order. */
class Connection {
  private readonly reader: FrameReader
  private chain: Promise<void> = Promise.resolve()
  /** Multi-packet (M3) messages being put together, by function code. */
  private readonly assembling = new Map<
    number,
    { total: number; parts: Map<number, Buffer>; bytes: number; since: number }
  >()
  private frameTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly l: Sl651Listener,
    readonly socket: Socket,
    private readonly remote: string,
  ) {
    this.reader = new FrameReader({ maxBody: l.deps.config.maxBody })
    socket.setNoDelay(true)
    socket.setTimeout(durationMs(l.deps.config.idleTimeout), () => {
      l.log.info({ remote }, 'SL 651 connection idle; closed')
      socket.destroy()
    })
    socket.on('data', (chunk) => this.data(chunk))
    socket.on('error', (e) => l.log.debug({ remote, err: e }, 'SL 651 connection error'))
    socket.once('close', () => {
      if (this.frameTimer) clearTimeout(this.frameTimer)
      const p = this.reader.flush()
      if (p) l.refuse(p.reason, remote, '', p.detail)
      for (const [fn, a] of this.assembling)
        l.refuse(
          'truncated',
          remote,
          '',
          `multi-packet message ${fn.toString(16)}H ended with ${a.parts.size} of ${a.total} packets`,
        )
    })
  }

  private data(chunk: Buffer): void {
    this.reader.push(chunk)
    this.drain()
  }

  private drain(): void {
    for (let r = this.reader.read(); r; r = this.reader.read()) {
      if ('problem' in r)
        this.l.refuse(
          r.problem.reason,
          this.remote,
          '',
          `${r.problem.detail} (${r.problem.bytes} bytes skipped)`,
        )
      else {
        const frame = r.frame
        this.chain = this.chain
          .then(() => this.frame(frame))
          .catch((e: unknown) =>
            this.l.log.error({ err: e, remote: this.remote }, 'SL 651 frame not handled'),
          )
      }
    }
    // A frame begun but not finished within frameTimeout is given up as truncated; whole frames
    // held behind its false start are read on.
    if (this.frameTimer) clearTimeout(this.frameTimer)
    this.frameTimer = undefined
    if (this.reader.pending > 0)
      this.frameTimer = setTimeout(() => {
        const p = this.reader.abandon()
        if (p)
          this.l.refuse(p.reason, this.remote, '', `${p.detail} within ${this.l.deps.config.frameTimeout}`)
        this.drain()
      }, durationMs(this.l.deps.config.frameTimeout))
  }

  private async frame(f: Frame): Promise<void> {
    const l = this.l
    const { config, runtime, metrics } = l.deps
    const source = f.address
    const topic = `sl651/${f.address}/${f.fn.toString(16).toUpperCase()}H`
    if (f.direction !== 'up')
      return l.refuse('downlink', source, topic, 'a downlink frame (direction 8) sent to the centre')
    if (config.centerAddress !== undefined && f.center !== config.centerAddress)
      return l.refuse(
        'wrong_center',
        source,
        topic,
        `addressed to centre ${f.center}, this is ${config.centerAddress}`,
      )
    const station = runtime().registry.rtu(f.address)
    if (!station?.sl651)
      return l.refuse('unknown_station', source, topic, `station address ${f.address} is not in the registry`)
    if (f.password !== station.sl651.password)
      return l.refuse('bad_password', source, topic, `wrong password for station ${station.id}`)
    // Any authentic frame, a keep-alive included, proves the station's link and power.
    for (const s of station.sensors) l.deps.faults.seen(s.id)
    metrics.sl651Frames.labels(`${f.fn.toString(16).toUpperCase()}H`).inc()
    if (f.fn === FN.keepAlive) return // 链路维持报: no downlink (§6.6.4.2)
    if (!REPORTS.has(f.fn))
      return l.refuse(
        'unsupported_function',
        source,
        topic,
        `function ${f.fn.toString(16).toUpperCase()}H is not a self-report this gateway takes`,
      )
    if (f.packet) return this.packet(f, station, topic)
    return this.message(
      f,
      f.body,
      station,
      topic,
      f.end === ETB ? ACK : config.confirmWith === 'ESC' ? ESC : EOT,
    )
  }

  /** One packet of a multi-packet (M3) message; the message is taken once all have come. */
  private async packet(f: Frame, station: Station, topic: string): Promise<void> {
    const { total, seq } = f.packet!
    const now = this.l.deps.now()
    let a = this.assembling.get(f.fn)
    if (a && (a.total !== total || now - a.since > durationMs(this.l.deps.config.frameTimeout))) {
      this.l.refuse(
        'truncated',
        f.address,
        topic,
        `multi-packet message dropped with ${a.parts.size} of ${a.total} packets`,
      )
      a = undefined
    }
    if (total === 0 || seq === 0 || seq > total) {
      this.assembling.delete(f.fn)
      return this.l.refuse('bad_header', f.address, topic, `packet ${seq} of ${total}`)
    }
    if (!a) {
      a = { total, parts: new Map(), bytes: 0, since: now }
      this.assembling.set(f.fn, a)
    }
    if (!a.parts.has(seq)) a.bytes += f.body.length
    a.parts.set(seq, f.body)
    if (a.bytes > this.l.deps.config.maxMessageBytes) {
      this.assembling.delete(f.fn)
      return this.l.refuse(
        'oversized',
        f.address,
        topic,
        `multi-packet message over ${this.l.deps.config.maxMessageBytes} bytes`,
      )
    }
    if (f.end !== ETX && a.parts.size < total) return // M3: one confirmation at the end only
    for (let n = 1; n <= total; n++)
      if (!a.parts.has(n)) {
        // Ask for the first missing packet again (§6.3.1.2 c, table 23: NAK with its number).
        const serial = a.parts.has(1) ? (a.parts.get(1)![0]! << 8) | a.parts.get(1)![1]! : 0
        this.reply(f, NAK, f.encoding === 'hex' ? serial : asciiSerial(a.parts.get(1)), { total, seq: n })
        return
      }
    this.assembling.delete(f.fn)
    const body = Buffer.concat([...Array(total).keys()].map((i) => a.parts.get(i + 1)!))
    const end = this.l.deps.config.confirmWith === 'ESC' ? ESC : EOT
    return this.message(f, body, station, topic, end, { total, seq: total })
  }

  private async message(
    f: Frame,
    body: Buffer,
    station: Station,
    topic: string,
    end: number,
    packet?: { total: number; seq: number },
  ): Promise<void> {
    const l = this.l
    const decoded = decodeBody(f.encoding, f.fn, body, f.address, l.offsetMin)
    if (!decoded.ok) return l.refuse(decoded.error.reason, f.address, topic, decoded.error.detail)
    const report = decoded.report
    for (const p of report.problems)
      l.refuse(p.reason, p.station ?? f.address, topic, `${p.element}: ${p.detail}`)
    if (f.fn === FN.test) {
      // 测试报 goes to a test database, not the station's history (§6.6.4.3): confirmed, counted.
      l.log.info(
        { station: station.id, serial: report.serial, observations: report.observations.length },
        'SL 651 test report',
      )
      return this.reply(f, end, report.serial, packet)
    }
    if (f.fn === FN.manual) {
      // 人工置数 is SL 330 coded text for the duty officer, not sensor readings.
      l.log.info(
        { station: station.id, serial: report.serial, manual: report.manual?.slice(0, 500) },
        'SL 651 manual report',
      )
      return this.reply(f, end, report.serial, packet)
    }
    // A resend repeats the serial and the content after the send time (its send time may differ).
    const key = `${f.fn}|${report.serial}|${body.subarray(f.encoding === 'hex' ? 8 : 16).toString('base64')}`
    const { duplicate, committed } = await l.once(f.address, key, () =>
      l.take(report, station, this.remote, f.fn),
    )
    if (duplicate) l.deps.metrics.sl651Duplicates.inc()
    if (!committed) return // not durable: no confirmation, the RTU sends it again
    return this.reply(f, end, report.serial, packet)
  }

  private reply(f: Frame, end: number, serial: number, packet?: { total: number; seq: number }): void {
    if (this.socket.destroyed) return
    this.socket.write(encodeConfirmation(f, serial, this.l.deps.now(), this.l.offsetMin, end, packet))
    this.l.deps.metrics.sl651Replies.labels(CONTROL_NAMES[end] ?? String(end)).inc()
  }
}

/** The serial at the head of an ASCII body (4 hex characters). */
const asciiSerial = (first: Buffer | undefined): number => {
  const n = first ? Number.parseInt(first.subarray(0, 4).toString('latin1'), 16) : 0
  return Number.isNaN(n) ? 0 : n
}
