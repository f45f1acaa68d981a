import { readFileSync } from 'node:fs'
import { loadScenario } from './sensors-sim/src/scenario.js'
import { Simulation } from './sensors-sim/src/signals.js'
const f = process.argv[2]!
const l = loadScenario(readFileSync(f, 'utf8'), f)
if (!l.ok) { console.log(l.error); process.exit(1) }
const sim = new Simulation(l.value, 0)
const series = new Map<string, [number, Record<string, number>][]>()
for (let i = 0; i < sim.steps; i++) for (const r of sim.step()) { if (!series.has(r.sensorId)) series.set(r.sensorId, []); series.get(r.sensorId)!.push([r.ts, r.values]) }
const H = 3600000
for (const [id, s] of series) {
  if (!('rain_mm' in s[0]![1])) { const q = Object.keys(s[0]![1])[0]!; console.log(id, q, 'max', Math.max(...s.map(([, v]) => v[q]!))); continue }
  const sum = (w: number) => Math.max(...s.map(([t]) => s.filter(([u]) => u > t - w && u <= t).reduce((a, [, v]) => a + v.rain_mm!, 0)))
  console.log(id, 'total', s.reduce((a, [, v]) => a + v.rain_mm!, 0).toFixed(1), '1h', sum(H).toFixed(1), '3h', sum(3 * H).toFixed(1), '6h', sum(6 * H).toFixed(1))
}
