/**
 * The benchmarks' generated county: 10 townships × 10 villages × 10 loudspeakers (1,000), a river
 * gauge, optionally people (for SMS and 叫应) and a map (township and village outlines as irregular
 * GeoJSON polygons, terminals at coordinates inside their village) for the console.
 */
import { mulberry32 } from '../../sensors-sim/src/prng.js'

export const TOWNSHIPS = 10
export const VILLAGES_PER_TOWNSHIP = 10
export const PER_VILLAGE = 10

const townCode = (t: number) => `511823${String(100 + t).padStart(3, '0')}`
const villageCode = (t: number, v: number) => `${townCode(t)}${String(200 + v).padStart(3, '0')}`

/** Every village's code, township by township. */
export const villageCodes = (): string[] =>
  Array.from({ length: TOWNSHIPS }, (_, t) =>
    Array.from({ length: VILLAGES_PER_TOWNSHIP }, (_, v) => villageCode(t + 1, v + 1)),
  ).flat()

/** A loudspeaker's id: T{village}-NN (NNN in villages of more than 99). */
const terminalId = (village: string, k: number, perVillage: number) =>
  `T${village}-${String(k).padStart(perVillage > 99 ? 3 : 2, '0')}`

/** The loudspeakers' ids, `perVillage` in each of the 100 villages (default 10: 1,000). */
export const countyTerminalIds = (perVillage = PER_VILLAGE): { id: string }[] =>
  villageCodes().flatMap((village) =>
    Array.from({ length: perVillage }, (_, k) => ({ id: terminalId(village, k + 1, perVillage) })),
  )

type Ring = [number, number][]
/** A cell's outline with its edges bent a little (shared corners stay put, so neighbours meet). */
function outline(west: number, south: number, w: number, h: number, rng: () => number): Ring {
  const corners: [number, number][] = [
    [west, south],
    [west + w, south],
    [west + w, south + h],
    [west, south + h],
  ]
  const ring: Ring = []
  corners.forEach((c, i) => {
    const n = corners[(i + 1) % 4]!
    ring.push(c)
    for (const f of [0.33, 0.66]) {
      const j = (rng() - 0.5) * 0.12
      const dx = n[0] - c[0]
      const dy = n[1] - c[1]
      ring.push([c[0] + dx * f - dy * j, c[1] + dy * f + dx * j])
    }
  })
  ring.push(ring[0]!)
  return ring.map(([x, y]) => [Number(x.toFixed(5)), Number(y.toFixed(5))])
}
const polygon = (ring: Ring) => JSON.stringify({ type: 'Polygon', coordinates: [ring] })

export function countyRegistry(opts: { people?: number; geo?: boolean; perVillage?: number } = {}): string {
  const perVillage = opts.perVillage ?? PER_VILLAGE
  const rng = mulberry32(11)
  const geo = opts.geo ?? false
  const people = opts.people ?? 0
  const [W, S, TW, TH] = [102.4, 29.2, 0.12, 0.3] // townships 5 × 2, each 0.12° × 0.3°
  const lines = [
    'regions:',
    `  - { code: '511823000000', name: 示范县, level: county${geo ? `, boundary: ${polygon(outline(W, S, 5 * TW, 2 * TH, rng))}` : ''} }`,
  ]
  const terminals: string[] = []
  const persons: string[] = []
  const villages = TOWNSHIPS * VILLAGES_PER_TOWNSHIP
  for (let t = 1; t <= TOWNSHIPS; t++) {
    const tw = W + ((t - 1) % 5) * TW
    const ts = S + Math.floor((t - 1) / 5) * TH
    lines.push(
      `  - { code: '${townCode(t)}000', name: 镇${t}, level: township${geo ? `, boundary: ${polygon(outline(tw, ts, TW, TH, rng))}` : ''} }`,
    )
    for (let v = 1; v <= VILLAGES_PER_TOWNSHIP; v++) {
      const village = villageCode(t, v)
      const [vw, vh] = [TW / 2, TH / 5]
      const vx = tw + ((v - 1) % 2) * vw
      const vy = ts + Math.floor((v - 1) / 2) * vh
      lines.push(
        `  - { code: '${village}', name: 村${t}-${v}, level: village${geo ? `, boundary: ${polygon(outline(vx + vw * 0.04, vy + vh * 0.04, vw * 0.92, vh * 0.92, rng))}` : ''} }`,
      )
      for (let k = 1; k <= perVillage; k++) {
        const at = geo
          ? `, lat: ${(vy + vh * (0.25 + 0.5 * rng())).toFixed(5)}, lon: ${(vx + vw * (0.25 + 0.5 * rng())).toFixed(5)}`
          : ''
        terminals.push(`  - { id: ${terminalId(village, k, perVillage)}, region: '${village}'${at} }`)
      }
      for (let p = 1; p <= people / villages; p++)
        persons.push(
          `  - { id: P${village}-${p}, name: 人员${p}, region: '${village}', roles: [duty_officer], phone: '139${village.slice(6)}${String(p).padStart(2, '0')}' }`,
        )
    }
  }
  lines.push(
    'stations:',
    `  - { id: WL-1, name: 水位站, region: '511823101201'${geo ? `, lat: ${S + 0.05}, lon: ${W + 0.03}` : ''}, params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: wl-1, kind: water_level }] }`,
    'terminals:',
    ...terminals,
    ...(persons.length ? ['people:', ...persons] : []),
  )
  return lines.join('\n') + '\n'
}
