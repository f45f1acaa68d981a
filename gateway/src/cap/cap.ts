/**
 * OASIS Common Alerting Protocol 1.2 out of the gateway: each released warning version as a CAP
 * alert (issue → Alert, update → Update, lift → Cancel, with references to the earlier versions),
 * and an Atom feed of the active warnings, for higher platforms (the national release system reads
 * CAP; GB/T 35965.1-2018 maps the colours to CAP severity).
 *
 * Element order follows the CAP 1.2 schema's sequences; times are `YYYY-MM-DDThh:mm:ss+08:00`,
 * as the schema's pattern requires (no `Z`, no fractions).
 */
import { XMLBuilder } from 'fast-xml-parser'
import { isAlarmStage, type Level } from '../../../rules/src/index.js'
import type { VersionRow, WarningRow } from '../warnings/model.js'

export const CAP_NS = 'urn:oasis:names:tc:emergency:cap:1.2'

export interface CapSender {
  /** CAP `sender`: a unique id of this gateway (e.g. `shaobing.511823@example.org`). */
  readonly sender: string
  /** CAP `senderName`: the agency, as the public reads it. */
  readonly senderName: string
}

/** Colour → CAP severity (thresholds.yaml msg.cap_mapping); alarm stages: 二级 Severe, 一级 Moderate. */
export const SEVERITY: Record<Level, 'Extreme' | 'Severe' | 'Moderate' | 'Minor'> = {
  red: 'Extreme',
  orange: 'Severe',
  yellow: 'Moderate',
  blue: 'Minor',
  level_2: 'Severe',
  level_1: 'Moderate',
}

/** Hazard → CAP category, Chinese event name, and national event type code where known. */
const HAZARDS: Record<string, { category: string; event: string; code?: string }> = {
  rainstorm: { category: 'Met', event: '暴雨', code: '11B03' },
  gale: { category: 'Met', event: '大风', code: '11B06' },
  snowstorm: { category: 'Met', event: '暴雪', code: '11B04' },
  cold_wave: { category: 'Met', event: '寒潮', code: '11B05' },
  high_temperature: { category: 'Met', event: '高温', code: '11B09' },
  fog: { category: 'Met', event: '大雾', code: '11B17' },
  haze: { category: 'Met', event: '霾', code: '11B19' },
  frost: { category: 'Met', event: '霜冻', code: '11B16' },
  typhoon: { category: 'Met', event: '台风', code: '11B01' },
  flood: { category: 'Met', event: '洪水', code: '11A01' },
  flash_flood: { category: 'Met', event: '山洪' },
  reservoir: { category: 'Met', event: '水库水位' },
  low_water: { category: 'Met', event: '枯水' },
  earthquake: { category: 'Geo', event: '地震', code: '11C01' },
  strong_motion: { category: 'Geo', event: '强震动' },
  gas_leak: { category: 'CBRNE', event: '可燃气体泄漏' },
  toxic_gas: { category: 'CBRNE', event: '有毒气体泄漏' },
  oxygen: { category: 'Safety', event: '氧气浓度异常' },
  dust_explosion: { category: 'Safety', event: '粉尘爆炸风险' },
  tank_process: { category: 'Safety', event: '储罐工艺参数异常' },
}

/** CAP event type code → hazard, for intake. */
export const HAZARD_OF_CODE: Record<string, string> = Object.fromEntries(
  Object.entries(HAZARDS).flatMap(([h, v]) => (v.code ? [[v.code, h]] : [])),
)

const LEVEL_ZH: Record<Level, string> = {
  blue: '蓝色预警',
  yellow: '黄色预警',
  orange: '橙色预警',
  red: '红色预警',
  level_1: '一级报警',
  level_2: '二级报警',
}

/** CAP dateTime in Beijing time: 2026-07-15T08:00:00+08:00. */
export function capTime(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + 8 * 3_600_000)
  return `${d.toISOString().slice(0, 19)}+08:00`
}

/** CAP identifiers may not hold spaces, commas or the XML-restricted < and &. */
export const capIdentifier = (sender: CapSender, w: Pick<WarningRow, 'id'>, version: number): string =>
  `${sender.sender}.${w.id}.v${version}`.replace(/[\s,<&]/g, '_')

const responseType = (hazard: string, level: Level): string => {
  if (isAlarmStage(level)) return level === 'level_2' ? 'Evacuate' : 'Execute'
  if (level === 'red') return hazard === 'earthquake' ? 'Shelter' : 'Evacuate'
  if (level === 'orange') return 'Prepare'
  return 'Monitor'
}

