/**
 * The map (一张图) without internet tiles: the registry's region outlines as GeoJSON layers,
 * coloured by the highest active warning inside each; stations and loudspeakers at their
 * coordinates, coloured by warning level, fault and presence; the area of the warning looked at
 * outlined in its colour. Leaflet draws it all as vectors on a plain background.
 */
import type { Feature } from 'geojson'
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { regionContains } from '../../../rules/src/regions.js'
import { t, tr } from './i18n.js'
import { airLevel, state, type Region, type TerminalView } from './store.js'
import type { Level, Station, Warning } from './types.js'

export const LEVEL_COLOURS: Record<string, string> = {
  blue: '#1f6feb',
  yellow: '#d4a72c',
  orange: '#e16f24',
  red: '#cf222e',
  level_1: '#e16f24',
  level_2: '#cf222e',
}
const RANK: Record<string, number> = { blue: 1, yellow: 2, orange: 3, red: 4, level_1: 3, level_2: 4 }
export const rankOf = (l: Level | null | undefined): number => (l ? (RANK[l] ?? 0) : 0)

/** The highest active warning covering a region (any of its targets inside or around it). */
export function levelIn(code: string, warnings: readonly Warning[]): Level | null {
  let best: Level | null = null
  for (const w of warnings) {
    const level = airLevel(w)
    if (!level) continue
    if (
      w.targets.some((tg) => regionContains(tg, code) || regionContains(code, tg)) &&
      rankOf(level) > rankOf(best)
    )
      best = level
  }
  return best
}

export class CountyMap {
  private readonly map: L.Map
  private readonly regionLayer = L.featureGroup()
  private readonly highlight = L.featureGroup()
  private readonly stationLayer = L.featureGroup()
  private readonly terminalLayer = L.featureGroup()
  private regionsDrawn = ''
  private fitted = false
  private readonly regionPaths = new Map<string, L.GeoJSON>()
  private readonly stations = new Map<string, L.CircleMarker>()
  private readonly terminals = new Map<string, L.CircleMarker>()
  private readonly canvas = L.canvas({ padding: 0.2 })

  constructor(
    el: HTMLElement,
    private readonly onStation: (id: string) => void,
  ) {
    this.map = L.map(el, { zoomControl: true, attributionControl: false, zoomSnap: 0.25 })
    this.regionLayer.addTo(this.map)
    this.highlight.addTo(this.map)
    this.terminalLayer.addTo(this.map)
    this.stationLayer.addTo(this.map)
    this.map.setView([30, 104], 9)
    L.control.scale({ imperial: false }).addTo(this.map)
  }

  /** Draw what changed. */
  update(): void {
    this.drawRegions(state.regions)
    this.styleRegions()
    this.drawHighlight()
    this.drawTerminals(state.terminals)
    this.drawStations(state.stations)
    if (!this.fitted) this.fit()
  }

  invalidate(): void {
    this.map.invalidateSize()
  }

  private fit(): void {
    const b = this.regionLayer.getBounds()
    const s = this.stationLayer.getBounds()
    const all = b.isValid() ? b : s
    if (all.isValid()) {
      this.map.fitBounds(all, { padding: [16, 16] })
      this.fitted = true
    }
  }

