/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on TCP and WebSocket. The only module that imports
 * aedes. The gateway sees every incoming PUBLISH through `authorizePublish`, before the PUBACK.
 */
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { createServer as createTlsServer, type TlsOptions } from 'node:tls'
import type { Logger } from 'pino'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { TLSSocket } from 'node:tls'
import { durationMs } from '../../../rules/src/index.js'
import type { GatewayConfigFile, TlsFiles } from '../config/schema.js'
import type { PublishGate } from '../core/ports.js'
import type { DeviceGuard, PeerCertificate, Session } from '../security/devices.js'
import { LogThrottle } from '../core/log-throttle.js'
import {
  ClientPacer,
  ConnectionLimiter,
  enforcedKeepalive,
  type ClientLimits,
  type ConnectionLimits,
} from './limits.js'
import { indexRetained } from './retained-index.js'
import { createSafeMq } from './safe-mq.js'

/** What one client and one address may do (`mqtt.limits`); see limits.ts. */
export interface BrokerLimits {
  readonly perClient: ClientLimits
  readonly connections: ConnectionLimits
  /** Seconds; a client asking for no keepalive or a longer one is held to this. 0: no ceiling. */
  readonly maxKeepalive: number
  /** The largest MQTT packet read off the wire, in bytes; a client sending a larger one is disconnected. */
  readonly maxPacketSize: number
}

/** Which limit a client met: paced (messages, bytes), refused (connections, connect_rate) or cut off. */
export type LimitHit = 'messages' | 'bytes' | 'connections' | 'connect_rate' | 'packet_size' | 'keepalive'

/** `mqtt.limits` as the broker takes them. */
export function brokerLimits(mqtt: GatewayConfigFile['mqtt']): BrokerLimits {
  const l = mqtt.limits
  const largestPayload = Math.max(mqtt.maxPayload.sensors, mqtt.maxPayload.terminals, mqtt.maxPayload.other)
  return {
    perClient: l.perClient,
    connections: {
      connectsPerSecond: l.perAddress.connectsPerSecond,
      connectBurst: l.perAddress.connectBurst,
      maxConnectWaitMs: durationMs(l.perAddress.maxWait),
      maxConnections: l.maxConnections,
    },
    maxKeepalive: Math.floor(durationMs(l.maxKeepalive) / 1000),
    // A topic is at most 65,535 bytes, plus the packet id and the length fields.
    maxPacketSize: l.maxPacketSize ?? largestPayload + 65_535 + 16,
  }
}

/** A TLS listener's key material and client-certificate policy, read from its files. */
export function tlsOptions(t: TlsFiles): TlsOptions {
  return {
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ...(t.ca !== undefined ? { ca: readFileSync(t.ca) } : {}),
    requestCert: t.requestCert || t.requireCert,
    // Without requireCert an unverified certificate is ignored and the client logs in by password.
    rejectUnauthorized: t.requireCert,
  }
}

export interface BrokerOptions {
  readonly host: string
  /** Plain MQTT over TCP; null turns it off. */
  readonly port: number | null
  /** null disables MQTT over WebSocket. */
  readonly wsPort: number | null
  /** MQTTS and, with `wsPort`, WSS. */
  readonly tls?: (TlsFiles & { readonly port: number; readonly wsPort: number | null }) | undefined
  /** Called for every client PUBLISH; the callback releases the PUBACK (QoS 1). */
  readonly authorizePublish: PublishGate
  /**
   * Device authentication and topic ACLs. Absent: every client may connect and publish anywhere
   * but the gateway's own topics (a configuration explicitly marked insecure).
   */
  readonly guard?: DeviceGuard | undefined
  readonly limits: BrokerLimits
  /** Counts a limit met (the broker logs it, once per client or address a minute). */
  readonly onLimited?: (limit: LimitHit) => void
  /** A monotonic clock in ms for the rate limits (their waits are real timers). */
  readonly now?: () => number
  readonly log: Logger
  readonly onClientCount?: (n: number) => void
  /** A listener stopped accepting connections (`up: false`), or took them again (`up: true`). */
  readonly onListener?: (l: ListenerState) => void
}

/** One of the broker's listeners (mqtt, ws, mqtts, wss): whether it accepts connections. */
export interface ListenerState {
  readonly name: 'mqtt' | 'ws' | 'mqtts' | 'wss'
  readonly port: number
  /** Accepting connections now. */
  readonly up: boolean
  /** How often it was listened again after it died. */
  readonly restarts: number
}

