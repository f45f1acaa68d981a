/**
 * `GET /api/events`: the event stream as Server-Sent Events. A client that reconnects sends the
 * last id it saw (`Last-Event-ID`, which EventSource does by itself, or `?lastEventId=`) and
 * receives everything after it from the durable window, then live events; when it comes back
 * after the window has moved past it, a `gap` event says so first. Filters: `types` (comma
 * separated), `region` (a 12-digit code: events inside it), `hazard`. A client that cannot keep up
 * is disconnected and resumes where it was, so nothing is lost and memory stays bounded.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { prefixOf, regionContains } from '../../../../rules/src/index.js'
import { EventsQuery, queryErrors, text } from '../../contracts/api.js'
import type { GatewayEvent } from '../../events/types.js'
import type { ApiDeps } from '../server.js'

/** Bytes a client may fall behind by before it is disconnected (it resumes from its last id). */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024
const HEARTBEAT_MS = 15_000
const REPLAY_PAGE = 1000

const frame = (e: GatewayEvent): string =>
  `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, at: e.at, type: e.type, region: e.region, hazard: e.hazard, data: e.data })}\n\n`

export const eventRoutes =
  (deps: Pick<ApiDeps, 'events'>): FastifyPluginAsyncZod =>
  async (app) => {
    const { bus, store } = deps.events
    // Streams never end by themselves: closing the server ends them (clients reconnect elsewhere).
    const open = new Set<{ destroy(): void }>()
    app.addHook('preClose', (done) => {
      for (const r of open) r.destroy()
      done()
    })

    app.get(
      '/api/events',
      {
        // A stream never ends, so a HEAD of it would never end either: none is served.
        exposeHeadRoute: false,
        schema: {
          tags: ['events'],
          summary: 'everything that happens, as Server-Sent Events, resumable with Last-Event-ID',
          querystring: EventsQuery,
          response: {
            200: text('text/event-stream', 'events: `id`, `event` (the type) and `data` (JSON) per event'),
            ...queryErrors,
          },
        },
      },
      (req, reply) => {
        const header = req.headers['last-event-id']
        const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined
        const resumeFrom = fromHeader ?? req.query.lastEventId
        const { types, region, hazard } = req.query
        const wanted = (e: GatewayEvent) =>
          (types === undefined || types.length === 0 || types.includes(e.type)) &&
          (hazard === undefined || e.hazard === hazard) &&
          (region === undefined || (typeof e.region === 'string' && regionContains(region, e.region)))

        reply.hijack()
        const raw = reply.raw
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        })
        raw.write('retry: 3000\n\n')
        const bounds = store.bounds()
        let last = resumeFrom ?? bounds.newest
        if (resumeFrom !== undefined && resumeFrom < bounds.oldest - 1)
          raw.write(
            `event: gap\ndata: ${JSON.stringify({ lastEventId: resumeFrom, oldest: bounds.oldest })}\n\n`,
          )
        // Replay synchronously: no live event can be delivered in between (they come in microtasks).
        for (;;) {
          const page = store.read({
            after: last,
            types,
            regionPrefix: region !== undefined ? prefixOf(region) : undefined,
            hazard,
            limit: REPLAY_PAGE,
          })
          for (const e of page) raw.write(frame(e))
          if (page.length > 0) last = page[page.length - 1]!.id
          if (page.length < REPLAY_PAGE) break
        }
        last = Math.max(last, store.bounds().newest)
        // Where the stream stands, as an id alone (no event is dispatched, but a client's last event
        // id becomes it, per the SSE standard): a client that connected fresh and saw nothing yet
        // can resume from here after a restart of its own, instead of missing what came meanwhile.
        raw.write(`id: ${last}\n\n`)
        const stop = bus.listen((e) => {
          if (e.id <= last) return
          last = e.id
          if (!wanted(e)) return
          raw.write(frame(e))
          if (raw.writableLength > MAX_BACKLOG_BYTES) raw.destroy()
        })
        const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS)
        heartbeat.unref()
        open.add(raw)
        raw.on('close', () => {
          open.delete(raw)
          stop()
          clearInterval(heartbeat)
        })
      },
    )
  }
