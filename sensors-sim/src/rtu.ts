/**
 * A simulated SL 651-2014 telemetry station (遥测站, RTU) behind a DTU: it speaks the protocol to
 * the centre over real TCP, as the field's GPRS/4G DTUs give it a transparent socket.
 *
 * - Reports in confirmation mode M2 (§6.3.2.3): one message at a time; the RTU waits for the
 *   centre's confirmation frame (same function code, direction 8, body = the serial and the
 *   centre's clock) and checks that it confirms its serial. None within the timeout: the same
 *   frame again, same serial (§6.6.2.4), at most twice; then the message has failed.
 * - Serials 1…65535, cycling (§6.6.2.4; 0 is never used).
 * - A dropped link is reconnected; what was not confirmed yet is sent again, in order.
 * - Keep-alive (2FH, §6.6.4.2) every `keepAliveMs` while idle; the centre does not answer it.
 * - Multi-packet (M3, §6.3.2.4): a body longer than `maxPacketBody` is cut into packets after SYN
 *   with total/sequence; only the first carries the serial and send time (they begin the body).
 *   The centre confirms the whole message after its last packet, or NAKs the packet it lacks.
 * - 发报时间 (send time) is the RTU's clock when it sends: the wall clock plus `clockErrorMs`
 *   (negative: a clock running behind). Observation times are whatever the caller says (the
 *   scenario's event time).
 *
 * Imports only the gateway's contracts (the codec), as every simulator.
 */
import { connect, type Socket } from 'node:net'
import {
  decodeBody,
  encodeKeepAlive,
  encodeReport,
  FN,
  type ElementValue,
} from '../../gateway/src/contracts/sl651/body.js'
import {
  ACK,
  encodeFrame,
  EOT,
  ESC,
  ETB,
  ETX,
  FrameReader,
  MAX_BODY,
  NAK,
  type Frame,
  type FrameEncoding,
} from '../../gateway/src/contracts/sl651/frame.js'

/** Who the RTU is and how it talks. */
export interface RtuOptions {
  /** `tcp://host:port` of the centre (the gateway's SL 651 listener). */
  readonly url: string
  /** 遥测站地址, 10 hex digits. */
  readonly address: string
  /** 密码, 4 hex digits. */
  readonly password: string
  readonly encoding: FrameEncoding
  /** 遥测站分类码 (appendix A.1), e.g. H 河道. */
  readonly category: string
  /** 中心站地址, 1–255. */
  readonly center: number
  /** The station's clock's offset from UTC in minutes (Beijing time: 480). */
  readonly utcOffsetMin?: number
  /** How long to wait for a confirmation before resending. */
  readonly confirmTimeoutMs?: number
  /** Resends of an unconfirmed message before it is given up (§6.3.2.3: 2). */
  readonly maxResends?: number
  /** Bodies longer than this go as several packets (M3). */
  readonly maxPacketBody?: number
  /** Keep-alive period while idle; undefined: none. */
  readonly keepAliveMs?: number
  /** The RTU's clock error, ms (negative: behind). */
  readonly clockErrorMs?: number
  /** Wall clock; Date.now by default. */
  readonly now?: () => number
  /** Wait before reconnecting a dropped link. */
  readonly reconnectMs?: number
  /** The serial of the first report (a station resuming its count); 1 by default. */
  readonly firstSerial?: number
}

/** What the RTU did, for the run summary. */
export interface RtuCounters {
  /** Messages sent (first transmissions). */
  sent: number
  confirmed: number
  /** Retransmissions: confirmation timeouts, NAKs, resends after a dropped link. */
  resent: number
  /** Messages given up after the last resend. */
  failed: number
  keepAlives: number
  reconnects: number
}

/** Every counter at zero: one RTU's at its start, and the sum a run's summary adds them into. */
export const zeroCounters = (): RtuCounters => ({
  sent: 0,
  confirmed: 0,
  resent: 0,
  failed: 0,
  keepAlives: 0,
  reconnects: 0,
})

/** A time group of a report: the observation time and the elements observed then. */
export interface RtuGroup {
  readonly observedAt: number
  readonly elements: readonly ElementValue[]
}

/** How a message ended. */
export type RtuOutcome = 'confirmed' | 'failed'

interface Message {
  readonly fn: number
  readonly serial: number
  readonly groups: readonly RtuGroup[]
  /** The frames as first sent; resends repeat them byte for byte. */
  frames?: Buffer[]
  /** Confirmation timeouts (and NAKs) so far. */
  tries: number
  readonly resolve: (o: RtuOutcome) => void
}

const parseUrl = (url: string): { host: string; port: number } => {
  const u = new URL(url)
  if (u.protocol !== 'tcp:' || u.port === '') throw new Error(`expected tcp://host:port, got ${url}`)
  return { host: u.hostname, port: Number(u.port) }
}