/** How often the listeners are checked for having stopped listening without a word. */
const LISTENER_CHECK_MS = 500
/** The first wait before listening again after a listener died; it doubles up to the max. */
const RELISTEN_MIN_MS = 100
const RELISTEN_MAX_MS = 5000

export interface RunningBroker {
  readonly ports: {
    readonly mqtt: number | null
    readonly ws: number | null
    readonly mqtts: number | null
    readonly wss: number | null
  }
  /** Re-reads the TLS certificate, key and CA; on a bad file the running ones stay. */
  reloadTls(): void
  /** Publishes from the gateway itself (no client), resolving once routed to subscribers. */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain?: boolean }): Promise<void>
  readonly connectedClients: number
  /** Each listener and whether it accepts connections (a dead one is listened again, with backoff). */
  listeners(): readonly ListenerState[]
  /** Closes the connections whose device was disabled, removed or given a new secret; how many. */
  revalidate(): number
  close(): Promise<void>
}

/**
 * Deliveries the router runs at once (mqemitter's `concurrency`); more wait in its queue. Kept at
 * 100: it bounds what a stuck subscriber holds, not the queue (see safe-mq.ts).
 */
const MQ_CONCURRENCY = 100

/** A client-controlled string, shortened for logs. */
const clip = (s: string | undefined): string => (s ?? '').slice(0, 80)

