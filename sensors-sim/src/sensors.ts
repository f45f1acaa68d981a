/**
 * Plays a scenario over MQTT as real devices would: readings at QoS 1 on `sensors/{kind}/{id}/data`,
 * paced in wall time by the scenario's speed while event time advances exactly.
 *
 * Each sensor is its own device by default (client id = sensor id, last will on its status topic).
 * With `connections`, sensors share that many connections instead, as sensors behind a data
 * concentrator (DTU) do; a concentrator's sensors share its fate in outages.
 *
 * The transport events of a scenario happen here: an outage cuts the links of its sensors without a
 * goodbye (wills fire) and, for loggers with storage, sends the backlog in order when the link
 * returns; a reconnect storm drops links at once and lets them all reconnect together.
 */
import type { MqttClient } from 'mqtt'
import { sensorDataTopic, sensorStatusTopic } from '../../gateway/src/contracts/topics.js'
import { durationMs } from '../../rules/src/index.js'
import { connectDevice, type RetryOptions } from './connect.js'
import { login, type SimCredentials } from './credentials.js'
import { ScenarioRtus, type RtuRunOptions, type RtuSummary } from './rtus.js'
import type { Scenario, ScenarioSensor } from './scenario.js'
import { Simulation, type SimReading } from './signals.js'

export interface RunOptions {
  readonly url: string
  readonly scenario: Scenario
  readonly qos?: 0 | 1
  /** Overrides the scenario's speed (scenario seconds per wall second). */
  readonly speed?: number
  /** Event time of t = 0; defaults to the scenario's `start`, else see `endsNow`. */
  readonly startMs?: number
  /** Share this many connections among all sensors (concentrators); default one per sensor. */
  readonly connections?: number
  /** Connections opened at once while starting up. */
  readonly connectConcurrency?: number
  /**
   * Most unacknowledged messages before the next interval is sent. The default, 0, sends an
   * interval only once the previous one is acknowledged: sensors report together, as in the field,
   * and no connection runs hours of event time ahead of another however high the speed. Benchmarks
   * raise it to keep the broker busy.
   */
  readonly maxInflight?: number
  readonly signal?: AbortSignal
  readonly onReading?: (r: SimReading) => void
  /** How each device logs in; without, devices connect anonymously. */
  readonly credentials?: SimCredentials
  /**
   * `tcp://host:port` of the gateway's SL 651 listener: the scenario's RTUs (`rtus:`) send the
   * readings of the sensors they carry there; needed when the scenario declares RTUs.
   */
  readonly sl651Url?: string
  /** Settings of every RTU of the run (the clock, the stations' UTC offset). */
  readonly rtu?: RtuRunOptions
  /**
   * How a device retries a failed connect, at start and after an outage (see connect.ts; default
   * 0.5 s doubling to 30 s, ±50 %).
   */
  readonly retry?: RetryOptions
}

export interface KindCounts {
  sent: number
  acknowledged: number
  /** Taken during an outage by a logger without storage: never sent. */
  lost: number
}

export interface RunSummary {
  /** Messages published (readings, seismic batches, status reports). */
  readonly sent: number
  readonly acknowledged: number
  readonly failed: number
  readonly lost: number
  /** Readings held during outages and sent when the link returned. */
  readonly backfilled: number
  /** Connections re-established after outages and reconnect storms. */
  readonly reconnects: number
  /** Failed connect attempts that were retried (refused, reset, no CONNACK in time). */
  readonly connectRetries: number
  readonly perKind: Record<string, KindCounts>
  /** MQTT connections (the RTUs' TCP links are counted in `sl651`). */
  readonly connections: number
  /** The SL 651 RTUs: reports sent, confirmed, resent, given up (also in sent, acknowledged, failed). */
  readonly sl651?: RtuSummary
  readonly startMs: number
  readonly endMs: number
}

interface Message {
  readonly kind: string
  readonly topic: string
  readonly payload: string
  readonly retain: boolean
}

/** One MQTT connection and the sensors it carries. */
interface Link {
  readonly clientId: string
  readonly sensors: readonly ScenarioSensor[]
  client: MqttClient
  /** Cut by an outage: messages wait in `backlog` (or are lost) until it returns. */
  down: boolean
  buffer: boolean
  backlog: Message[]
  inflight: Set<Promise<void>>
}

const offline = '{"state":"offline"}'

async function connectLink(
  url: string,
  clientId: string,
  sensors: readonly ScenarioSensor[],
  credentials: SimCredentials | undefined,
  retry: RetryOptions,
) {
  // A device's last will marks it offline; a concentrator has no single sensor to speak for.
  const will =
    sensors.length === 1
      ? {
          will: {
            topic: sensorStatusTopic(sensors[0]!.kind, sensors[0]!.id),
            payload: Buffer.from(offline),
            qos: 1 as const,
            retain: true,
          },
        }
      : {}
  const as =
    sensors.length === 1
      ? login(credentials, sensors[0]!.id)
      : credentials
        ? login(credentials, credentials.concentrator ?? clientId)
        : {}
  const { client: c, retries } = await connectDevice(
    url,
    { clientId, connectTimeout: 30_000, ...as, ...will },
    retry,
  )
  c.on('error', () => {}) // reconnects on its own; failures show in the summary
  const announce = () =>
    Promise.all(
      sensors.map((s) =>
        c.publishAsync(sensorStatusTopic(s.kind, s.id), JSON.stringify({ state: 'online' }), {
          qos: 1,
          retain: true,
        }),
      ),
    )
  // After mqtt.js reconnects on its own, the device says it is back, as at first connect.
  c.on('connect', () => void announce().catch(() => {}))
  await announce()
  return { client: c, retries }
}

