/**
 * The event-loop stall watchdog. A timer that should fire every `intervalMs` measures, on the
 * monotonic clock, how late it fired: the whole lateness is time the event loop could not run
 * anything (a synchronous SQLite pass over a huge table, a runaway loop, the process stopped or
 * starved of CPU). While it is blocked, no PUBACK leaves, no warning is released and no command is
 * sent, so a stall of `stallMs` or more is recorded (logged, counted, on /health), and /health
 * says `degraded` for `recentMs` after it.
 */
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'

/** What /health reports of the event loop. */
export interface EventLoopHealth {
  /** Stalls of at least `stallMs` since the start. */
  readonly stalls: number
  /** How long the last stall lasted, ms (null: none yet). */
  readonly lastStallMs: number | null
  /** When the last stall ended (the gateway's clock), epoch ms. */
  readonly lastStallAt: number | null
  /** The longest delay of the loop seen since the start, ms (stall or not). */
  readonly maxDelayMs: number
  /** A stall ended less than `recentMs` ago (monotonic): /health is degraded. */
  readonly stalledRecently: boolean
}

export interface WatchdogOptions {
  readonly log: Logger
  /** The gateway's clock, for `lastStallAt`. */
  readonly now: () => number
  /** Called once per stall, with its length in ms. */
  readonly onStall?: (ms: number) => void
  /** The loop's delay that counts as a stall, ms. */
  readonly stallMs?: number
  /** How long a stall keeps /health degraded, ms. */
  readonly recentMs?: number
  readonly intervalMs?: number
}

/** A running watchdog: its figures, and stop. */
export interface Watchdog {
  health(): EventLoopHealth
  stop(): void
}

/** 2 s: far beyond any pass the gateway makes (a group commit is milliseconds). */
export const STALL_MS = 2000
/** A stall keeps /health degraded for 5 minutes, long enough for a monitor polling each minute. */
export const STALL_RECENT_MS = 5 * 60_000

export function startWatchdog(opts: WatchdogOptions): Watchdog {
  const stallMs = opts.stallMs ?? STALL_MS
  const recentMs = opts.recentMs ?? STALL_RECENT_MS
  const intervalMs = opts.intervalMs ?? 200
  let stalls = 0
  let lastStallMs: number | null = null
  let lastStallAt: number | null = null
  let lastStallMono: number | null = null
  let maxDelayMs = 0
  let expected = performance.now() + intervalMs
  const timer = setInterval(() => {
    const t = performance.now()
    const delay = Math.max(0, t - expected)
    expected = t + intervalMs
    if (delay > maxDelayMs) maxDelayMs = delay
    if (delay < stallMs) return
    stalls++
    lastStallMs = Math.round(delay)
    lastStallAt = opts.now()
    lastStallMono = t
    opts.log.warn({ component: 'watchdog', stallMs: lastStallMs, stalls }, 'event loop stalled')
    opts.onStall?.(delay)
  }, intervalMs)
  timer.unref()
  return {
    health: () => ({
      stalls,
      lastStallMs,
      lastStallAt,
      maxDelayMs: Math.round(maxDelayMs),
      stalledRecently: lastStallMono !== null && performance.now() - lastStallMono < recentMs,
    }),
    stop: () => clearInterval(timer),
  }
}
