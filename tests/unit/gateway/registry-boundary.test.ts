/** Region boundaries in the registry: a malformed outline is refused with its path and why. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { loadConfig } from '../../../gateway/src/config/load.js'
import { formatFileIssue } from '../../../rules/src/index.js'

const RING = '[[102.60, 29.40], [102.70, 29.40], [102.70, 29.50], [102.60, 29.50], [102.60, 29.40]]'

/** A one-county registry whose county has `boundary`, and a station and a terminal in it. */
function load(boundary: string, at: { lat: number; lon: number } = { lat: 29.45, lon: 102.65 }) {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-boundary-'))
  writeFileSync(
    join(dir, 'registry.yaml'),
    [
      'regions:',
      `  - { code: '511823000000', name: 县, level: county, boundary: ${boundary} }`,
      'stations:',
      `  - { id: S1, name: s, region: '511823000000', lat: ${at.lat}, lon: ${at.lon}, sensors: [{ id: s1, kind: rain }] }`,
      'terminals:',
      `  - { id: T1, region: '511823000000', lat: ${at.lat}, lon: ${at.lon} }`,
      '',
    ].join('\n'),
  )
  writeFileSync(join(dir, 'gateway.yaml'), 'registry: registry.yaml\n')
  return loadConfig(join(dir, 'gateway.yaml'))
}

const refusals = (boundary: string) => {
  const loaded = load(boundary)
  if (loaded.ok) throw new Error('the boundary was accepted')
  return loaded.error.map(formatFileIssue).map((l) => l.replace(/^.*registry\.yaml/, 'registry.yaml'))
}

describe('region boundaries', () => {
  test('a Polygon and a MultiPolygon are accepted and kept', () => {
    const polygon = load(`{ type: Polygon, coordinates: [${RING}] }`)
    expect(polygon.ok).toBe(true)
    if (!polygon.ok) return
    expect(polygon.value.registry.region('511823000000')?.boundary).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [102.6, 29.4],
          [102.7, 29.4],
          [102.7, 29.5],
          [102.6, 29.5],
          [102.6, 29.4],
        ],
      ],
    })
    expect(polygon.value.warnings).toEqual([])
    const multi = load(`{ type: MultiPolygon, coordinates: [[${RING}], [${RING.replaceAll('29.', '30.')}]] }`)
    expect(multi.ok).toBe(true)
  })

  test('a ring that is not closed is refused with its path', () => {
    expect(
      refusals(
        '{ type: Polygon, coordinates: [[[102.6, 29.4], [102.7, 29.4], [102.7, 29.5], [102.6, 29.5]]] }',
      ),
    ).toEqual([
      'registry.yaml:2: regions.0.boundary.coordinates.0: a ring must be closed: its last position repeats its first',
    ])
  })

  test('a ring of fewer than 4 positions is refused', () => {
    expect(
      refusals('{ type: Polygon, coordinates: [[[102.6, 29.4], [102.7, 29.4], [102.6, 29.4]]] }'),
    ).toEqual([
      'registry.yaml:2: regions.0.boundary.coordinates.0: a ring needs at least 4 positions (a triangle and its closing position)',
    ])
  })

  test('a latitude or longitude out of range is refused at its position', () => {
    expect(
      refusals(
        '{ type: Polygon, coordinates: [[[102.6, 29.4], [102.7, 91], [190, 29.5], [102.6, 29.5], [102.6, 29.4]]] }',
      ),
    ).toEqual([
      'registry.yaml:2: regions.0.boundary.coordinates.0.1.1: latitude must be within [-90, 90]',
      'registry.yaml:2: regions.0.boundary.coordinates.0.2.0: longitude must be within [-180, 180]',
    ])
  })

  test('a geometry that is no Polygon or MultiPolygon, or has no rings, is refused', () => {
    expect(refusals('{ type: Point, coordinates: [102.6, 29.4] }')).toHaveLength(1)
    expect(refusals('{ type: Point, coordinates: [102.6, 29.4] }')[0]).toMatch(
      /^registry\.yaml:2: regions\.0\.boundary\.type: /,
    )
    expect(refusals('{ type: Polygon, coordinates: [] }')).toEqual([
      'registry.yaml:2: regions.0.boundary.coordinates: a polygon needs its outer ring',
    ])
    expect(
      refusals(
        '{ type: Polygon, coordinates: [[[102.6, 29.4, 5], [102.7, 29.4], [102.7, 29.5], [102.6, 29.4]]] }',
      )[0],
    ).toMatch(/^registry\.yaml:2: regions\.0\.boundary\.coordinates\.0\.0: /)
  })

  test('a station or terminal outside its region’s boundary is a warning, not an error', () => {
    const loaded = load(`{ type: Polygon, coordinates: [${RING}] }`, { lat: 29.6, lon: 102.65 })
    expect(loaded.ok).toBe(true)
    if (!loaded.ok) return
    expect(loaded.value.warnings).toEqual([
      "2 station(s) or terminal(s) lie outside their region's boundary: station S1 (511823000000), terminal T1 (511823000000)",
    ])
  })
})
