/**
 * SL 651-2014 message bodies (报文正文, §6.6): the uplink reports of a telemetry station decoded
 * into observations, and the bodies the simulated RTU and the gateway's replies send. Pure.
 *
 * An uplink body is 流水号 (serial, 2 bytes HEX), 发报时间 (send time, 6 bytes BCD
 * YYMMDDHHmmSS), then for each station reported: its address group (F1F1H / ST), its category
 * (appendix A), an observation time group (F0F0H / TT, YYMMDDHHmm) and the element groups
 * observed then; a new time group starts a new set (§6.6.2.7, §6.6.2.8). Times are the station's
 * local time (Beijing time unless configured), so decoding takes the offset.
 */
import {
  ADDRESS_GUIDE,
  definitionByte,
  elementByGuide,
  elementById,
  EXTENSION_GUIDE,
  TIME_GUIDE,
  type ElementSpec,
} from './elements.js'
import { encodeFrame, type Frame, type FrameEncoding } from './frame.js'

/** Function codes a telemetry station sends on its own (appendix B). */
export const FN = {
  keepAlive: 0x2f,
  test: 0x30,
  interval: 0x31,
  timed: 0x32,
  added: 0x33,
  hourly: 0x34,
  manual: 0x35,
  /** 中心站查询遥测站时段数据: the station's answer is laid out as an interval report (table 45). */
  period: 0x38,
} as const

/** Bodies laid out as 均匀时段 series after their time step (§6.6.4.4, and table 45 for 38H). */
const isSeriesFn = (fn: number) => fn === FN.interval || fn === FN.period

/** One value an element reported, at its observation time. */
export interface Observation {
  /** The reporting station's address (its ST group). */
  readonly station: string
  /** The element's ASCII identifier (table C.1), `FFxx` for a user-defined one. */
  readonly element: string
  /** Epoch ms. For a period element, the end of the period (§6.6.2.8 c). */
  readonly observedAt: number
  /** null where the station sent the missing-value marker (FF…, ASCII `M`). */
  readonly value: number | null
}

/** An element group that could not be read; the rest of the body still is. */
export interface ElementProblem {
  readonly reason: 'unknown_element' | 'bad_bcd' | 'bad_number' | 'no_time'
  readonly station: string | undefined
  readonly element: string
  readonly detail: string
}

/** A decoded uplink body. */
export interface Report {
  readonly serial: number
  /** 发报时间, epoch ms. */
  readonly sentAt: number
  /** Stations in the body, with their category (遥测站分类码). */
  readonly stations: readonly { readonly address: string; readonly category: string }[]
  readonly observations: readonly Observation[]
  readonly problems: readonly ElementProblem[]
  /** 人工置数 (35H): the manual entry as sent (SL 330 coding). */
  readonly manual?: string
}

/** Why a body as a whole could not be read. */
export interface BodyError {
  readonly reason: 'truncated' | 'bad_time' | 'bad_body'
  readonly detail: string
}

export type BodyResult =
  { readonly ok: true; readonly report: Report } | { readonly ok: false; readonly error: BodyError }

const FIVE_MIN = 5 * 60_000

/** YYMMDDHHmm[SS] digits as epoch ms, the station being `offsetMin` east of UTC; undefined if invalid. */
export function timeFromDigits(d: string, offsetMin: number): number | undefined {
  if (!/^\d{10}(\d{2})?$/.test(d)) return undefined
  const n = (i: number) => Number(d.slice(i, i + 2))
  const [y, mo, day, h, mi, s] = [2000 + n(0), n(2), n(4), n(6), n(8), d.length === 12 ? n(10) : 0]
  if (mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 59) return undefined
  const t = Date.UTC(y, mo - 1, day, h, mi, s)
  if (new Date(t).getUTCDate() !== day) return undefined // 31 April
  return t - offsetMin * 60_000
}

