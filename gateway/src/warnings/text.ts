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
import type { WarningAction } from './model.js'

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
  gale: '大风',
  snowstorm: '暴雪',
  cold_wave: '寒潮',
  high_temperature: '高温',
  fog: '大雾',
  haze: '霾',
  frost: '霜冻',
  reservoir: '水库水位',
  low_water: '枯水',
  strong_motion: '强震动',
  toxic_gas: '有毒气体',
  oxygen: '氧气浓度异常',
  tank_process: '储罐工艺参数异常',
}

/** Advice that differs by hazard: 山洪 orange and red are 准备转移 and 立即转移. */
const HAZARD_ADVICE_ZH: Record<string, Partial<Record<Level, string>>> = {
  flash_flood: {
    orange: '请危险区群众做好转移准备（准备转移）。',
    red: '请危险区群众立即转移到安全地带（立即转移）。',
  },
  earthquake: {
    blue: '请保持冷静，注意避险。',
    yellow: '请立即就近避险，远离门窗和高大物体。',
    orange: '请立即就近避险，震后有序撤离到空旷地带。',
    red: '请立即就近避险，震后有序撤离到空旷地带。',
  },
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
  ch4_lel_pct: { name: '甲烷浓度', unit: '%LEL' },
  h2s_mgm3: { name: '硫化氢浓度', unit: '毫克每立方米' },
  co_mgm3: { name: '一氧化碳浓度', unit: '毫克每立方米' },
  nh3_mgm3: { name: '氨气浓度', unit: '毫克每立方米' },
  cl2_mgm3: { name: '氯气浓度', unit: '毫克每立方米' },
  so2_mgm3: { name: '二氧化硫浓度', unit: '毫克每立方米' },
  no2_mgm3: { name: '二氧化氮浓度', unit: '毫克每立方米' },
  hcn_mgm3: { name: '氰化氢浓度', unit: '毫克每立方米' },
  hcl_mgm3: { name: '氯化氢浓度', unit: '毫克每立方米' },
  wind_force: { name: '平均风力', unit: '级' },
  gust_force: { name: '阵风', unit: '级' },
  air_temp_c: { name: '气温', unit: '摄氏度' },
  ground_temp_c: { name: '地面温度', unit: '摄氏度' },
  visibility_m: { name: '能见度', unit: '米' },
  humidity_pct: { name: '相对湿度', unit: '%' },
  snow_mm: { name: '降雪量', unit: '毫米' },
  intensity: { name: '仪器地震烈度', unit: '度' },
  p_trigger: { name: '地震波触发', unit: '' },
  collector_temp_c: { name: '除尘器灰斗温度', unit: '摄氏度' },
  diff_pressure_pa: { name: '除尘器压差', unit: '帕' },
  dust_mec_pct: { name: '粉尘浓度', unit: '%MEC' },
}
const OF_ZH: Record<string, string> = { max: '最高', min: '最低', sum: '累计', mean: '平均' }
const REF_ZH: Record<string, string> = {
  warning_level: '警戒水位',
  guaranteed_level: '保证水位',
  historical_max_level: '历史最高水位',
  flood_limit_level: '汛限水位',
  design_flood_level: '设计洪水位',
  check_flood_level: '校核洪水位',
  warning_discharge: '警戒流量',
  guaranteed_discharge: '保证流量',
  historical_max_discharge: '历史最大流量',
  drought_warning_level: '旱警水位',
  seasonal_historical_min: '历史同期最低水位',
  historical_min_level: '历史最低水位',
  village_prepare_rain_1h_mm: '准备转移临界雨量',
  village_prepare_rain_3h_mm: '准备转移临界雨量',
  village_prepare_rain_6h_mm: '准备转移临界雨量',
  village_immediate_rain_1h_mm: '立即转移临界雨量',
  village_immediate_rain_3h_mm: '立即转移临界雨量',
  village_immediate_rain_6h_mm: '立即转移临界雨量',
  village_prepare_level_m: '准备转移水位',
  village_immediate_level_m: '立即转移水位',
  site_high_temp: '温度设定值',
}
const WINDOW_ZH: Record<string, string> = {
  '10m': '10分钟',
  '30m': '30分钟',
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
  const of = OF_ZH[c.of ?? ''] ?? ''
  if (c.agg === 'consecutive_days')
    return `连续${c.observed ?? 0}天日${of}${q.name}${c.op.startsWith('>') ? '达到' : '低于'}${fmt(c.threshold ?? 0)}${q.unit}`
  const what =
    c.agg === 'sum' || c.agg === 'last'
      ? `${span}${q.name}`
      : c.agg === 'max' || c.agg === 'min'
        ? `${span}${OF_ZH[c.agg]}${q.name}`
        : c.agg === 'daily'
          ? `今日${of}${q.name}`
          : c.agg === 'daily_change'
            ? `日${of}${q.name}${(c.days ?? 1) * 24}小时变化`
            : c.agg === 'rate_per_h'
              ? `${q.name}每小时上涨`
              : `${span}${q.name}${c.agg === 'delta' ? '变化' : c.agg === 'mean' ? '平均' : '次数'}`
  const observed = c.observed === null ? '无数据' : `${fmt(c.observed)}${q.unit}`
  if (c.threshold === null) return `${what}${observed}`
  const rising = c.op.startsWith('>')
  // Constants with a spoken name are read by it (警戒水位); others just by their value.
  const refName = c.ref !== undefined ? REF_ZH[c.ref] : undefined
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
    return `【${t.prevLevel && isAlarmStage(t.prevLevel) ? '报警' : '预警'}解除】${t.place}：${t.station}${what}${t.prevLevel ? label(t.prevLevel) : '预警'}解除。${facts === '' ? '' : `${facts}。`}`
  const head =
    t.action === 'issue'
      ? `【${label(t.level)}】`
      : `【${isAlarmStage(t.level) ? '报警' : '预警'}${t.prevLevel && rank(t.level) > rank(t.prevLevel) ? '升级' : '降级'}为${label(t.level)}】`
  const advice = HAZARD_ADVICE_ZH[t.hazard]?.[t.level] ?? ADVICE_ZH[t.level]
  return `${head}${t.place}：${t.station}${what}${label(t.level)}。${facts}。${advice}`
}

