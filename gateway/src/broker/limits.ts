/**
 * Abuse limits for the embedded broker: per-client message and byte rates, per-address connection
 * rate, a ceiling on connections, the largest packet read off the wire and a keepalive ceiling.
 *
 * Over a rate a client is paced, never dropped: the broker holds the `authorizePublish` callback
 * until the client's bucket has refilled, and aedes does not read that client's socket again until
 * its messages in hand are released, so TCP backpressure slows the sender down (as EMQX's rate
 * limiter does) and a QoS 1 reading is late, not lost. The flooder costs the others nothing: no
 * buffering beyond one socket read, no work until its tokens are there.
 *
 * Everything here takes time from a `now()` the caller passes, so the buckets are tested against a
 * controlled clock.
 */

/**
 * A token bucket with debt: `take` always succeeds and says how long the caller must wait before
 * acting (0 when the tokens were there). Waits are non-decreasing for successive takes, so acting
 * after them keeps order.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    /** Tokens added per second; 0 means unlimited. */
    readonly rate: number,
    /** How many tokens the bucket holds, the burst taken without waiting. */
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.last = now
  }

  /** Takes `n` tokens; the milliseconds until they are covered. */
  take(n: number, now: number): number {
    if (this.rate <= 0) return 0
    this.refill(now)
    this.tokens -= n
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000)
  }

  /** True when the bucket has refilled completely (it can be forgotten). */
  full(now: number): boolean {
    this.refill(now)
    return this.tokens >= this.burst
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
      this.last = now
    }
  }
}

export interface ClientLimits {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerSecond: number
  readonly byteBurst: number
}

/**
 * One client's publishes, paced through its message and byte buckets. `admit(bytes, go)` calls `go`
 * now when the client is within its rates, else once the buckets cover it; calls are released in
 * the order they were admitted, through one timer per client.
 */
export class ClientPacer {
  private readonly messages: TokenBucket
  private readonly bytes: TokenBucket
  private readonly queue: { due: number; go: () => void }[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    limits: ClientLimits,
    private readonly now: () => number,
    /** Called once for each message that had to wait, with the wait in ms. */
    private readonly onPaced: (waitMs: number, by: 'messages' | 'bytes') => void,
  ) {
    const t = now()
    this.messages = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, t)
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.byteBurst, t)
  }

  admit(size: number, go: () => void): void {
    const t = this.now()
    const byMessages = this.messages.take(1, t)
    const byBytes = this.bytes.take(size, t)
    const wait = Math.max(byMessages, byBytes)
    if (wait === 0 && this.queue.length === 0) return go()
    if (wait > 0) this.onPaced(wait, byBytes > byMessages ? 'bytes' : 'messages')
    this.queue.push({ due: t + wait, go })
    this.schedule()
  }

  /** Messages held for this client now. */
  get held(): number {
    return this.queue.length
  }

  /** The client went away: what it still holds is released (aedes drops it with the client). */
  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    for (const q of this.queue.splice(0)) q.go()
  }

  private schedule(): void {
    if (this.timer || this.closed) return
    const head = this.queue[0]
    if (!head) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        const t = this.now()
        while (this.queue.length > 0 && this.queue[0]!.due <= t) this.queue.shift()!.go()
        this.schedule()
      },
      Math.max(0, head.due - this.now()),
    )
  }
}

export interface ConnectionLimits {
  /** New connections a second from one address; 0 means unlimited. */
  readonly connectsPerSecond: number
  readonly connectBurst: number
  /** The longest a connection attempt is held for its address's rate before it is refused. */
  readonly maxConnectWaitMs: number
  /** Connected clients at most; 0 means unlimited. */
  readonly maxConnections: number
}

export type ConnectVerdict =
  | { readonly ok: true; readonly waitMs: number }
  | { readonly ok: false; readonly limit: 'connections' | 'connect_rate'; readonly message: string }

/**
 * Connection attempts by address. Over its rate an address's attempts are held (the CONNACK comes
 * later) up to `maxConnectWaitMs`, then refused, so a reconnect storm from behind one NAT is spread
 * out while a host reconnecting in a loop is turned away. The table of addresses is bounded: full
 * buckets are forgotten first, then the oldest.
 */
export class ConnectionLimiter {
  private readonly byAddress = new Map<string, TokenBucket>()

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly maxAddresses = 100_000,
  ) {}

  attempt(address: string, connected: number, now: number): ConnectVerdict {
    const { maxConnections, connectsPerSecond, connectBurst, maxConnectWaitMs } = this.limits
    if (maxConnections > 0 && connected >= maxConnections)
      return {
        ok: false,
        limit: 'connections',
        message: `${connected} clients connected; mqtt.limits.maxConnections is ${maxConnections}`,
      }
    if (connectsPerSecond <= 0) return { ok: true, waitMs: 0 }
    let bucket = this.byAddress.get(address)
    if (!bucket) {
      if (this.byAddress.size >= this.maxAddresses) this.prune(now)
      bucket = new TokenBucket(connectsPerSecond, connectBurst, now)
      this.byAddress.set(address, bucket)
    }
    const waitMs = bucket.take(1, now)
    if (waitMs > maxConnectWaitMs) {
      bucket.take(-1, now) // a refused attempt does not use the address's allowance
      return {
        ok: false,
        limit: 'connect_rate',
        message: `${address} connects faster than ${connectsPerSecond}/s (mqtt.limits.perAddress)`,
      }
    }
    return { ok: true, waitMs }
  }

  /** Addresses tracked now. */
  get size(): number {
    return this.byAddress.size
  }

  private prune(now: number): void {
    for (const [a, b] of this.byAddress) if (b.full(now)) this.byAddress.delete(a)
    // Still full of active addresses: forget the oldest half (Map iterates in insertion order).
    let drop = this.byAddress.size >= this.maxAddresses ? this.byAddress.size / 2 : 0
    for (const a of this.byAddress.keys()) {
      if (drop-- <= 0) break
      this.byAddress.delete(a)
    }
  }
}

/**
 * The keepalive the broker holds a client to: its own when within `max`, else `max`. A client
 * that asks for none (0) or for longer is still disconnected after 1.5 × `max` of silence, so a
 * half-open 4G connection to a loudspeaker is noticed instead of lingering for ever.
 */
export const enforcedKeepalive = (requested: number, maxSeconds: number): number =>
  maxSeconds > 0 && (requested === 0 || requested > maxSeconds) ? maxSeconds : requested
