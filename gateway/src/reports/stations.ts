/** The stations as the API lists them: registry entries with their region's name and latest reading. */
import type { Registry } from '../registry/registry.js'
import type { Reading } from '../store/readings.js'

/** Each station of the registry with its place name, constants, sensors and latest reading (or null). */
export function stationList(
  registry: Pick<Registry, 'stations' | 'regionName'>,
  readings: { latest(stationId: string): Reading | undefined },
) {
  return registry.stations.map((s) => ({
    id: s.id,
    name: s.name,
    region: s.region,
    regionName: registry.regionName(s.region),
    lat: s.lat ?? null,
    lon: s.lon ?? null,
    params: s.params,
    sensors: s.sensors,
    latest: readings.latest(s.id) ?? null,
  }))
}
