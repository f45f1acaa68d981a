/**
 * `shaobing sim` (sensors-sim/src/main.ts) against a running gateway: argument errors, an invalid
 * scenario refused with file and line, and a run with the registry's loudspeakers that prints its
 * progress and a summary per kind.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, expect, test, vi } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { simMain } from '../../sensors-sim/src/main.js'
import { DEMO_REGISTRY, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { registryCredentials } from '../helpers/devices.js'
import { scenarioFile } from '../helpers/scenario.js'

let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

let lines: string[] = []
beforeEach(() => {
  lines = []
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean))
    return true
  }
  vi.spyOn(process.stderr, 'write').mockImplementation(capture)
  vi.spyOn(console, 'error').mockImplementation((s: unknown) => void capture(String(s)))
})
afterEach(() => vi.restoreAllMocks())

test('bad arguments are refused with the reason', async () => {
  expect(await simMain([])).toBe(2)
  expect(lines[0]).toMatch(/^usage: sim --url URL --scenario FILE/)
  expect(await simMain(['--scenario', scenarioFile('flash-flood'), '--terminals-slow', '2'])).toBe(2)
  expect(lines.at(-1)).toBe('--terminals-slow must be a share between 0 and 1, got 2')
  expect(await simMain(['--scenario', scenarioFile('flash-flood'), '--connections', '0'])).toBe(2)
  expect(lines.at(-1)).toBe('--connections must be a positive integer, got 0')
})

test('an invalid scenario is refused with its file and line', async () => {
  const { dir } = makeConfigDir()
  const file = join(dir, 'bad.yaml')
  writeFileSync(
    file,
    'name: bad\ndescription: d\nduration: 1h\nspeed: 10\ninterval: 10m\nsensors:\n  - { id: a, kind: rain, model: rain }\nevents:\n  - { at: 0h, type: outage, sensors: [b], for: 1h }\n',
  )
  expect(await simMain(['--scenario', file])).toBe(1)
  expect(lines).toEqual([`${file}:9: events.0.sensors.0: b is not a sensor of this scenario`])
})

test('a run plays the scenario with the loudspeakers and prints a summary per kind', async () => {
  const { dir, config } = makeConfigDir()
  ;({ gw } = await startTestGateway(config))
  // The simulated devices log in with the passwords they were provisioned with, from a file.
  const credentials = join(dir, 'credentials.json')
  writeFileSync(credentials, JSON.stringify(registryCredentials(DEMO_REGISTRY)))
  const code = await simMain([
    '--credentials',
    credentials,
    '--url',
    gw.urls.mqtt,
    '--scenario',
    scenarioFile('flash-flood'),
    '--registry',
    DEMO_REGISTRY,
    '--speed',
    '100000',
    '--connections',
    '2',
    '--terminals-slow',
    '0.25',
  ])
  expect(code).toBe(0)
  expect(lines).toContainEqual(
    expect.stringMatching(/^\[sim\] \d+ loudspeaker terminals connected, \d+ slow$/),
  )
  expect(lines).toContain('[sim] connecting 2 concentrators')
  // 10 h at 5 min: 120 readings from each of four sensors.
  expect(lines).toContainEqual(
    expect.stringMatching(
      /^\[sim\] done over 2 connections: sent 480, acknowledged 480, failed 0, lost in outages 0/,
    ),
  )
  expect(lines).toContain('[sim]   rain         sent 360  acknowledged 360')
  expect(lines).toContain('[sim]   water_level  sent 120  acknowledged 120')
  const { warnings } = await getJson<{ warnings: { hazard: string }[] }>(
    gw.urls.http,
    '/api/warnings?state=all',
  )
  expect(warnings.map((w) => w.hazard)).toContain('flash_flood')
}, 30_000)