/** Epoch ms as YYMMDDHHmm (`seconds`: …SS) in the station's local time. */
export function digitsFromTime(ts: number, offsetMin: number, seconds: boolean): string {
  const d = new Date(ts + offsetMin * 60_000)
  const p = (n: number) => String(n).padStart(2, '0')
  const s =
    p(d.getUTCFullYear() % 100) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes())
  return seconds ? s + p(d.getUTCSeconds()) : s
}

/**
 * A BCD number of `len` bytes at `at` with `decimals` decimals (§6.6.3.3): a first byte FFH
 * makes it negative; all nibbles F is the missing-value marker. 'bad' for any other nibble over 9.
 */
export function readBcd(b: Uint8Array, at: number, len: number, decimals: number): number | null | 'bad' {
  let allF = true
  for (let i = 0; i < len; i++) if (b[at + i] !== 0xff) allF = false
  if (allF) return null
  const negative = len > 1 && b[at] === 0xff
  let v = 0
  for (let i = negative ? 1 : 0; i < len; i++) {
    const byte = b[at + i]!
    const hi = byte >> 4
    const lo = byte & 0x0f
    if (hi > 9 || lo > 9) return 'bad'
    v = v * 100 + hi * 10 + lo
  }
  const value = v / 10 ** decimals
  return negative ? -value : value
}

const bcdDigits = (b: Uint8Array, at: number, len: number): string | undefined => {
  let s = ''
  for (let i = 0; i < len; i++) {
    const byte = b[at + i]!
    if (byte >> 4 > 9 || (byte & 0x0f) > 9) return undefined
    s += (byte >> 4).toString() + (byte & 0x0f).toString()
  }
  return s
}

/** The time step (dhm) in ms; 0 is the hour of 5-minute series (table C.3). */
const stepMs = (d: number, h: number, m: number) => d * 86_400_000 + h * 3_600_000 + m * 60_000

class Collector {
  readonly stations: { address: string; category: string }[] = []
  readonly observations: Observation[] = []
  readonly problems: ElementProblem[] = []
  station: string | undefined
  time: number | undefined
  constructor(readonly header: string) {}

  /**
   * Values of one element at `time` (+ i·`every` for a series); `undefined` marks a value refused
   * as unreadable (no observation, its neighbours keep their times). False when no time group came first.
   */
  add(
    element: string,
    values: readonly (number | null | undefined)[],
    every: number,
    at = this.time,
  ): boolean {
    if (at === undefined) {
      this.problem('no_time', element, 'an element group before any observation time group (F0F0H / TT)')
      return false
    }
    const station = this.station ?? this.header
    values.forEach((value, i) => {
      if (value !== undefined) this.observations.push({ station, element, observedAt: at + i * every, value })
    })
    return true
  }

  problem(reason: ElementProblem['reason'], element: string, detail: string): void {
    this.problems.push({ reason, station: this.station ?? this.header, element, detail })
  }
}

/**
 * Decodes an uplink body. `header` is the frame header's station address (used when the body has
 * no ST group, as in a keep-alive); `fn` its function code.
 */
export function decodeBody(
  encoding: FrameEncoding,
  fn: number,
  body: Uint8Array,
  header: string,
  offsetMin: number,
): BodyResult {
  return encoding === 'hex'
    ? decodeHex(fn, body, header, offsetMin)
    : decodeAscii(fn, body, header, offsetMin)
}

const fail = (reason: BodyError['reason'], detail: string): BodyResult => ({
  ok: false,
  error: { reason, detail },
})

