/** Public surface of the rules engine. The gateway imports only from here. */
export { RulesEngine } from './engine.js'
export type {
  ConditionResult,
  EvaluateResult,
  Explanation,
  Sample,
  StationInfo,
  Transition,
  TransitionKind,
} from './engine.js'
export {
  ALARM_STAGES,
  Catalogue,
  COLOURS,
  Duration,
  isAlarmStage,
  Level,
  LEVELS,
  Rule,
  durationMs,
  rank,
} from './schema.js'
export { ruleThresholds } from './thresholds.js'
export type { SimpleAgg, Threshold } from './thresholds.js'
export type { Waveform } from './seismic.js'
export { instrumentalIntensity } from './seismic.js'
export { beaufortFromMs, lelFromVol, mgm3FromPpm, msFromBeaufort, ppmFromMgm3, volFromLel } from './units.js'
export { parseCatalogue, checkCatalogues, levelsThatCannotFire, referencedParams } from './load.js'
export { formatFileIssue, parseYaml } from './yaml.js'
export type { FileIssue, Parsed } from './yaml.js'
export { CASE_T0, CasesFile, expandSeries, parseCases, runCases } from './cases.js'
export type { CaseResult } from './cases.js'
export {
  codeOfPrefix,
  groupPrefix,
  LEVEL_DIGITS,
  levelOfCode,
  outermost,
  parentCode,
  prefixOf,
  REGION_LEVELS,
  regionAt,
  regionContains,
} from './regions.js'
export type { RegionLevel } from './regions.js'
