/**
 * The broker's gatekeeper for devices: who may connect (password or client certificate against
 * the device store), and what each connection may publish and subscribe to (role entries from the
 * registry plus the site's ACL file). SDK-free: the broker adapts aedes's hooks to these calls.
 *
 * CONNACK codes (MQTT 3.1.1 §3.2.2.3): 4 "bad user name or password" for an unknown username or a
 * wrong password; 5 "not authorized" for no credentials, a disabled device or a certificate that
 * names another device; 2 "identifier rejected" for a client id another identity is connected with
 * (a session takeover would let one device knock another off the network).
 *
 * A reconnect storm must not become minutes of hashing: a password that verified is remembered
 * (as its SHA-256, beside the hash it verified against) until the device's hash changes, so a
 * device that reconnects costs a hash lookup, not a scrypt.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { LogThrottle } from '../core/log-throttle.js'
import type { CurrentRuntime } from '../runtime.js'
import type { DeviceRow, DeviceStore } from '../store/devices.js'
import { entriesFor, Permissions, type AclEntry } from './acl.js'
import { verifyPassword } from './passwords.js'
import { isGatewayOnly, roleEntries } from './roles.js'

export type RefusalCode = 2 | 4 | 5

export type ConnectRefusal =
  | 'no_credentials'
  | 'unknown_device'
  | 'bad_password'
  | 'disabled'
  | 'certificate_mismatch'
  | 'certificate_required'
  | 'client_id_in_use'

const CODE: Record<ConnectRefusal, RefusalCode> = {
  no_credentials: 5,
  unknown_device: 4,
  bad_password: 4,
  disabled: 5,
  certificate_mismatch: 5,
  certificate_required: 5,
  client_id_in_use: 2,
}

export type DenyReason = 'gateway_only' | 'not_permitted'
export type Action = 'publish' | 'subscribe' | 'will'

/** A verified client certificate (the TLS listener checked its chain against the site CA). */
export interface PeerCertificate {
  readonly commonName: string
}

export interface Credentials {
  readonly clientId: string
  readonly username: string | undefined
  readonly password: Buffer | undefined
  readonly certificate: PeerCertificate | undefined
  /** The identity already connected with this client id, if any. */
  readonly connectedAs: string | null | undefined
}

export type ConnectVerdict =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly code: RefusalCode; readonly reason: ConnectRefusal }

/** One authenticated connection: who it is and what it may do, compiled for the runtime in force. */
export class Session {
  private compiledFor: unknown
  private permissions: Permissions | undefined

  constructor(
    /** undefined: an anonymous client (allowed only where the configuration says so). */
    readonly device: DeviceRow | undefined,
    readonly clientId: string,
  ) {}

  get username(): string | undefined {
    return this.device?.username
  }

  /** Recompiled whenever the runtime (registry, ACL file) is replaced by a reload. */
  permissionsIn(runtime: ReturnType<CurrentRuntime>): Permissions {
    if (this.compiledFor !== runtime || !this.permissions) {
      const entries: AclEntry[] = [
        ...(this.device ? roleEntries(this.device, runtime.registry) : []),
        ...entriesFor(runtime.acl, this.device?.username, this.clientId),
      ]
      this.permissions = new Permissions(entries)
      this.compiledFor = runtime
    }
    return this.permissions
  }
}

export interface DeviceGuardDeps {
  readonly devices: DeviceStore
  readonly runtime: CurrentRuntime
  readonly allowAnonymous: boolean
  readonly log: Logger
  readonly now: () => number
  readonly onRefused: (reason: ConnectRefusal) => void
  readonly onAccepted: (via: 'password' | 'certificate' | 'anonymous') => void
  readonly onDenied: (action: Action, reason: DenyReason) => void
}

const digest = (pw: Buffer) => createHash('sha256').update(pw).digest()

export class DeviceGuard {
  /** username → the hash a password verified against, and that password's SHA-256. */
  private readonly verified = new Map<string, { hash: string; digest: Buffer }>()
  private readonly connectLog = new LogThrottle()
  private readonly denyLog = new LogThrottle()
  private readonly log: Logger

  constructor(private readonly deps: DeviceGuardDeps) {
    this.log = deps.log.child({ component: 'security' })
  }

