/**
 * Plays a scenario over MQTT as real devices would: one client per sensor (client id = sensor id,
 * last will on its status topic), readings at QoS 1 on `sensors/{kind}/{id}/data`, paced in wall
 * time by the scenario's speed while event time advances exactly.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { sensorDataTopic, sensorStatusTopic } from '../../gateway/src/contracts/topics.js'
import type { Scenario } from './scenario.js'
import { Simulation, type SimReading } from './signals.js'

export interface RunOptions {
  readonly url: string
  readonly scenario: Scenario
  readonly qos?: 0 | 1
  /** Overrides the scenario's speed (scenario seconds per wall second). */
  readonly speed?: number
  /** Event time of t = 0; defaults to the scenario's `start`, else now. */
  readonly startMs?: number
  readonly signal?: AbortSignal
  readonly onReading?: (r: SimReading) => void
}

export interface RunSummary {
  readonly sent: number
  readonly acknowledged: number
  readonly failed: number
  readonly perKind: Record<string, { sent: number; acknowledged: number }>
  readonly startMs: number
  readonly endMs: number
}

export async function runScenario(opts: RunOptions): Promise<RunSummary> {
  const { scenario } = opts
  const startMs = opts.startMs ?? (scenario.start !== undefined ? Date.parse(scenario.start) : Date.now())
  const sim = new Simulation(scenario, startMs)
  const speed = opts.speed ?? scenario.speed
  const qos = opts.qos ?? 1
  const clients = new Map<string, MqttClient>()
  for (const s of scenario.sensors) {
    const c = await mqtt.connectAsync(opts.url, {
      clientId: s.id,
      reconnectPeriod: 1000,
      will: {
        topic: sensorStatusTopic(s.kind, s.id),
        payload: Buffer.from('{"state":"offline"}'),
        qos: 1,
        retain: true,
      },
    })
    c.on('error', () => {}) // reconnects on its own; failures show in the summary
    await c.publishAsync(sensorStatusTopic(s.kind, s.id), JSON.stringify({ state: 'online' }), {
      qos: 1,
      retain: true,
    })
    clients.set(s.id, c)
  }

  const perKind: Record<string, { sent: number; acknowledged: number }> = {}
  let sent = 0
  let acknowledged = 0
  let failed = 0
  const pending: Promise<void>[] = []
  const wallStart = performance.now()
  try {
    for (let i = 1; i <= sim.steps; i++) {
      if (opts.signal?.aborted) break
      // Absolute schedule, so pacing does not drift with publish time.
      const due = wallStart + (i * sim.intervalMs) / speed
      const wait = due - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const t1 = i * sim.intervalMs
      for (const b of sim.batches(t1 - sim.intervalMs, t1)) {
        const k = (perKind[b.kind] ??= { sent: 0, acknowledged: 0 })
        k.sent++
        sent++
        pending.push(
          clients
            .get(b.sensorId)!
            .publishAsync(sensorDataTopic(b.kind, b.sensorId), JSON.stringify(b.batch), { qos })
            .then(
              () => {
                k.acknowledged++
                acknowledged++
              },
              () => {
                failed++
              },
            ),
        )
      }
      for (const r of sim.step()) {
        const k = (perKind[r.kind] ??= { sent: 0, acknowledged: 0 })
        k.sent++
        sent++
        opts.onReading?.(r)
        const payload = JSON.stringify({ ts: r.ts, seq: r.seq, values: r.values })
        pending.push(
          clients
            .get(r.sensorId)!
            .publishAsync(sensorDataTopic(r.kind, r.sensorId), payload, { qos })
            .then(
              () => {
                k.acknowledged++
                acknowledged++
              },
              () => {
                failed++
              },
            ),
        )
      }
    }
    await Promise.all(pending)
  } finally {
    await Promise.all([...clients.values()].map((c) => c.endAsync()))
  }
  return { sent, acknowledged, failed, perKind, startMs, endMs: startMs + sim.steps * sim.intervalMs }
}
