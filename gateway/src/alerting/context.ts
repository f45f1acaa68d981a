/** What every alerting stage is given: the stores, the runtime in force, the settings, the bus. */
import type { Logger } from 'pino'
import { durationMs } from '../../../rules/src/index.js'
import type { WarningsConfig } from '../config/schema.js'
import type { Emit } from '../events/bus.js'
import type { Metrics } from '../metrics.js'
import type { CurrentRuntime } from '../runtime.js'
import type { Stores } from '../store/index.js'

export interface AlertingDeps {
  readonly stores: Stores
  /** Registry and rules in force (a reload swaps them). */
  readonly runtime: CurrentRuntime
  /** Whether a station has an active equipment fault: its hazard versions are then unverified. */
  readonly stationFaulty: (stationId: string) => boolean
  readonly emit: Emit
  readonly metrics: Metrics
  readonly log: Logger
  /** Wall clock, epoch ms: approval, escalation, flap holds and expiry run on it; rules never do. */
  readonly now: () => number
  readonly config: WarningsConfig
}

/** The durations of the settings, in ms. */
export interface AlertingTimes {
  readonly flapWindow: number
  readonly flapHold: number
  readonly escalateAfter: number
  readonly expireAfter: number
  readonly quickLift: number
}

export const timesOf = (c: WarningsConfig): AlertingTimes => ({
  flapWindow: durationMs(c.flap.window),
  flapHold: durationMs(c.flap.hold),
  escalateAfter: durationMs(c.escalation.after),
  expireAfter: durationMs(c.expireAfter),
  quickLift: durationMs(c.quickLift),
})

/** One pass of decisions: the wall-clock time it runs at, and the sends it leaves for after commit. */
export interface Pass {
  readonly now: number
  readonly work: Promise<void>[]
}
