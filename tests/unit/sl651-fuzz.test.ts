/**
 * The SL 651 frame reader under line noise, seeded so every run is the same: random bytes (with
 * the start markers 7EH and 01H far more often than chance) between and around real frames, in
 * chunks of random size. No input makes it throw, every byte is accounted for in a frame or a
 * problem, and every real frame comes out once and whole, in order, with its body decodable.
 */
import { describe, expect, test } from 'vitest'
import { decodeBody, encodeReport, FN } from '../../gateway/src/contracts/sl651/body.js'
import {
  encodeFrame,
  ETX,
  FrameReader,
  SOH,
  type FrameEncoding,
} from '../../gateway/src/contracts/sl651/frame.js'
import { mulberry32, type Rng } from '../../sensors-sim/src/prng.js'

const T = Date.UTC(2026, 7, 3, 9)

function frame(rng: Rng, serial: number, encoding: FrameEncoding): Buffer {
  const body = encodeReport(
    encoding,
    {
      serial,
      sentAt: T + serial * 1000,
      stations: [
        {
          address: '0061234567',
          category: 'H',
          groups: [
            {
              observedAt: T + serial * 300_000,
              elements: [
                { id: 'Z', value: Math.round(rng() * 40_000) / 1000 },
                { id: 'VT', value: 12.5 },
              ],
            },
          ],
        },
      ],
    },
    480,
  )
  return encodeFrame({
    encoding,
    direction: 'up',
    center: 1,
    address: '0061234567',
    password: '1234',
    fn: FN.timed,
    body,
    end: ETX,
  })
}

/** Noise: mostly random bytes, with start markers and whole-looking headers thrown in. */
function noise(rng: Rng): Buffer {
  const out: number[] = []
  const n = Math.floor(rng() * 80)
  for (let i = 0; i < n; i++) {
    const r = rng()
    if (r < 0.08) out.push(0x7e, 0x7e)
    else if (r < 0.12) out.push(SOH)
    else if (r < 0.14) out.push(0x7e)
    else if (r < 0.16) out.push(...Buffer.from('0100612345671234320', 'latin1'))
    else out.push(Math.floor(rng() * 256))
  }
  return Buffer.from(out)
}

describe('SL 651 frame reader under noise', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: 200 frames in noise all come out, every byte accounted for',
    (seed) => {
      const rng = mulberry32(seed)
      const sent: Buffer[] = []
      const parts: Buffer[] = []
      for (let i = 1; i <= 200; i++) {
        parts.push(noise(rng))
        const f = frame(rng, i, rng() < 0.5 ? 'hex' : 'ascii')
        sent.push(f)
        parts.push(f)
      }
      parts.push(noise(rng))
      const stream = Buffer.concat(parts)
      const reader = new FrameReader()
      const got: Buffer[] = []
      let accounted = 0
      let at = 0
      const drain = () => {
        for (let r = reader.read(); r; r = reader.read()) {
          if ('frame' in r) {
            accounted += r.frame.size
            got.push(Buffer.from(r.frame.body))
            const d = decodeBody(r.frame.encoding, r.frame.fn, r.frame.body, r.frame.address, 480)
            expect(d.ok && d.report.serial).toBe(got.length)
          } else accounted += r.problem.bytes
        }
      }
      while (at < stream.length) {
        const n = 1 + Math.floor(rng() * 300)
        reader.push(stream.subarray(at, at + n))
        at += n
        drain()
      }
      // The stream's tail may be a false start waiting for bytes that never come: given up one byte at a time.
      for (let p = reader.abandon(); p; p = reader.abandon()) {
        accounted += p.bytes
        drain()
      }
      expect(got.length).toBe(sent.length)
      expect(accounted).toBe(stream.length)
    },
  )
})
