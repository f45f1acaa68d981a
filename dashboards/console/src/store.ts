/**
 * What the console knows, loaded from the API and kept current by the event stream: an event
 * names what it changed, and that part is fetched again (coalesced, so a burst of receipts is one
 * request). Every (re)connection reloads everything, so nothing missed while away stays stale.
 */
import type { MultiPolygon, Polygon } from 'geojson'
import { get } from './api.js'
import type {
  Alert,
  Coverage,
  Deliveries,
  Fault,
  GatewayEvent,
  Me,
  Pending,
  Silence,
  Station,
  Terminal,
  Warning,
  WarningDetail,
} from './types.js'

/** A region of the registry (GET /api/regions). */
export interface Region {
  readonly code: string
  readonly name: string
  readonly names?: Record<string, string>
  readonly level: string
  readonly parent: string | null
  readonly boundary: Polygon | MultiPolygon | null
}

/** A loudspeaker with its presence and last receipt (GET /api/terminals). */
export type TerminalView = Terminal & {
  readonly presence?: { readonly state: string; readonly since: number | null } | null
  readonly lastReceipt?: {
    readonly warningId: string
    readonly version: number
    readonly state: string
    readonly at: number
  } | null
}

export interface State {
  me: Me | null
  regions: Region[]
  stations: Station[]
  terminals: TerminalView[]
  warnings: Warning[]
  pending: Pending[]
  alerts: Alert[]
  silences: Silence[]
  faults: Fault[]
  coverage: Map<string, Coverage>
  deliveries: Map<string, Deliveries>
  detail: Map<string, WarningDetail>
  /** The warning the officer looks at. */
  selected: string | null
  /** Regions ticked in the tree (for issuing by hand). */
  chosen: Set<string>
  /** The newest event id handled. */
  lastEventId: number
}

export const state: State = {
  me: null,
  regions: [],
  stations: [],
  terminals: [],
  warnings: [],
  pending: [],
  alerts: [],
  silences: [],
  faults: [],
  coverage: new Map(),
  deliveries: new Map(),
  detail: new Map(),
  selected: null,
  chosen: new Set(),
  lastEventId: 0,
}

const listeners = new Set<() => void>()
let scheduled = false
/** Re-render (once per frame, however many changes). */
export function changed(): void {
  if (scheduled) return
  scheduled = true
  requestAnimationFrame(() => {
    scheduled = false
    for (const l of listeners) l()
  })
}
export function onChange(l: () => void): void {
  listeners.add(l)
}

type Loader = () => Promise<void>
const loaders: Record<string, Loader> = {
  regions: async () => {
    state.regions = (await get<{ regions: Region[] }>('/api/regions')).regions
  },
  stations: async () => {
    state.stations = (await get<{ stations: Station[] }>('/api/stations')).stations
  },
  terminals: async () => {
    state.terminals = (await get<{ terminals: TerminalView[] }>('/api/terminals')).terminals
  },
  warnings: async () => {
    state.warnings = (await get<{ warnings: Warning[] }>('/api/warnings?limit=200')).warnings
    // The list is shown at once; the reach of every active warning (and of the one looked at)
    // follows as it arrives.
    changed()
    const ids = new Set(state.warnings.filter((w) => w.state === 'active').map((w) => w.id))
    if (state.selected) ids.add(state.selected)
    await Promise.all([...ids].map((id) => loadWarning(id, false)))
  },
  pending: async () => {
    state.pending = (await get<{ pending: Pending[] }>('/api/approvals')).pending
  },
  alerts: async () => {
    state.alerts = (await get<{ alerts: Alert[] }>('/api/alerts')).alerts
  },
  silences: async () => {
    state.silences = (await get<{ silences: Silence[] }>('/api/silences')).silences
  },
  faults: async () => {
    state.faults = (await get<{ faults: Fault[] }>('/api/faults?state=active')).faults
  },
}
export type Part = keyof typeof loaders

/** Coverage of one warning (and its deliveries and detail when it is the one looked at). */
export async function loadWarning(id: string, render = true): Promise<void> {
  const path = `/api/warnings/${encodeURIComponent(id)}`
  const [coverage, deliveries, detail] = await Promise.all([
    get<Coverage>(`${path}/coverage`),
    get<Deliveries>(`${path}/deliveries`),
    state.selected === id ? get<WarningDetail>(path) : Promise.resolve(undefined),
  ])
  state.coverage.set(id, coverage)
  state.deliveries.set(id, deliveries)
  if (detail) state.detail.set(id, detail)
  if (render) changed()
}

/** Load everything (at start and at each reconnection). */
export async function loadAll(): Promise<void> {
  // Each part on its own: one the gateway refuses or lacks leaves the others shown.
  const results = await Promise.allSettled(Object.values(loaders).map((l) => l()))
  for (const r of results) if (r.status === 'rejected') console.warn('console: a part did not load', r.reason)
  changed()
}

// Coalesced reloads: parts and warnings asked for within one short window are fetched once.
const dueParts = new Set<Part>()
const dueWarnings = new Set<string>()
let timer: ReturnType<typeof setTimeout> | undefined
/** Receipts come in bursts (a village's loudspeakers answer together): they wait a little. */
const BURST_MS = 120
function schedule(soon = false): void {
  if (soon && timer !== undefined) {
    clearTimeout(timer)
    timer = undefined
  }
  timer ??= setTimeout(
    () => {
      timer = undefined
      const parts = [...dueParts]
      // Reloading the warnings reloads every active one's reach too.
      const warnings = parts.includes('warnings') ? [] : [...dueWarnings]
      dueParts.clear()
      dueWarnings.clear()
      void Promise.all([...parts.map((p) => loaders[p]!()), ...warnings.map((id) => loadWarning(id, false))])
        .then(changed)
        .catch(() => {
          // the stream's reconnection reloads everything
        })
    },
    soon ? 0 : BURST_MS,
  )
}
/** Fetch these parts again: at once for a warning's change, after a short wait for receipts. */
export function reload(...parts: Part[]): void {
  for (const p of parts) dueParts.add(p)
  schedule(parts.includes('warnings'))
}
export function reloadWarning(id: string): void {
  dueWarnings.add(id)
  schedule()
}

/** What an event changed. */
export function apply(e: GatewayEvent): void {
  state.lastEventId = Math.max(state.lastEventId, e.id)
  const warningId = typeof e.data['warningId'] === 'string' ? e.data['warningId'] : undefined
  switch (e.type) {
    case 'warning.released':
    case 'approval.needed':
    case 'approval.given':
    case 'version.held':
      reload('warnings', 'pending', 'alerts')
      break
    case 'warning.acknowledged':
    case 'warning.escalated':
      reload('warnings')
      break
    case 'delivery.changed':
    case 'callout.answered':
      if (warningId) reloadWarning(warningId)
      if (e.data['channel'] === 'loudspeaker') reload('terminals')
      break
    case 'fault.raised':
    case 'fault.cleared':
      reload('faults', 'stations')
      break
  }
  window.dispatchEvent(new CustomEvent('shaobing:event', { detail: e }))
}

/** The level on the air: that of the newest version that went out (a version waiting is not). */
export function airLevel(w: Warning): Warning['level'] {
  if (w.state !== 'active') return null
  const out = w.versions.filter((v) => v.release === 'released')
  return out.length ? (out[out.length - 1]!.level ?? null) : null
}

export const hasRole = (role: string): boolean =>
  !!state.me && (state.me.roles as readonly string[]).some((r) => r === role)
