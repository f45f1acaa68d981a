/** The abuse limits' arithmetic against a controlled clock (gateway/src/broker/limits.ts). */
import { describe, expect, test, vi } from 'vitest'
import {
  ClientPacer,
  ConnectionLimiter,
  TokenBucket,
  enforcedKeepalive,
} from '../../../gateway/src/broker/limits.js'

describe('TokenBucket', () => {
  test('a burst goes at once, then each take waits for its tokens, in order', () => {
    const b = new TokenBucket(10, 3, 0)
    expect([b.take(1, 0), b.take(1, 0), b.take(1, 0)]).toEqual([0, 0, 0])
    expect(b.take(1, 0)).toBe(100)
    expect(b.take(1, 0)).toBe(200)
    // 300 ms later the debt of two is paid and one token is back.
    expect(b.take(1, 300)).toBe(0)
    expect(b.full(300)).toBe(false)
    expect(b.full(600)).toBe(true)
  })
  test('rate 0 is unlimited', () => {
    const b = new TokenBucket(0, 1, 0)
    for (let i = 0; i < 100; i++) expect(b.take(1000, 0)).toBe(0)
  })
})

describe('ClientPacer', () => {
  test('holds messages over the rate and releases them in order once covered', () => {
    vi.useFakeTimers()
    try {
      let t = 0
      const paced: string[] = []
      const p = new ClientPacer(
        { messagesPerSecond: 10, messageBurst: 2, bytesPerSecond: 0, byteBurst: 1 },
        () => t,
        (_w, by) => paced.push(by),
      )
      const out: number[] = []
      for (let i = 0; i < 5; i++) p.admit(10, () => out.push(i))
      expect(out).toEqual([0, 1])
      expect(p.held).toBe(3)
      expect(paced).toEqual(['messages', 'messages', 'messages'])
      t = 100
      vi.advanceTimersByTime(100)
      expect(out).toEqual([0, 1, 2])
      t = 300
      vi.advanceTimersByTime(200)
      expect(out).toEqual([0, 1, 2, 3, 4])
    } finally {
      vi.useRealTimers()
    }
  })
  test('the byte rate paces large messages; closing releases what is held', () => {
    const p = new ClientPacer(
      { messagesPerSecond: 0, messageBurst: 1, bytesPerSecond: 1000, byteBurst: 1000 },
      () => 0,
      () => {},
    )
    const out: number[] = []
    p.admit(1000, () => out.push(1))
    p.admit(500, () => out.push(2))
    expect(out).toEqual([1])
    p.close()
    expect(out).toEqual([1, 2])
  })
})

describe('ConnectionLimiter', () => {
  const limiter = () =>
    new ConnectionLimiter(
      { connectsPerSecond: 2, connectBurst: 2, maxConnectWaitMs: 1000, maxConnections: 10 },
      3,
    )
  test('over the burst an address waits, then is refused beyond the longest wait', () => {
    const l = limiter()
    expect(l.attempt('a', 0, 0)).toEqual({ ok: true, waitMs: 0 })
    expect(l.attempt('a', 0, 0)).toEqual({ ok: true, waitMs: 0 })
    expect(l.attempt('a', 0, 0)).toEqual({ ok: true, waitMs: 500 })
    expect(l.attempt('a', 0, 0)).toEqual({ ok: true, waitMs: 1000 })
    expect(l.attempt('a', 0, 0)).toMatchObject({ ok: false, limit: 'connect_rate' })
    // Another address is untouched; the refusal cost nothing, so after 1 s one attempt waits 500 ms.
    expect(l.attempt('b', 0, 0)).toEqual({ ok: true, waitMs: 0 })
    expect(l.attempt('a', 0, 1000)).toEqual({ ok: true, waitMs: 500 })
  })
  test('the ceiling on connections refuses before any rate is spent', () => {
    const l = limiter()
    expect(l.attempt('a', 10, 0)).toMatchObject({ ok: false, limit: 'connections' })
    expect(l.attempt('a', 9, 0)).toEqual({ ok: true, waitMs: 0 })
  })
  test('the table of addresses stays bounded', () => {
    const l = limiter()
    for (let i = 0; i < 50; i++) l.attempt(`10.0.0.${i}`, 0, 0)
    expect(l.size).toBeLessThanOrEqual(3)
  })
})

test('keepalive: none or too long is held to the ceiling, a shorter one kept', () => {
  expect(enforcedKeepalive(0, 900)).toBe(900)
  expect(enforcedKeepalive(3600, 900)).toBe(900)
  expect(enforcedKeepalive(60, 900)).toBe(60)
  expect(enforcedKeepalive(0, 0)).toBe(0)
})
