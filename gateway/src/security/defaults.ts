/**
 * Safe defaults: the settings that open the gateway up, each refused at start unless the site
 * accepts it by name in `security.acceptInsecure`. The demo (`shaobing demo`, loopback only) may
 * keep its own identities, operator tokens and operator accounts; a real deployment may not.
 */
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import type { GatewayConfigFile, INSECURE_SETTINGS } from '../config/schema.js'

export type InsecureSetting = (typeof INSECURE_SETTINGS)[number]

/** The demo configuration's operator tokens (gateway/config/demo/gateway.yaml), by SHA-256. */
const DEMO_TOKENS = ['demo-duty-token', 'demo-approver-token'].map((t) =>
  createHash('sha256').update(t).digest('hex'),
)

/** Whether a listen address reaches only this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

export function insecureSettings(
  config: GatewayConfigFile,
  ctx: { readonly demo: boolean; readonly demoDevices: number; readonly demoOperators?: readonly string[] },
): { setting: InsecureSetting; why: string }[] {
  const found: { setting: InsecureSetting; why: string }[] = []
  const { devices } = config.security
  if (!devices.authenticate)
    found.push({
      setting: 'security.devices.authenticate',
      why: 'false lets any MQTT client connect and publish readings and receipts for any device',
    })
  else if (devices.allowAnonymous)
    found.push({
      setting: 'security.devices.allowAnonymous',
      why: 'true lets MQTT clients connect without credentials (with the ACL file’s anonymous entries)',
    })
  if (!ctx.demo) {
    const ops = config.operators.filter((o) => DEMO_TOKENS.includes(o.tokenSha256)).map((o) => o.id)
    if (ops.length > 0)
      found.push({
        setting: 'demoCredentials',
        why: `operators ${ops.join(', ')} use the demo's published tokens; give them tokens of their own`,
      })
    if (ctx.demoDevices > 0)
      found.push({
        setting: 'demoCredentials',
        why: `${ctx.demoDevices} device identities were created by the demo with printed passwords; rotate or disable them (shaobing device rotate|disable)`,
      })
    const accounts = ctx.demoOperators ?? []
    if (accounts.length > 0)
      found.push({
        setting: 'demoCredentials',
        why: `operator accounts ${accounts.join(', ')} were created by the demo with printed passwords; change or disable them (shaobing operator passwd|disable)`,
      })
  }
  const plain = [
    ...(!isLoopback(config.mqtt.host) && (config.mqtt.port !== null || config.mqtt.wsPort !== null)
      ? [`mqtt.host ${config.mqtt.host} (plain MQTT/WebSocket)`]
      : []),
    ...(!isLoopback(config.http.host) && !config.http.tls
      ? [`http.host ${config.http.host} (plain HTTP)`]
      : []),
    ...(config.nodeRed.enabled && !isLoopback(config.nodeRed.host)
      ? [`nodeRed.host ${config.nodeRed.host} (the Node-RED editor over plain HTTP)`]
      : []),
  ]
  if (config.http.readsNeedViewer === false && !isLoopback(config.http.host))
    found.push({
      setting: 'http.readsNeedViewer',
      why: `false lets anyone who reaches http.host ${config.http.host} read warnings, stations, people's calls and the audit log without signing in`,
    })
  const { sl651 } = config
  if (sl651.port !== null && !isLoopback(sl651.host) && sl651.allowFrom.length === 0)
    found.push({
      setting: 'sl651OnNetwork',
      why: `sl651.host ${sl651.host} lets anyone who reaches it send SL 651 reports guarded by a 16-bit password in clear text; list the DTUs' private networks in sl651.allowFrom`,
    })
  if (plain.length > 0)
    found.push({
      setting: 'plainListenerOnNetwork',
      why: `${plain.join(' and ')} sends credentials and warnings unencrypted over the network; use TLS listeners`,
    })
  return found
}
