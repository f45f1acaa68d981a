/**
 * SL 651-2014 frames (报文帧) on a byte stream, in both encodings (§6.4, §6.5): HEX/BCD frames
 * start with 7E7EH, ASCII frames with SOH (01H). Pure: bytes in, frames or located problems out.
 *
 *   HEX/BCD:  7E7E │ centre 1 │ station 5 │ password 2 │ function 1 │ dir+length 2 │ STX│SYN
 *             [packets 3] │ body │ ETX│ETB │ CRC 2          (downlink: station before centre)
 *   ASCII:    SOH  │ centre 2 │ station 10 │ password 4 │ function 2 │ dir+length 4 │ STX│SYN
 *             [packets 6] │ body │ ETX│ETB │ CRC 4          (each header byte as 2 hex characters)
 *
 * The length counts the bytes after the start character and before the end character, the
 * packet count included (tables 20, 22). The CRC is CRC-16 with polynomial X16+X15+X2+1 over
 * every byte before it, high byte first (table 11): the reflected form 0xA001 from 0xFFFF.
 */

export const SOH = 0x01
export const STX = 0x02
export const ETX = 0x03
export const EOT = 0x04
export const ENQ = 0x05
export const ACK = 0x06
export const NAK = 0x15
export const SYN = 0x16
export const ETB = 0x17
export const ESC = 0x1b
const HEX_START = 0x7e

/** Names of the control characters (table 10), for logs. */
export const CONTROL_NAMES: Readonly<Record<number, string>> = {
  [STX]: 'STX',
  [ETX]: 'ETX',
  [EOT]: 'EOT',
  [ENQ]: 'ENQ',
  [ACK]: 'ACK',
  [NAK]: 'NAK',
  [SYN]: 'SYN',
  [ETB]: 'ETB',
  [ESC]: 'ESC',
}

export type FrameEncoding = 'hex' | 'ascii'

/** The fields a frame's header carries. */
export interface FrameHeader {
  readonly encoding: FrameEncoding
  /** 中心站地址, 1–255. */
  readonly center: number
  /** 遥测站地址: the 5 bytes as 10 upper-case hex digits (BCD digits for hydrological stations). */
  readonly address: string
  /** 密码: 2 bytes as 4 upper-case hex digits. */
  readonly password: string
  /** 功能码 (appendix B). */
  readonly fn: number
}

/** One frame read off the wire, CRC checked. */
export interface Frame extends FrameHeader {
  readonly direction: 'up' | 'down'
  /** Multi-packet transmission (SYN, mode M3): this packet's number and the total. */
  readonly packet?: { readonly total: number; readonly seq: number }
  /** 报文正文 as transmitted: binary for HEX/BCD, the ASCII text's bytes for ASCII. */
  readonly body: Buffer
  /** The end character: ETX or ETB upward; ENQ, ACK, NAK, EOT or ESC downward. */
  readonly end: number
  /** Bytes the frame took on the wire. */
  readonly size: number
}

/** Why bytes on the wire were not a frame. */
export type FrameProblemReason = 'garbage' | 'bad_header' | 'oversized' | 'bad_end' | 'bad_crc' | 'truncated'

export interface FrameProblem {
  readonly reason: FrameProblemReason
  readonly detail: string
  /** Bytes skipped because of it. */
  readonly bytes: number
}

export type ReadResult = { readonly frame: Frame } | { readonly problem: FrameProblem }

const CRC_TABLE = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1
    t[i] = c
  }
  return t
})()

/** CRC-16 of `buf[start, end)` as SL 651 transmits it (the high byte first). */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffff
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ buf[i]!) & 0xff]!
  return crc
}

/** Header bytes before the start character, and CRC bytes, per encoding. */
const LAYOUT = {
  hex: { header: 13, packet: 3, crc: 2 },
  ascii: { header: 23, packet: 6, crc: 4 },
} as const

const isHexChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
const hexValue = (c: number) => (c <= 0x39 ? c - 0x30 : (c & 0xdf) - 0x37)
const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0')

/** The largest body (报文正文) the 12-bit length field can declare. */
export const MAX_BODY = 0xfff