function decodeHex(fn: number, b: Uint8Array, header: string, offsetMin: number): BodyResult {
  if (b.length < 8)
    return fail('truncated', `a body needs its serial and send time (8 bytes), got ${b.length}`)
  const serial = (b[0]! << 8) | b[1]!
  const sentDigits = bcdDigits(b, 2, 6)
  const sentAt = sentDigits === undefined ? undefined : timeFromDigits(sentDigits, offsetMin)
  if (sentAt === undefined) return fail('bad_time', `send time ${hexOf(b, 2, 6)} is not a valid YYMMDDHHmmSS`)
  const c = new Collector(header)
  let manual: string | undefined
  let step: number | undefined
  let pos = 8
  const left = () => b.length - pos
  while (pos < b.length) {
    if (left() < 2)
      return fail('truncated', `1 byte left where an element identifier (2 bytes) begins, at ${pos}`)
    const guide = b[pos]!
    const def = b[pos + 1]!
    if (guide === ADDRESS_GUIDE && def === ADDRESS_GUIDE) {
      if (left() < 8) return fail('truncated', 'a station address group needs 5 bytes and a category')
      c.station = hexOf(b, pos + 2, 5)
      c.stations.push({ address: c.station, category: String.fromCharCode(b[pos + 7]!) })
      c.time = undefined
      pos += 8
      continue
    }
    if (guide === TIME_GUIDE && def === TIME_GUIDE) {
      if (left() < 7) return fail('truncated', 'an observation time group needs 5 bytes')
      const digits = bcdDigits(b, pos + 2, 5)
      const t = digits === undefined ? undefined : timeFromDigits(digits, offsetMin)
      if (t === undefined)
        return fail('bad_time', `observation time ${hexOf(b, pos + 2, 5)} is not a valid YYMMDDHHmm`)
      c.time = t
      pos += 7
      continue
    }
    if (guide === EXTENSION_GUIDE) {
      // FFxxH: a user-defined element; its third byte is the definition.
      if (left() < 3) return fail('truncated', 'an extension identifier needs 3 bytes')
      const len = b[pos + 2]! >> 3
      if (left() < 3 + len) return fail('truncated', `element FF${hexOf(b, pos + 1, 1)}H needs ${len} bytes`)
      const id = `FF${hexOf(b, pos + 1, 1)}`
      c.problem('unknown_element', id, 'a user-defined element (FFxxH) this gateway does not define')
      pos += 3 + len
      continue
    }
    const e = elementByGuide(guide)
    if (e?.form === 'raw') {
      // Manual entry, picture, flow batch: the rest of the body is the data (table C.1 notes c, d, f).
      if (e.id === 'RGZS') manual = Buffer.from(b.subarray(pos + 2)).toString('latin1')
      else c.problem('unknown_element', e.id, `${e.name} is not read by this gateway`)
      pos = b.length
      continue
    }
    if (e?.form === 'step') {
      if (left() < 5) return fail('truncated', 'a time step code needs 3 bytes')
      const dhm = bcdDigits(b, pos + 2, 3)
      if (dhm === undefined) {
        c.problem('bad_bcd', 'DR', `time step ${hexOf(b, pos + 2, 3)} is not BCD`)
        return fail('bad_body', 'the time step of an interval report is unreadable')
      }
      step = stepMs(Number(dhm.slice(0, 2)), Number(dhm.slice(2, 4)), Number(dhm.slice(4, 6)))
      pos += 5
      continue
    }
    const len = def >> 3
    const decimals = def & 0x07
    if (e?.form === 'rain5min' || e?.form === 'stage5min') {
      const width = e.form === 'rain5min' ? 1 : 2
      if (left() < 2 + len) return fail('truncated', `${e.id} needs ${len} bytes`)
      const values: (number | null)[] = []
      for (let i = 0; i + width <= len; i += width) {
        const raw = width === 1 ? b[pos + 2 + i]! : (b[pos + 2 + i]! << 8) | b[pos + 3 + i]!
        const missing = width === 1 ? 0xff : 0xffff
        values.push(raw === missing ? null : raw / (width === 1 ? 10 : 100))
      }
      c.add(e.id, values, FIVE_MIN)
      pos += 2 + len
      continue
    }
    const id = e?.id ?? hexOf(b, pos, 1)
    if (len === 0)
      return fail('bad_body', `element ${id} declares no data (definition byte ${hexOf(b, pos + 1, 1)}H)`)
    if (left() < 2 + len) return fail('truncated', `element ${id} needs ${len} bytes, ${left() - 2} left`)
    if (!e) {
      c.problem('unknown_element', id, `guide byte ${id}H is not in SL 651-2014 table C.1`)
      pos += 2 + len
      continue
    }
    // An interval report (31H) lists one element, then all its values at the time step (§6.6.4.4).
    const series = isSeriesFn(fn) && step !== undefined && step > 0
    const count = series ? Math.floor((left() - 2) / len) : 1
    const values: (number | null | undefined)[] = []
    for (let i = 0; i < count; i++) {
      const at = pos + 2 + i * len
      if (e.form === 'bits') {
        const allF = b.subarray(at, at + len).every((x) => x === 0xff)
        values.push(allF ? null : Buffer.from(b.subarray(at, at + len)).readUIntBE(0, Math.min(len, 6)))
        continue
      }
      const v = readBcd(b, at, len, decimals)
      // An unreadable value is refused (not taken for the missing marker): a series keeps its other times.
      if (v === 'bad') c.problem('bad_bcd', e.id, `${hexOf(b, at, len)} is not BCD`)
      values.push(v === 'bad' ? undefined : v)
    }
    c.add(e.id, values, series ? step! : 0)
    pos += 2 + count * len
  }
  return { ok: true, report: report(serial, sentAt, c, manual) }
}