/**
 * The event time to start a scenario without a `start` so that it ends at the present: sped up,
 * event time runs faster than the wall clock and catches it up exactly at the end, so no reading
 * is ever stamped ahead of the clock (a gateway takes such readings for a device with a wrong
 * clock). At real speed or slower it starts now.
 */
export function endsNow(scenario: Scenario, speed: number, now = Date.now()): number {
  const duration = durationMs(scenario.duration)
  return Math.round(Math.min(now, now + duration / speed - duration))
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

export async function runScenario(opts: RunOptions): Promise<RunSummary> {
  const { scenario } = opts
  const speed = opts.speed ?? scenario.speed
  const startMs =
    opts.startMs ?? (scenario.start !== undefined ? Date.parse(scenario.start) : endsNow(scenario, speed))
  const sim = new Simulation(scenario, startMs)
  const qos = opts.qos ?? 1

  if (scenario.rtus.length > 0 && opts.sl651Url === undefined)
    throw new Error(
      `scenario ${scenario.name} has SL 651 RTUs: pass the gateway's SL 651 URL (tcp://host:port)`,
    )
  const rtus =
    scenario.rtus.length > 0 ? new ScenarioRtus(scenario, opts.sl651Url!, startMs, opts.rtu) : undefined
  // Sensors an RTU carries report over SL 651; the rest over MQTT, as before.
  const mqttSensors = rtus ? scenario.sensors.filter((s) => !rtus.carries(s.id)) : scenario.sensors
  const shared = opts.connections !== undefined && opts.connections < mqttSensors.length
  const groups: ScenarioSensor[][] = shared
    ? Array.from({ length: Math.max(1, opts.connections!) }, () => [])
    : mqttSensors.map((s) => [s])
  if (shared) mqttSensors.forEach((s, i) => groups[i % groups.length]!.push(s))
  const links: Link[] = []
  const linkOf = new Map<string, Link>()
  let connectRetries = 0
  const retry: RetryOptions = {
    ...opts.retry,
    onRetry: (n, e, ms) => {
      connectRetries++
      opts.retry?.onRetry?.(n, e, ms)
    },
  }
  try {
    await pool(
      groups.map((sensors, i) => ({ sensors, clientId: shared ? `sim-dtu-${i + 1}` : sensors[0]!.id })),
      opts.connectConcurrency ?? 100,
      async ({ sensors, clientId }) => {
        const { client } = await connectLink(opts.url, clientId, sensors, opts.credentials, retry)
        const link: Link = {
          clientId,
          sensors,
          client,
          down: false,
          buffer: true,
          backlog: [],
          inflight: new Set(),
        }
        links.push(link)
        for (const s of sensors) linkOf.set(s.id, link)
      },
    )
    await rtus?.start()
  } catch (e) {
    rtus?.destroy()
    await Promise.all(links.map((l) => l.client.endAsync(true)))
    throw e
  }

  const perKind: Record<string, KindCounts> = {}
  const counts = (kind: string) => (perKind[kind] ??= { sent: 0, acknowledged: 0, lost: 0 })
  let sent = 0
  let acknowledged = 0
  let failed = 0
  let lost = 0
  let backfilled = 0
  let reconnects = 0
  const pending = new Set<Promise<void>>()
  const maxInflight = opts.maxInflight ?? 0
  /** Resolves the wait for the in-flight count to fall back to the bound (one waiter at a time). */
  let drained: (() => void) | undefined

  const send = (link: Link, m: Message) => {
    const k = counts(m.kind)
    k.sent++
    sent++
    const p = link.client.publishAsync(m.topic, m.payload, { qos, retain: m.retain }).then(
      () => {
        k.acknowledged++
        acknowledged++
      },
      () => {
        failed++
      },
    )
    const done = p.finally(() => {
      pending.delete(done)
      link.inflight.delete(done)
      if (drained && pending.size <= maxInflight) {
        drained()
        drained = undefined
      }
    })
    pending.add(done)
    link.inflight.add(done)
  }
  /** Reports an RTU holds through an outage: awaited at the end, outside the pacing. */
  const held: Promise<void>[] = []
  const report = (r: { done: Promise<'confirmed' | 'failed'>; held: boolean }) => {
    const rtuCounts = counts('sl651')
    rtuCounts.sent++
    sent++
    const p = r.done.then((o) => {
      if (o === 'confirmed') {
        rtuCounts.acknowledged++
        acknowledged++
      } else failed++
    })
    if (r.held) {
      backfilled++
      held.push(p)
      return
    }
    const done = p.finally(() => {
      pending.delete(done)
      if (drained && pending.size <= maxInflight) {
        drained()
        drained = undefined
      }
    })
    pending.add(done)
  }
  const publish = (sensorId: string, m: Message) => {
    const link = linkOf.get(sensorId)
    if (!link) return // carried by an RTU (which reports its battery as VT, not a status)
    if (!link.down) return send(link, m)
    if (link.buffer) return void link.backlog.push(m)
    counts(m.kind).lost++
    lost++
  }

  // Transport events, in scenario time.
  const cuts = scenario.events.flatMap((e) =>
    e.type === 'outage'
      ? [
          {
            from: durationMs(e.at),
            to: durationMs(e.at) + durationMs(e.for),
            sensors: e.sensors,
            buffer: e.buffer,
          },
        ]
      : [],
  )
  const storms = scenario.events.flatMap((e) =>
    e.type === 'reconnect_storm' ? [{ at: durationMs(e.at), sensors: e.sensors }] : [],
  )
  const linksOf = (ids: readonly string[] | 'all') =>
    ids === 'all' ? links : [...new Set(ids.flatMap((id) => linkOf.get(id) ?? []))]

  const cut = async (link: Link, buffer: boolean) => {
    if (link.down) return
    link.down = true
    link.buffer = buffer
    await Promise.all(link.inflight) // what was already on the wire completes first
    await link.client.endAsync(true) // no DISCONNECT: the broker publishes the wills
  }
  const restore = async (link: Link) => {
    if (!link.down) return
    link.client = (await connectLink(opts.url, link.clientId, link.sensors, opts.credentials, retry)).client
    reconnects++
    link.down = false
    const backlog = link.backlog
    link.backlog = []
    backfilled += backlog.length
    for (const m of backlog) send(link, m) // in the order taken; QoS 1 keeps it
  }
  const storm = (targets: readonly Link[]) => {
    for (const l of targets) {
      if (l.down) continue
      reconnects++
      l.client.stream.destroy() // mqtt.js reconnects after its period and resends what was unacknowledged
    }
  }

  const wallStart = performance.now()
  try {
    for (let i = 1; i <= sim.steps; i++) {
      if (opts.signal?.aborted) break
      // Absolute schedule, so pacing does not drift with publish time.
      const due = wallStart + (i * sim.intervalMs) / speed
      const wait = due - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      if (pending.size > maxInflight) await new Promise<void>((r) => (drained = r))
      const t1 = i * sim.intervalMs
      const t0 = t1 - sim.intervalMs
      for (const c of cuts) {
        if (c.from >= t0 && c.from < t1) {
          rtus?.cut(c.sensors, c.buffer)
          await Promise.all(linksOf(c.sensors).map((l) => cut(l, c.buffer)))
        }
        if (c.to >= t0 && c.to < t1) {
          rtus?.restore(c.sensors)
          await Promise.all(linksOf(c.sensors).map(restore))
        }
      }
      for (const s of storms)
        if (s.at >= t0 && s.at < t1) {
          storm(linksOf(s.sensors))
          reconnects += rtus?.drop(s.sensors) ?? 0
        }

      for (const b of sim.batches(t0, t1))
        publish(b.sensorId, {
          kind: b.kind,
          topic: sensorDataTopic(b.kind, b.sensorId),
          payload: JSON.stringify(b.batch),
          retain: false,
        })
      const readings = sim.step()
      if (rtus) for (const r of rtus.take(readings, t1)) report(r)
      for (const r of readings) {
        opts.onReading?.(r)
        if (rtus?.carries(r.sensorId)) continue
        publish(r.sensorId, {
          kind: r.kind,
          topic: sensorDataTopic(r.kind, r.sensorId),
          payload: JSON.stringify({ ts: r.ts, seq: r.seq, values: r.values }),
          retain: false,
        })
      }
      for (const st of sim.statuses(t0, t1))
        publish(st.sensorId, {
          kind: 'status',
          topic: sensorStatusTopic(st.kind, st.sensorId),
          payload: JSON.stringify({ state: 'online', ts: st.ts, battery: st.battery }),
          retain: true,
        })
    }
    // Outages still open at the end: the links return and their backlogs go out.
    await Promise.all(links.filter((l) => l.down).map(restore))
    rtus?.restore('all')
    while (pending.size > 0) await Promise.all(pending)
    await Promise.all(held)
    await rtus?.close()
    lost += rtus?.summary().lost ?? 0
  } finally {
    rtus?.destroy()
    await Promise.all(links.map((l) => l.client.endAsync()))
  }
  return {
    sent,
    acknowledged,
    failed,
    lost,
    backfilled,
    reconnects,
    connectRetries,
    perKind,
    connections: links.length,
    ...(rtus ? { sl651: rtus.summary() } : {}),
    startMs,
    endMs: startMs + sim.steps * sim.intervalMs,
  }
}
