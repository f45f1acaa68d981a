/**
 * The Mandarin text a loudspeaker reads and an SMS carries. Short, in the order a listener needs:
 * where, what, how severe, the measured fact, what to do.
 */
import {
  isAlarmStage,
  rank,
  type ConditionResult,
  type Explanation,
  type Level,
} from '../../../rules/src/index.js'
import type { WarningAction } from './repo.js'

export const LEVEL_ZH: Record<Level, string> = {
  blue: '蓝色',
  yellow: '黄色',
  orange: '橙色',
  red: '红色',
  level_1: '一级',
  level_2: '二级',
}

/** "黄色预警" for the public colours, "一级报警" for enterprise alarm stages. */
const label = (level: Level): string => `${LEVEL_ZH[level]}${isAlarmStage(level) ? '报警' : '预警'}`

const ADVICE_ZH: Record<Level, string> = {
  blue: '请注意防范。',
  yellow: '请做好防范准备。',
  orange: '请做好转移准备，听从指挥。',
  red: '请立即采取防范措施，听从指挥转移到安全地带。',
  level_1: '请立即排查泄漏源，做好处置准备。',
  level_2: '请立即撤离危险区域，启动应急处置。',
}

/** Spoken names of hazards; a hazard not listed is read by its rule's name. */
const HAZARD_ZH: Record<string, string> = {
  flood: '洪水',
  rainstorm: '暴雨',
  flash_flood: '山洪',
  earthquake: '地震',
  gas_leak: '可燃气体泄漏',
  dust_explosion: '粉尘爆炸风险',
}

/** Spoken names of quantities and station constants; unknown ones are read by their id. */
const QUANTITY_ZH: Record<string, { name: string; unit: string }> = {
  stage_m: { name: '水位', unit: '米' },
  rain_mm: { name: '降雨量', unit: '毫米' },
  discharge_m3s: { name: '流量', unit: '立方米每秒' },
  pga_gal: { name: '水平峰值加速度', unit: '伽' },
  lel_pct: { name: '可燃气体浓度', unit: '%LEL' },
  h2s_ppm: { name: '硫化氢浓度', unit: 'ppm' },
  co_ppm: { name: '一氧化碳浓度', unit: 'ppm' },
  nh3_ppm: { name: '氨气浓度', unit: 'ppm' },
  cl2_ppm: { name: '氯气浓度', unit: 'ppm' },
  o2_pct_vol: { name: '氧气浓度', unit: '%' },
}
const REF_ZH: Record<string, string> = {
  warning_level: '警戒水位',
  guaranteed_level: '保证水位',
  historical_max_level: '历史最高水位',
  flood_limit_level: '汛限水位',
}
const WINDOW_ZH: Record<string, string> = {
  '1h': '1小时',
  '3h': '3小时',
  '6h': '6小时',
  '12h': '12小时',
  '24h': '24小时',
}

const fmt = (x: number): string => (Math.round(x * 100) / 100).toString()

function describe(c: ConditionResult): string {
  const q = QUANTITY_ZH[c.quantity] ?? { name: c.quantity, unit: '' }
  const span = c.window !== undefined ? (WINDOW_ZH[c.window] ?? c.window) : ''
  const what = c.agg === 'sum' ? `${span}${q.name}` : c.agg === 'last' ? q.name : `${span}${c.agg} ${q.name}`
  const observed = c.observed === null ? '无数据' : `${fmt(c.observed)}${q.unit}`
  if (c.threshold === null) return `${what}${observed}`
  const rising = c.op.startsWith('>')
  const refName = c.ref !== undefined ? (REF_ZH[c.ref] ?? c.ref) : undefined
  // A threshold set just below a reference level reads as "approaching" it (接近警戒水位).
  if (refName !== undefined && c.refValue !== undefined && rising && c.threshold < c.refValue && c.held)
    return `${what}${observed}，接近${refName}${fmt(c.refValue)}${q.unit}`
  const bound = `${refName ?? ''}${fmt(c.refValue ?? c.threshold)}${q.unit}`
  const verb = rising ? (c.held ? '达到或超过' : '低于') : c.held ? '低于' : '高于'
  return `${what}${observed}，${verb}${bound}`
}

export interface TextInput {
  readonly action: WarningAction
  readonly level: Level | null
  readonly prevLevel: Level | null
  readonly place: string
  readonly station: string
  readonly hazard: string
  readonly ruleName: string
  readonly explanation: Explanation
}

export function warningText(t: TextInput): string {
  const what = HAZARD_ZH[t.hazard] ?? t.ruleName
  // Going up, the conditions that now hold; going down, those of the level left, which no longer do.
  const facts = t.explanation.conditions
    .filter((c) => c.held === t.explanation.held)
    .slice(0, 2)
    .map(describe)
    .join('；')
  if (t.action === 'lift' || t.level === null)
    return `【${t.prevLevel && isAlarmStage(t.prevLevel) ? '报警' : '预警'}解除】${t.place}：${t.station}${what}${t.prevLevel ? label(t.prevLevel) : '预警'}解除。${facts}。`
  const head =
    t.action === 'issue'
      ? `【${label(t.level)}】`
      : `【${isAlarmStage(t.level) ? '报警' : '预警'}${t.prevLevel && rank(t.level) > rank(t.prevLevel) ? '升级' : '降级'}为${label(t.level)}】`
  return `${head}${t.place}：${t.station}${what}${label(t.level)}。${facts}。${ADVICE_ZH[t.level]}`
}