function decodeAscii(fn: number, body: Uint8Array, header: string, offsetMin: number): BodyResult {
  const text = Buffer.from(body).toString('latin1')
  if (text.length < 16)
    return fail('truncated', `a body needs its serial and send time (16 characters), got ${text.length}`)
  const serialText = text.slice(0, 4)
  if (!/^[0-9A-Fa-f]{4}$/.test(serialText))
    return fail('bad_body', `serial ${serialText} is not 4 hex digits`)
  const sentAt = timeFromDigits(text.slice(4, 16), offsetMin)
  if (sentAt === undefined)
    return fail('bad_time', `send time ${text.slice(4, 16)} is not a valid YYMMDDHHmmSS`)
  const c = new Collector(header)
  // The serial and send time are followed by no space (§6.6.2.1); every later group ends in one.
  const rgzs = text.indexOf('RGZS', 16)
  const head = rgzs === -1 ? text.slice(16) : text.slice(16, rgzs)
  const tokens = head.split(/\s+/).filter((t) => t.length > 0)
  let manual: string | undefined
  if (rgzs !== -1)
    manual = text
      .slice(rgzs + 4)
      .replace(/^ /, '')
      .replace(/ $/, '')
  let step: number | undefined
  for (let i = 0; i < tokens.length;) {
    const tok = tokens[i]!
    const next = tokens[i + 1]
    if (tok === 'ST') {
      if (next === undefined || tokens[i + 2] === undefined)
        return fail('truncated', 'ST needs an address and a category')
      if (!/^[0-9A-Fa-f]{10}$/.test(next))
        return fail('bad_body', `station address ${next} is not 10 hex digits`)
      c.station = next.toUpperCase()
      c.stations.push({ address: c.station, category: tokens[i + 2]! })
      c.time = undefined
      i += 3
      continue
    }
    if (tok === 'TT') {
      const t = next === undefined ? undefined : timeFromDigits(next, offsetMin)
      if (t === undefined)
        return fail('bad_time', `observation time ${next ?? '(none)'} is not a valid YYMMDDHHmm`)
      c.time = t
      i += 2
      continue
    }
    const drx = /^DR([DHN])(\d\d)$/.exec(tok)
    if (drx) {
      const n = Number(drx[2])
      step = drx[1] === 'D' ? stepMs(n, 0, 0) : drx[1] === 'H' ? stepMs(0, n, 0) : stepMs(0, 0, n)
      i += 1
      if (isSeriesFn(fn) && step > 0) {
        // Identifiers, then groups of values in their order, one group per time step (§6.6.4.4).
        const ids: string[] = []
        while (i < tokens.length && elementById(tokens[i]!)?.form === 'number') ids.push(tokens[i++]!)
        if (ids.length === 0)
          return fail('bad_body', 'an interval report lists no element after its time step')
        const groups: (number | null | undefined)[][] = ids.map(() => [])
        for (let k = 0; i < tokens.length && !isKeyword(tokens[i]!); k++, i++) {
          const v = asciiValue(tokens[i]!)
          if (v === 'bad') c.problem('bad_number', ids[k % ids.length]!, `${tokens[i]} is not a number`)
          groups[k % ids.length]!.push(v === 'bad' ? undefined : v)
        }
        ids.forEach((id, k) => c.add(id, groups[k]!, step!))
      }
      continue
    }
    const e = elementById(tok)
    if (next === undefined) {
      c.problem(e ? 'bad_number' : 'unknown_element', tok, 'an identifier with no value after it')
      break
    }
    i += 2
    if (!e) {
      c.problem('unknown_element', tok, `${tok} is not an identifier of SL 651-2014 table C.1`)
      continue
    }
    if (e.form === 'rain5min' || e.form === 'stage5min') {
      const width = e.form === 'rain5min' ? 2 : 4
      if (!/^[0-9A-Fa-f]+$/.test(next) || next.length !== 12 * width) {
        c.problem('bad_number', e.id, `${e.id} takes ${12 * width} hex digits, not ${next}`)
        continue
      }
      const values: (number | null)[] = []
      for (let k = 0; k < next.length; k += width) {
        const raw = Number.parseInt(next.slice(k, k + width), 16)
        values.push(raw === (width === 2 ? 0xff : 0xffff) ? null : raw / (width === 2 ? 10 : 100))
      }
      c.add(e.id, values, FIVE_MIN)
      continue
    }
    if (e.form === 'bits') {
      if (!/^[0-9A-Fa-f]{8}$/.test(next))
        c.problem('bad_number', e.id, `${e.id} takes 8 hex digits, not ${next}`)
      else c.add(e.id, [/^[Ff]{8}$/.test(next) ? null : Number.parseInt(next, 16)], 0)
      continue
    }
    if (e.form !== 'number') {
      c.problem('unknown_element', e.id, `${e.name} is not read by this gateway`)
      continue
    }
    const v = asciiValue(next)
    if (v === 'bad') c.problem('bad_number', e.id, `${next} is not a number`)
    else c.add(e.id, [v], 0)
  }
  return { ok: true, report: report(Number.parseInt(serialText, 16), sentAt, c, manual) }
}

