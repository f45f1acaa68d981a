/** Plane geometry on [lon, lat] positions: enough for hazard polygons and region boundaries. */
import type { Boundary } from './schema.js'

/** Whether a point (lon, lat) lies inside a GeoJSON polygon (outer ring minus holes; ray casting). */
export function inPolygon(
  lon: number,
  lat: number,
  rings: readonly (readonly (readonly number[])[])[],
): boolean {
  const inRing = (ring: readonly (readonly number[])[]) => {
    let inside = false
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i] as [number, number]
      const [xj, yj] = ring[j] as [number, number]
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside
    }
    return inside
  }
  const [outer, ...holes] = rings
  return outer !== undefined && inRing(outer) && !holes.some(inRing)
}

/** Whether a point (lon, lat) lies inside a region's boundary (any polygon of a MultiPolygon). */
export function inBoundary(lon: number, lat: number, boundary: Boundary): boolean {
  return boundary.type === 'Polygon'
    ? inPolygon(lon, lat, boundary.coordinates)
    : boundary.coordinates.some((p) => inPolygon(lon, lat, p))
}
