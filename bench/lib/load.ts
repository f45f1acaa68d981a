/** Load generation with real MQTT clients: many sensors, pre-built payloads, bounded in flight. */
import type { IClientOptions, MqttClient } from 'mqtt'
import { connectDevice } from '../../sensors-sim/src/connect.js'
import { device } from '../../tests/helpers/devices.js'

/** Failed connect attempts `connectMany` retried in this process (refused, reset, no CONNACK in time). */
export const loadStats = { connectRetries: 0 }

export const T0 = Date.UTC(2026, 6, 15)
export const sensorId = (i: number): string => `wl-${String(i).padStart(5, '0')}`
export const topicOf = (i: number): string => `sensors/water_level/${sensorId(i)}/data`

/**
 * Connects `n` clients, `concurrency` at a time, each logging in as the device its id names (the
 * gateway's benchmark identities are enrolled as the tests' are; Mosquitto without a password file
 * takes the same logins anonymously). A failed connect is retried as a device retries it (backoff
 * with jitter, see sensors-sim/src/connect.ts), counted in `loadStats`.
 */
export async function connectMany(
  url: string,
  n: number,
  id: (i: number) => string,
  concurrency = 200,
  login: (i: number) => IClientOptions = (i) => device(id(i)),
): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array<MqttClient>(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++
        const { client: c } = await connectDevice(
          url,
          { ...login(i), reconnectPeriod: 0, keepalive: 60, connectTimeout: 30_000 },
          { onRetry: () => void loadStats.connectRetries++ },
        )
        clients[i] = c
      }
    }),
  )
  return clients
}

export const closeAll = (clients: readonly MqttClient[]) => Promise.all(clients.map((c) => c.endAsync(true)))

/**
 * Readings below every threshold (30.00–31.90 m), one a minute per sensor, the stage moving 1 cm
 * a minute up and down: plausible to the gateway's spike (0.5 m/min) and flatline checks, which
 * would otherwise turn every reading into an equipment fault and measure the fault table instead.
 */
export function payloads(perSensor: number, offset = 0): string[] {
  return Array.from({ length: perSensor }, (_, i) => {
    const seq = offset + i
    const step = seq % 380
    return JSON.stringify({
      ts: T0 + seq * 60_000,
      seq,
      values: { stage_m: Math.round(3000 + (step < 190 ? step : 380 - step)) / 100 },
    })
  })
}

/**
 * Every client publishes `msgs` to its own topic. QoS 1 keeps up to `window` unacknowledged per
 * client and resolves when all are acknowledged; QoS 0 resolves when all are written.
 */
export function publishAll(
  clients: readonly MqttClient[],
  msgs: readonly string[],
  qos: 0 | 1,
  window = 200,
): Promise<void> {
  return Promise.all(
    clients.map(
      (c, i) =>
        new Promise<void>((resolve, reject) => {
          const topic = topicOf(i)
          let sent = 0
          let done = 0
          const pump = () => {
            while (sent < msgs.length && (qos === 0 || sent - done < window)) {
              const m = msgs[sent++]!
              if (qos === 1)
                c.publish(topic, m, { qos: 1 }, (err) => {
                  if (err) return reject(err)
                  if (++done === msgs.length) resolve()
                  else pump()
                })
              else if (!c.publish(topic, m, { qos: 0 }) && sent < msgs.length)
                return void c.stream.once('drain', pump)
            }
            if (qos === 0 && sent === msgs.length) resolve()
          }
          pump()
        }),
    ),
  ).then(() => undefined)
}

/** Publishes QoS 1 readings at `rate` per second in total, spread over the clients, until `until()`. */
export function paceLoad(clients: readonly MqttClient[], rate: number, stop: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const perTick = rate / 100 // 10 ms ticks
    let owed = 0
    let n = 0
    const seq = new Array<number>(clients.length).fill(0)
    const start = performance.now()
    const tick = () => {
      if (stop.aborted) return resolve(n)
      const due = ((performance.now() - start) / 10) * perTick
      owed = due - n
      for (let k = 0; k < owed; k++, n++) {
        const i = n % clients.length
        const s = seq[i]!++
        clients[i]!.publish(
          topicOf(i),
          JSON.stringify({ ts: T0 + 1e9 + s * 1000, seq: s, values: { stage_m: 30.5 } }),
          { qos: 1 },
        )
      }
      setTimeout(tick, 10)
    }
    tick()
  })
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