export interface CapContext {
  readonly sender: CapSender
  /** Place names of the warning's targets, in order. */
  readonly areaDesc: readonly string[]
  /** Earlier released versions, oldest first (the references of an Update or Cancel). */
  readonly earlier: readonly VersionRow[]
  /** When the version stops being valid. */
  readonly expiresAt: number
  /** Actual for real warnings; Exercise or Test for drills. */
  readonly status: 'Actual' | 'Exercise' | 'Test'
}

/** The CAP 1.2 alert of one released version. */
export function capAlert(w: WarningRow, v: VersionRow, ctx: CapContext): string {
  const level = (v.level ?? v.prevLevel)!
  const known = HAZARDS[w.hazard]
  const event = known?.event ?? w.hazard
  const sent = capTime(v.releasedAt ?? v.createdAt)
  const msgType = v.action === 'issue' ? 'Alert' : v.action === 'update' ? 'Update' : 'Cancel'
  const references = ctx.earlier
    .map(
      (e) =>
        `${ctx.sender.sender},${capIdentifier(ctx.sender, w, e.version)},${capTime(e.releasedAt ?? e.createdAt)}`,
    )
    .join(' ')
  const lift = v.action === 'lift'
  const info = {
    language: 'zh-CN',
    category: known?.category ?? 'Other',
    event: `${event}${isAlarmStage(level) ? '报警' : '预警'}`,
    responseType: lift ? 'AllClear' : responseType(w.hazard, level),
    urgency: lift ? 'Past' : rankUrgency(level),
    severity: SEVERITY[level],
    certainty: w.origin === 'manual' ? 'Likely' : 'Observed',
    ...(known?.code ? { eventCode: { valueName: 'CN-EventType', value: known.code } } : {}),
    effective: sent,
    expires: capTime(ctx.expiresAt),
    senderName: ctx.sender.senderName,
    headline: `${ctx.areaDesc.join('、')}${event}${LEVEL_ZH[level]}${lift ? '解除' : ''}`,
    description: v.text,
    parameter: [
      { valueName: 'shaobing:level', value: level },
      { valueName: 'shaobing:report', value: lift ? '终报' : v.action === 'issue' ? '首报' : '续报' },
      { valueName: 'shaobing:verified', value: String(v.verified) },
      { valueName: 'shaobing:key', value: w.key },
    ],
    area: {
      areaDesc: ctx.areaDesc.join('、'),
      geocode: w.targets.map((t) => ({ valueName: 'GB/T 2260', value: t })),
    },
  }
  const alert = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    alert: {
      '@_xmlns': CAP_NS,
      identifier: capIdentifier(ctx.sender, w, v.version),
      sender: ctx.sender.sender,
      sent,
      status: ctx.status,
      msgType,
      scope: 'Public',
      ...(references ? { references } : {}),
      info,
    },
  }
  return builder.build(alert) as string
}

const rankUrgency = (level: Level): string =>
  level === 'red' || level === 'orange' || level === 'level_2' ? 'Immediate' : 'Expected'

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  suppressEmptyNode: true,
})

export interface FeedEntry {
  readonly warning: WarningRow
  readonly version: VersionRow
  readonly headline: string
  readonly capUrl: string
}

/** Atom 1.0 feed of the active warnings, each entry linking to its latest CAP alert. */
export function atomFeed(
  entries: readonly FeedEntry[],
  self: string,
  sender: CapSender,
  now: number,
): string {
  const iso = (ms: number) => new Date(ms).toISOString()
  const feed = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    feed: {
      '@_xmlns': 'http://www.w3.org/2005/Atom',
      id: `urn:shaobing:${sender.sender}:warnings`,
      title: `${sender.senderName} 生效预警`,
      updated: iso(Math.max(now, ...entries.map((e) => e.version.releasedAt ?? e.version.createdAt))),
      author: { name: sender.senderName },
      link: { '@_rel': 'self', '@_href': self, '@_type': 'application/atom+xml' },
      entry: entries.map((e) => ({
        id: `urn:shaobing:${capIdentifier(sender, e.warning, e.version.version)}`,
        title: e.headline,
        updated: iso(e.version.releasedAt ?? e.version.createdAt),
        summary: e.version.text,
        link: { '@_rel': 'alternate', '@_type': 'application/cap+xml', '@_href': e.capUrl },
        category: { '@_term': e.warning.hazard },
      })),
    },
  }
  return builder.build(feed) as string
}
