/**
 * Seismic derived quantities from 3-component acceleration batches, streamed: filter state carries
 * over from one batch to the next, so a station's record is processed as one continuous signal.
 *
 * - GB/T 17742-2020 Annex A instrumental intensity: each component band-passed 0.1–10 Hz,
 *   integrated to velocity, the three components combined as a vector per sample; PGA and PGV
 *   are the peaks of those vectors; I_A = 3.17·lg(PGA) + 6.59, I_V = 3.00·lg(PGV) + 9.77;
 *   I = I_V when both are ≥ 6.0, otherwise their mean; clipped to [1.0, 12.0], one decimal.
 * - STA/LTA P-wave trigger (recursive averages of signal energy) with a re-arm threshold.
 *
 * The band-pass is a causal 4th-order Butterworth (two biquads each side); velocity is high-passed
 * again at 0.1 Hz so integration drift cannot grow. Input axes are in cm/s² (gal), as the
 * device contract has them; PGA is reported in m/s², PGV in m/s, as the standard's formulas use.
 */

/** One second-order IIR section in direct form II transposed. */
class Biquad {
  private z1 = 0
  private z2 = 0
  constructor(
    private readonly b0: number,
    private readonly b1: number,
    private readonly b2: number,
    private readonly a1: number,
    private readonly a2: number,
  ) {}

  /** RBJ cookbook low- or high-pass section (bilinear transform, matched at the corner). */
  static design(type: 'low' | 'high', cornerHz: number, sampleHz: number, q: number): Biquad {
    const w0 = (2 * Math.PI * cornerHz) / sampleHz
    const cos = Math.cos(w0)
    const alpha = Math.sin(w0) / (2 * q)
    const a0 = 1 + alpha
    const [b0, b1, b2] =
      type === 'low' ? [(1 - cos) / 2, 1 - cos, (1 - cos) / 2] : [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    return new Biquad(b0 / a0, b1 / a0, b2 / a0, (-2 * cos) / a0, (1 - alpha) / a0)
  }

  step(x: number): number {
    const y = this.b0 * x + this.z1
    this.z1 = this.b1 * x - this.a1 * y + this.z2
    this.z2 = this.b2 * x - this.a2 * y
    return y
  }
}

/** Q of the two sections of a 4th-order Butterworth filter. */
const BUTTER4_Q = [1 / (2 * Math.cos(Math.PI / 8)), 1 / (2 * Math.cos((3 * Math.PI) / 8))]

/** Causal 4th-order Butterworth band-pass; the low-pass side is left out above 0.45 × sample rate. */
class BandPass {
  private readonly sections: Biquad[]
  constructor(lowHz: number, highHz: number, sampleHz: number) {
    this.sections = BUTTER4_Q.map((q) => Biquad.design('high', lowHz, sampleHz, q))
    if (highHz < 0.45 * sampleHz)
      this.sections.push(...BUTTER4_Q.map((q) => Biquad.design('low', highHz, sampleHz, q)))
  }
  step(x: number): number {
    let y = x
    for (const s of this.sections) y = s.step(y)
    return y
  }
}

/** A batch of samples as the device sends it: first-sample time, rate, axes in cm/s². */
export interface Waveform {
  readonly t0: number
  readonly sr: number
  readonly x: readonly number[]
  readonly y: readonly number[]
  readonly z: readonly number[]
}

/** Samples farther apart than this (or a change of rate) restart the filters. */
const MAX_GAP_MS = 1000

/**
 * Three band-passed axes. A station's first batch, a change of sample rate or a gap restarts the
 * filters, with each axis's mean over that batch as its baseline (sensor offset, gravity on z).
 */
class ThreeAxisFilter {
  private filters: BandPass[] = []
  private baseline = [0, 0, 0]
  private sr = 0
  private nextT = -Infinity

  constructor(
    private readonly lowHz: number,
    private readonly highHz: number,
  ) {}

  /** Prepares for a batch; true when the filters were restarted. */
  begin(w: Waveform): boolean {
    const restart = w.sr !== this.sr || Math.abs(w.t0 - this.nextT) > MAX_GAP_MS
    if (restart) {
      this.sr = w.sr
      this.filters = [0, 1, 2].map(() => new BandPass(this.lowHz, this.highHz, w.sr))
      const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length
      this.baseline = [mean(w.x), mean(w.y), mean(w.z)]
    }
    this.nextT = w.t0 + (w.x.length * 1000) / w.sr
    return restart
  }

