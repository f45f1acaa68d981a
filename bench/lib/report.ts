/** How every benchmark reports: a Markdown table on stdout, and its raw figures as JSON in bench/out/. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './procs.js'

/** A Markdown table, columns padded to their widest cell (a missing cell is empty). */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = head.map((_, c) => Math.max(...[head, ...rows].map((r) => (r[c] ?? '').length)))
  const line = (r: readonly string[]) => '| ' + width.map((w, c) => (r[c] ?? '').padEnd(w)).join(' | ') + ' |'
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** Writes `data` to bench/out/<name>-<time>.json; returns the file's path. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(join(ROOT, 'bench/out'), { recursive: true })
  const out = join(ROOT, 'bench/out', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(out, JSON.stringify(data, null, 2))
  return out
}
