/**
 * How the demo ends, against a fake gateway whose state the test moves: a hint while a version
 * waits for approval (with the console, the duty login and the curl calls), nothing final before
 * the scenario is played, and the summary only once every warning is lifted and every
 * announcement has come to its end.
 */
import { expect, test } from 'vitest'
import type { WarningQueries } from '../../../gateway/src/api/queries.js'
import type { GatewayEvent } from '../../../gateway/src/events/types.js'
import { watchDemoEnd } from '../../../gateway/src/cli/demo-end.js'
import type { VersionCoverage, VersionRow, WarningRow } from '../../../gateway/src/warnings/model.js'

const URL = 'http://127.0.0.1:8080'
const SINCE = 1_000

function fakeGateway() {
  const state = {
    warnings: [] as WarningRow[],
    versions: new Map<string, VersionRow[]>(),
    coverage: new Map<string, VersionCoverage[]>(),
  }
  const listeners = new Set<(e: GatewayEvent) => void>()
  const warnings = {
    list: () => state.warnings,
    versions: (id: string) => state.versions.get(id) ?? [],
    coverage: (id: string) => state.coverage.get(id) ?? [],
    deliveries: (id: string) =>
      (state.coverage.get(id) ?? []).flatMap((c) =>
        Array.from({ length: c.played }, (_, i) => ({ terminalId: `T-${i}`, state: 'played' })),
      ),
  } as unknown as WarningQueries
  const gw = {
    warnings,
    urls: { http: URL } as never,
    listen: (l: (e: GatewayEvent) => void) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
  const event = () => {
    for (const l of listeners) l({} as GatewayEvent)
  }
  return { gw, state, event, listeners }
}

const warning = (id: string, s: 'active' | 'lifted') => ({ id, state: s }) as WarningRow
const version = (warningId: string, v: number, release: string, level: string | null) =>
  ({ warningId, version: v, release, level, createdAt: SINCE + v, releaseDue: SINCE + 120_000 }) as VersionRow
const cov = (v: number, targeted: number, played: number) =>
  ({ version: v, targeted, reached: played, played, failed: 0, offline: 0, unanswered: 0 }) as VersionCoverage

test('a hint while a version waits for approval, the summary once the scenario is played and all is lifted', async () => {
  const { gw, state, event, listeners } = fakeGateway()
  const out: string[][] = []
  let played!: () => void
  const stop = watchDemoEnd({
    gw,
    since: SINCE,
    scenarioDone: new Promise<void>((r) => (played = r)),
    logins: { duty: { id: 'duty', password: 'pw-duty' }, second: { id: 'approver', password: 'pw-2' } },
    write: (lines) => out.push(lines),
    now: () => SINCE + 60_000,
  })

  // A red version waits.
  state.warnings = [warning('W1', 'active')]
  state.versions.set('W1', [version('W1', 1, 'released', 'orange'), version('W1', 2, 'pending', 'red')])
  state.coverage.set('W1', [cov(1, 4, 4)])
  event()
  expect(out).toHaveLength(1)
  const hint = out[0]!.join('\n')
  expect(hint).toMatch(/waiting for approval: 1 version/)
  expect(hint).toContain('W1 v2 red, goes out unapproved in 60 s')
  expect(hint).toContain(`approve in the console at ${URL} (log in as duty / pw-duty)`)
  expect(hint).toContain(`curl -s -X POST ${URL}/api/warnings/W1/versions/2/approve`)
  expect(hint).toContain('"username":"approver","password":"pw-2"')
  event() // the same one still waiting: not again
  expect(out).toHaveLength(1)

  // Overtaken, then lifted, everything played: still no summary before the scenario is played.
  state.warnings = [warning('W1', 'lifted')]
  state.versions.set('W1', [
    version('W1', 1, 'released', 'orange'),
    version('W1', 2, 'superseded', 'red'),
    version('W1', 3, 'released', null),
  ])
  state.coverage.set('W1', [cov(1, 4, 4), cov(3, 4, 3)])
  event()
  expect(out).toHaveLength(1)

  played()
  await Promise.resolve()
  // One announcement still playing: not done.
  expect(out).toHaveLength(1)
  state.coverage.set('W1', [cov(1, 4, 4), cov(3, 4, 4)])
  event()
  expect(out).toHaveLength(2)
  expect(out[1]![0]).toBe(
    'demo done: every warning lifted: 1 warning(s) raised, 1 lifted; 4 loudspeaker(s) reached, 8 of 8 announcement(s) played; ' +
      '1 version(s) waited for approval and were overtaken before anyone approved',
  )
  expect(out[1]![1]).toBe(
    `the gateway keeps running: console ${URL} (log in as duty / pw-duty); stop with Ctrl-C`,
  )
  // Done: it stops listening.
  expect(listeners.size).toBe(0)
  stop()
})

test('still waiting for approval when the scenario is played: the full hint again', async () => {
  const { gw, state, event } = fakeGateway()
  const out: string[][] = []
  let played!: () => void
  watchDemoEnd({
    gw,
    since: SINCE,
    scenarioDone: new Promise<void>((r) => (played = r)),
    logins: { duty: { id: 'duty', password: 'pw-duty' } },
    write: (lines) => out.push(lines),
  })
  state.warnings = [warning('W1', 'active')]
  state.versions.set('W1', [version('W1', 1, 'pending', 'red')])
  event()
  played()
  await Promise.resolve()
  expect(out).toHaveLength(2)
  expect(out[1]!.join('\n')).toContain(`${URL}/api/warnings/W1/versions/1/approve`)
})