  async connect(c: Credentials): Promise<ConnectVerdict> {
    const refuse = (reason: ConnectRefusal, detail?: string): ConnectVerdict => {
      this.deps.onRefused(reason)
      const suppressed = this.connectLog.allow(`${c.clientId}\u0000${reason}`, this.deps.now())
      if (suppressed !== undefined)
        this.log.warn(
          {
            clientId: c.clientId.slice(0, 64),
            username: c.username?.slice(0, 64),
            reason,
            code: CODE[reason],
            suppressed,
            ...(detail ? { detail } : {}),
          },
          'mqtt connection refused',
        )
      return { ok: false, code: CODE[reason], reason }
    }
    const name = c.username ?? c.certificate?.commonName
    if (name === undefined || name === '') {
      if (!this.deps.allowAnonymous) return refuse('no_credentials')
      if (c.connectedAs) return refuse('client_id_in_use', 'connected with credentials')
      this.deps.onAccepted('anonymous')
      return { ok: true, session: new Session(undefined, c.clientId) }
    }
    if (c.username !== undefined && c.certificate && c.certificate.commonName !== c.username)
      return refuse('certificate_mismatch', `certificate names ${c.certificate.commonName.slice(0, 64)}`)
    const device = this.deps.devices.get(name)
    if (!device) return refuse('unknown_device')
    if (device.disabledAt !== null) return refuse('disabled')
    let via: 'password' | 'certificate'
    if (c.password !== undefined) {
      if (device.hash === null || !(await this.passwordMatches(device.username, device.hash, c.password)))
        return refuse('bad_password')
      via = 'password'
    } else if (c.certificate) {
      via = 'certificate'
    } else {
      return refuse(device.hash === null ? 'certificate_required' : 'bad_password', 'no password given')
    }
    // Checked after the password: an attacker learns nothing about who is connected.
    if (c.connectedAs !== undefined && c.connectedAs !== device.username)
      return refuse('client_id_in_use', `connected as ${c.connectedAs ?? 'anonymous'}`)
    this.deps.onAccepted(via)
    return { ok: true, session: new Session(device, c.clientId) }
  }

  private async passwordMatches(username: string, hash: string, password: Buffer): Promise<boolean> {
    const d = digest(password)
    const known = this.verified.get(username)
    if (known && known.hash === hash) return timingSafeEqual(known.digest, d)
    if (!(await verifyPassword(password.toString('utf8'), hash))) return false
    if (this.verified.size > 100_000) this.verified.clear()
    this.verified.set(username, { hash, digest: d })
    return true
  }

  /** Why `session` may not publish on `topic`, or undefined when it may. */
  publish(session: Session, topic: string, action: 'publish' | 'will' = 'publish'): DenyReason | undefined {
    let reason: DenyReason | undefined
    if (isGatewayOnly(topic)) reason = 'gateway_only'
    else if (!session.permissionsIn(this.deps.runtime()).canPublish(topic)) reason = 'not_permitted'
    if (reason) this.denied(session, action, reason, topic)
    return reason
  }

  /** Why `session` may not subscribe to `filter`, or undefined when it may. */
  subscribe(session: Session, filter: string): DenyReason | undefined {
    if (session.permissionsIn(this.deps.runtime()).canSubscribe(filter)) return undefined
    this.denied(session, 'subscribe', 'not_permitted', filter)
    return 'not_permitted'
  }

  private denied(session: Session, action: Action, reason: DenyReason, topic: string): void {
    this.deps.onDenied(action, reason)
    const who = session.username ?? `anonymous:${session.clientId}`
    const suppressed = this.denyLog.allow(`${who}\u0000${action}\u0000${reason}`, this.deps.now())
    if (suppressed !== undefined)
      this.log.warn(
        {
          username: who.slice(0, 64),
          clientId: session.clientId.slice(0, 64),
          action,
          reason,
          topic: topic.slice(0, 200),
          suppressed,
        },
        'mqtt access denied',
      )
  }

  /**
   * Whether a connected session still stands after the device store changed: a disabled, removed
   * or re-keyed device's connections are closed (the device reconnects with its new secret).
   */
  stillValid(session: Session): boolean {
    if (!session.device) return this.deps.allowAnonymous
    const now = this.deps.devices.get(session.device.username)
    const was = session.device
    return (
      now !== undefined &&
      now.disabledAt === null &&
      now.hash === was.hash &&
      now.role === was.role &&
      JSON.stringify(now.subjects) === JSON.stringify(was.subjects)
    )
  }
}
