/**
 * Reads the gateway file, then everything it names (kinds, registry, rule catalogues), validates
 * each with zod, cross-checks references between them, and returns either a complete runtime
 * configuration or every issue found, located by file, line and path. Nothing is half-applied.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkCatalogues, levelsThatCannotFire, parseCatalogue, parseYaml } from '../../../rules/src/index.js'
import { formatFileIssue, type Catalogue, type FileIssue } from '../../../rules/src/index.js'
import { ErrorCode, GatewayError } from '../core/errors.js'
import { err, ok, type Result } from '../core/result.js'
import { KindsFile, RegistryFile, type Station } from '../registry/schema.js'
import { elementById } from '../contracts/sl651/elements.js'
import { Registry } from '../registry/registry.js'
import { GatewayConfigFile } from './schema.js'
import { PolicyFile } from '../dissemination/policy.js'
import { EMPTY_ACL, parseAcl, type AclFile } from '../security/acl.js'

/** Repository root (this file is gateway/src/config/load.ts, or its compiled twin under dist/). */
const ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  /[\\/]dist[\\/]/.test(import.meta.url) ? '../../../..' : '../../..',
)
export const DEFAULT_KINDS = join(ROOT, 'gateway/config/kinds.yaml')
export const DEFAULT_RULES = join(ROOT, 'rules/catalog')
export const DEMO_CONFIG = join(ROOT, 'gateway/config/demo/gateway.yaml')
export const DEMO_SCENARIO = join(ROOT, 'sensors-sim/scenarios/demo-flood.yaml')
/** The demo starts from an empty store each time, so its event times never collide with a previous run. */
export const DEMO_DATA_DIR = join(ROOT, 'data/demo')

/** Command-line overrides; they win over the file. */
export interface ConfigOverrides {
  readonly host?: string
  readonly mqttPort?: number
  readonly wsPort?: number | null
  readonly httpPort?: number
  /** Turns the SL 651 listener on (or moves it) on this port. */
  readonly sl651Port?: number
  readonly dataDir?: string
  /** A registry file to use instead of the one the config names. */
  readonly registry?: string
  readonly logLevel?: GatewayConfigFile['log']['level']
}

export interface LoadedConfig {
  readonly file: string
  readonly config: GatewayConfigFile
  readonly registry: Registry
  readonly catalogues: readonly { file: string; catalogue: Catalogue }[]
  /** Things that are valid but probably not meant (a station lacking a constant a rule uses). */
  readonly warnings: readonly string[]
  /** Rules that cannot fire at some stations at all (a reservoir rule at a river gauge): info only. */
  readonly notices: readonly string[]
  /** The dissemination policy file, if the configuration names one. */
  readonly policy?: PolicyFile
  /** The site's ACL file (empty without one). */
  readonly acl: AclFile
  /** The InfluxDB sink's token, read from its file or environment variable (never logged). */
  readonly influxToken?: string
  /** The embedded Node-RED admin's password, read from its file or environment variable (never logged). */
  readonly nodeRedPassword?: string
}

