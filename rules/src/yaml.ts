/**
 * YAML text → zod-validated value, with every issue located by file, line and path.
 * Pure (text in, result out), so rules/ and gateway/ share it without either doing I/O here.
 *
 * Two parsers on purpose: js-yaml is fast and light (a 10,000-station registry loads in a fraction
 * of the time and memory), so a good file goes through it alone; only a file that fails is parsed
 * again with `yaml`, whose document model knows the line of every node, to locate the issues.
 */
import { CORE_SCHEMA, load } from 'js-yaml'
import { isNode, LineCounter, parseDocument, visit } from 'yaml'
import type { z } from 'zod'

export interface FileIssue {
  readonly file: string
  readonly line?: number
  readonly path: string
  readonly message: string
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: FileIssue[] }

export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S): Parsed<z.output<S>> {
  try {
    // CORE_SCHEMA: YAML 1.2 core types only, so `2026-07-15T06:00:00+08:00` stays a string.
    const fast = schema.safeParse(load(text, { filename: file, schema: CORE_SCHEMA }))
    if (fast.success) return { ok: true, value: fast.data }
  } catch {
    // Syntax errors are reported, located, by the slow path below.
  }
  return parseLocated(text, file, schema)
}

function parseLocated<S extends z.ZodType>(text: string, file: string, schema: S): Parsed<z.output<S>> {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0].line ?? lineOf(lineCounter, e.pos[0]),
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
      })),
    }
  }
  let js: unknown
  try {
    js = doc.toJS()
  } catch (e) {
    // An alias without its anchor (`*x` before or without `&x`), or aliases past yaml's limit,
    // are found only when the document is built: the file's issue, not a crash of its loader.
    return {
      ok: false,
      error: [{ file, ...aliasLine(doc, lineCounter), path: '', message: (e as Error).message }],
    }
  }
  const parsed = schema.safeParse(js)
  if (parsed.success) return { ok: true, value: parsed.data }
  return {
    ok: false,
    error: parsed.error.issues.map((issue) => {
      const path = issue.path.map(String)
      const line = locate(doc, lineCounter, issue.path)
      return { file, ...(line !== undefined ? { line } : {}), path: path.join('.'), message: issue.message }
    }),
  }
}

const lineOf = (lc: LineCounter, offset: number): number => lc.linePos(offset).line

/** The line of the first alias whose anchor is missing, if there is one. */
function aliasLine(doc: ReturnType<typeof parseDocument>, lc: LineCounter): { line?: number } {
  let line: number | undefined
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined || !node.range) return undefined
      line = lineOf(lc, node.range[0])
      return visit.BREAK
    },
  })
  return line !== undefined ? { line } : {}
}

/** The line of the deepest node on `path` that exists in the document. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  lc: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true)
    if (isNode(node) && node.range) return lineOf(lc, node.range[0])
  }
  return undefined
}

export const formatFileIssue = (i: FileIssue): string =>
  `${i.file}${i.line !== undefined ? `:${i.line}` : ''}: ${i.path === '' ? '(root)' : i.path}: ${i.message}`
