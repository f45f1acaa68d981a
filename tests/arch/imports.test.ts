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

/** Each SDK lives in one folder (or file) of the gateway: its adapter. */
const SDK_HOMES: [sdk: RegExp, home: string][] = [
  [/^aedes$|^mqemitter$|^ws$/, 'gateway/src/broker/'],
  [/^better-sqlite3$/, 'gateway/src/store/'],
  [/^fastify$|^@fastify\//, 'gateway/src/api/'],
  [/^smpp$/, 'gateway/src/channels/sms/'],
  [/^fast-xml-parser$/, 'gateway/src/cap/'],
  [/^prom-client$/, 'gateway/src/metrics.ts'],
  [/^@influxdata\/influxdb-client$/, 'gateway/src/sinks/influx/'],
  [/^mqtt$/, 'gateway/src/broker/'],
  [/^node-red$|^@node-red\//, 'gateway/src/nodered/'],
]

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

const forbidden: { from: RegExp; to: RegExp; why: string }[] = [
  ...SDK_HOMES.map(([to, home]) => ({
    from: new RegExp(`^gateway/src/(?!${escape(home.slice('gateway/src/'.length))})`),
    to,
    why: `${to.source} only in ${home}`,
  })),
  {
    from: /^gateway\/src\/alerting\//,
    to: /\/(channels|dissemination|api|broker)\//,
    why: 'alerting decides; it calls no channel and knows no API (it emits events)',
  },
  {
    from: /^gateway\/src\/(store|events)\//,
    to: /\/(alerting|channels|dissemination|api)\//,
    why: 'the store and the event bus serve the stages, never the other way round',
  },
  {
    from: /^gateway\/src\/dissemination\//,
    to: /\/(alerting|api)\//,
    why: 'dissemination hears releases as events; it does not reach into alerting',
  },
  {
    from: /^rules\//,
    to: /gateway|sensors-sim|dashboards|^pino$|^aedes$|^mqtt$|^better-sqlite3$|^fastify$|^node:(fs|net|http|child_process)$/,
    why: 'rules/ is pure: no I/O, no gateway',
  },
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
    const specs = [
      // `import … from 'x'`, `export … from 'x'`, `import('x')`, `import 'x'`; not a word in a string.
      ...readFileSync(file, 'utf8').matchAll(
        /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm,
      ),
    ].map((m) => m[1]!)
    for (const rule of forbidden) {
      if (!rule.from.test(rel)) continue
      for (const spec of specs) if (rule.to.test(spec)) violations.push(`${rel} → ${spec} (${rule.why})`)
    }
  }
  expect(violations).toEqual([])
})

test('every rule is about files that exist (a rule about a missing folder fails, not passes)', () => {
  const files = ['gateway/src', 'rules/src', 'sensors-sim/src'].flatMap((d) =>
    tsFiles(join(ROOT, d)).map((f) => relative(ROOT, f).replaceAll('\\', '/')),
  )
  const unused = forbidden.filter((rule) => !files.some((f) => rule.from.test(f))).map((r) => r.why)
  expect(unused).toEqual([])
  // And every SDK's home exists and uses it.
  const homeless = SDK_HOMES.filter(([, home]) => !files.some((f) => f.startsWith(home))).map(([, h]) => h)
  expect(homeless).toEqual([])
})
