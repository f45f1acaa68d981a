/** Lookups over the loaded registry: which station a sensor belongs to, which terminals cover a region. */
import { parentCode, regionAt, regionContains, type StationInfo } from '../../../rules/src/index.js'
import { inBoundary } from './geometry.js'
import {
  type KindsFile,
  type Person,
  type PersonRole,
  type Region,
  type RegistryFile,
  type SensorKind,
  type Station,
  type Terminal,
} from './schema.js'

export interface SensorEntry {
  readonly sensorId: string
  readonly kind: string
  readonly station: Station
}

export class Registry {
  private readonly sensors = new Map<string, SensorEntry>()
  private readonly stationsById = new Map<string, Station>()
  private readonly regionNames = new Map<string, string>()
  private readonly regionsByCode = new Map<string, Region>()
  private readonly terminalsById = new Map<string, Terminal>()
  private readonly coverCache = new Map<string, readonly Terminal[]>()
  private readonly regionParams = new Map<string, Readonly<Record<string, number>>>()
  private readonly infos = new Map<string, StationInfo>()
  private readonly rtus = new Map<string, Station>()

  constructor(
    readonly file: RegistryFile,
    readonly kinds: KindsFile['kinds'],
  ) {
    for (const r of file.regions) {
      this.regionNames.set(r.code, r.name)
      this.regionsByCode.set(r.code, r)
      if (Object.keys(r.params).length > 0) this.regionParams.set(r.code, r.params)
    }
    for (const s of file.stations) {
      this.stationsById.set(s.id, s)
      if (s.sl651) this.rtus.set(s.sl651.address, s)
      for (const sensor of s.sensors)
        this.sensors.set(sensor.id, { sensorId: sensor.id, kind: sensor.kind, station: s })
    }
    for (const t of file.terminals) this.terminalsById.set(t.id, t)
  }

  sensor(id: string): SensorEntry | undefined {
    return this.sensors.get(id)
  }

  station(id: string): Station | undefined {
    return this.stationsById.get(id)
  }

  /** The station an SL 651 telemetry station address (10 upper-case hex digits) reports for. */
  rtu(address: string): Station | undefined {
    return this.rtus.get(address)
  }

  /**
   * What the rules engine knows of a station: its region, and its constants layered county →
   * township → village → station, the nearest definition winning.
   */
  stationInfo(id: string): StationInfo | undefined {
    let info = this.infos.get(id)
    if (info) return info
    const station = this.stationsById.get(id)
    if (!station) return undefined
    const chain: string[] = []
    for (let code: string | undefined = station.region; code !== undefined; code = parentCode(code))
      chain.unshift(code)
    const params: Record<string, number> = {}
    for (const code of chain) Object.assign(params, this.regionParams.get(code))
    Object.assign(params, station.params)
    info = { params, region: station.region }
    this.infos.set(id, info)
    return info
  }

  /** The declared regions, in registry order. */
  get regions(): readonly Region[] {
    return this.file.regions
  }

  region(code: string): Region | undefined {
    return this.regionsByCode.get(code)
  }

  /** The nearest declared region containing `code` (a village's township, or its county if that is missing). */
  parentRegion(code: string): Region | undefined {
    for (let c = parentCode(code); c !== undefined; c = parentCode(c)) {
      const r = this.regionsByCode.get(c)
      if (r) return r
    }
    return undefined
  }

  /**
   * Stations and terminals with a position outside their own region's boundary (regions without
   * one are not checked): a typo in a coordinate, or a boundary drawn too tight.
   */
  outsideBoundaries(): {
    readonly what: 'station' | 'terminal'
    readonly id: string
    readonly region: string
  }[] {
    const out: { what: 'station' | 'terminal'; id: string; region: string }[] = []
    const check = (what: 'station' | 'terminal', x: Station | Terminal) => {
      const boundary = this.regionsByCode.get(x.region)?.boundary
      if (boundary && x.lat !== undefined && x.lon !== undefined && !inBoundary(x.lon, x.lat, boundary))
        out.push({ what, id: x.id, region: x.region })
    }
    for (const s of this.file.stations) check('station', s)
    for (const t of this.file.terminals) check('terminal', t)
    return out
  }

  /** People of a region (exactly that region) with one of the roles. */
  peopleIn(code: string, roles: readonly PersonRole[]): readonly Person[] {
    return this.file.people.filter((p) => p.region === code && p.roles.some((r) => roles.includes(r)))
  }

  get people(): readonly Person[] {
    return this.file.people
  }

  get stations(): readonly Station[] {
    return this.file.stations
  }

  get terminals(): readonly Terminal[] {
    return this.file.terminals
  }

  terminal(id: string): Terminal | undefined {
    return this.terminalsById.get(id)
  }

  kind(name: string): SensorKind | undefined {
    return this.kinds[name]
  }

  /** The region's name (in `language` where the registry gives one), or its code if unknown. */
  regionName(code: string, language?: string): string {
    if (language !== undefined) {
      const r = this.regionsByCode.get(code)
      const local = r?.names[language] ?? r?.names[language.split('-')[0]!]
      if (local) return local
    }
    return this.regionNames.get(code) ?? code
  }

  /** "示范县河口镇柳湾村": the names from county down to the region (in `language` where given). */
  placeName(code: string, language?: string): string {
    const parts = [regionAt(code, 'county'), regionAt(code, 'township'), code]
    return [...new Set(parts)]
      .map((c) => this.regionName(c, language))
      .filter((n) => !/^\d+$/.test(n))
      .join('')
  }

  /** Terminals inside `code` (a county covers its townships and villages). */
  terminalsIn(code: string): readonly Terminal[] {
    let list = this.coverCache.get(code)
    if (!list) {
      list = this.file.terminals.filter((t) => regionContains(code, t.region))
      this.coverCache.set(code, list)
    }
    return list
  }
}
