/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on TCP and WebSocket. The only module that imports
 * aedes. The gateway sees every incoming PUBLISH through `authorizePublish`, before the PUBACK.
 */
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { Logger } from 'pino'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { TLSSocket } from 'node:tls'
import type { PublishGate } from '../core/ports.js'
import type { DeviceGuard, PeerCertificate, Session } from '../security/devices.js'
import { createSafeMq } from './safe-mq.js'

export interface BrokerOptions {
  readonly host: string
  readonly port: number
  /** null disables MQTT over WebSocket. */
  readonly wsPort: number | null
  /** Called for every client PUBLISH; the callback releases the PUBACK (QoS 1). */
  readonly authorizePublish: PublishGate
  /**
   * Device authentication and topic ACLs. Absent: every client may connect and publish anywhere
   * but the gateway's own topics (a configuration explicitly marked insecure).
   */
  readonly guard?: DeviceGuard | undefined
  readonly log: Logger
  readonly onClientCount?: (n: number) => void
}

export interface RunningBroker {
  readonly ports: { readonly mqtt: number; readonly ws: number | null }
  /** Publishes from the gateway itself (no client), resolving once routed to subscribers. */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>
  readonly connectedClients: number
  /** Closes the connections whose device was disabled, removed or given a new secret; how many. */
  revalidate(): number
  close(): Promise<void>
}

/** A client-controlled string, shortened for logs. */
const clip = (s: string | undefined): string => (s ?? '').slice(0, 80)

/** Where refused messages go: acknowledged to their sender, delivered to nobody. */
const REFUSED_TOPIC = '$shaobing/refused'

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const log = opts.log
  const { guard } = opts
  const sessions = new WeakMap<Client, Session>()
  const gate = opts.authorizePublish
  const aedes = await Aedes.createBroker({
    mq: createSafeMq(100),
    // A subscriber that stops reading is dropped after 30 s instead of stalling every other one.
    drainTimeout: 30_000,
    authorizePublish(client, packet, callback) {
      const release = (err: Error | null, verdict?: 'refused') => {
        // A refused message is still acknowledged (a device is not pushed into a resend loop)
        // but goes to no subscriber and is never retained.
        if (verdict === 'refused') {
          packet.topic = REFUSED_TOPIC
          packet.retain = false
        }
        callback(err)
      }
      if (!guard || !client) return gate(client, packet, release)
      const session = sessions.get(client)
      if (!session) return callback(new Error('not authenticated'))
      const denied = guard.publish(
        session,
        packet.topic,
        packet === (client as Client & { will?: unknown }).will ? 'will' : 'publish',
      )
      // Publishing on the gateway's own topics is hostile: the client is disconnected. A topic
      // outside its ACL is dropped and acknowledged, as Mosquitto does for MQTT 3.1.1 clients.
      if (denied === 'gateway_only')
        return callback(new Error(`publishing to ${packet.topic} is reserved to the gateway`))
      if (denied) return release(null, 'refused')
      gate(client, packet, release)
    },
    ...(guard ? guardHooks(guard, sessions, () => aedes, log) : openHooks),
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
    revalidate() {
      if (!guard) return 0
      let closed = 0
      for (const c of Object.values(clientsOf(aedes))) {
        const session = sessions.get(c)
        if (session && !guard.stillValid(session)) {
          log.info(
            { clientId: clip(c.id), username: clip(session.username) },
            'device credentials changed: connection closed',
          )
          c.close()
          closed++
        }
      }
      return closed
    },
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

/** The client certificate a TLS connection presented and the listener verified against the CA. */
function peerCertificate(client: Client): PeerCertificate | undefined {
  const socket = (client.conn as Partial<TLSSocket> | undefined) ?? undefined
  const tls = socket && typeof socket.getPeerCertificate === 'function' ? socket : client.req?.socket
  if (!tls || typeof (tls as Partial<TLSSocket>).getPeerCertificate !== 'function') return undefined
  const t = tls as TLSSocket
  if (!t.authorized) return undefined
  const cn = t.getPeerCertificate().subject?.CN
  return typeof cn === 'string' && cn !== '' ? { commonName: cn } : undefined
}

/** aedes's table of connected clients by id (public, not in its type declarations). */
const clientsOf = (aedes: Aedes): Record<string, Client> =>
  (aedes as Aedes & { clients: Record<string, Client> }).clients

const refusal = (message: string, code: number): AuthenticateError =>
  Object.assign(new Error(message), { returnCode: code }) as AuthenticateError

/** Without a guard every subscription is allowed but the refused messages' dead end. */
const openHooks: Pick<AedesOptions, 'authorizeSubscribe'> = {
  authorizeSubscribe: (_client, sub, callback) =>
    callback(null, sub.topic.startsWith('$shaobing/') ? null : sub),
}

function guardHooks(
  guard: DeviceGuard,
  sessions: WeakMap<Client, Session>,
  aedes: () => Aedes,
  log: Logger,
): Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe'> {
  return {
    authenticate(client, username, password, callback) {
      const prior = clientsOf(aedes())[client.id]
      guard
        .connect({
          clientId: client.id,
          username,
          password,
          certificate: peerCertificate(client),
          connectedAs: prior ? (sessions.get(prior)?.username ?? null) : undefined,
        })
        .then((v) => {
          if (!v.ok) return callback(refusal(v.reason, v.code), false)
          // The will is checked when the client connects, as Mosquitto does, and again when it
          // is published.
          const will = (client as Client & { _will?: { topic: string } })._will
          if (will && guard.publish(v.session, will.topic, 'will'))
            return callback(refusal('will topic not permitted', 5), false)
          sessions.set(client, v.session)
          callback(null, true)
        })
        .catch((e: unknown) => {
          log.error({ err: e, clientId: clip(client.id) }, 'authentication failed')
          callback(refusal('server unavailable', 3), false)
        })
    },
    authorizeSubscribe(client, sub, callback) {
      const session = sessions.get(client)
      // SUBACK 0x80 for a refused filter; the client's other filters are unaffected.
      if (!session || guard.subscribe(session, sub.topic)) return callback(null, null)
      callback(null, sub)
    },
  }
}
