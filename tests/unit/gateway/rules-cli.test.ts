/** `shaobing rules check | test | backtest` over real files. */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { rulesMain } from '../../../gateway/src/cli/rules.js'
import { CATALOG_DIR } from '../../helpers/catalog.js'

async function run(argv: string[]) {
  const out: string[] = []
  const errors: string[] = []
  const code = await rulesMain(argv, { log: (s) => out.push(s), error: (s) => errors.push(s) })
  return { code, out, errors }
}

const tmp = () => mkdtempSync(join(tmpdir(), 'shaobing-rules-'))

describe('rules check', () => {
  test('the shipped catalogues are valid', async () => {
    const r = await run(['check'])
    expect(r.code).toBe(0)
    expect(r.out.join('\n')).toMatch(/hydrology v2, 4 rule\(s\)/)
  })

  test('a bad catalogue is refused with file and line', async () => {
    const dir = tmp()
    writeFileSync(join(dir, 'bad.yaml'), 'catalogue: bad\nversion: one\ntitle: t\nrules: []\n')
    const r = await run(['check', dir])
    expect(r.code).toBe(1)
    expect(r.errors[0]).toMatch(/bad\.yaml:2: version: /)
  })
})

describe('rules test', () => {
  test('the shipped case files pass', async () => {
    const r = await run(['test'])
    expect(r.code).toBe(0)
    expect(r.out.at(-1)).toMatch(/^\d+ passed, 0 failed$/)
  })

  test('a case that expects the wrong level fails with both timelines', async () => {
    const dir = tmp()
    copyFileSync(join(CATALOG_DIR, 'hydrology.yaml'), join(dir, 'hydrology.yaml'))
    writeFileSync(
      join(dir, 'hydrology.cases.yaml'),
      [
        'catalogue: hydrology',
        'stations: { WL: { kind: water_level, params: { warning_level: 32.5, guaranteed_level: 34, historical_max_level: 35.2 } } }',
        'cases:',
        '  - name: wrong',
        '    interval: 10m',
        "    series: [{ station: WL, quantity: stage_m, values: '32.6' }]",
        '    expect: [{ at: 0m, rule: river-flood, station: WL, kind: raise, to: orange }]',
        '',
      ].join('\n'),
    )
    const r = await run(['test', dir])
    expect(r.code).toBe(1)
    expect(r.errors[0]).toContain('FAIL')
    expect(r.errors[0]).toContain('0m river-flood WL raise orange')
    expect(r.errors[0]).toContain('0m river-flood WL raise yellow')
  })
})

describe('rules backtest', () => {
  test('replays a CSV history and explains each transition', async () => {
    const dir = tmp()
    const csv = join(dir, 'h.csv')
    writeFileSync(
      csv,
      'ts,sensor,stage_m\n2026-07-15T00:00:00Z,wl-lw-01,30\n2026-07-15T01:00:00Z,wl-lw-01,32.7\n1784084400000,wl-lw-01,34.3\n',
    )
    const r = await run(['backtest', '--input', csv])
    expect(r.code).toBe(0)
    expect(r.out).toEqual([
      '2026-07-15T01:00:00.000Z  river-flood  WL-LW-01  raise - → yellow  stage_m 32.7 >= 32.5 (warning_level)',
      '2026-07-15T03:00:00.000Z  river-flood  WL-LW-01  escalate yellow → orange  stage_m 34.3 >= 34 (guaranteed_level)',
      '3 readings, 2 transition(s)',
    ])
  })

  test('replays JSON lines, sorted by event time, as JSON', async () => {
    const dir = tmp()
    const jsonl = join(dir, 'h.jsonl')
    const line = (h: number, mm: number) =>
      JSON.stringify({ sensor: 'rg-lw-01', ts: Date.UTC(2026, 6, 15, h), values: { rain_mm: mm } })
    writeFileSync(jsonl, [line(3, 50), line(1, 50), line(2, 10)].join('\n') + '\n')
    const r = await run(['backtest', '--input', jsonl, '--json'])
    expect(r.code).toBe(0)
    expect(
      r.out
        .map((l) => JSON.parse(l) as { ruleId: string; to: string; ts: number })
        // Liuwan's flash-flood thresholds fire too; this is about the rainstorm signal.
        .filter((t) => t.ruleId === 'rainstorm')
        .map((t) => [t.to, new Date(t.ts).getUTCHours()]),
    ).toEqual([
      // Sorted: 50 mm by 01:00 is orange at once; 110 mm within 3 h by 03:00 is red.
      ['orange', 1],
      ['red', 3],
    ])
  })

  test('bad rows are reported with their line and nothing is replayed', async () => {
    const dir = tmp()
    const csv = join(dir, 'bad.csv')
    writeFileSync(
      csv,
      'ts,sensor,stage_m\nnoon,wl-lw-01,30\n2026-07-15T01:00:00Z,ghost,1\n2026-07-15T02:00:00Z,wl-lw-01,high\n',
    )
    const r = await run(['backtest', '--input', csv])
    expect(r.code).toBe(1)
    expect(r.errors.slice(0, 3).map((e) => e.replace(/^.*bad\.csv/, 'bad.csv'))).toEqual([
      'bad.csv:2: ts: expected epoch ms or ISO-8601 time, got "noon"',
      'bad.csv:3: sensor: unknown sensor ghost',
      'bad.csv:4: stage_m: not a number: high',
    ])
  })
})