/**
 * Splits a TCP byte stream into frames. Bytes before a start marker are garbage; a frame whose
 * header, end character or CRC is wrong is refused and the reader looks for the next marker
 * one byte on (a corrupted length must not swallow the frames after it).
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0)
  private pos = 0

  constructor(private readonly opts: { readonly maxBody: number } = { maxBody: MAX_BODY }) {}

  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk
      this.pos = 0
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk])
      this.pos = 0
    }
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length - this.pos
  }

  /** At the end of the stream (or after too long a pause): what is held is a truncated frame. */
  flush(): FrameProblem | undefined {
    const n = this.pending
    this.buf = Buffer.alloc(0)
    this.pos = 0
    if (n === 0) return undefined
    return { reason: 'truncated', detail: `the stream ended ${n} bytes into a frame`, bytes: n }
  }

  /**
   * Gives up on the frame begun at the head, which never completed (its length was corrupt, or
   * the sender stopped): a truncated problem, and reading resumes one byte on, so a whole frame
   * that came after the false start is still found.
   */
  abandon(): FrameProblem | undefined {
    const n = this.pending
    if (n === 0) return undefined
    this.pos += 1
    return { reason: 'truncated', detail: `a frame begun ${n} bytes ago never completed`, bytes: 1 }
  }

  /** The next frame or problem; undefined when more bytes are needed. */
  read(): ReadResult | undefined {
    const b = this.buf
    const from = this.pos
    if (from >= b.length) return undefined
    const start = this.nextMarker(from)
    if (start !== from) {
      // Keep a trailing 7EH: it may be the first half of the next marker.
      const to = start === -1 ? (b[b.length - 1] === HEX_START ? b.length - 1 : b.length) : start
      if (to === from) return undefined
      this.pos = to
      return { problem: { reason: 'garbage', detail: 'bytes outside any frame', bytes: to - from } }
    }
    const encoding: FrameEncoding = b[from] === SOH ? 'ascii' : 'hex'
    const layout = LAYOUT[encoding]
    const avail = b.length - from
    const refuse = (reason: FrameProblemReason, detail: string): ReadResult => {
      // One byte on, not past the whole 7E7EH: in `7E 7E 7E …` the frame may start at the second
      // 7EH (a stray 7EH right before a real frame), and skipping two would lose it.
      const skip = 1
      this.pos = from + skip
      return { problem: { reason, detail, bytes: skip } }
    }
    if (encoding === 'ascii') {
      // Every header character is a hex digit: a stray 01H in garbage is refused at once.
      for (let i = 1; i < Math.min(avail, layout.header); i++)
        if (!isHexChar(b[from + i]!))
          return refuse('bad_header', `ASCII header character ${i} is not a hex digit`)
    }
    if (avail < layout.header + 1) return undefined
    const field = (off: number, bytes: number): number => {
      // A header field of `bytes` bytes at byte offset `off` (after the 7E7E / SOH).
      if (encoding === 'hex') {
        let v = 0
        for (let i = 0; i < bytes; i++) v = v * 256 + b[from + 2 + off + i]!
        return v
      }
      let v = 0
      for (let i = 0; i < bytes * 2; i++) v = v * 16 + hexValue(b[from + 1 + off * 2 + i]!)
      return v
    }
    const text = (off: number, bytes: number): string =>
      encoding === 'hex'
        ? b.toString('hex', from + 2 + off, from + 2 + off + bytes).toUpperCase()
        : b.toString('latin1', from + 1 + off * 2, from + 1 + (off + bytes) * 2).toUpperCase()
    const lengthField = field(9, 2)
    const dirBits = lengthField >> 12
    if (dirBits !== 0 && dirBits !== 8)
      return refuse('bad_header', `direction ${hex(dirBits, 1)}H is neither 0 (up) nor 8 (down)`)
    const direction = dirBits === 0 ? 'up' : 'down'
    const length = lengthField & 0xfff
    const startChar = b[from + layout.header]!
    if (startChar !== STX && startChar !== SYN)
      return refuse('bad_header', `start character ${hex(startChar, 2)}H is neither STX nor SYN`)
    const multi = startChar === SYN
    if (length === 0 || (multi && length < layout.packet))
      return refuse('bad_header', `declared length ${length} leaves no body`)
    const bodyLength = length - (multi ? layout.packet : 0)
    if (bodyLength > this.opts.maxBody)
      return refuse(
        'oversized',
        `declared body of ${bodyLength} bytes exceeds the limit of ${this.opts.maxBody}`,
      )
    const endAt = from + layout.header + 1 + length
    const size = endAt + 1 + layout.crc - from
    if (avail < size) return undefined
    const end = b[endAt]!
    if (!(end in CONTROL_NAMES) || end === STX || end === SYN)
      return refuse('bad_end', `byte ${hex(end, 2)}H where the declared length puts the end character`)
    const expected = crc16(b, from, endAt + 1)
    let got = 0
    if (encoding === 'hex') got = b.readUInt16BE(endAt + 1)
    else {
      for (let i = 1; i <= 4; i++) {
        const c = b[endAt + i]!
        if (!isHexChar(c)) return refuse('bad_crc', 'the ASCII CRC is not 4 hex digits')
        got = got * 16 + hexValue(c)
      }
    }
    if (got !== expected) return refuse('bad_crc', `CRC ${hex(got, 4)}H, computed ${hex(expected, 4)}H`)
    const [addrOff, centerOff] = direction === 'up' ? [1, 0] : [0, 5]
    let packet: Frame['packet']
    const bodyStart = from + layout.header + 1 + (multi ? layout.packet : 0)
    if (multi) {
      let p: number
      if (encoding === 'hex') p = b.readUIntBE(from + layout.header + 1, 3)
      else {
        const chars = b.toString('latin1', from + layout.header + 1, from + layout.header + 7)
        if (!/^[0-9A-Fa-f]{6}$/.test(chars))
          return refuse('bad_header', 'the packet count is not 6 hex digits')
        p = Number.parseInt(chars, 16)
      }
      // High 12 bits the total, low 12 bits this packet's number (tables 18, 22).
      packet = { total: p >> 12, seq: p & 0xfff }
    }
    const frame: Frame = {
      encoding,
      direction,
      center: field(centerOff, 1),
      address: text(addrOff, 5),
      password: text(6, 2),
      fn: field(8, 1),
      ...(packet ? { packet } : {}),
      // Copied: the reader's buffer is reused for the next chunk.
      body: Buffer.from(b.subarray(bodyStart, endAt)),
      end,
      size,
    }
    this.pos = from + size
    return { frame }
  }

  /** Index of the next 7E7EH or SOH at or after `from`, or -1. */
  private nextMarker(from: number): number {
    const b = this.buf
    for (let i = from; i < b.length; i++) {
      const c = b[i]
      if (c === SOH) return i
      if (c === HEX_START && i + 1 < b.length && b[i + 1] === HEX_START) return i
    }
    return -1
  }
}

