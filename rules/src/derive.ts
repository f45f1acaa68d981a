/**
 * The derive stage: quantities computed from a reading before any rule sees it. Unit conversions
 * are stateless; the seismic ones keep per-station filter state across batches.
 */
import { derivedUnits, durationMs, type Derive } from './schema.js'
import { instrumentalIntensity, IntensityProcessor, StaLtaTrigger, type Waveform } from './seismic.js'
import { beaufortFromMs, lelFromVol, mgm3FromPpm, msFromBeaufort, ppmFromMgm3, volFromLel } from './units.js'
import { SlidingWindow } from './window.js'

/** Per-station state of one stateful derive entry. */
type DeriveState =
  | { fn: 'gb17742'; proc: IntensityProcessor; pga: SlidingWindow; pgv: SlidingWindow }
  | { fn: 'sta_lta'; trigger: StaLtaTrigger }

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits

export class DeriveStage {
  private readonly byKind = new Map<string, { d: Derive; index: number }[]>()

  constructor(derives: readonly Derive[]) {
    derives.forEach((d, index) => {
      for (const kind of d.kinds) {
        const list = this.byKind.get(kind) ?? []
        list.push({ d, index })
        this.byKind.set(kind, list)
      }
    })
  }

  has(kind: string): boolean {
    return this.byKind.has(kind)
  }

  /** The quantities derived for readings of this kind, with their units. */
  quantities(kind: string): Record<string, string> {
    return Object.assign({}, ...(this.byKind.get(kind) ?? []).map(({ d }) => derivedUnits(d))) as Record<
      string,
      string
    >
  }

  /** The reading's values with the derived ones added; `state` is the station's derive state. */
  apply(
    kind: string,
    ts: number,
    values: Readonly<Record<string, number>>,
    waveform: Waveform | undefined,
    state: Map<number, DeriveState>,
  ): Record<string, number> {
    const out: Record<string, number> = { ...values }
    for (const { d, index } of this.byKind.get(kind) ?? []) {
      if (d.fn === 'gb17742' || d.fn === 'sta_lta') {
        if (!waveform) continue
        let st = state.get(index)
        if (!st) {
          st =
            d.fn === 'gb17742'
              ? {
                  fn: 'gb17742',
                  proc: new IntensityProcessor(),
                  pga: new SlidingWindow(durationMs(d.peak_window), true, false),
                  pgv: new SlidingWindow(durationMs(d.peak_window), true, false),
                }
              : {
                  fn: 'sta_lta',
                  trigger: new StaLtaTrigger({
                    staS: durationMs(d.sta) / 1000,
                    ltaS: durationMs(d.lta) / 1000,
                    on: d.on,
                    off: d.off,
                    band: d.band,
                  }),
                }
          state.set(index, st)
        }
        if (st.fn === 'gb17742') {
          const { pga_ms2, pgv_ms } = st.proc.batch(waveform)
          st.pga.push(ts, pga_ms2)
          st.pgv.push(ts, pgv_ms)
          out.pga_ms2 = round(pga_ms2, 5)
          out.pgv_ms = round(pgv_ms, 6)
          out.intensity = instrumentalIntensity(st.pga.value('max', ts)!, st.pgv.value('max', ts)!)
        } else Object.assign(out, st.trigger.batch(waveform))
        continue
      }
      const v = values[d.from]
      if (v === undefined) continue
      out[d.quantity] = convert(d, v)
    }
    return out
  }
}

function convert(d: Exclude<Derive, { fn: 'gb17742' | 'sta_lta' }>, v: number): number {
  switch (d.fn) {
    case 'ms_to_beaufort':
      return beaufortFromMs(v)
    case 'beaufort_to_ms':
      return msFromBeaufort(v)
    case 'ppm_to_mgm3':
      return round(mgm3FromPpm(v, d.molar_mass), 6)
    case 'mgm3_to_ppm':
      return round(ppmFromMgm3(v, d.molar_mass), 6)
    case 'vol_to_lel':
      return round(lelFromVol(v, d.lel), 6)
    case 'lel_to_vol':
      return round(volFromLel(v, d.lel), 6)
  }
}

export type { DeriveState }