const isKeyword = (t: string) =>
  t === 'ST' || t === 'TT' || /^DR[DHN]\d\d$/.test(t) || elementById(t) !== undefined

/** An ASCII value: a decimal number, or `M` (missing, §6.6.4.4 d). */
function asciiValue(t: string): number | null | 'bad' {
  if (t === 'M' || /^F+$/i.test(t)) return null
  if (!/^[+-]?\d+(\.\d+)?$/.test(t)) return 'bad'
  return Number(t)
}

const report = (serial: number, sentAt: number, c: Collector, manual: string | undefined): Report => ({
  serial,
  sentAt,
  stations: c.stations,
  observations: c.observations,
  problems: c.problems,
  ...(manual !== undefined ? { manual } : {}),
})

const hexOf = (b: Uint8Array, at: number, len: number) =>
  Buffer.from(b.subarray(at, at + len))
    .toString('hex')
    .toUpperCase()

// ───────────────────────── encoding (the simulated RTU, the gateway's replies) ─────────────────────────

/** One element's value in a report to encode; a series for DRP/DRZn (12 values) or an interval report. */
export interface ElementValue {
  readonly id: string
  readonly value: number | null | readonly (number | null)[]
}

/** What the simulated RTU reports: per station, time groups of element values. */
export interface ReportToEncode {
  readonly serial: number
  readonly sentAt: number
  readonly stations: readonly {
    readonly address: string
    readonly category: string
    readonly groups: readonly {
      readonly observedAt: number
      /** Interval report (31H): the time step in minutes, and one element (HEX) with all its values. */
      readonly stepMin?: number
      readonly elements: readonly ElementValue[]
    }[]
  }[]
}

