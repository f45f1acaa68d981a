import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { formatFileIssue } from '../../../rules/src/index.js'
import { mulberry32 } from '../../../sensors-sim/src/prng.js'
import { loadScenario } from '../../../sensors-sim/src/scenario.js'
import { Simulation } from '../../../sensors-sim/src/signals.js'

const DEMO = join(import.meta.dirname, '../../../sensors-sim/scenarios/demo-flood.yaml')
const T0 = Date.UTC(2026, 6, 15)
const H = 3_600_000

function demo() {
  const loaded = loadScenario(readFileSync(DEMO, 'utf8'), DEMO)
  if (!loaded.ok) throw new Error(loaded.error.map(formatFileIssue).join('\n'))
  return loaded.value
}

describe('scenario files', () => {
  test('errors carry file, line and path', () => {
    const text = [
      'name: bad',
      'description: d',
      'duration: 2 hours',
      'speed: 10',
      'interval: 10m',
      'sensors:',
      '  - { id: wl-1, kind: water_level, model: river, params: { base_m: 1, upstream: [nope], m_per_mm: 0.1 } }',
      'events:',
      '  - { at: 1h, type: rain, sensors: [wl-1], rate_mm_h: 10, for: 1h }',
      '',
    ].join('\n')
    const loaded = loadScenario(text, 's.yaml')
    expect(!loaded.ok && loaded.error.map(formatFileIssue)).toEqual([
      's.yaml:3: duration: expected a duration like 30s, 10m, 3h, 1d',
      's.yaml:7: sensors.0.params.upstream.0: nope is not a rain or weather sensor of this scenario',
      's.yaml:9: events.0.sensors.0: wl-1 is not a rain or weather sensor of this scenario',
    ])
  })

  test('the shipped demo scenario validates', () => {
    expect(demo().name).toBe('demo-flood')
  })
})

describe('signal models', () => {
  test('the PRNG is deterministic per seed', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const xs = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs)
    expect(mulberry32(43)()).not.toBe(xs[0])
  })

  test('the demo storm makes the river rise through every reference level and recede', () => {
    const sim = new Simulation(demo(), T0)
    const stage: [number, number][] = []
    const rain: [number, number][] = []
    for (let i = 0; i < sim.steps; i++)
      for (const r of sim.step()) {
        if (r.sensorId === 'wl-lw-01') stage.push([r.ts, r.values.stage_m!])
        if (r.sensorId === 'rg-lw-01') rain.push([r.ts, r.values.rain_mm!])
      }
    const peak = Math.max(...stage.map(([, v]) => v))
    expect(peak).toBeGreaterThan(35.2)
    expect(peak).toBeLessThan(36.5)
    // Crosses approach, warning, guaranteed and historical-maximum levels in that order on the way up.
    const firstAbove = (level: number) => stage.find(([, v]) => v >= level)![0]
    const crossings = [32.0, 32.5, 34.0, 35.2].map(firstAbove)
    expect([...crossings].sort((a, b) => a - b)).toEqual(crossings)
    expect(stage.at(-1)![1]).toBeLessThan(31.5)
    // The river must fall below the approach level long enough before the end for the lift.
    const lastAbove = stage.filter(([, v]) => v >= 32.0).at(-1)![0]
    expect(T0 + 18 * H - lastAbove).toBeGreaterThan(2 * H)
    // Rain: the 3 h sum passes 100 mm (CMA red) at some point; the total is about 138 mm.
    const sum3h = rain.map(([t]) =>
      rain.filter(([u]) => u > t - 3 * H && u <= t).reduce((a, [, v]) => a + v, 0),
    )
    expect(Math.max(...sum3h)).toBeGreaterThanOrEqual(100)
    expect(rain.reduce((a, [, v]) => a + v, 0)).toBeCloseTo(138, -1)
  })

  test('readings are stamped with exact event time: start + step × interval', () => {
    const sim = new Simulation(demo(), T0)
    sim.step()
    const second = sim.step()
    expect(new Set(second.map((r) => r.ts))).toEqual(new Set([T0 + 20 * 60_000]))
    expect(second.every((r) => r.seq === 2)).toBe(true)
  })
})
