/** Catalogue text → validated Catalogue, with located issues; cross-catalogue checks. */
import { Catalogue, type Condition, type Level, type Rule } from './schema.js'
import { type FileIssue, type Parsed, parseYaml } from './yaml.js'

export function parseCatalogue(text: string, file: string): Parsed<Catalogue> {
  return parseYaml(text, file, Catalogue)
}

/** Checks what no single file can: rule ids are unique across all loaded catalogues. */
export function checkCatalogues(cats: readonly { file: string; catalogue: Catalogue }[]): FileIssue[] {
  const issues: FileIssue[] = []
  const owner = new Map<string, string>()
  const names = new Map<string, string>()
  for (const { file, catalogue } of cats) {
    const other = names.get(catalogue.catalogue)
    if (other !== undefined)
      issues.push({
        file,
        path: 'catalogue',
        message: `catalogue ${catalogue.catalogue} is also defined in ${other}`,
      })
    names.set(catalogue.catalogue, file)
    catalogue.rules.forEach((r, i) => {
      const prev = owner.get(r.id)
      if (prev !== undefined)
        issues.push({ file, path: `rules.${i}.id`, message: `rule id ${r.id} is also used in ${prev}` })
      owner.set(r.id, file)
    })
  }
  return issues
}

/** The station constants a rule refers to (so the gateway can flag stations that lack them). */
export function referencedParams(rule: Rule): Set<string> {
  const out = new Set<string>()
  const walk = (c: Condition): void => {
    if ('any_of' in c) return c.any_of.forEach(walk)
    if ('all_of' in c) return c.all_of.forEach(walk)
    if (c.ref !== undefined) out.add(c.ref)
    if (typeof c.offset === 'string') out.add(c.offset)
    if (typeof c.scale === 'string') out.add(c.scale)
  }
  for (const l of rule.levels) [...(l.any_of ?? []), ...(l.all_of ?? [])].forEach(walk)
  return out
}

/**
 * The levels of a rule that cannot fire with these station constants: those where no branch can
 * resolve its thresholds (any_of: no comparison; all_of: some comparison lacks its constant).
 * A `ref` with a `default` always resolves.
 */
export function levelsThatCannotFire(rule: Rule, params: Readonly<Record<string, number>>): Level[] {
  const resolves = (c: Condition): boolean => {
    if ('any_of' in c) return c.any_of.some(resolves)
    if ('all_of' in c) return c.all_of.every(resolves)
    if (c.ref !== undefined && c.default === undefined && !(c.ref in params)) return false
    return (
      (typeof c.offset !== 'string' || c.offset in params) &&
      (typeof c.scale !== 'string' || c.scale in params)
    )
  }
  return rule.levels
    .filter((l) => (l.any_of ? !l.any_of.some(resolves) : !(l.all_of ?? []).every(resolves)))
    .map((l) => l.level)
}