/** Where refused messages go: acknowledged to their sender, delivered to nobody. */
const REFUSED_TOPIC = '$shaobing/refused'

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const log = opts.log
  const { guard } = opts
  const sessions = new WeakMap<Client, Session>()
  const gate = opts.authorizePublish
  const now = opts.now ?? (() => performance.now())
  const limits = opts.limits
  const throttle = new LogThrottle()
  const limited = (limit: LimitHit, key: string, detail: Record<string, unknown>, msg: string) => {
    opts.onLimited?.(limit)
    const suppressed = throttle.allow(`${limit}:${key}`, now())
    if (suppressed !== undefined) log.warn({ limit, ...detail, suppressed }, msg)
  }
  const pacers = new WeakMap<Client, ClientPacer>()
  const pacerOf = (client: Client): ClientPacer => {
    let p = pacers.get(client)
    if (!p) {
      p = new ClientPacer(limits.perClient, now, (waitMs, by) =>
        limited(
          by,
          client.id,
          { clientId: clip(client.id), waitMs },
          `mqtt client paced: over its ${by} rate`,
        ),
      )
      pacers.set(client, p)
    }
    return p
  }
  const connections = new ConnectionLimiter(limits.connections)
  /** Clients refused in preConnect, answered with CONNACK 3 by authenticate. */
  const overLimit = new WeakMap<Client, string>()
  // The routing queue filling (a reconnect storm's wills, statuses and subscriptions) is
  // backpressure, not a leak (see safe-mq.ts): one line a minute with its depth, not a warning
  // per burst on stderr.
  let deepest = 0
  const onQueued = (depth: number) => {
    deepest = Math.max(deepest, depth)
    const suppressed = throttle.allow('mq_queue', now())
    if (suppressed === undefined) return
    log.warn({ queued: depth, deepest, concurrency: MQ_CONCURRENCY, suppressed }, 'mqtt routing queued')
    deepest = 0
  }
  const aedes = await Aedes.createBroker({
    mq: createSafeMq(MQ_CONCURRENCY, onQueued),
    // A subscriber that stops reading is dropped after 30 s instead of stalling every other one.
    drainTimeout: 30_000,
    preConnect(client, packet, callback) {
      if (limits.maxKeepalive > 0) {
        const keepalive = enforcedKeepalive(packet.keepalive ?? 0, limits.maxKeepalive)
        if (keepalive !== packet.keepalive) {
          limited(
            'keepalive',
            packet.clientId ?? '',
            { clientId: clip(packet.clientId), requested: packet.keepalive, held: keepalive },
            'mqtt client keepalive held to mqtt.limits.maxKeepalive',
          )
          packet.keepalive = keepalive
        }
      }
      const address = remoteAddress(client)
      const v = connections.attempt(address, aedes.connectedClients, now())
      if (!v.ok) {
        limited(
          v.limit,
          address,
          { address, clientId: clip(packet.clientId) },
          `mqtt connection refused: ${v.message}`,
        )
        overLimit.set(client, v.message)
        return callback(null, true)
      }
      if (v.waitMs === 0) return callback(null, true)
      setTimeout(() => callback(null, true), v.waitMs)
    },
    authorizePublish(client, packet, callback) {
      if (client && limits.perClient.messagesPerSecond + limits.perClient.bytesPerSecond > 0)
        return pacerOf(client).admit(packet.payload.length + packet.topic.length, () =>
          authorizePublish(client, packet, callback),
        )
      authorizePublish(client, packet, callback)
    },
    ...withLimits(overLimit, guard ? guardHooks(guard, sessions, () => aedes, log) : openHooks),
  })
  // A reconnect storm's SUBSCRIBEs must not each scan every retained status (retained-index.ts).
  indexRetained(aedes)
  const authorizePublish: NonNullable<AedesOptions['authorizePublish']> = (client, packet, callback) => {
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
  }
  const tooLarge = (client: Client, length: number) =>
    limited(
      'packet_size',
      remoteAddress(client),
      { address: remoteAddress(client), clientId: clip(client.id), length, max: limits.maxPacketSize },
      'mqtt client disconnected: packet larger than mqtt.limits.maxPacketSize',
    )
  const count = () => opts.onClientCount?.(aedes.connectedClients)
  aedes.on('clientReady', (c: Client) => {
    log.debug({ clientId: clip(c.id) }, 'mqtt client connected')
    count()
  })
  aedes.on('clientDisconnect', (c: Client) => {
    log.debug({ clientId: clip(c.id) }, 'mqtt client disconnected')
    pacers.get(c)?.close()
    count()
  })
  aedes.on('clientError', (c: Client, e: Error) =>
    log.debug({ clientId: clip(c.id), err: e.message }, 'mqtt client error'),
  )
  aedes.on('connectionError', (c: Client, e: Error) =>
    log.debug({ clientId: clip(c.id), err: e.message }, 'mqtt connection error'),
  )

  const handle = (socket: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) =>
    capPacketSize(aedes.handle(socket, req), limits.maxPacketSize, tooLarge)
  const servers: (Server | HttpServer)[] = []
  const secure: { setSecureContext(o: TlsOptions): void }[] = []
  const webSocket = (server: HttpServer) => {
    const wss = new WebSocketServer({
      server,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    })
    wss.on('connection', (socket, req) => handle(createWebSocketStream(socket), req))
    wsServers.push(wss)
  }
  const wsServers: WebSocketServer[] = []
  const upgradeOnly = (_req: unknown, res: ServerResponse) =>
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n')
  const listeners: { state: ListenerState; check: () => void }[] = []
  let closing = false
  const open = async (server: Server | HttpServer, port: number, name: ListenerState['name']) => {
    servers.push(server)
    await listen(server, port, opts.host)
    const bound = (server.address() as AddressInfo).port
    listeners.push(watchListener(server, name, bound))
    return bound
  }
  /**
   * A listener that dies (its server closed or failed without us closing it: an fd limit, a
   * network stack reset, a bug) is noticed, logged, reported down (so /health is degraded), and
   * listened again on the same port, the wait doubling from RELISTEN_MIN_MS to RELISTEN_MAX_MS.
   * Connected clients are not affected. An error on a server still listening (EMFILE on accept)
   * is logged; without a handler it would crash the process.
   */
  const watchListener = (server: Server | HttpServer, name: ListenerState['name'], port: number) => {
    let waitMs = RELISTEN_MIN_MS
    let timer: NodeJS.Timeout | undefined
    const entry: { state: ListenerState; check: () => void } = {
      state: { name, port, up: true, restarts: 0 },
      check: () => {
        // 'close' waits for the connections to end: a server that stopped listening is seen here.
        if (!server.listening) died('not listening')
      },
    }
    const set = (next: ListenerState) => {
      entry.state = next
      opts.onListener?.(next)
    }
    const again = () => {
      if (closing || timer) return
      timer = setTimeout(() => {
        timer = undefined
        if (closing || server.listening) return
        server.listen(port, opts.host)
      }, waitMs)
      timer.unref()
      waitMs = Math.min(waitMs * 2, RELISTEN_MAX_MS)
    }
    const died = (why: string, err?: Error) => {
      if (closing) return
      if (entry.state.up) {
        log.error({ listener: name, port, why, err: err?.message }, 'mqtt listener died')
        set({ ...entry.state, up: false })
      }
      again()
    }
    server.on('error', (e: Error) => {
      if (server.listening)
        return void log.error({ listener: name, port, err: e.message }, 'mqtt listener error')
      died('error', e) // also a failed attempt to listen again: try later
    })
    server.on('close', () => {
      if (!server.listening) died('closed')
    })
    server.on('listening', () => {
      if (entry.state.up) return
      waitMs = RELISTEN_MIN_MS
      log.warn({ listener: name, port, restarts: entry.state.restarts + 1 }, 'mqtt listener listening again')
      set({ ...entry.state, up: true, restarts: entry.state.restarts + 1 })
    })
    return entry
  }
  const checker = setInterval(() => {
    for (const l of listeners) l.check()
  }, LISTENER_CHECK_MS)
  checker.unref()
  const ports = {
    mqtt: null as number | null,
    ws: null as number | null,
    mqtts: null as number | null,
    wss: null as number | null,
  }
  try {
    if (opts.port !== null) {
      ports.mqtt = await open(
        createServer((socket) => {
          socket.setNoDelay(true)
          handle(socket)
        }),
        opts.port,
        'mqtt',
      )
    }
    if (opts.wsPort !== null) {
      const http = createHttpServer(upgradeOnly)
      webSocket(http)
      ports.ws = await open(http, opts.wsPort, 'ws')
    }
    if (opts.tls) {
      const t = opts.tls
      const mqtts = createTlsServer(tlsOptions(t), (socket) => {
        socket.setNoDelay(true)
        handle(socket)
      })
      mqtts.on('tlsClientError', (e) => log.debug({ err: e.message }, 'mqtts handshake failed'))
      secure.push(mqtts)
      ports.mqtts = await open(mqtts, t.port, 'mqtts')
      if (t.wsPort !== null) {
        const https = createHttpsServer(tlsOptions(t), upgradeOnly)
        https.on('tlsClientError', (e) => log.debug({ err: e.message }, 'wss handshake failed'))
        webSocket(https)
        secure.push(https)
        ports.wss = await open(https, t.wsPort, 'wss')
      }
    }
  } catch (e) {
    closing = true
    clearInterval(checker)
    // aedes keeps timers running; release it so a failed start lets the process exit.
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await Promise.all(servers.map((s) => (s.listening ? closeServer(s) : undefined)))
    throw e
  }

  return {
    ports,
    reloadTls() {
      if (!opts.tls) return
      try {
        const o = tlsOptions(opts.tls)
        for (const s of secure) s.setSecureContext(o)
        log.info({ cert: opts.tls.cert }, 'mqtt tls certificate reloaded')
      } catch (e) {
        log.error({ err: (e as Error).message }, 'mqtt tls certificate not reloaded; the running one stays')
      }
    },
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
    listeners: () => listeners.map((l) => l.state),
    async close() {
      closing = true
      clearInterval(checker)
      // Stop accepting, then close the broker (which ends client connections), then the servers.
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      for (const w of wsServers) for (const c of w.clients) c.terminate()
      await Promise.all(servers.map(closeServer))
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

/** The address a client connects from (behind a WebSocket, the HTTP request's socket). */
function remoteAddress(client: Client): string {
  const conn = client.conn as Partial<{ remoteAddress: string }> | undefined
  return conn?.remoteAddress ?? client.req?.socket?.remoteAddress ?? 'unknown'
}

interface PacketParser {
  packet: { length: number }
  _parseLength(): boolean
  _emitError(e: Error): void
}

/**
 * Disconnects a client as soon as a packet's fixed header announces more than `max` bytes, before
 * the body is read into memory (as Mosquitto's `max_packet_size`; MQTT 3.1.1 has no way to tell the
 * client). aedes builds the packet parser (mqtt-packet) per client and has no option for this, so
 * the length step of that client's parser is wrapped.
 */
function capPacketSize(client: Client, max: number, onTooLarge: (c: Client, length: number) => void): void {
  if (max <= 0) return
  const parser = (client as Client & { _parser: PacketParser })._parser
  const parseLength = parser._parseLength
  parser._parseLength = function (this: PacketParser) {
    if (!parseLength.call(this)) return false
    if (this.packet.length <= max) return true
    onTooLarge(client, this.packet.length)
    this._emitError(new Error(`packet of ${this.packet.length} bytes; at most ${max} accepted`))
    return false
  }
}

/** A client preConnect found over a limit is answered CONNACK 3 (server unavailable) at authentication. */
function withLimits(
  overLimit: WeakMap<Client, string>,
  hooks: Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe'>,
): Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe'> {
  const inner = hooks.authenticate
  return {
    ...hooks,
    authenticate(client, username, password, callback) {
      const over = overLimit.get(client)
      if (over !== undefined) return callback(refusal(over, 3), false)
      if (inner) return inner(client, username, password, callback)
      callback(null, true)
    },
  }
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
