/**
 * The demo county's map stays consistent: every station and loudspeaker lies inside its own
 * region's boundary, every village inside its township and every township inside the county, and
 * no two neighbours overlap (they may share a border).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { inBoundary } from '../../../gateway/src/registry/geometry.js'
import { RegistryFile, type Boundary } from '../../../gateway/src/registry/schema.js'
import { parentCode, parseYaml } from '../../../rules/src/index.js'

const FILE = join(import.meta.dirname, '../../../gateway/config/demo/county.yaml')
const parsed = parseYaml(readFileSync(FILE, 'utf8'), FILE, RegistryFile)
if (!parsed.ok) throw new Error(JSON.stringify(parsed.error))
const registry = parsed.value

type Pos = readonly [number, number]
const rings = (b: Boundary): Pos[][] =>
  b.type === 'Polygon' ? [b.coordinates[0]!] : b.coordinates.map((p) => p[0]!)
const edges = (b: Boundary): [Pos, Pos][] =>
  rings(b).flatMap((r) => r.slice(1).map((p, i): [Pos, Pos] => [r[i]!, p]))
const EPS = 1e-9
const cross = (o: Pos, a: Pos, b: Pos) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
const onSegment = (p: Pos, [a, b]: [Pos, Pos]) =>
  Math.abs(cross(a, b, p)) < EPS &&
  p[0] >= Math.min(a[0], b[0]) - EPS &&
  p[0] <= Math.max(a[0], b[0]) + EPS &&
  p[1] >= Math.min(a[1], b[1]) - EPS &&
  p[1] <= Math.max(a[1], b[1]) + EPS
const onBorder = (p: Pos, b: Boundary) => edges(b).some((e) => onSegment(p, e))
const strictlyInside = (p: Pos, b: Boundary) => !onBorder(p, b) && inBoundary(p[0], p[1], b)
/** Two segments cross at a point inside both (touching or sharing a stretch is not crossing). */
const properlyCross = ([a, b]: [Pos, Pos], [c, d]: [Pos, Pos]) => {
  const d1 = cross(c, d, a)
  const d2 = cross(c, d, b)
  const d3 = cross(a, b, c)
  const d4 = cross(a, b, d)
  return (
    ((d1 > EPS && d2 < -EPS) || (d1 < -EPS && d2 > EPS)) &&
    ((d3 > EPS && d4 < -EPS) || (d3 < -EPS && d4 > EPS))
  )
}

const boundaryOf = (code: string): Boundary => {
  const b = registry.regions.find((r) => r.code === code)?.boundary
  if (!b) throw new Error(`region ${code} has no boundary`)
  return b
}

describe('the demo county’s boundaries', () => {
  test('every region has an outline of 8 to 20 vertices', () => {
    for (const r of registry.regions) {
      const b = boundaryOf(r.code)
      for (const ring of rings(b)) expect(ring.length - 1, r.code).toBeGreaterThanOrEqual(8)
      for (const ring of rings(b)) expect(ring.length - 1, r.code).toBeLessThanOrEqual(20)
    }
  })

  test('every station and loudspeaker with a position lies inside its own region', () => {
    const placed = [...registry.stations, ...registry.terminals]
    expect(registry.terminals.every((t) => t.lat !== undefined && t.lon !== undefined)).toBe(true)
    const outside = placed
      .filter((x) => x.lat !== undefined && x.lon !== undefined)
      .filter((x) => !strictlyInside([x.lon!, x.lat!], boundaryOf(x.region)))
      .map((x) => x.id)
    expect(outside).toEqual([])
  })

  test('every village lies inside its township and every township inside the county', () => {
    for (const r of registry.regions) {
      const parent = parentCode(r.code)
      if (parent === undefined || !registry.regions.some((x) => x.code === parent)) continue
      const outer = boundaryOf(parent)
      for (const ring of rings(boundaryOf(r.code)))
        for (const p of ring)
          expect(
            onBorder(p, outer) || inBoundary(p[0], p[1], outer),
            `${r.code} ${p.join(',')} in ${parent}`,
          ).toBe(true)
      // A border of the parent may not cut through the child.
      for (const e of edges(boundaryOf(r.code)))
        expect(edges(outer).some((f) => properlyCross(e, f))).toBe(false)
    }
  })

  test('neighbours do not overlap', () => {
    for (const a of registry.regions)
      for (const b of registry.regions) {
        if (a.code >= b.code || parentCode(a.code) !== parentCode(b.code)) continue
        const [ba, bb] = [boundaryOf(a.code), boundaryOf(b.code)]
        for (const p of rings(ba).flat())
          expect(strictlyInside(p, bb), `${a.code} ${p.join(',')} in ${b.code}`).toBe(false)
        for (const p of rings(bb).flat())
          expect(strictlyInside(p, ba), `${b.code} ${p.join(',')} in ${a.code}`).toBe(false)
        for (const e of edges(ba))
          expect(
            edges(bb).some((f) => properlyCross(e, f)),
            `${a.code} × ${b.code}`,
          ).toBe(false)
      }
  })
})
