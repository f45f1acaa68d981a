/**
 * The soak's sensors, in a process of their own (forked by bench/soak.ts): `sensors` authenticated
 * mqtt.js clients publishing QoS 1 river stages at `rate` readings/s in total, round-robin, with
 * at most `maxInflight` unacknowledged. Reading n is sensor n % sensors, round n / sensors; a
 * round is stamped `stepMs` of event time after the previous one, so event time advances with
 * what was sent (never ahead of the wall clock: the parent picks `t0` far enough back). The stage
 * is a triangle wave in event time, the same for every gauge: 30.0 m up to `peak` and back over
 * `periodMs`, so each village's flood warning is raised, stepped up, stepped down and lifted once
 * a period. Being its own process, it is also the soak's reference: a bare mqtt.js publisher
 * whose RSS and heap are sampled beside the gateway's.
 *
 * Talks to the parent over IPC: `{ type: 'sample' }` → its figures; `{ type: 'stop' }` → waits for
 * the acknowledgements in flight (up to 10 s), closes the clients, answers and exits.
 */
import { closeAll, connectMany } from './load.js'
import { device } from '../../tests/helpers/devices.js'

/** What the parent passes (JSON in argv[2]). */
export interface PublisherOptions {
  readonly url: string
  readonly ids: readonly string[]
  readonly rate: number
  readonly t0: number
  readonly stepMs: number
  readonly periodMs: number
  readonly base: number
  readonly peak: number
  readonly maxInflight: number
}

/** A publisher's figures at one sample. */
export interface PublisherSample {
  readonly type: 'sample'
  readonly rssBytes: number
  readonly heapUsedBytes: number
  readonly sent: number
  readonly acked: number
  readonly errors: number
  /** Ticks at which it held back because `maxInflight` were unacknowledged. */
  readonly heldBack: number
  /** Event time of the latest round, epoch ms. */
  readonly eventTime: number
}

/** The stage at event time `ts`: base → peak → base over one period. */
export function stageAt(o: Pick<PublisherOptions, 't0' | 'periodMs' | 'base' | 'peak'>, ts: number): number {
  const phase = (((ts - o.t0) % o.periodMs) + o.periodMs) % o.periodMs
  const up = phase < o.periodMs / 2 ? phase : o.periodMs - phase
  return Math.round((o.base + ((o.peak - o.base) * 2 * up) / o.periodMs) * 100) / 100
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]!) as PublisherOptions
  const n = o.ids.length
  const clients = await connectMany(
    o.url,
    n,
    (i) => o.ids[i]!,
    50,
    (i) => device(o.ids[i]!),
  )
  let sent = 0
  let acked = 0
  let errors = 0
  let heldBack = 0
  let stopped = false
  const tsOf = (k: number) => o.t0 + Math.floor(k / n) * o.stepMs
  const start = performance.now()
  const tick = () => {
    if (stopped) return
    const due = Math.floor(((performance.now() - start) / 1000) * o.rate)
    for (; sent < due; sent++) {
      if (sent - acked - errors >= o.maxInflight) {
        heldBack++
        break
      }
      const i = sent % n
      const ts = tsOf(sent)
      clients[i]!.publish(
        `sensors/water_level/${o.ids[i]!}/data`,
        JSON.stringify({ ts, seq: Math.floor(sent / n), values: { stage_m: stageAt(o, ts) } }),
        { qos: 1 },
        (err) => (err ? errors++ : acked++),
      )
    }
    setTimeout(tick, 10)
  }
  const sample = (): PublisherSample => ({
    type: 'sample',
    rssBytes: process.memoryUsage.rss(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    sent,
    acked,
    errors,
    heldBack,
    eventTime: tsOf(Math.max(0, sent - 1)),
  })
  process.on('message', (m: { type: string }) => {
    if (m.type === 'sample') process.send!(sample())
    if (m.type === 'stop') {
      stopped = true
      void (async () => {
        for (let i = 0; i < 1000 && acked + errors < sent; i++) await new Promise((r) => setTimeout(r, 10))
        await closeAll(clients)
        process.send!(sample(), () => process.exit(0))
      })()
    }
  })
  process.send!({ type: 'ready' })
  tick()
}

if (process.send) await main()