/** One simulated telemetry station and its link to the centre. */
export class SimRtu {
  /** The RTU's clock error now, ms (negative: behind); a scenario's clock faults move it. */
  clockErrorMs: number
  readonly counters: RtuCounters = zeroCounters()
  private readonly o: Required<Omit<RtuOptions, 'keepAliveMs'>> & { keepAliveMs: number | undefined }
  private readonly target: { host: string; port: number }
  private socket: Socket | undefined
  private connected = false
  private everConnected = false
  private closed = false
  /** Held down by an outage: no link until `resume`. */
  private suspended = false
  private reader = new FrameReader()
  private readonly queue: Message[] = []
  /** The message on the wire, waiting for its confirmation. */
  private current: Message | undefined
  private timer: NodeJS.Timeout | undefined
  private keepAliveTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private nextSerial = 1
  private lastSerial = 0
  private idleWaiters: (() => void)[] = []
  private connectWaiters: { ok: () => void; fail: (e: Error) => void }[] = []

  constructor(opts: RtuOptions) {
    this.o = {
      utcOffsetMin: 480,
      confirmTimeoutMs: 10_000,
      maxResends: 2,
      maxPacketBody: MAX_BODY,
      clockErrorMs: 0,
      now: Date.now,
      reconnectMs: 200,
      firstSerial: 1,
      ...opts,
      keepAliveMs: opts.keepAliveMs,
    }
    this.target = parseUrl(opts.url)
    this.clockErrorMs = this.o.clockErrorMs
    if (!(this.o.firstSerial >= 1 && this.o.firstSerial <= 0xffff))
      throw new RangeError(`a serial is 1…65535, not ${this.o.firstSerial}`)
    this.nextSerial = this.o.firstSerial
  }

  get address(): string {
    return this.o.address
  }

  /** Connects; resolves once the link is up (rejects if the first connection fails). */
  start(): Promise<void> {
    return new Promise((ok, fail) => {
      this.connectWaiters.push({ ok, fail })
      this.open()
    })
  }

  /**
   * Queues a report (32H timed by default) of these time groups; resolves when the centre
   * confirmed it or the RTU gave up on it.
   */
  report(groups: readonly RtuGroup[], fn: number = FN.timed): Promise<RtuOutcome> {
    return new Promise((resolve) => {
      const serial = this.nextSerial
      this.nextSerial = serial === 0xffff ? 1 : serial + 1
      this.queue.push({ fn, serial, groups, tries: 0, resolve })
      this.pump()
    })
  }

  /** Resolves when nothing is queued or waiting for a confirmation. */
  idle(): Promise<void> {
    if (!this.current && this.queue.length === 0) return Promise.resolve()
    return new Promise((r) => this.idleWaiters.push(r))
  }

  /** The link drops without a goodbye (a DTU losing its cell); the RTU reconnects on its own. */
  drop(): void {
    this.socket?.destroy()
  }

  /** An outage: the link drops and stays down until `resume`; reports wait meanwhile. */
  suspend(): void {
    this.suspended = true
    const s = this.socket
    this.detach()
    s?.destroy()
  }

  /** The link is gone: nothing is written until the next one is up. */
  private detach(): void {
    this.connected = false
    this.socket = undefined
    clearTimeout(this.timer)
    clearTimeout(this.keepAliveTimer)
  }

  /** Held down by an outage. */
  get isSuspended(): boolean {
    return this.suspended
  }

  resume(): void {
    if (!this.suspended) return
    this.suspended = false
    this.counters.reconnects++
    this.open()
  }

  /** Waits for what is queued, then closes the link. */
  async close(): Promise<void> {
    await this.idle()
    this.closed = true
    this.stopTimers()
    const s = this.socket
    if (!s || s.destroyed) return
    await new Promise<void>((r) => s.end(() => r()))
    s.destroy()
  }

  /** Closes at once; what is queued fails. */
  destroy(): void {
    this.closed = true
    this.stopTimers()
    this.socket?.destroy()
    for (const m of [...(this.current ? [this.current] : []), ...this.queue.splice(0)])
      this.finish(m, 'failed')
  }

  private stopTimers(): void {
    clearTimeout(this.timer)
    clearTimeout(this.keepAliveTimer)
    clearTimeout(this.reconnectTimer)
  }

  private open(): void {
    if (this.closed || this.suspended || this.socket) return
    const s = connect(this.target)
    this.socket = s
    this.reader = new FrameReader()
    s.setNoDelay(true)
    s.on('connect', () => {
      this.connected = true
      this.everConnected = true
      for (const w of this.connectWaiters.splice(0)) w.ok()
      // What was on the wire when the link dropped goes again, before anything newer.
      const m = this.current
      if (m?.frames) {
        this.counters.resent++
        this.transmit(m, m.frames)
      } else this.pump()
      this.armKeepAlive()
    })
    s.on('data', (chunk) => this.onData(chunk))
    s.on('error', (e) => {
      // The first connection failing fails `start`; later ones are retried.
      if (this.everConnected) return
      this.closed = true
      for (const w of this.connectWaiters.splice(0)) w.fail(e)
    })
    s.on('close', () => {
      if (this.socket !== s) return // already let go (an outage)
      this.detach()
      if (this.closed || this.suspended) return
      this.reconnectTimer = setTimeout(() => {
        this.counters.reconnects++
        this.open()
      }, this.o.reconnectMs)
    })
  }