  private drawRegions(regions: readonly Region[]): void {
    const key = regions.map((r) => r.code + (r.boundary ? '+' : '')).join()
    if (key === this.regionsDrawn) return
    this.regionsDrawn = key
    this.regionLayer.clearLayers()
    this.regionPaths.clear()
    // Largest first, so villages lie on top of their township and county.
    const order = ['province', 'city', 'county', 'township', 'village']
    for (const r of [...regions].sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level))) {
      if (!r.boundary) continue
      const feature: Feature = { type: 'Feature', properties: { code: r.code }, geometry: r.boundary }
      const layer = L.geoJSON(feature, {
        interactive: r.level === 'village',
      })
      layer.bindTooltip(r.name, { sticky: true })
      layer.addTo(this.regionLayer)
      this.regionPaths.set(r.code, layer)
    }
  }

  private styleRegions(): void {
    for (const r of state.regions) {
      const layer = this.regionPaths.get(r.code)
      if (!layer) continue
      const level = r.level === 'village' ? levelIn(r.code, state.warnings) : null
      const colour = level ? LEVEL_COLOURS[level] : undefined
      layer.setStyle({
        color: r.level === 'county' ? '#57606a' : r.level === 'township' ? '#8c959f' : '#afb8c1',
        weight: r.level === 'county' ? 2.5 : r.level === 'township' ? 1.8 : 1,
        dashArray: r.level === 'village' ? '3 3' : '',
        fillColor: colour ?? '#ffffff',
        fillOpacity: colour ? 0.35 : r.level === 'county' ? 0.6 : 0,
      })
    }
  }

  private drawHighlight(): void {
    this.highlight.clearLayers()
    const w = state.warnings.find((x) => x.id === state.selected)
    if (!w) return
    const colour = (w.level && LEVEL_COLOURS[w.level]) ?? '#57606a'
    for (const r of state.regions)
      if (r.boundary && w.targets.some((tg) => regionContains(tg, r.code)) && r.level === 'village')
        L.geoJSON(r.boundary, {
          interactive: false,
          style: { color: colour, weight: 4, fill: false },
        }).addTo(this.highlight)
  }

  /** A marker per id, made once and restyled on every change (a county has a thousand loudspeakers). */
  private markerFor(
    markers: Map<string, L.CircleMarker>,
    layer: L.FeatureGroup,
    id: string,
    at: [number, number],
    make: () => L.CircleMarker,
  ): L.CircleMarker {
    let m = markers.get(id)
    if (!m) {
      m = make()
      markers.set(id, m)
      m.addTo(layer)
    }
    m.setLatLng(at)
    return m
  }

  private drawStations(stations: readonly Station[]): void {
    const faulty = new Set(state.faults.map((f) => f.stationId))
    for (const s of stations) {
      if (s.lat === null || s.lon === null) continue
      const level = this.stationLevel(s.id)
      const colour = level ? LEVEL_COLOURS[level]! : faulty.has(s.id) ? '#6e7781' : '#2da44e'
      const m = this.markerFor(this.stations, this.stationLayer, s.id, [s.lat, s.lon], () =>
        L.circleMarker([s.lat!, s.lon!], { className: `station station-${s.id}` })
          .bindTooltip(s.name)
          .on('click', () => this.onStation(s.id)),
      )
      m.setStyle({
        radius: level ? 9 : 7,
        color: faulty.has(s.id) ? '#24292f' : '#ffffff',
        weight: faulty.has(s.id) ? 3 : 2,
        dashArray: faulty.has(s.id) ? '2 2' : '',
        fillColor: colour,
        fillOpacity: 0.95,
      })
      m.setRadius(level ? 9 : 7)
      m.setTooltipContent(
        `${s.name}${level ? ` · ${tr('lvl', level)}` : ''}${faulty.has(s.id) ? ` · ${t('equipment')}` : ''}`,
      )
    }
  }

  private stationLevel(id: string): Level | null {
    let best: Level | null = null
    for (const a of state.alerts)
      if (a.stationId === id && !a.muted && rankOf(a.level) > rankOf(best)) best = a.level
    return best
  }

  private drawTerminals(terminals: readonly TerminalView[]): void {
    const selected = state.selected ? state.deliveries.get(state.selected) : undefined
    const w = state.warnings.find((x) => x.id === state.selected)
    const byTerminal = new Map(
      (selected?.deliveries ?? [])
        .filter((d) => d.version === w?.version)
        .map((d) => [d.terminalId, d.state]),
    )
    for (const tm of terminals) {
      if (tm.lat === undefined || tm.lon === undefined) continue
      const delivery = byTerminal.get(tm.id)
      const online = tm.presence?.state !== 'offline'
      const colour =
        delivery === 'played'
          ? '#2da44e'
          : delivery === 'failed' || delivery === 'expired'
            ? '#cf222e'
            : delivery
              ? '#d4a72c'
              : online
                ? '#57606a'
                : '#d0d7de'
      const m = this.markerFor(this.terminals, this.terminalLayer, tm.id, [tm.lat, tm.lon], () =>
        // Loudspeakers on a canvas: a thousand of them as SVG elements would slow every change.
        L.circleMarker([tm.lat!, tm.lon!], { renderer: this.canvas, radius: 4 }).bindTooltip(
          tm.name ?? tm.id,
        ),
      )
      m.setStyle({ color: online ? '#24292f' : '#8c959f', weight: 1, fillColor: colour, fillOpacity: 1 })
      m.setTooltipContent(
        `${tm.name ?? tm.id} · ${online ? t('online') : t('offline')}${delivery ? ` · ${delivery}` : ''}`,
      )
    }
  }
}
