'use strict'
/**
 * The gateway's event stream (`GET /api/events`, Server-Sent Events) for the Node-RED nodes: one
 * connection per node that listens, resumed from the last event id it delivered after a lost
 * link, a redeploy or a restart of Node-RED.
 *
 * Why not Node-RED's MQTT-in on `warnings/#`: a retained topic holds only a warning's current
 * state, so a version released and superseded while the link was down is never seen (the standing
 * complaint against the MQTT node, node-red/node-red#2864). The event stream keeps every event for
 * `events.retain` (24 h), and a client naming the last id it saw gets everything after it, once.
 *
 * The last delivered id is written to a file in Node-RED's user directory after each delivery
 * (coalesced over `saveEveryMs`), so a crash of Node-RED can deliver the last moments' events
 * again (at least once), never lose them.
 */
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs')
const { dirname } = require('node:path')

/** The event types the nodes listen to. */
const TYPES = [
  'warning.released',
  'warning.acknowledged',
  'approval.needed',
  'approval.given',
  'delivery.changed',
  'fault.raised',
  'fault.cleared',
]

class EventStream {
  /**
   * @param {{ url: string, token?: string, types?: string[], stateFile?: string, saveEveryMs?: number,
   *   retryMinMs?: number, retryMaxMs?: number, log?: { warn(m: string): void } }} opts
   */
  constructor(opts) {
    this.opts = { saveEveryMs: 200, retryMinMs: 500, retryMaxMs: 30_000, ...opts }
    this.listeners = new Set()
    this.state = { state: 'idle' }
    this.lastId = this.load()
    this.saveTimer = undefined
    this.abort = undefined
    this.running = false
    this.failures = 0
  }

  /** Adds a listener of events and of the link's state; starts the link with the first one. */
  subscribe(listener) {
    this.listeners.add(listener)
    listener.onState?.(this.state)
    if (!this.running) {
      this.running = true
      this.loop = this.run()
    }
    return () => this.listeners.delete(listener)
  }

  async close() {
    this.running = false
    this.abort?.abort()
    await this.loop
    this.save()
  }

  setState(s) {
    this.state = s
    for (const l of this.listeners) l.onState?.(s)
  }

  async run() {
    while (this.running) {
      const abort = new AbortController()
      this.abort = abort
      try {
        this.setState({ state: 'connecting' })
        const q = new URLSearchParams({ types: (this.opts.types ?? TYPES).join(',') })
        if (this.lastId !== undefined) q.set('lastEventId', String(this.lastId))
        const headers = { accept: 'text/event-stream' }
        if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`
        const res = await fetch(`${this.opts.url}/api/events?${q}`, { headers, signal: abort.signal })
        if (!res.ok) {
          const text = await res.text().catch(() => '')
          throw Object.assign(new Error(`HTTP ${res.status} from /api/events: ${text.slice(0, 200)}`), {
            status: res.status,
          })
        }
        this.failures = 0
        this.setState({ state: 'connected' })
        await this.read(res.body)
        if (this.running) throw new Error('the gateway closed the event stream')
      } catch (err) {
        if (!this.running) break
        this.failures++
        const wait = Math.min(
          this.opts.retryMaxMs,
          this.opts.retryMinMs * 2 ** Math.min(10, this.failures - 1),
        )
        this.setState({ state: 'disconnected', error: err, retryInMs: wait })
        await new Promise((resolve) => {
          const t = setTimeout(resolve, wait)
          abort.signal.addEventListener('abort', () => {
            clearTimeout(t)
            resolve()
          })
        })
      }
    }
    this.setState({ state: 'closed' })
  }

  /** Reads frames (blank-line separated) off the body until it ends. */
  async read(body) {
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of body) {
      buf += decoder.decode(chunk, { stream: true })
      let end
      while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
        const frame = buf.slice(0, end)
        buf = buf.slice(end + (buf[end] === '\r' ? 4 : 2))
        this.frame(frame)
      }
    }
  }

  frame(text) {
    let id
    let type = 'message'
    const data = []
    for (const line of text.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue
      const i = line.indexOf(':')
      const field = i < 0 ? line : line.slice(0, i)
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
      if (field === 'id') id = value
      else if (field === 'event') type = value
      else if (field === 'data') data.push(value)
    }
    if (data.length === 0) {
      // An id alone: where the stream stands (the gateway says so on connecting). Remembered, so a
      // restart before any event came still resumes from here.
      const n = id === undefined ? NaN : Number(id)
      if (Number.isInteger(n) && (this.lastId === undefined || n > this.lastId)) {
        this.lastId = n
        this.saveSoon()
      }
      return
    }
    const payload = JSON.parse(data.join('\n'))
    if (type === 'gap') {
      this.opts.log?.warn(
        `events missed: the gateway keeps events back to id ${payload.oldest}, this stream was at ${payload.lastEventId}`,
      )
      for (const l of this.listeners) l.onGap?.(payload)
      return
    }
    const n = id === undefined ? undefined : Number(id)
    // Once: an event at or before the last delivered one (a resume overlapping) is not delivered again.
    if (n !== undefined && this.lastId !== undefined && n <= this.lastId) return
    for (const l of this.listeners) {
      try {
        l.onEvent(payload)
      } catch (err) {
        this.opts.log?.warn(`a listener failed on event ${id}: ${err && err.message}`)
      }
    }
    if (n !== undefined) {
      this.lastId = n
      this.saveSoon()
    }
  }

  load() {
    if (!this.opts.stateFile) return undefined
    try {
      const s = JSON.parse(readFileSync(this.opts.stateFile, 'utf8'))
      return typeof s.lastEventId === 'number' ? s.lastEventId : undefined
    } catch {
      return undefined
    }
  }

  saveSoon() {
    if (!this.opts.stateFile || this.saveTimer) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      this.save()
    }, this.opts.saveEveryMs)
  }

  save() {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    if (!this.opts.stateFile || this.lastId === undefined) return
    mkdirSync(dirname(this.opts.stateFile), { recursive: true })
    const tmp = `${this.opts.stateFile}.tmp`
    writeFileSync(tmp, JSON.stringify({ lastEventId: this.lastId, url: this.opts.url }))
    renameSync(tmp, this.opts.stateFile)
  }
}

module.exports = { EventStream, TYPES }
