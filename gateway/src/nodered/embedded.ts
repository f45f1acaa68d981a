/**
 * Node-RED embedded in the gateway's process (`nodeRed` in the configuration): its own HTTP server
 * on `nodeRed.host:port` with the editor and admin API at `/` and the flows' HTTP endpoints under
 * `/api`, the admin's login mandatory, its log lines in the gateway's logger, and the Shaobing
 * nodes of `dashboards/node-red/` in the palette.
 *
 * Node-RED is a process-wide singleton (`require('node-red')` holds one runtime) and, once stopped,
 * cannot be started again in the same process: only one embedded instance can ever run per
 * process, and a second start is refused.
 *
 * How the nodes get into the palette: Node-RED scans `<userDir>/node_modules/*` for packages whose
 * package.json has a `node-red` section (@node-red/registry/lib/localfilesystem.js,
 * scanTreeForNodesModules); it follows symbolic links. The package is linked there as
 * `node-red-contrib-shaobing`, so the nodes load from this repository's working copy. It is not
 * listed in `<userDir>/package.json`: being listed is only what makes the palette manager offer to
 * remove it (with npm, in the gateway's data directory).
 */
import { randomBytes } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs'
import { rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { NodeRedConfig } from '../config/schema.js'

/** The name the Shaobing node package has in the userDir (its package.json's name). */
export const PACKAGE_NAME = 'node-red-contrib-shaobing'
/** The flow credentials' encryption key, made on first start and kept beside the flows. */
export const CREDENTIAL_SECRET_FILE = '.shaobing-credential-secret'
export const FLOW_FILE = 'flows.json'

export interface EmbeddedNodeRed {
  readonly port: number
  /** The editor's address, e.g. http://127.0.0.1:1880/ */
  readonly url: string
  stop(): Promise<void>
}

/** What `require('node-red')` offers an embedder (lib/red.js). */
interface Red {
  init(server: Server, settings: Record<string, unknown>): void
  start(): Promise<void>
  stop(): Promise<void>
  readonly httpAdmin: unknown
  readonly httpNode: unknown
}
interface ExpressApp {
  (req: unknown, res: unknown): void
  use(path: string, handler: unknown): void
}

/** A Node-RED log message (@node-red/util/lib/log.js). */
interface RedLogMessage {
  readonly level: number
  readonly msg?: unknown
  readonly type?: string
  readonly name?: string
  readonly id?: string
  readonly path?: string
  readonly ip?: string
}

let started = false

/** node-red's own dependencies (express, bcryptjs) are resolved from where node-red is. */
const redRequire = () => createRequire(createRequire(import.meta.url).resolve('node-red'))

/** The directory of the Shaobing node package: the repository's `dashboards/node-red/`. */
export function nodePackageDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dashboards/node-red')
    if (existsSync(join(candidate, 'package.json'))) return candidate
    if (dirname(dir) === dir)
      throw new Error(`no dashboards/node-red/package.json above ${from}: the Node-RED nodes are missing`)
  }
}