/** Text of a warning issued by hand: where, what, how severe, what to do; or its lifting. */
export function manualText(
  hazard: string,
  level: Level | null,
  places: readonly string[],
  prevLevel: Level | null = null,
): string {
  const what = HAZARD_ZH[hazard] ?? hazard
  const where = places.join('、')
  if (level === null) return `【预警解除】${where}：${what}${prevLevel ? label(prevLevel) : '预警'}解除。`
  const advice = HAZARD_ADVICE_ZH[hazard]?.[level] ?? ADVICE_ZH[level]
  return `【${label(level)}】${where}：${what}${label(level)}。${advice}`
}

/**
 * Minority-language templates (seeds: 分人群, the regions' own languages). Uyghur (ug, Arabic
 * script): level, hazard and advice; place names come from the registry's `names.ug` where given.
 * Returns undefined for a language without templates (the terminal then reads Mandarin).
 */
const UG = {
  level: {
    blue: 'كۆك',
    yellow: 'سېرىق',
    orange: 'ئاپېلسىن',
    red: 'قىزىل',
    level_1: '1-دەرىجىلىك',
    level_2: '2-دەرىجىلىك',
  } as Record<Level, string>,
  hazard: {
    flood: 'كەلكۈن',
    flash_flood: 'تاغ كەلكۈنى',
    rainstorm: 'قاتتىق يامغۇر',
    gale: 'قاتتىق شامال',
    snowstorm: 'قار بورىنى',
    cold_wave: 'سوغۇق ئېقىم',
    high_temperature: 'يۇقىرى تېمپېراتۇرا',
    earthquake: 'يەر تەۋرەش',
    gas_leak: 'گاز ئېقىپ چىقىش',
    toxic_gas: 'زەھەرلىك گاز',
  } as Record<string, string>,
  advice: {
    blue: 'ئېھتىيات قىلىڭ.',
    yellow: 'ئالدىنى ئېلىش تەييارلىقى قىلىڭ.',
    orange: 'يۆتكىلىشكە تەييارلىق قىلىڭ، قوماندانلىققا بويسۇنۇڭ.',
    red: 'دەرھال بىخەتەر جايغا يۆتكىلىڭ.',
    level_1: 'دەرھال تەكشۈرۈڭ.',
    level_2: 'دەرھال خەتەرلىك رايوندىن ئايرىلىڭ.',
  } as Record<Level, string>,
  warning: 'ئاگاھلاندۇرۇش',
  lifted: 'ئاگاھلاندۇرۇش بىكار قىلىندى',
}

export function localizedText(
  language: string,
  t: {
    action: WarningAction
    level: Level | null
    prevLevel: Level | null
    hazard: string
    place: () => string
  },
): { language: string; text: string } | undefined {
  if (!/^ug\b/i.test(language)) return undefined
  const hazard = UG.hazard[t.hazard] ?? t.hazard
  if (t.action === 'lift' || t.level === null) {
    const prev = t.prevLevel ? `${UG.level[t.prevLevel]} ` : ''
    return { language: 'ug', text: `【${UG.lifted}】${t.place()}: ${hazard} ${prev}${UG.lifted}.` }
  }
  const level = UG.level[t.level]
  return {
    language: 'ug',
    text: `【${level} ${UG.warning}】${t.place()}: ${hazard} ${level} ${UG.warning}. ${UG.advice[t.level]}`,
  }
}
