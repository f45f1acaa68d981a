/**
 * The gateway's event stream (`GET /api/events`, Server-Sent Events) read with fetch, so that it
 * carries the session's bearer token like every other call (EventSource cannot send one). When
 * the connection drops it reconnects with the last id it saw (`Last-Event-ID`) and the gateway
 * replays what was missed; `onState` tells the console whether it has the gateway, and each
 * (re)connection is announced so the console can refresh what it shows.
 */
import type { GatewayEvent } from './types.js'

export type StreamState = 'connecting' | 'live' | 'lost'

export interface StreamOptions {
  readonly headers: () => Record<string, string>
  readonly onEvent: (e: GatewayEvent) => void
  readonly onState: (s: StreamState, since: number) => void
  /** After each (re)connection, once the replay of missed events has been handed over. */
  readonly onConnected: (resumed: boolean) => void
  /** The gateway refused the credentials: stop trying. */
  readonly onUnauthorized: () => void
}

export class EventStream {
  private lastId: number | undefined
  private abort: AbortController | undefined
  private stopped = false
  private state: StreamState = 'connecting'
  private lostSince = 0
  private retryMs = 1000

  constructor(private readonly opts: StreamOptions) {}

  get lastEventId(): number | undefined {
    return this.lastId
  }

  start(): void {
    void this.loop()
  }

  stop(): void {
    this.stopped = true
    this.abort?.abort()
  }

  private setState(s: StreamState): void {
    if (s === this.state) return
    if (s === 'lost') this.lostSince = Date.now()
    this.state = s
    this.opts.onState(s, this.lostSince)
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.once()
      } catch {
        // a dropped connection or a gateway that is away: retried below
      }
      if (this.stopped) return
      this.setState('lost')
      await new Promise((r) => setTimeout(r, this.retryMs))
      this.retryMs = Math.min(this.retryMs * 2, 5000)
    }
  }

  private async once(): Promise<void> {
    this.abort = new AbortController()
    const resumed = this.lastId !== undefined
    const res = await fetch('/api/events', {
      headers: {
        accept: 'text/event-stream',
        ...this.opts.headers(),
        ...(this.lastId !== undefined ? { 'last-event-id': String(this.lastId) } : {}),
      },
      signal: this.abort.signal,
      cache: 'no-store',
    })
    if (res.status === 401) {
      this.stopped = true
      this.opts.onUnauthorized()
      return
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    let announced = false
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the stream ended')
      buffer += value
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        this.dispatch(block)
      }
      // The first chunk holds the replay of what was missed (the gateway writes it at once).
      if (!announced) {
        announced = true
        this.retryMs = 1000
        this.setState('live')
        this.opts.onConnected(resumed)
      }
    }
  }

  private dispatch(block: string): void {
    let id: string | undefined
    let event = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data += (data ? '\n' : '') + value
    }
    if (id !== undefined && /^\d+$/.test(id)) this.lastId = Number(id)
    // A `gap` (the gateway's window moved past our last id) needs nothing more: every
    // (re)connection refreshes what the console shows from the API anyway.
    if (!data || event === 'gap') return
    const parsed = JSON.parse(data) as GatewayEvent
    if (typeof parsed.type === 'string') this.opts.onEvent(parsed)
  }
}
