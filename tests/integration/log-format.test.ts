/**
 * The CLI's log lines as a person and a machine see them, for real: under a pseudo-terminal
 * (util-linux `script`) readable pino-pretty lines, in a pipe JSON lines, either way overridden by
 * --log-format or SHAOBING_LOG_FORMAT; and the start's fatal refusal printed after them. The
 * demo configuration with a fresh data directory refuses `shaobing start` (its published demo
 * tokens), after it has logged its configuration notices: a short, complete run.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const SCRIPT = '/usr/bin/script'

function cliArgs(extra: string[] = []): string[] {
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-logfmt-'))
  return [
    '--import',
    'tsx',
    join(ROOT, 'tests/helpers/gateway-process.ts'),
    'start',
    '--data-dir',
    dataDir,
    '--mqtt-port',
    '0',
    '--ws-port',
    '0',
    '--http-port',
    '0',
    ...extra,
  ]
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs to its end; stdout and stderr as written (under a terminal they arrive together on stdout). */
function run(
  argv: string[],
  opts: { tty?: boolean; env?: Record<string, string> } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, ...opts.env }
  if (!opts.env?.SHAOBING_LOG_FORMAT) delete env.SHAOBING_LOG_FORMAT
  const [cmd, args] = opts.tty
    ? [SCRIPT, ['-qfec', [process.execPath, ...argv].map(shellQuote).join(' '), '/dev/null']]
    : [process.execPath, argv]
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve) => proc.on('close', (code) => resolve({ code, out, err })))
}

const lines = (s: string) => s.split(/\r?\n/).filter((l) => l.trim() !== '')
const stripColours = (s: string) => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
const isJson = (l: string) => {
  try {
    return typeof JSON.parse(l) === 'object'
  } catch {
    return false
  }
}
const REFUSAL = /refusing to start with insecure settings/

test('in a pipe: JSON lines, and the refusal on stderr', async () => {
  const r = await run(cliArgs())
  expect(r.code).toBe(1)
  const out = lines(r.out)
  expect(out.length).toBeGreaterThan(0)
  for (const l of out) expect(isJson(l), l).toBe(true)
  expect(out.map((l) => JSON.parse(l) as { component?: string })[0]!.component).toBe('config')
  expect(r.err).toMatch(REFUSAL)
}, 60_000)

test('in a pipe with SHAOBING_LOG_FORMAT=pretty: readable lines without colours', async () => {
  const r = await run(cliArgs(), { env: { SHAOBING_LOG_FORMAT: 'pretty' } })
  expect(r.code).toBe(1)
  const out = lines(r.out)
  expect(out.length).toBeGreaterThan(0)
  for (const l of out) {
    expect(isJson(l)).toBe(false)
    expect(l).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[config\] rule .* never fires/)
  }
  expect(r.out).not.toContain('\u001b[')
}, 60_000)

test.skipIf(!existsSync(SCRIPT))(
  'on a terminal: coloured pretty lines, then the refusal; --log-format json keeps JSON there',
  async () => {
    const pretty = await run(cliArgs(), { tty: true })
    expect(pretty.code).toBe(1)
    const shown = lines(stripColours(pretty.out))
    const logged = shown.filter((l) => l.startsWith('['))
    expect(logged.length).toBeGreaterThan(0)
    for (const l of logged) expect(l).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[config\] /)
    expect(pretty.out).toContain('\u001b[')
    // The fatal refusal comes after the log lines, nothing lost at exit.
    const refusal = shown.findIndex((l) => REFUSAL.test(l))
    expect(refusal).toBeGreaterThan(shown.indexOf(logged.at(-1)!))

    const json = await run(cliArgs(['--log-format', 'json']), { tty: true })
    expect(json.code).toBe(1)
    const jsonLines = lines(json.out).filter((l) => l.startsWith('{'))
    expect(jsonLines.length).toBe(logged.length)
    for (const l of jsonLines) expect(isJson(l), l).toBe(true)
    expect(json.out).toMatch(REFUSAL)
  },
  90_000,
)

test('--log-format must be json or pretty', async () => {
  const r = await run(cliArgs(['--log-format', 'xml']))
  expect(r.code).toBe(2)
  expect(r.err).toMatch(/--log-format must be json or pretty, got xml/)
  expect(r.out).toBe('')
}, 60_000)
