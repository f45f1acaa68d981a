/**
 * How a simulated device connects: as a real one does after a power cut, it keeps trying. A failed
 * attempt (connection refused or reset, no CONNACK in time, CONNACK 3 "server unavailable" from a
 * broker at its connection limit) is retried after an exponential backoff with jitter, 0.5 s
 * doubling to 30 s, each wait ±50 %: ten thousand loudspeakers coming back together spread out
 * instead of hammering the gateway in lock-step (the thundering herd a fixed period makes). The
 * same backoff paces mqtt.js's own reconnects once the device has been connected.
 *
 * A refusal of the device's credentials (CONNACK 4 or 5) is not retried: for a simulator it is a
 * provisioning mistake, and retrying it for ever would hide it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/** Backoff between connection attempts. */
export interface RetryPolicy {
  /** The wait after the first failure, ms (default 500). */
  readonly firstDelayMs?: number
  /** The longest wait, ms (default 30,000). */
  readonly maxDelayMs?: number
  /** Each wait is drawn from ±this share around its nominal value (default 0.5). */
  readonly jitter?: number
  /** Attempts at most before the last error is thrown (default: no limit). */
  readonly maxAttempts?: number
}

/** A retry policy with the hooks tests and simulators use to watch and steer it. */
export interface RetryOptions extends RetryPolicy {
  /** A number in [0, 1) (default Math.random); seeded simulators pass their PRNG. */
  readonly random?: () => number
  /** Waits `ms` (default a timer); resolves early when `signal` aborts. Tests pass a controlled clock. */
  readonly wait?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Called after each failed attempt with the attempt's number (1-based), its error and the wait. */
  readonly onRetry?: (attempt: number, error: Error, delayMs: number) => void
  /** Stops retrying (the fleet is closing): the pending attempt's error is thrown. */
  readonly signal?: AbortSignal
}

/** A connected client and how many attempts failed before it connected. */
export interface Connected {
  readonly client: MqttClient
  readonly retries: number
}

/** The nominal wait after `failures` failed attempts (1 → firstDelayMs), jittered by `random`. */
export function backoffDelay(
  failures: number,
  policy: RetryPolicy = {},
  random: () => number = Math.random,
): number {
  const first = policy.firstDelayMs ?? 500
  const max = policy.maxDelayMs ?? 30_000
  const jitter = policy.jitter ?? 0.5
  const nominal = Math.min(max, first * 2 ** Math.min(30, Math.max(0, failures - 1)))
  return Math.max(0, Math.round(nominal * (1 + jitter * (2 * random() - 1))))
}

const timerWait = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/** CONNACK return codes that say the credentials are wrong [MQTT-3.2.2-3]: 4 and 5. */
const isAuthRefusal = (e: Error): boolean => {
  const code = (e as { code?: unknown }).code
  return code === 4 || code === 5
}

/** One attempt: resolves on CONNACK 0, rejects on an error or a close before it; never leaks a client. */
function attempt(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ...options, reconnectPeriod: 0 })
    // Errors after the connection is up are the caller's to watch; an 'error' with no listener
    // would throw, so one is always there.
    client.on('error', () => {})
    const off = () => {
      client.off('connect', ok)
      client.off('error', fail)
      client.off('close', closed)
    }
    function ok() {
      off()
      resolve(client)
    }
    function fail(e: Error) {
      off()
      client.end(true)
      reject(e)
    }
    function closed() {
      fail(new Error('connection closed before CONNACK'))
    }
    client.on('connect', ok)
    client.on('error', fail)
    client.on('close', closed)
  })
}

/**
 * Connects like a device: retries the first connection with backoff until it succeeds (or
 * `maxAttempts`, an auth refusal, or `signal`), then leaves the client reconnecting on its own with
 * the same backoff (`options.reconnectPeriod` 0 turns that off).
 */
export async function connectDevice(
  url: string,
  options: IClientOptions,
  retry: RetryOptions = {},
): Promise<Connected> {
  const random = retry.random ?? Math.random
  const wait = retry.wait ?? timerWait
  const maxAttempts = retry.maxAttempts ?? Infinity
  for (let failures = 0; ;) {
    try {
      const client = await attempt(url, options)
      if ((options.reconnectPeriod ?? 1000) > 0) reconnectWithBackoff(client, retry, random)
      return { client, retries: failures }
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e))
      failures++
      if (isAuthRefusal(error) || failures >= maxAttempts || retry.signal?.aborted) throw error
      const delayMs = backoffDelay(failures, retry, random)
      retry.onRetry?.(failures, error, delayMs)
      await wait(delayMs, retry.signal)
      if (retry.signal?.aborted) throw error
    }
  }
}

/**
 * mqtt.js reconnects after a fixed `reconnectPeriod`; a real device backs off. It reads the period
 * when the connection closes, so it is set just before (a listener put first), and reset once the
 * device is connected again.
 */
function reconnectWithBackoff(client: MqttClient, policy: RetryPolicy, random: () => number): void {
  let failures = 0
  client.options.reconnectPeriod = backoffDelay(1, policy, random)
  client.prependListener('close', () => {
    client.options.reconnectPeriod = backoffDelay(++failures, policy, random)
  })
  client.on('connect', () => {
    failures = 0
  })
}