/** What a frame to send needs besides its header. */
export interface FrameToSend extends FrameHeader {
  readonly direction: 'up' | 'down'
  readonly body: Uint8Array
  readonly end: number
  readonly packet?: { readonly total: number; readonly seq: number }
}

/** One frame's bytes, its length field and CRC computed. */
export function encodeFrame(f: FrameToSend): Buffer {
  const layout = LAYOUT[f.encoding]
  const multi = f.packet !== undefined
  const length = f.body.length + (multi ? layout.packet : 0)
  if (length > MAX_BODY) throw new RangeError(`a frame's body holds at most ${MAX_BODY} bytes, not ${length}`)
  const dirLength = (f.direction === 'up' ? 0 : 0x8000) | length
  const addressFirst = f.direction === 'down'
  const packetValue = f.packet ? (f.packet.total << 12) | f.packet.seq : 0
  let head: Buffer
  if (f.encoding === 'hex') {
    const h = Buffer.alloc(layout.header + 1 + (multi ? 3 : 0))
    h[0] = HEX_START
    h[1] = HEX_START
    const addr = Buffer.from(f.address, 'hex')
    if (addr.length !== 5) throw new RangeError(`station address ${f.address} is not 10 hex digits`)
    if (addressFirst) {
      addr.copy(h, 2)
      h[7] = f.center
    } else {
      h[2] = f.center
      addr.copy(h, 3)
    }
    h.writeUInt16BE(Number.parseInt(f.password, 16), 8)
    h[10] = f.fn
    h.writeUInt16BE(dirLength, 11)
    h[13] = multi ? SYN : STX
    if (multi) h.writeUIntBE(packetValue, 14, 3)
    head = h
  } else {
    const centre = hex(f.center, 2)
    const text =
      (addressFirst ? f.address + centre : centre + f.address) + f.password + hex(f.fn, 2) + hex(dirLength, 4)
    head = Buffer.concat([
      Buffer.from([SOH]),
      Buffer.from(text, 'latin1'),
      Buffer.from([multi ? SYN : STX]),
      multi ? Buffer.from(hex(f.packet!.total, 3) + hex(f.packet!.seq, 3), 'latin1') : Buffer.alloc(0),
    ])
  }
  const unsigned = Buffer.concat([head, f.body, Buffer.from([f.end])])
  const crc = crc16(unsigned)
  const tail = f.encoding === 'hex' ? Buffer.from([crc >> 8, crc & 0xff]) : Buffer.from(hex(crc, 4), 'latin1')
  return Buffer.concat([unsigned, tail])
}