export function readText(file: string): Result<string, FileIssue[]> {
  try {
    return ok(readFileSync(file, 'utf8'))
  } catch (e) {
    return err([
      { file, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` },
    ])
  }
}

function loadYaml<S extends Parameters<typeof parseYaml>[2]>(file: string, schema: S) {
  const text = readText(file)
  return text.ok ? parseYaml(text.value, file, schema) : text
}

/** Catalogue files named directly, or every `*.yaml` in a named directory (sorted, for stable order). */
export function catalogueFiles(paths: readonly string[]): Result<string[], FileIssue[]> {
  const files: string[] = []
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory())
        files.push(
          ...readdirSync(p)
            .filter((f) => f.endsWith('.yaml') && !f.endsWith('.cases.yaml'))
            .sort()
            .map((f) => join(p, f)),
        )
      else files.push(p)
    } catch {
      return err([{ file: p, path: '', message: 'rule catalogue path does not exist' }])
    }
  }
  return ok(files)
}

/** Every catalogue under `paths`, validated one by one and then across files. */
export function loadCatalogues(
  paths: readonly string[],
): Result<{ file: string; catalogue: Catalogue }[], FileIssue[]> {
  const files = catalogueFiles(paths)
  if (!files.ok) return files
  const issues: FileIssue[] = []
  const catalogues: { file: string; catalogue: Catalogue }[] = []
  for (const f of files.value) {
    const text = readText(f)
    const cat = text.ok ? parseCatalogue(text.value, f) : text
    if (cat.ok) catalogues.push({ file: f, catalogue: cat.value })
    else issues.push(...cat.error)
  }
  issues.push(...checkCatalogues(catalogues))
  return issues.length > 0 ? err(issues) : ok(catalogues)
}

/** The configuration, or a GatewayError listing every issue (for starting, where a refusal ends the run). */
export function loadConfigOrThrow(configFile: string, overrides: ConfigOverrides = {}): LoadedConfig {
  const loaded = loadConfig(configFile, overrides)
  if (loaded.ok) return loaded.value
  throw new GatewayError(
    ErrorCode.CONFIG_INVALID,
    `configuration refused:\n${loaded.error.map((i) => '  ' + formatFileIssue(i)).join('\n')}`,
  )
}

export function loadConfig(
  configFile: string,
  overrides: ConfigOverrides = {},
): Result<LoadedConfig, FileIssue[]> {
  const file = resolve(configFile)
  const parsed = loadYaml(file, GatewayConfigFile)
  if (!parsed.ok) return parsed
  const base = dirname(file)
  const c = parsed.value
  const dataDir = overrides.dataDir !== undefined ? resolve(overrides.dataDir) : resolve(base, c.dataDir)
  const config: GatewayConfigFile = {
    ...c,
    mqtt: {
      ...c.mqtt,
      host: overrides.host ?? c.mqtt.host,
      port: overrides.mqttPort ?? c.mqtt.port,
      wsPort: overrides.wsPort !== undefined ? overrides.wsPort : c.mqtt.wsPort,
      ...(c.mqtt.tls ? { tls: { ...c.mqtt.tls, ...tlsPaths(base, c.mqtt.tls) } } : {}),
    },
    http: {
      ...c.http,
      host: overrides.host ?? c.http.host,
      port: overrides.httpPort ?? c.http.port,
      ...(c.http.tls ? { tls: { ...c.http.tls, ...tlsPaths(base, c.http.tls) } } : {}),
    },
    sl651: { ...c.sl651, port: overrides.sl651Port ?? c.sl651.port },
    dataDir,
    registry: overrides.registry !== undefined ? resolve(overrides.registry) : resolve(base, c.registry),
    kinds: c.kinds !== undefined ? resolve(base, c.kinds) : DEFAULT_KINDS,
    rules: c.rules !== undefined ? c.rules.map((r) => resolve(base, r)) : [DEFAULT_RULES],
    ...(c.dissemination !== undefined ? { dissemination: resolve(base, c.dissemination) } : {}),
    log: { level: overrides.logLevel ?? c.log.level },
    nodeRed: {
      ...c.nodeRed,
      userDir: c.nodeRed.userDir !== undefined ? resolve(base, c.nodeRed.userDir) : join(dataDir, 'node-red'),
      ...(c.nodeRed.flows !== undefined ? { flows: resolve(base, c.nodeRed.flows) } : {}),
    },
    security: {
      ...c.security,
      devices: {
        ...c.security.devices,
        ...(c.security.devices.aclFile !== undefined
          ? { aclFile: resolve(base, c.security.devices.aclFile) }
          : {}),
      },
    },
  }

  const issues: FileIssue[] = []
  const kinds = loadYaml(config.kinds!, KindsFile)
  if (!kinds.ok) issues.push(...kinds.error)
  const registryFile = loadYaml(config.registry, RegistryFile)
  if (!registryFile.ok) issues.push(...registryFile.error)
  const catalogues = loadCatalogues(config.rules!)
  if (!catalogues.ok) issues.push(...catalogues.error)
  const policy = config.dissemination !== undefined ? loadYaml(config.dissemination, PolicyFile) : undefined
  if (policy && !policy.ok) issues.push(...policy.error)
  const aclFile = config.security.devices.aclFile
  const aclText = aclFile !== undefined ? readText(aclFile) : undefined
  const acl = aclText?.ok ? parseAcl(aclText.value, aclFile!) : aclText
  if (acl && !acl.ok) issues.push(...acl.error)
  const influxToken = readSecret(config.sinks.influx?.token, 'sinks.influx.token', 'token', base, file)
  if (!influxToken.ok) issues.push(...influxToken.error)
  const admin = config.nodeRed.enabled ? config.nodeRed.admin : undefined
  const nodeRedPassword = readSecret(admin?.password, 'nodeRed.admin.password', 'password', base, file)
  if (!nodeRedPassword.ok) issues.push(...nodeRedPassword.error)
  const flows = config.nodeRed.enabled ? config.nodeRed.flows : undefined
  if (flows !== undefined && !existsSync(flows))
    issues.push({ file, path: 'nodeRed.flows', message: `no flow file ${flows}` })
  if (!kinds.ok || !registryFile.ok || !catalogues.ok || issues.length > 0) return err(issues)

  // Cross-references between files.
  const known = kinds.value.kinds
  registryFile.value.stations.forEach((s, i) =>
    s.sensors.forEach((sensor, j) => {
      if (!(sensor.kind in known))
        issues.push({
          file: config.registry,
          path: `stations.${i}.sensors.${j}.kind`,
          message: `unknown sensor kind ${sensor.kind} (known: ${Object.keys(known).join(', ')})`,
        })
    }),
  )
  issues.push(...sl651Issues(registryFile.value.stations, known, config.registry))
  const registry = new Registry(registryFile.value, known)
  const warnings: string[] = []
  const notices: string[] = []
  for (const { file: f, catalogue } of catalogues.value)
    catalogue.rules.forEach((rule, i) => {
      for (const kind of rule.kinds)
        if (!(kind in known))
          issues.push({ file: f, path: `rules.${i}.kinds`, message: `unknown sensor kind ${kind}` })
      // One line per rule (and level), not per station: a county has thousands.
      const never: string[] = []
      const partial = new Map<string, string[]>()
      for (const s of registryFile.value.stations) {
        if (!s.sensors.some((x) => rule.kinds.includes(x.kind))) continue
        const dead = levelsThatCannotFire(rule, registry.stationInfo(s.id)?.params ?? {})
        if (dead.length === 0) continue
        if (dead.length === rule.levels.length) never.push(s.id)
        else partial.set(dead.join(', '), [...(partial.get(dead.join(', ')) ?? []), s.id])
      }
      const some = (ids: string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`
      if (never.length > 0)
        notices.push(
          `rule ${rule.id} never fires at ${never.length} station(s) that set none of its constants: ${some(never)}`,
        )
      for (const [levels, ids] of partial)
        warnings.push(
          `${ids.length} station(s) lack the constants for level(s) ${levels} of rule ${rule.id}: ${some(ids)}`,
        )
    })
  const outside = registry.outsideBoundaries()
  if (outside.length > 0)
    warnings.push(
      `${outside.length} station(s) or terminal(s) lie outside their region's boundary: ${outside
        .slice(0, 5)
        .map((o) => `${o.what} ${o.id} (${o.region})`)
        .join(', ')}${outside.length > 5 ? ', …' : ''}`,
    )
  if (issues.length > 0) return err(issues)
  return ok({
    file,
    config,
    registry,
    catalogues: catalogues.value,
    ...(policy?.ok ? { policy: policy.value } : {}),
    acl: acl?.ok ? acl.value : EMPTY_ACL,
    ...(influxToken.ok && influxToken.value !== undefined ? { influxToken: influxToken.value } : {}),
    ...(nodeRedPassword.ok && nodeRedPassword.value !== undefined
      ? { nodeRedPassword: nodeRedPassword.value }
      : {}),
    warnings,
    notices,
  })
}

/** A TLS listener's files, from the configuration's folder. */
function tlsPaths(base: string, t: { cert: string; key: string; ca?: string | undefined }) {
  return {
    cert: resolve(base, t.cert),
    key: resolve(base, t.key),
    ...(t.ca !== undefined ? { ca: resolve(base, t.ca) } : {}),
  }
}

/**
 * A secret from its environment variable or file (relative to the configuration): the InfluxDB
 * sink's token, the Node-RED admin's password. Missing or empty is refused; the value is never in an issue.
 */
function readSecret(
  ref: { env: string } | { file: string } | undefined,
  path: string,
  what: string,
  base: string,
  file: string,
): Result<string | undefined, FileIssue[]> {
  if (ref === undefined) return ok(undefined)
  if ('env' in ref) {
    const v = process.env[ref.env]
    if (v === undefined || v.trim() === '')
      return err([
        {
          file,
          path: `${path}.env`,
          message: `environment variable ${ref.env} is ${v === undefined ? 'not set' : 'empty'}`,
        },
      ])
    return ok(v.trim())
  }
  const text = readText(resolve(base, ref.file))
  if (!text.ok) return text
  const v = text.value.trim()
  if (v === '')
    return err([{ file: resolve(base, ref.file), path: '', message: `the ${what} file is empty` }])
  return ok(v)
}

/** An SL 651 mapping names elements the standard defines, the station's own sensors, their kinds' quantities. */
function sl651Issues(stations: readonly Station[], kinds: KindsFile['kinds'], file: string): FileIssue[] {
  const issues: FileIssue[] = []
  const addresses = new Map<string, string>()
  stations.forEach((s, i) => {
    if (!s.sl651) return
    const at = `stations.${i}.sl651`
    const other = addresses.get(s.sl651.address)
    if (other !== undefined)
      issues.push({
        file,
        path: `${at}.address`,
        message: `address ${s.sl651.address} is also station ${other}'s`,
      })
    addresses.set(s.sl651.address, s.id)
    const seen = new Set<string>()
    s.sl651.elements.forEach((m, j) => {
      const e = elementById(m.element)
      const path = `${at}.elements.${j}`
      if (!e || e.form === 'raw' || e.form === 'step')
        issues.push({
          file,
          path: `${path}.element`,
          message: `${m.element} is not an SL 651-2014 element with values (table C.1: Z, ZU, PJ, PT, DRP, DRZ1, Q, VT…)`,
        })
      if (seen.has(m.element))
        issues.push({ file, path: `${path}.element`, message: `element ${m.element} is mapped twice` })
      seen.add(m.element)
      const sensor = s.sensors.find((x) => x.id === m.sensor)
      if (!sensor) {
        issues.push({
          file,
          path: `${path}.sensor`,
          message: `${m.sensor} is not a sensor of station ${s.id} (its sensors: ${s.sensors.map((x) => x.id).join(', ')})`,
        })
        return
      }
      const kind = kinds[sensor.kind]
      if (kind && !(m.quantity in kind.quantities))
        issues.push({
          file,
          path: `${path}.quantity`,
          message: `kind ${sensor.kind} declares no quantity ${m.quantity} (declared: ${Object.keys(kind.quantities).join(', ')})`,
        })
    })
  })
  return issues
}
