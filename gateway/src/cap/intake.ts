/**
 * CAP 1.2 intake: an upstream alert (the meteorological bureau's rainstorm signal, say) is parsed,
 * checked against the CAP 1.2 structure and enumerations, and mapped to what the gateway relays:
 * which of its regions, which hazard and level, what text. Pure: XML in, a relay plan or the
 * reasons it was refused out.
 */
import { XMLParser } from 'fast-xml-parser'
import { z } from 'zod'
import { codeOfPrefix, type Level } from '../../../rules/src/index.js'
import { CAP_NS, HAZARD_OF_CODE } from './cap.js'

const CapTime = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/, 'CAP times are YYYY-MM-DDThh:mm:ss±hh:mm')
const Text = z.coerce.string()
const many = <T extends z.ZodType>(t: T) =>
  z.preprocess((x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]), z.array(t))

const ValuePair = z.object({ valueName: Text, value: Text })
const Area = z.object({ areaDesc: Text, geocode: many(ValuePair) })
const Info = z.object({
  language: Text.default('en-US'),
  category: many(
    z.enum([
      'Geo',
      'Met',
      'Safety',
      'Security',
      'Rescue',
      'Fire',
      'Health',
      'Env',
      'Transport',
      'Infra',
      'CBRNE',
      'Other',
    ]),
  ).refine((c) => c.length > 0, 'at least one category'),
  event: Text,
  urgency: z.enum(['Immediate', 'Expected', 'Future', 'Past', 'Unknown']),
  severity: z.enum(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown']),
  certainty: z.enum(['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown']),
  eventCode: many(ValuePair),
  expires: CapTime.optional(),
  senderName: Text.optional(),
  headline: Text.optional(),
  description: Text.optional(),
  instruction: Text.optional(),
  area: many(Area),
})
export const CapAlert = z.object({
  identifier: Text.refine((x) => !/[\s,<&]/.test(x), 'identifier may not hold spaces, commas, < or &'),
  sender: Text.refine((x) => !/[\s,<&]/.test(x), 'sender may not hold spaces, commas, < or &'),
  sent: CapTime,
  status: z.enum(['Actual', 'Exercise', 'System', 'Test', 'Draft']),
  msgType: z.enum(['Alert', 'Update', 'Cancel', 'Ack', 'Error']),
  scope: z.enum(['Public', 'Restricted', 'Private']),
  references: Text.optional(),
  info: many(Info),
})
export type CapAlert = z.infer<typeof CapAlert>

const LEVEL_OF_SEVERITY: Record<string, Level | undefined> = {
  Extreme: 'red',
  Severe: 'orange',
  Moderate: 'yellow',
  Minor: 'blue',
}

/** Hazards by the Chinese event name, for alerts without a known event code. */
const HAZARD_OF_EVENT: readonly [RegExp, string][] = [
  [/暴雨/, 'rainstorm'],
  [/山洪/, 'flash_flood'],
  [/洪水/, 'flood'],
  [/大风/, 'gale'],
  [/暴雪/, 'snowstorm'],
  [/寒潮/, 'cold_wave'],
  [/高温/, 'high_temperature'],
  [/大雾/, 'fog'],
  [/霾/, 'haze'],
  [/霜冻/, 'frost'],
  [/台风/, 'typhoon'],
  [/地震/, 'earthquake'],
]

export type Relay =
  | {
      kind: 'issue' | 'update' | 'cancel'
      /** `sender,identifier` of this alert, and those it references. */
      ref: string
      references: string[]
      status: 'Actual' | 'Exercise' | 'Test'
      hazard: string
      level: Level | null
      /** GB/T 2260 codes from the alert's areas, as 12 digits. */
      codes: string[]
      text: string
    }
  | { kind: 'refused'; reasons: string[] }

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
})
/** Keeps prefixes and attributes, to read the root element's namespace. */
const rawParser = new XMLParser({ ignoreAttributes: false, removeNSPrefix: false, parseTagValue: false })

/** Parses and maps one CAP 1.2 alert. */
export function readCap(xml: string): Relay {
  let doc: Record<string, unknown>
  let raw: Record<string, unknown>
  try {
    doc = parser.parse(xml, true) as Record<string, unknown>
    raw = rawParser.parse(xml) as Record<string, unknown>
  } catch (e) {
    return { kind: 'refused', reasons: [`not well-formed XML: ${(e as Error).message}`] }
  }
  const root = doc.alert as Record<string, unknown> | undefined
  if (!root) return { kind: 'refused', reasons: ['no <alert> element'] }
  // The root's namespace, whether declared as the default or with a prefix (<cap:alert xmlns:cap=…>).
  const rawRoot = Object.entries(raw).find(([k]) => k === 'alert' || k.endsWith(':alert'))
  const prefix = rawRoot?.[0].includes(':') ? rawRoot[0].split(':')[0] : undefined
  const attrs = (rawRoot?.[1] ?? {}) as Record<string, unknown>
  const ns = prefix ? attrs[`@_xmlns:${prefix}`] : attrs['@_xmlns']
  if (ns !== CAP_NS) return { kind: 'refused', reasons: [`namespace must be ${CAP_NS}`] }
  const parsed = CapAlert.safeParse(root)
  if (!parsed.success)
    return {
      kind: 'refused',
      reasons: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'alert'}: ${i.message}`),
    }
  const a = parsed.data
  if (a.status === 'System' || a.status === 'Draft')
    return { kind: 'refused', reasons: [`status ${a.status} is not relayed to the public`] }
  if (a.msgType === 'Ack' || a.msgType === 'Error')
    return { kind: 'refused', reasons: [`msgType ${a.msgType} is not relayed`] }
  if (a.scope !== 'Public')
    return { kind: 'refused', reasons: [`scope ${a.scope} is not relayed to the public`] }
  const info = a.info.find((i) => /^zh/i.test(i.language)) ?? a.info[0]
  if (!info) return { kind: 'refused', reasons: ['info: at least one <info> is needed'] }
  const level = LEVEL_OF_SEVERITY[info.severity] ?? null
  if (a.msgType !== 'Cancel' && level === null)
    return { kind: 'refused', reasons: [`info.severity ${info.severity} maps to no warning level`] }
  const code = info.eventCode.map((c) => HAZARD_OF_CODE[c.value]).find((h) => h !== undefined)
  const hazard = code ?? HAZARD_OF_EVENT.find(([re]) => re.test(info.event))?.[1] ?? 'upstream'
  const codes = info.area
    .flatMap((ar) => ar.geocode)
    .map((g) => g.value.trim())
    .filter((v) => /^\d{6}(\d{3}(\d{3})?)?$/.test(v))
    .map(codeOfPrefix)
  const references = (a.references ?? '')
    .split(/\s+/)
    .filter((r) => r !== '')
    .map((r) => r.split(',').slice(0, 2).join(','))
  const text = [info.headline, info.description, info.instruction]
    .filter((x) => x !== undefined && x !== '')
    .join('。')
  return {
    kind: a.msgType === 'Alert' ? 'issue' : a.msgType === 'Update' ? 'update' : 'cancel',
    ref: `${a.sender},${a.identifier}`,
    references,
    status: a.status,
    hazard,
    level,
    codes,
    text: text || info.event,
  }
}
