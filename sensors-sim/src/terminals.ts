/**
 * Simulated village loudspeaker terminals: each a real MQTT client (client id = terminal id) that
 * takes play commands on `terminals/{id}/cmd` and answers accepted → playing → played (or failed)
 * on `terminals/{id}/receipt`, keeping a record of what it played and when.
 */
import { setMaxListeners } from 'node:events'
import type { MqttClient } from 'mqtt'
import { TerminalCommand, type ReceiptState } from '../../gateway/src/contracts/payloads.js'
import { CommandVerifier, type VerifyRefusal } from '../../gateway/src/contracts/command-signing.js'
import {
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../../gateway/src/contracts/topics.js'
import { connectDevice, type RetryOptions } from './connect.js'
import { login, type SimCredentials } from './credentials.js'
import { mulberry32 } from './prng.js'

export interface TerminalSpec {
  readonly id: string
  readonly language?: string
}

export interface TerminalFleetOptions {
  readonly url: string
  readonly terminals: readonly TerminalSpec[]
  /** Share of terminals that are offline at the start (power or network down). */
  readonly offlineFraction?: number
  /** When set, the offline terminals come back (connect) after this long; otherwise never. */
  readonly offlineReturnAfterMs?: number
  /** Share of terminals whose plays fail now and then (half of their plays fail). */
  readonly flakyFraction?: number
  /**
   * Share of terminals that are slow: a weak 4G link or a long queue of announcements, so they
   * accept late and take `slowPlayMs` to report played.
   */
  readonly slowFraction?: number
  /** Playback time of a slow terminal, ms (default 20 × playMs). */
  readonly slowPlayMs?: number
  /** Simulated playback time, ms. */
  readonly playMs?: number
  readonly seed?: number
  /** How each terminal logs in (username = terminal id); without, terminals connect anonymously. */
  readonly credentials?: SimCredentials
  /**
   * The gateway's command-signing public keys (PEM; two during a rotation). With them a terminal
   * plays only commands signed for it by one of them, once, before expiry, and refuses the rest
   * without a receipt (a forged command's warning is no warning of ours). Without, it plays anything.
   */
  readonly trustedKeys?: readonly string[]
  /**
   * How a terminal retries a failed connect (see connect.ts; default 0.5 s doubling to 30 s, ±50 %,
   * jittered from the fleet's seed). Tests pass their own clock.
   */
  readonly retry?: RetryOptions
}

/** A command a terminal refused to play, and why. */
export interface Refusal {
  readonly terminalId: string
  readonly reason: VerifyRefusal
  readonly warningId: string
}

export interface PlayRecord {
  readonly terminalId: string
  readonly warningId: string
  readonly version: number
  readonly level: string
  readonly kind: string
  readonly text: string
  readonly state: ReceiptState
  readonly detail?: string
  /** Wall-clock time of the receipt, epoch ms. */
  readonly at: number
}

export interface TerminalFleet {
  /** Terminals that connected (the returning ones join when they come back). */
  readonly online: readonly string[]
  /** Terminals that started offline. */
  readonly offline: readonly string[]
  /** Terminals that are slow to accept and to play. */
  readonly slow: readonly string[]
  /** Resolves when every returning terminal has connected. */
  readonly returned: Promise<void>
  /** Every receipt sent, in order. */
  receipts(): readonly PlayRecord[]
  /** Final receipts of commands that were played. */
  played(): readonly PlayRecord[]
  /** Commands refused by signature checks, in order. */
  refused(): readonly Refusal[]
  /** Failed connect attempts that were retried, over the fleet (a power cut's reconnect storm). */
  connectRetries(): number
  /** Wall-clock time (epoch ms) each terminal got its first CONNACK. */
  connectedAt(): ReadonlyMap<string, number>
  close(): Promise<void>
}

export async function startTerminals(opts: TerminalFleetOptions): Promise<TerminalFleet> {
  const rng = mulberry32(opts.seed ?? 7)
  const playMs = opts.playMs ?? 50
  const log: PlayRecord[] = []
  const clients: MqttClient[] = []
  const online: string[] = []
  const timers = new Set<NodeJS.Timeout>()
  const refusals: Refusal[] = []
  // Backoff jitter from its own stream, so the flaky terminals' draws stay those of the seed.
  const jitter = mulberry32((opts.seed ?? 7) ^ 0x5eed)
  const closing = new AbortController()
  // Every terminal still backing off waits on this one signal: thousands of listeners, no leak.
  setMaxListeners(0, closing.signal)
  let retries = 0
  const connected = new Map<string, number>()

  const offline: string[] = []
  const slowIds: string[] = []
  const later: (() => Promise<void>)[] = []
  await Promise.all(
    opts.terminals.map(async (t) => {
      const away = rng() < (opts.offlineFraction ?? 0)
      const flaky = rng() < (opts.flakyFraction ?? 0)
      const slow = rng() < (opts.slowFraction ?? 0)
      if (slow) slowIds.push(t.id)
      const behaviour = { flaky, playMs: slow ? (opts.slowPlayMs ?? 20 * playMs) : playMs, slow }
      if (away) {
        offline.push(t.id)
        if (opts.offlineReturnAfterMs !== undefined) later.push(() => start(t, behaviour))
        return
      }
      await start(t, behaviour)
    }),
  )
  let timer: NodeJS.Timeout | undefined
  const returned =
    later.length === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            // A terminal only stops retrying when the fleet closes (or its login is refused).
            void Promise.all(later.map((f) => f().catch(() => {}))).then(() => resolve())
          }, opts.offlineReturnAfterMs)
        })

  async function start(
    t: TerminalSpec,
    { flaky, playMs, slow }: { flaky: boolean; playMs: number; slow: boolean },
  ): Promise<void> {
    const { client } = await connectDevice(
      opts.url,
      {
        clientId: t.id,
        ...login(opts.credentials, t.id),
        connectTimeout: 30_000,
        will: {
          topic: terminalStatusTopic(t.id),
          payload: Buffer.from('{"state":"offline"}'),
          qos: 1,
          retain: true,
        },
      },
      {
        random: jitter,
        ...opts.retry,
        signal: closing.signal,
        onRetry: (n, e, ms) => {
          retries++
          opts.retry?.onRetry?.(n, e, ms)
        },
      },
    )
    if (closing.signal.aborted) return void client.end(true)
    connected.set(t.id, Date.now())
    clients.push(client)
    // Each terminal keeps its own record of the nonces it has played.
    const verifier = opts.trustedKeys ? new CommandVerifier(opts.trustedKeys) : undefined
    /** Outcome of each command (warning#version) so far: a resend is played only after a failure. */
    const seen = new Map<string, 'busy' | 'played' | 'failed'>()
    const receipt = (
      cmd: { warningId: string; version: number; level: string; kind: string; text: string },
      state: ReceiptState,
      detail?: string,
    ) => {
      const at = Date.now()
      log.push({ terminalId: t.id, ...cmd, state, ...(detail !== undefined ? { detail } : {}), at })
      client.publish(
        terminalReceiptTopic(t.id),
        JSON.stringify({
          warningId: cmd.warningId,
          version: cmd.version,
          state,
          ts: at,
          ...(detail !== undefined ? { detail } : {}),
        }),
        { qos: 1 },
      )
    }
    const after = (ms: number, fn: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        fn()
      }, ms)
      timers.add(timer)
    }
    client.on('message', (_topic, payload) => {
      let json: unknown
      try {
        json = JSON.parse(payload.toString('utf8'))
      } catch {
        return // a real terminal ignores what it cannot parse
      }
      const parsed = TerminalCommand.safeParse(json)
      if (!parsed.success) return
      if (verifier) {
        const v = verifier.verify(t.id, parsed.data)
        if (!v.ok)
          return void refusals.push({ terminalId: t.id, reason: v.reason, warningId: parsed.data.warningId })
      }
      if (parsed.data.action !== 'play') return
      const cmd = parsed.data
      const key = `${cmd.warningId}#${cmd.version}#${cmd.round}`
      const before = seen.get(key)
      if (before === 'busy' || before === 'played') return // a redelivered command is played once
      seen.set(key, 'busy')
      const info = {
        warningId: cmd.warningId,
        version: cmd.version,
        level: cmd.level,
        kind: cmd.kind,
        text: cmd.text,
      }
      if (Date.now() >= cmd.expiresAt) {
        seen.set(key, 'failed')
        return receipt(info, 'failed', 'expired')
      }
      const play = () => {
        receipt(info, 'accepted')
        receipt(info, 'playing')
        after(playMs, () => {
          if (flaky && rng() < 0.5) {
            seen.set(key, 'failed')
            receipt(info, 'failed', 'amplifier fault')
          } else {
            seen.set(key, 'played')
            receipt(info, 'played')
          }
        })
      }
      // A slow terminal is slow to answer at all, not only to finish.
      if (slow) after(playMs / 4, play)
      else play()
    })
    const announce = () =>
      client.publishAsync(terminalStatusTopic(t.id), JSON.stringify({ state: 'online' }), {
        qos: 1,
        retain: true,
      })
    // Back after a dropped link (its will said offline), the terminal says it is online again;
    // mqtt.js resubscribes on its own.
    client.on('connect', () => void announce().catch(() => {}))
    await client.subscribeAsync(terminalCmdTopic(t.id), { qos: 1 })
    await announce()
    online.push(t.id)
  }

  return {
    online,
    offline,
    slow: slowIds,
    returned,
    receipts: () => log,
    played: () => log.filter((r) => r.state === 'played'),
    refused: () => refusals,
    connectRetries: () => retries,
    connectedAt: () => connected,
    async close() {
      closing.abort()
      if (timer) clearTimeout(timer)
      for (const t of timers) clearTimeout(t)
      await Promise.all(clients.map((c) => c.endAsync()))
    },
  }
}