  /** Sends the next queued message when nothing waits for a confirmation. */
  private pump(): void {
    if (this.current || !this.connected || this.socket?.destroyed !== false) return
    const m = this.queue.shift()
    if (!m) {
      for (const w of this.idleWaiters.splice(0)) w()
      return
    }
    this.current = m
    m.frames = this.framesOf(m)
    this.counters.sent++
    this.lastSerial = m.serial
    this.transmit(m, m.frames)
  }

  private transmit(m: Message, frames: readonly Buffer[]): void {
    const s = this.socket
    if (!s || !this.connected || s.destroyed) return // sent again on reconnect
    for (const f of frames) s.write(f)
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.onTimeout(m), this.o.confirmTimeoutMs)
    this.armKeepAlive()
  }

  private onTimeout(m: Message): void {
    if (this.current !== m || !m.frames) return
    this.retry(m, m.frames)
  }

  /** No (or a negative) confirmation: again, same serial, until the resends are used up. */
  private retry(m: Message, frames: readonly Buffer[]): void {
    if (m.tries >= this.o.maxResends) {
      this.current = undefined
      this.counters.failed++
      this.finish(m, 'failed')
      this.pump()
      return
    }
    m.tries++
    this.counters.resent++
    this.transmit(m, frames)
  }

  private finish(m: Message, outcome: RtuOutcome): void {
    m.resolve(outcome)
    if (!this.current && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w()
  }

  /** The frames of a message: one, or packets after SYN when the body is too long (M3). */
  private framesOf(m: Message): Buffer[] {
    const body = encodeReport(
      this.o.encoding,
      {
        serial: m.serial,
        sentAt: this.o.now() + this.clockErrorMs,
        stations: [{ address: this.o.address, category: this.o.category, groups: m.groups }],
      },
      this.o.utcOffsetMin,
    )
    const head = {
      encoding: this.o.encoding,
      center: this.o.center,
      address: this.o.address,
      password: this.o.password,
      fn: m.fn,
      direction: 'up' as const,
    }
    const limit = Math.min(this.o.maxPacketBody, MAX_BODY - (this.o.encoding === 'hex' ? 3 : 6))
    if (body.length <= this.o.maxPacketBody) return [encodeFrame({ ...head, body, end: ETX })]
    const total = Math.ceil(body.length / limit)
    if (total > 0xfff) throw new RangeError(`a message of ${body.length} bytes needs over 4095 packets`)
    return Array.from({ length: total }, (_, i) =>
      encodeFrame({
        ...head,
        body: body.subarray(i * limit, (i + 1) * limit),
        packet: { total, seq: i + 1 },
        // Every packet but the last says more follow (ETB); the last ends the message (ETX).
        end: i + 1 < total ? ETB : ETX,
      }),
    )
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk)
    for (let r = this.reader.read(); r; r = this.reader.read()) if ('frame' in r) this.onFrame(r.frame)
  }

  private onFrame(f: Frame): void {
    const m = this.current
    if (!m?.frames || f.direction !== 'down' || f.address !== this.o.address.toUpperCase() || f.fn !== m.fn)
      return
    if (f.end === NAK) {
      // The centre lacks a packet (M3: its number in the packet field) or refused the frame.
      const seq = f.packet?.seq
      const frames = seq !== undefined && seq >= 1 && seq <= m.frames.length ? [m.frames[seq - 1]!] : m.frames
      this.retry(m, frames)
      return
    }
    if (f.end !== EOT && f.end !== ESC && f.end !== ACK) return
    // An ACK confirms a frame after which more follow; a message's last frame is EOT or ESC.
    if (f.end === ACK && m.frames.length > 1 && f.packet && f.packet.seq < f.packet.total) return
    const decoded = decodeBody(this.o.encoding, f.fn, f.body, f.address, this.o.utcOffsetMin)
    if (!decoded.ok || decoded.report.serial !== m.serial) return // not ours: keep waiting
    clearTimeout(this.timer)
    this.current = undefined
    this.counters.confirmed++
    this.finish(m, 'confirmed')
    this.pump()
  }

  private armKeepAlive(): void {
    clearTimeout(this.keepAliveTimer)
    const every = this.o.keepAliveMs
    if (every === undefined || this.closed) return
    this.keepAliveTimer = setTimeout(() => {
      const s = this.socket
      if (s && this.connected && !this.current && this.queue.length === 0) {
        const body = encodeKeepAlive(
          this.o.encoding,
          this.lastSerial,
          this.o.now() + this.clockErrorMs,
          this.o.utcOffsetMin,
        )
        s.write(
          encodeFrame({
            encoding: this.o.encoding,
            center: this.o.center,
            address: this.o.address,
            password: this.o.password,
            fn: FN.keepAlive,
            direction: 'up',
            body,
            end: ETX,
          }),
        )
        this.counters.keepAlives++
      }
      this.armKeepAlive()
    }, every)
    this.keepAliveTimer.unref()
  }
}
