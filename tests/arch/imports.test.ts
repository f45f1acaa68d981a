/**
 * Dependency direction (shared/STYLE.md 3.3): rules/ is pure; SDKs stay in their adapter folder;
 * the simulators and dashboards see only gateway/src/contracts; the gateway never depends on them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')

function tsFiles(dir: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries.flatMap((e) => {
    const p = join(dir, e)
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

const forbidden: { from: RegExp; to: RegExp; why: string }[] = [
  {
    from: /^rules\//,
    to: /gateway|sensors-sim|dashboards|^pino$|^aedes$|^mqtt$|^better-sqlite3$|^fastify$|^node:(fs|net|http|child_process)$/,
    why: 'rules/ is pure: no I/O, no gateway',
  },
  { from: /^gateway\/src\/(?!broker\/)/, to: /^aedes$|^mqemitter$/, why: 'aedes only in broker/' },
  { from: /^gateway\/src\/(?!store\/)/, to: /^better-sqlite3$/, why: 'SQLite only in store/' },
  {
    from: /^gateway\/src\/(core|contracts)\//,
    to: /^(?!zod$|node:)[^.]/,
    why: 'core and contracts need nothing but zod',
  },
  {
    from: /^(sensors-sim|dashboards)\//,
    to: /gateway\/src\/(?!contracts\/)/,
    why: 'only gateway/src/contracts is shared',
  },
  { from: /^gateway\//, to: /sensors-sim|dashboards/, why: 'the gateway never depends on its clients' },
]

test('imports follow the dependency direction', () => {
  const files = ['gateway/src', 'rules/src', 'sensors-sim/src', 'dashboards'].flatMap((d) =>
    tsFiles(join(ROOT, d)),
  )
  expect(files.length).toBeGreaterThan(20)
  const violations: string[] = []
  for (const file of files) {
    const rel = relative(ROOT, file).replaceAll('\\', '/')
    const specs = [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
      (m) => m[1]!,
    )
    for (const rule of forbidden) {
      if (!rule.from.test(rel)) continue
      for (const spec of specs) if (rule.to.test(spec)) violations.push(`${rel} → ${spec} (${rule.why})`)
    }
  }
  expect(violations).toEqual([])
})