function bcdNumber(e: ElementSpec, v: number): Buffer {
  const digits = Math.round(Math.abs(v) * 10 ** e.decimals).toString()
  if (digits.length > e.digits)
    throw new RangeError(`${v} does not fit ${e.id}'s N(${e.digits},${e.decimals})`)
  const bytes = Math.ceil(e.digits / 2)
  let nibbles = digits.padStart(bytes * 2, '0')
  // Negative: FFH before the digits, FF0 when the digit count is odd (§6.6.3.3 a).
  if (v < 0) nibbles = (e.digits % 2 === 1 ? 'FF0' : 'FF') + digits.padStart(e.digits, '0')
  return Buffer.from(nibbles, 'hex')
}

function missingOf(e: ElementSpec): Buffer {
  return Buffer.alloc(Math.ceil(e.digits / 2), 0xff)
}

const specOf = (id: string): ElementSpec => {
  const e = elementById(id)
  if (!e) throw new RangeError(`unknown SL 651 element ${id}`)
  return e
}

function hexElement(e: ElementSpec, value: ElementValue['value'], inSeries: boolean): Buffer {
  if (e.form === 'rain5min' || e.form === 'stage5min') {
    const list = Array.isArray(value) ? (value as (number | null)[]) : []
    if (list.length !== 12) throw new RangeError(`${e.id} carries 12 values`)
    const width = e.form === 'rain5min' ? 1 : 2
    const out = Buffer.alloc(2 + 12 * width)
    out[0] = e.guide
    out[1] = definitionByte(e)
    list.forEach((v, i) => {
      const raw = v === null ? (width === 1 ? 0xff : 0xffff) : Math.round(v * (width === 1 ? 10 : 100))
      if (width === 1) out[2 + i] = raw
      else out.writeUInt16BE(raw, 2 + i * 2)
    })
    return out
  }
  const list = inSeries ? (value as (number | null)[]) : [value as number | null]
  const datas = list.map((v) => (v === null ? missingOf(e) : bcdNumber(e, v)))
  // The definition byte counts the sign byte of a negative value (table 26), and one definition
  // holds for every value of a series (§6.6.4.4 d): pad the others to the longest, zeros before
  // a number and F for a missing one.
  const len = Math.max(...datas.map((d) => d.length))
  const padded = list.map((v, i) => {
    const d = datas[i]!
    if (d.length === len) return d
    return Buffer.concat([Buffer.alloc(len - d.length, v === null ? 0xff : 0), d])
  })
  return Buffer.concat([Buffer.from([e.guide, (len << 3) | e.decimals]), ...padded])
}

const asciiNumber = (e: ElementSpec, v: number | null) => (v === null ? 'M' : v.toFixed(e.decimals))