  /** The filtered value of sample `x` on `axis` (0 x, 1 y, 2 z). */
  step(axis: number, x: number): number {
    return this.filters[axis]!.step(x - this.baseline[axis]!)
  }
}

/** GB/T 17742-2020 Annex A: intensity from PGA (m/s²) and PGV (m/s). */
export function instrumentalIntensity(pgaMs2: number, pgvMs: number): number {
  const ia = 3.17 * Math.log10(pgaMs2) + 6.59
  const iv = 3.0 * Math.log10(pgvMs) + 9.77
  const i = ia >= 6.0 && iv >= 6.0 ? iv : (ia + iv) / 2
  const clipped = Number.isNaN(i) ? 1 : Math.min(12, Math.max(1, i))
  return Math.round(clipped * 10) / 10
}

/** Per-station GB/T 17742 processor: batch in, that batch's vector PGA (m/s²) and PGV (m/s) out. */
export class IntensityProcessor {
  private readonly filter = new ThreeAxisFilter(0.1, 10)
  private readonly v = [0, 0, 0]
  private readonly prevA = [0, 0, 0]
  private velocityHp: Biquad[] = []

  batch(w: Waveform): { pga_ms2: number; pgv_ms: number } {
    if (this.filter.begin(w)) {
      this.v.fill(0)
      this.prevA.fill(0)
      this.velocityHp = [0, 1, 2].map(() => Biquad.design('high', 0.1, w.sr, BUTTER4_Q[0]!))
    }
    const dt = 1 / w.sr
    const axes = [w.x, w.y, w.z]
    const a = [0, 0, 0]
    let pga2 = 0
    let pgv2 = 0
    for (let i = 0; i < w.x.length; i++) {
      let a2 = 0
      let v2 = 0
      for (let k = 0; k < 3; k++) {
        a[k] = this.filter.step(k, axes[k]![i]!) / 100 // gal → m/s²
        this.v[k]! += ((a[k]! + this.prevA[k]!) / 2) * dt // trapezoidal integration
        this.prevA[k] = a[k]!
        const hv = this.velocityHp[k]!.step(this.v[k]!)
        a2 += a[k]! * a[k]!
        v2 += hv * hv
      }
      if (a2 > pga2) pga2 = a2
      if (v2 > pgv2) pgv2 = v2
    }
    return { pga_ms2: Math.sqrt(pga2), pgv_ms: Math.sqrt(pgv2) }
  }
}

export interface StaLtaOptions {
  /** Short- and long-term averaging spans, seconds. */
  readonly staS: number
  readonly ltaS: number
  /** Trigger when STA/LTA reaches `on`; re-arm once it has fallen to `off`. */
  readonly on: number
  readonly off: number
  /** Pre-filter band, Hz. */
  readonly band: readonly [number, number]
}

/**
 * Recursive STA/LTA on the energy of the band-passed three components. The trigger cannot fire
 * until the long-term average has seen one full LTA span after a (re)start.
 */
export class StaLtaTrigger {
  private readonly filter: ThreeAxisFilter
  private sta = 0
  private lta = 0
  private seen = 0
  private triggered = false

  constructor(private readonly o: StaLtaOptions) {
    this.filter = new ThreeAxisFilter(o.band[0], o.band[1])
  }

  /** Largest ratio in the batch, and whether the trigger was on at any sample of it. */
  batch(w: Waveform): { sta_lta: number; p_trigger: number } {
    if (this.filter.begin(w)) {
      this.sta = 0
      this.lta = 0
      this.seen = 0
      this.triggered = false
    }
    const nSta = Math.max(1, this.o.staS * w.sr)
    const nLta = Math.max(1, this.o.ltaS * w.sr)
    let maxRatio = 0
    let on = this.triggered
    for (let i = 0; i < w.x.length; i++) {
      const ax = this.filter.step(0, w.x[i]!)
      const ay = this.filter.step(1, w.y[i]!)
      const az = this.filter.step(2, w.z[i]!)
      const cf = ax * ax + ay * ay + az * az
      this.sta += (cf - this.sta) / nSta
      this.lta += (cf - this.lta) / nLta
      this.seen++
      if (this.seen < nLta || this.lta <= 0) continue
      const ratio = this.sta / this.lta
      if (ratio > maxRatio) maxRatio = ratio
      if (!this.triggered && ratio >= this.o.on) this.triggered = true
      else if (this.triggered && ratio <= this.o.off) this.triggered = false
      on ||= this.triggered
    }
    return { sta_lta: Math.round(maxRatio * 100) / 100, p_trigger: on ? 1 : 0 }
  }
}