/** Makes the userDir: the linked node package, the credential secret, the initial flows. */
export function prepareUserDir(
  config: Pick<NodeRedConfig, 'userDir' | 'flows'>,
  packageDir: string,
): { userDir: string; credentialSecret: string; flowsInstalled: boolean } {
  const userDir = resolve(config.userDir!)
  mkdirSync(join(userDir, 'node_modules'), { recursive: true })
  const link = join(userDir, 'node_modules', PACKAGE_NAME)
  let linked: string | undefined
  try {
    linked = lstatSync(link).isSymbolicLink() ? resolve(dirname(link), readlinkSync(link)) : 'not a link'
  } catch {
    linked = undefined
  }
  if (linked === 'not a link')
    throw new Error(
      `${link} is not the gateway's link to its nodes (installed by hand?): remove it, and the gateway links ${packageDir} there`,
    )
  if (linked !== packageDir) {
    // A link to another checkout (the gateway was moved) is replaced; only the link goes.
    if (linked !== undefined) rmSync(link)
    symlinkSync(packageDir, link, 'dir')
  }
  const secretFile = join(userDir, CREDENTIAL_SECRET_FILE)
  if (!existsSync(secretFile))
    writeFileSync(secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  const credentialSecret = readFileSync(secretFile, 'utf8').trim()
  if (credentialSecret === '')
    throw new Error(
      `${secretFile} is empty: the flows' credentials cannot be decrypted without the key it held`,
    )
  const flowFile = join(userDir, FLOW_FILE)
  let flowsInstalled = false
  if (config.flows !== undefined && !existsSync(flowFile)) {
    copyFileSync(config.flows, flowFile)
    flowsInstalled = true
  }
  return { userDir, credentialSecret, flowsInstalled }
}

const LEVELS: Record<number, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> = {
  10: 'fatal',
  20: 'error',
  30: 'warn',
  40: 'info',
  50: 'debug',
  60: 'trace',
}

/**
 * Node-RED's log lines as the gateway's (component `node-red`). Its audit lines (logins, refusals,
 * deploys; reads at debug) are logged with `audit: true`, reduced to who, what and where.
 */
function logHandler(log: Logger) {
  return (m: RedLogMessage) => {
    if (m.level === 98) {
      const a = m as RedLogMessage & { event?: string; username?: string; user?: { username?: string } }
      const who = a.username ?? a.user?.username
      // Reads (`flows.get`, `nodes.list.get`…) come with every editor load: at debug.
      log[a.event?.endsWith('.get') ? 'debug' : 'info'](
        { audit: true, event: a.event, ...(who !== undefined ? { user: who } : {}), path: a.path, ip: a.ip },
        `node-red ${a.event ?? 'audit'}`,
      )
      return
    }
    const level = LEVELS[m.level] ?? 'debug'
    const fields = m.type !== undefined ? { node: { type: m.type, id: m.id, name: m.name } } : {}
    const msg = m.msg
    if (msg instanceof Error) log[level]({ ...fields, err: msg }, msg.message)
    else if (typeof msg === 'string') log[level](fields, msg.trim())
    else log[level]({ ...fields, detail: msg }, 'node-red')
  }
}

/** The pino level nearest the gateway's for Node-RED's own filter. */
function redLevel(log: Logger): string {
  const l = log.level
  return l === 'silent' ? 'off' : l
}

/**
 * Starts Node-RED in this process and listens on `config.host:config.port`. `password` is the
 * admin's, already read from its file or environment variable; only its bcrypt hash reaches Node-RED.
 */
export async function startNodeRed(opts: {
  readonly config: NodeRedConfig
  readonly password: string
  readonly log: Logger
  /** The node package; by default this repository's `dashboards/node-red/`. */
  readonly packageDir?: string
}): Promise<EmbeddedNodeRed> {
  const { config, password } = opts
  const log = opts.log.child({ component: 'node-red' })
  if (!config.admin || password === '') throw new Error('the Node-RED editor needs an admin login')
  if (started) throw new Error('Node-RED is already embedded in this process (one instance per process)')
  const packageDir = opts.packageDir ?? nodePackageDir()
  const { userDir, credentialSecret, flowsInstalled } = prepareUserDir(config, packageDir)
  if (flowsInstalled)
    log.info({ flows: config.flows, userDir }, 'flows installed into an empty Node-RED userDir')
  // Flows read `${NAME}` from the process environment; the configured values win over inherited ones.
  for (const [name, value] of Object.entries(config.env)) process.env[name] = value
  if (Object.keys(config.env).length > 0)
    log.info({ env: Object.keys(config.env) }, 'environment variables set for the flows')

  const req = redRequire()
  const RED = req('node-red') as Red
  const express = req('express') as () => ExpressApp
  const bcrypt = req('bcryptjs') as { hashSync(s: string, rounds: number): string }

  const app = express()
  const server = createServer((rq, rs) => app(rq, rs))
  const settings = {
    userDir,
    flowFile: FLOW_FILE,
    credentialSecret,
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    adminAuth: {
      type: 'credentials',
      users: [{ username: config.admin.username, password: bcrypt.hashSync(password, 10), permissions: '*' }],
    },
    editorTheme: {
      tours: false,
      projects: { enabled: false },
      page: { title: '哨兵 Shaobing · Node-RED' },
      header: { title: '哨兵 Shaobing · Node-RED' },
      // The editor would fetch https://catalogue.nodered.org/catalogue.json for the palette manager.
      palette: { catalogues: [] },
    },
    // The gateway runs on closed networks: no update checks, no npm installs from the editor
    // (they would run npm in the gateway's data directory).
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { palette: { allowInstall: false, allowUpdate: false, allowUpload: false } },
    logging: {
      shaobing: { level: redLevel(log), audit: true, metrics: false, handler: () => logHandler(log) },
    },
  }
  started = true
  try {
    RED.init(server, settings)
    app.use(settings.httpAdminRoot, RED.httpAdmin)
    app.use(settings.httpNodeRoot, RED.httpNode)
    await RED.start()
    await new Promise<void>((ok, fail) => {
      server.once('error', fail)
      server.listen(config.port, config.host, () => {
        server.off('error', fail)
        ok()
      })
    })
  } catch (e) {
    await RED.stop().catch(() => undefined)
    server.close()
    throw e
  }
  const port = (server.address() as AddressInfo).port
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`
  log.info({ url, userDir, admin: config.admin.username }, `Node-RED editor on ${url}`)
  let stopping: Promise<void> | undefined
  return {
    port,
    url,
    stop: () =>
      (stopping ??= (async () => {
        await RED.stop()
        await new Promise<void>((ok) => {
          server.close(() => ok())
          server.closeAllConnections()
        })
        log.info('Node-RED stopped')
      })()),
  }
}
