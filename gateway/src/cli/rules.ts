/**
 * `shaobing rules check | test | backtest`: the rule catalogues without a running gateway.
 *
 *   rules check    [PATH...]   validate catalogues (files or directories), with file:line errors
 *   rules test     [PATH...]   run the *.cases.yaml next to the catalogues (promtool-style)
 *   rules backtest --input FILE [--config FILE] [--registry FILE] [--rules PATH...] [--json]
 *                  replay a CSV or JSON-lines history through the rules and print what would have
 *                  fired, when and why
 */
import { readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  formatFileIssue,
  parseCases,
  RulesEngine,
  runCases,
  type Catalogue,
  type ConditionResult,
  type Transition,
} from '../../../rules/src/index.js'
import { DEFAULT_RULES, DEMO_CONFIG, loadCatalogues, loadConfig, readText } from '../config/load.js'
import { parseHistory } from './history.js'

type Out = { log: (s: string) => void; error: (s: string) => void }

export async function rulesMain(argv: string[], out: Out = console): Promise<number> {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'check':
      return check(rest.length > 0 ? rest : [DEFAULT_RULES], out)
    case 'test':
      return test(rest.length > 0 ? rest : [DEFAULT_RULES], out)
    case 'backtest':
      return backtest(rest, out)
    default:
      out.error(
        'usage: shaobing rules check|test [PATH...] | rules backtest --input FILE [--registry FILE] [--rules PATH...] [--json]',
      )
      return 2
  }
}

function loaded(paths: string[], out: Out): { file: string; catalogue: Catalogue }[] | undefined {
  const cats = loadCatalogues(paths)
  if (cats.ok) return cats.value
  for (const i of cats.error) out.error(formatFileIssue(i))
  out.error(`${cats.error.length} problem(s)`)
  return undefined
}

function check(paths: string[], out: Out): number {
  const cats = loaded(paths, out)
  if (!cats) return 1
  for (const { file, catalogue } of cats)
    out.log(`ok  ${file}: ${catalogue.catalogue} v${catalogue.version}, ${catalogue.rules.length} rule(s)`)
  return 0
}

/** Case files: `X.cases.yaml` beside each catalogue `X.yaml` found under the paths. */
function caseFiles(paths: string[]): string[] {
  return paths.flatMap((p) => {
    const dir = statSync(p).isDirectory() ? p : dirname(p)
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cases.yaml'))
      .sort()
      .map((f) => join(dir, f))
  })
}

function test(paths: string[], out: Out): number {
  const cats = loaded(paths, out)
  if (!cats) return 1
  let failed = 0
  let passed = 0
  for (const file of [...new Set(caseFiles(paths))]) {
    const text = readText(file)
    const parsed = text.ok ? parseCases(text.value, file) : text
    if (!parsed.ok) {
      for (const i of parsed.error) out.error(formatFileIssue(i))
      failed++
      continue
    }
    for (const r of runCases(
      cats.map((c) => c.catalogue),
      parsed.value,
    )) {
      if (r.ok) {
        passed++
        out.log(`PASS ${file}: ${r.name}`)
        continue
      }
      failed++
      out.error(`FAIL ${file}: ${r.name}\n  expected:\n${indent(r.expected)}\n  got:\n${indent(r.actual)}`)
    }
  }
  out.log(`${passed} passed, ${failed} failed`)
  return failed === 0 ? 0 : 1
}

const indent = (lines: readonly string[]) =>
  lines.length === 0 ? '    (nothing)' : lines.map((l) => `    ${l}`).join('\n')

async function backtest(argv: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      config: { type: 'string' },
      registry: { type: 'string' },
      rules: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  })
  if (values.input === undefined) {
    out.error(
      'rules backtest needs --input FILE (CSV with a header ts,sensor,<quantity>... or JSON lines {sensor, ts, values})',
    )
    return 2
  }
  // Sensors → stations and their constants come from a gateway config's registry (the demo's by
  // default), or from the registry file given; it is validated exactly as the gateway does.
  const config = loadConfig(
    values.config ?? DEMO_CONFIG,
    values.registry !== undefined ? { registry: values.registry } : {},
  )
  if (!config.ok) {
    for (const i of config.error) out.error(formatFileIssue(i))
    return 1
  }
  const { registry } = config.value
  const cats = loaded(values.rules ?? [DEFAULT_RULES], out)
  if (!cats) return 1
  const text = readText(values.input)
  if (!text.ok) {
    for (const i of text.error) out.error(formatFileIssue(i))
    return 1
  }
  const history = parseHistory(text.value, values.input, (sensorId) => registry.sensor(sensorId))
  if (!history.ok) {
    for (const i of history.error.slice(0, 20)) out.error(formatFileIssue(i))
    out.error(`${history.error.length} problem(s) in ${values.input}`)
    return 1
  }
  const engine = new RulesEngine(
    cats.map((c) => c.catalogue),
    (id) => registry.stationInfo(id),
  )
  const transitions: Transition[] = []
  let late = 0
  for (const r of history.value) {
    const res = engine.evaluate(r)
    if (res.late) late++
    transitions.push(...res.transitions)
  }
  if (values.json) for (const t of transitions) out.log(JSON.stringify(t))
  else {
    for (const t of transitions) out.log(describeTransition(t))
    out.log(
      `${history.value.length} readings, ${transitions.length} transition(s)${late > 0 ? `, ${late} late reading(s) not evaluated` : ''}`,
    )
  }
  return 0
}

/** One line a transition: when, which rule and station, what changed, and the values behind it. */
export function describeTransition(t: Transition): string {
  const why = t.explanation.conditions
    .filter((c) => c.held === t.explanation.held)
    .map((c) => describeCondition(c, t.explanation.held))
    .join('; ')
  const group =
    t.contributors !== undefined ? `  [${t.group}: ${t.contributors.map((c) => c.stationId).join(', ')}]` : ''
  return `${new Date(t.ts).toISOString()}  ${t.ruleId}  ${t.stationId}  ${t.kind} ${t.from ?? '-'} → ${t.to ?? 'none'}  ${why}${group}`
}

function describeCondition(c: ConditionResult, held: boolean): string {
  const op = held ? c.op : `not ${c.op}`
  const ref = c.ref !== undefined ? ` (${c.ref}${c.defaulted ? ', default' : ''})` : ''
  const band = c.deadband !== undefined ? ` ±${c.deadband}` : ''
  if (c.agg === 'consecutive_days')
    return `days with ${c.of}(${c.quantity}) ${c.op} ${c.threshold ?? 'n/a'}${ref}: ${c.observed ?? 0} in a row, ${held ? '>=' : '<'} ${c.days}`
  const what =
    c.agg === 'last'
      ? c.quantity
      : c.agg === 'daily'
        ? `today's ${c.of}(${c.quantity})`
        : c.agg === 'daily_change'
          ? `change of daily ${c.of}(${c.quantity}) over ${c.days}d`
          : `${c.agg}(${c.quantity}, ${c.window})`
  return `${what} ${c.observed ?? 'n/a'} ${op} ${c.threshold ?? 'n/a'}${ref}${band}`
}
