/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on TCP and WebSocket. The only module that imports
 * aedes. The gateway sees every incoming PUBLISH through `authorizePublish`, before the PUBACK.
 */
import { Aedes, type Client } from 'aedes'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { Logger } from 'pino'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { PublishGate } from '../core/ports.js'
import { createSafeMq } from './safe-mq.js'

export interface BrokerOptions {
  readonly host: string
  readonly port: number
  /** null disables MQTT over WebSocket. */
  readonly wsPort: number | null
  /** Called for every client PUBLISH; the callback releases the PUBACK (QoS 1). */
  readonly authorizePublish: PublishGate
  readonly log: Logger
  readonly onClientCount?: (n: number) => void
}

export interface RunningBroker {
  readonly ports: { readonly mqtt: number; readonly ws: number | null }
  /** Publishes from the gateway itself (no client), resolving once routed to subscribers. */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>
  readonly connectedClients: number
  close(): Promise<void>
}

/** A client-controlled string, shortened for logs. */
const clip = (s: string | undefined): string => (s ?? '').slice(0, 80)

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const log = opts.log
  const aedes = await Aedes.createBroker({
    mq: createSafeMq(100),
    // A subscriber that stops reading is dropped after 30 s instead of stalling every other one.
    drainTimeout: 30_000,
    authorizePublish: opts.authorizePublish,
  })
  const count = () => opts.onClientCount?.(aedes.connectedClients)
  aedes.on('clientReady', (c: Client) => {
    log.debug({ clientId: clip(c.id) }, 'mqtt client connected')
    count()
  })
  aedes.on('clientDisconnect', (c: Client) => {
    log.debug({ clientId: clip(c.id) }, 'mqtt client disconnected')
    count()
  })
  aedes.on('clientError', (c: Client, e: Error) =>
    log.debug({ clientId: clip(c.id), err: e.message }, 'mqtt client error'),
  )
  aedes.on('connectionError', (c: Client, e: Error) =>
    log.debug({ clientId: clip(c.id), err: e.message }, 'mqtt connection error'),
  )

  const tcp: Server = createServer((socket) => {
    socket.setNoDelay(true)
    aedes.handle(socket)
  })
  try {
    await listen(tcp, opts.port, opts.host)
  } catch (e) {
    // aedes keeps timers running; release it so a failed start lets the process exit.
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    throw e
  }
  let http: HttpServer | undefined
  let wss: WebSocketServer | undefined
  if (opts.wsPort !== null) {
    http = createHttpServer((_req, res) =>
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n'),
    )
    wss = new WebSocketServer({
      server: http,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    })
    wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req))
    try {
      await listen(http, opts.wsPort, opts.host)
    } catch (e) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await closeServer(tcp)
      throw e
    }
  }
  const ports = {
    mqtt: (tcp.address() as AddressInfo).port,
    ws: http ? (http.address() as AddressInfo).port : null,
  }

  return {
    ports,
    get connectedClients() {
      return aedes.connectedClients
    },
    publish: (topic, payload, o) =>
      new Promise<void>((resolve, reject) =>
        aedes.publish(
          {
            cmd: 'publish',
            topic,
            payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
            qos: o.qos,
            retain: o.retain ?? false,
            dup: false,
          },
          (e?: Error | null) => (e ? reject(e) : resolve()),
        ),
      ),
    async close() {
      // Stop accepting, then close the broker (which ends client connections), then the servers.
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      for (const c of wss?.clients ?? []) c.terminate()
      await Promise.all([closeServer(tcp), http ? closeServer(http) : undefined])
    },
  }
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    if ('closeAllConnections' in server) server.closeAllConnections()
  })
}
