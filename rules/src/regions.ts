/**
 * Administrative division codes (GB/T 2260 with the 3+3 township and village digits of the
 * statistical division code): 省2 市2 县2 乡3 村3, twelve digits. The only place in the project
 * that does arithmetic on them; the rules engine (k-of-n groups), the registry, alerting
 * (grouping, escalation tiers, silences, inhibition) and dissemination (targets) all ask here.
 */

/** The levels of the hierarchy, from the top. */
export const REGION_LEVELS = ['province', 'city', 'county', 'township', 'village'] as const
/** One level of the administrative hierarchy. */
export type RegionLevel = (typeof REGION_LEVELS)[number]

/** Digits of a 12-digit code that name each level. */
export const LEVEL_DIGITS: Readonly<Record<RegionLevel, number>> = {
  province: 2,
  city: 4,
  county: 6,
  township: 9,
  village: 12,
}

/** The administrative level a 12-digit code denotes, from which of its parts are zero. */
export function levelOfCode(code: string): RegionLevel {
  if (code.slice(9) !== '000') return 'village'
  if (code.slice(6, 9) !== '000') return 'township'
  if (code.slice(4, 6) !== '00') return 'county'
  if (code.slice(2, 4) !== '00') return 'city'
  return 'province'
}

/** The significant prefix of a code: a county's 6 digits cover all its townships and villages. */
export const prefixOf = (code: string): string => code.slice(0, LEVEL_DIGITS[levelOfCode(code)])

/** The 12-digit code a prefix names (`420102` → `420102000000`). */
export const codeOfPrefix = (prefix: string): string => prefix.padEnd(12, '0')

/** The code at `level` that contains `code` (itself if it is at or above that level). */
export function regionAt(code: string, level: RegionLevel): string {
  const digits = LEVEL_DIGITS[level]
  return digits >= LEVEL_DIGITS[levelOfCode(code)] ? code : codeOfPrefix(code.slice(0, digits))
}

/** The code of the enclosing region, or undefined for a province. */
export function parentCode(code: string): string | undefined {
  const level = levelOfCode(code)
  if (level === 'province') return undefined
  const above = REGION_LEVELS[REGION_LEVELS.indexOf(level) - 1]!
  return codeOfPrefix(code.slice(0, LEVEL_DIGITS[above]))
}

/** True when `inner` lies inside (or is) `outer`. */
export const regionContains = (outer: string, inner: string): boolean => inner.startsWith(prefixOf(outer))

/** The prefix of `code` at a number of digits: the key of a k-of-n group (`*` without a region). */
export const groupPrefix = (code: string | undefined, digits: number): string =>
  code ? code.slice(0, digits) : '*'

/** The regions of `known` that are not inside another of them (the registry's top regions). */
export const outermost = (known: readonly string[]): string[] =>
  known.filter((c) => !known.some((o) => o !== c && regionContains(o, c)))