/** An uplink report body in either encoding. */
export function encodeReport(encoding: FrameEncoding, r: ReportToEncode, offsetMin: number): Buffer {
  if (encoding === 'hex') {
    const parts: Buffer[] = [
      Buffer.from([r.serial >> 8, r.serial & 0xff]),
      Buffer.from(digitsFromTime(r.sentAt, offsetMin, true), 'hex'),
    ]
    for (const s of r.stations) {
      parts.push(
        Buffer.from([ADDRESS_GUIDE, ADDRESS_GUIDE]),
        Buffer.from(s.address, 'hex'),
        Buffer.from(s.category, 'latin1'),
      )
      for (const g of s.groups) {
        parts.push(
          Buffer.from([TIME_GUIDE, TIME_GUIDE]),
          Buffer.from(digitsFromTime(g.observedAt, offsetMin, false), 'hex'),
        )
        if (g.stepMin !== undefined) {
          const m = g.stepMin
          const dhm = m % 1440 === 0 ? [m / 1440, 0, 0] : m % 60 === 0 ? [0, m / 60, 0] : [0, 0, m]
          parts.push(
            Buffer.from([0x04, 0x18]),
            Buffer.from(dhm.map((x) => String(x).padStart(2, '0')).join(''), 'hex'),
          )
        }
        // Step 0 announces DRP/DRZn hour series, which carry their own 12 values (table C.1 note g).
        const inSeries = g.stepMin !== undefined && g.stepMin > 0
        for (const el of g.elements) parts.push(hexElement(specOf(el.id), el.value, inSeries))
      }
    }
    return Buffer.concat(parts)
  }
  let t = r.serial.toString(16).toUpperCase().padStart(4, '0') + digitsFromTime(r.sentAt, offsetMin, true)
  for (const s of r.stations) {
    t += `ST ${s.address} ${s.category} `
    for (const g of s.groups) {
      t += `TT ${digitsFromTime(g.observedAt, offsetMin, false)} `
      if (g.stepMin === 0)
        t += 'DRH00 ' // the hour of DRP/DRZn series: DRH00, not DRD00 (table C.1 note g)
      else if (g.stepMin !== undefined) {
        const m = g.stepMin
        t +=
          m % 1440 === 0 ? `DRD${pad2(m / 1440)} ` : m % 60 === 0 ? `DRH${pad2(m / 60)} ` : `DRN${pad2(m)} `
        const ids = g.elements.map((el) => el.id)
        t += ids.map((id) => `${id} `).join('')
        const lists = g.elements.map((el) => el.value as (number | null)[])
        for (let k = 0; k < (lists[0]?.length ?? 0); k++)
          t += lists.map((l, j) => `${asciiNumber(specOf(ids[j]!), l[k] ?? null)} `).join('')
        continue
      }
      for (const el of g.elements) {
        const e = specOf(el.id)
        if (e.form === 'rain5min' || e.form === 'stage5min') {
          const width = e.form === 'rain5min' ? 2 : 4
          const list = el.value as (number | null)[]
          const data = list
            .map((v) =>
              v === null
                ? 'F'.repeat(width)
                : Math.round(v * (width === 2 ? 10 : 100))
                    .toString(16)
                    .toUpperCase()
                    .padStart(width, '0'),
            )
            .join('')
          t += `${e.id} ${data} `
        } else t += `${e.id} ${asciiNumber(e, el.value as number | null)} `
      }
    }
  }
  return Buffer.from(t, 'latin1')
}

const pad2 = (n: number) => String(n).padStart(2, '0')

/** The body of a confirmation (tables 29–39): the serial acknowledged and the centre's clock. */
export function encodeAck(
  encoding: FrameEncoding,
  serial: number,
  sentAt: number,
  offsetMin: number,
): Buffer {
  const time = digitsFromTime(sentAt, offsetMin, true)
  return encoding === 'hex'
    ? Buffer.concat([Buffer.from([serial >> 8, serial & 0xff]), Buffer.from(time, 'hex')])
    : Buffer.from(serial.toString(16).toUpperCase().padStart(4, '0') + time, 'latin1')
}

/**
 * The centre's confirmation of an uplink frame (tables 21, 23): the same function code, station
 * address before centre address, direction 8, the serial confirmed and the centre's clock; `end`
 * EOT, ESC, ACK or NAK, and for a multi-packet message the packet total and number.
 */
export function encodeConfirmation(
  f: Pick<Frame, 'encoding' | 'center' | 'address' | 'password' | 'fn'>,
  serial: number,
  sentAt: number,
  offsetMin: number,
  end: number,
  packet?: { readonly total: number; readonly seq: number },
): Buffer {
  return encodeFrame({
    encoding: f.encoding,
    direction: 'down',
    center: f.center,
    address: f.address,
    password: f.password,
    fn: f.fn,
    body: encodeAck(f.encoding, serial, sentAt, offsetMin),
    end,
    ...(packet ? { packet } : {}),
  })
}

/** A keep-alive's body (2FH, table 27): the last report's serial and the send time. */
export const encodeKeepAlive = encodeAck
