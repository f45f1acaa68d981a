/**
 * A validated reading of a registered sensor, whatever protocol brought it (JSON over MQTT, an
 * SL 651 report): clock and plausibility faults, rules evaluation on its event time, then the
 * group-committed store. `done` runs after the commit: the protocol acknowledges only then.
 */
import type { Logger } from 'pino'
import type { Transition } from '../../../rules/src/index.js'
import { LogThrottle } from '../core/log-throttle.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { Metrics } from '../metrics.js'
import type { SensorEntry } from '../registry/registry.js'
import type { SensorKind } from '../registry/schema.js'
import type { CurrentRuntime } from '../runtime.js'
import type { Reading, ReadingStore } from '../store/readings.js'
import type { Decoded } from './decode.js'

export interface ReadingIntakeDeps {
  readonly runtime: CurrentRuntime
  readonly store: ReadingStore
  readonly metrics: Metrics
  readonly faults: Pick<FaultMonitor, 'inspect' | 'clockAhead'>
  /** Level transitions caused by a reading (already evaluated, in event-time order). */
  readonly onTransitions: (transitions: readonly Transition[], reading: Reading) => void
  /** Keep the rules' window aggregates with each reading (a history sink writes them). */
  readonly keepAggregates?: boolean
  /** Where late readings are told (one line per station a minute). */
  readonly log?: Logger
}

/** A reading's decoded content: what `decodeReading` returns when it succeeds. */
export type DecodedReading = Extract<Decoded, { ok: true }>

/**
 * Takes a sensor's reading in. `sentAt` is the device's clock when it sent the message, where the
 * protocol carries it (SL 651's 发报时间): a clock running behind can only be seen from it.
 */
export type ReadingIntake = (
  sensor: SensorEntry,
  kind: SensorKind,
  decoded: DecodedReading,
  done: (err?: Error) => void,
  sentAt?: number,
) => void

export function createReadingIntake(deps: ReadingIntakeDeps): ReadingIntake {
  const { store, metrics } = deps
  const lateLog = deps.log?.child({ component: 'ingest' })
  const lateThrottle = new LogThrottle()
  return (sensor, kind, decoded, done, sentAt) => {
    const { engine } = deps.runtime()
    const reading: Reading = {
      stationId: sensor.station.id,
      sensorId: sensor.sensorId,
      kind: sensor.kind,
      ts: decoded.ts,
      ...(decoded.seq !== undefined ? { seq: decoded.seq } : {}),
      values: decoded.values,
    }
    // A reading from a clock running ahead is kept (nothing acknowledged is lost) but not
    // evaluated: its event time would move the station's windows into the future.
    if (deps.faults.clockAhead(sensor.sensorId, sensor.station.id, decoded.ts, sentAt)) {
      metrics.faultValues.labels(sensor.kind, 'ts').inc()
      store.add(decoded.waveform ? { ...reading, values: {} } : reading, done)
      return
    }
    // Out-of-range and spiking values are equipment faults, kept out of evaluation.
    const excluded = deps.faults.inspect(
      sensor.sensorId,
      sensor.station.id,
      kind,
      decoded.ts,
      decoded.values,
      decoded.faults,
    )
    let evaluated = reading.values
    if (excluded.length > 0) {
      for (const q of excluded) metrics.faultValues.labels(sensor.kind, q).inc()
      evaluated = Object.fromEntries(Object.entries(reading.values).filter(([q]) => !excluded.includes(q)))
    }
    metrics.readingsAccepted.inc()
    const result = engine.evaluate({
      stationId: reading.stationId,
      kind: reading.kind,
      ts: reading.ts,
      values: evaluated,
      ...(decoded.waveform ? { waveform: decoded.waveform } : {}),
    })
    if (result.late) {
      metrics.readingsLate.inc()
      // Stored, never graded: said aloud, so a run whose readings all came late is not silent.
      const suppressed = lateThrottle.allow(sensor.station.id, Date.now())
      if (suppressed !== undefined)
        lateLog?.warn(
          { station: sensor.station.id, sensor: sensor.sensorId, ts: decoded.ts, suppressed },
          'reading not evaluated: its station already has a later one (or this one) for its quantities',
        )
    }
    if (result.transitions.length > 0) deps.onTransitions(result.transitions, reading)
    // A batch's samples are not stored; the quantities derived from them that its kind declares
    // (intensity, PGA, PGV, STA/LTA) are, so history and warm-up replays see them.
    let stored = decoded.waveform ? { ...reading, values: declared(result.values, kind) } : reading
    if (deps.keepAggregates && !result.late) {
      const derived = engine.aggregates(reading.stationId, reading.kind, reading.ts)
      if (derived) stored = { ...stored, derived }
    }
    // The acknowledgement waits for the group commit: acknowledged means durable.
    store.add(stored, done)
  }
}

/** The values whose quantities the kind declares, whatever their range. */
function declared(values: Readonly<Record<string, number>>, kind: SensorKind): Record<string, number> {
  const out: Record<string, number> = {}
  for (const q in values) if (q in kind.quantities) out[q] = values[q]!
  return out
}
