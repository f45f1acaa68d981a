/**
 * Simulated devices retry a failed connect as real ones do after a power cut: against a real TCP
 * server on loopback that refuses, resets or ignores the first attempts, then lets aedes answer.
 * The backoff's waits are handed to a controlled `wait` (recorded, resolved at once), so nothing
 * here depends on how fast the machine is.
 */
import { Aedes, type AuthenticateError } from 'aedes'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { backoffDelay, connectDevice } from '../../../sensors-sim/src/connect.js'
import { startTerminals } from '../../../sensors-sim/src/terminals.js'
import { freePort } from '../../helpers/ports.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/**
 * An MQTT server whose first `bad` connections get `treat` (reset, or held silent), then aedes.
 * `port` listens on a given port (for the refused case, started later).
 */
async function flakyBroker(
  bad: number,
  treat: 'reset' | 'silent',
  opts: { port?: number; refuseLogins?: boolean } = {},
): Promise<{ url: string; accepted: () => number; server: Server }> {
  const broker = await Aedes.createBroker()
  broker.on('clientError', () => {})
  if (opts.refuseLogins)
    broker.authenticate = (_c, _u, _p, cb) => {
      const e = new Error('not authorized') as AuthenticateError
      e.returnCode = 5
      cb(e, null)
    }
  let n = 0
  const held: Socket[] = []
  const server = createServer((sock) => {
    if (n++ < bad) {
      if (treat === 'reset') return void sock.resetAndDestroy()
      sock.on('error', () => {})
      return void held.push(sock) // accepted, never answered: no CONNACK
    }
    broker.handle(sock)
  })
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r))
  cleanups.push(async () => {
    for (const s of held) s.destroy()
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise<void>((r) => server.close(() => r()))
  })
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => n, server }
}

/** A controlled clock: records each wait and resolves it at once. */
function recorder() {
  const waits: number[] = []
  return { waits, wait: (ms: number) => (waits.push(ms), Promise.resolve()) }
}

const code = (e: Error) => (e as { code?: unknown }).code

describe('backoff', () => {
  test('0.5 s doubling to 30 s at the middle of the jitter', () => {
    const mid = () => 0.5
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((f) => backoffDelay(f, {}, mid))).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ])
  })

  test('jitter spreads each wait over ±50 %', () => {
    expect(backoffDelay(3, {}, () => 0)).toBe(1000)
    expect(backoffDelay(3, {}, () => 0.999999)).toBe(3000)
    expect(backoffDelay(10, {}, () => 0)).toBe(15000)
  })
})

describe('connectDevice', () => {
  test('a reset connection is retried until the broker answers', async () => {
    const { url, accepted } = await flakyBroker(2, 'reset')
    const clock = recorder()
    const errors: unknown[] = []
    const { client, retries } = await connectDevice(
      url,
      { clientId: 'T-1' },
      { ...clock, random: () => 0.5, onRetry: (_n, e) => errors.push(code(e)) },
    )
    cleanups.push(() => client.endAsync(true))
    expect(client.connected).toBe(true)
    expect(retries).toBe(2)
    expect(accepted()).toBe(3)
    expect(clock.waits).toEqual([500, 1000])
    expect(errors).toEqual(['ECONNRESET', 'ECONNRESET'])
  })

  test('a refused connection is retried until something listens', async () => {
    const port = await freePort()
    let up: Promise<unknown> | undefined
    const errors: unknown[] = []
    const { client, retries } = await connectDevice(
      `mqtt://127.0.0.1:${port}`,
      { clientId: 'T-2' },
      {
        random: () => 0.5,
        onRetry: (n, e) => {
          errors.push(code(e))
          if (n === 2) up = flakyBroker(0, 'reset', { port }) // the gateway is back
        },
        wait: async () => void (await up),
      },
    )
    cleanups.push(() => client.endAsync(true))
    expect(client.connected).toBe(true)
    expect(retries).toBe(2)
    expect(errors).toEqual(['ECONNREFUSED', 'ECONNREFUSED'])
  })

  test('no CONNACK within connectTimeout is retried', async () => {
    const { url } = await flakyBroker(1, 'silent')
    const messages: string[] = []
    const { client, retries } = await connectDevice(
      url,
      { clientId: 'T-3', connectTimeout: 50 },
      { wait: () => Promise.resolve(), onRetry: (_n, e) => messages.push(e.message) },
    )
    cleanups.push(() => client.endAsync(true))
    expect(retries).toBe(1)
    expect(messages).toEqual(['connack timeout'])
  })

  test('gives up after maxAttempts with the last error, as a rejection', async () => {
    const { url } = await flakyBroker(10, 'reset')
    const clock = recorder()
    await expect(
      connectDevice(url, { clientId: 'T-4' }, { ...clock, maxAttempts: 3, random: () => 0.5 }),
    ).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect(clock.waits).toEqual([500, 1000])
  })

  test('refused credentials are not retried', async () => {
    const { url, accepted } = await flakyBroker(0, 'reset', { refuseLogins: true })
    const clock = recorder()
    await expect(
      connectDevice(url, { clientId: 'T-5', username: 'T-5', password: 'wrong' }, clock),
    ).rejects.toMatchObject({ code: 5 })
    expect(clock.waits).toEqual([])
    expect(accepted()).toBe(1)
  })

  test('a closing fleet stops retrying', async () => {
    const { url } = await flakyBroker(100, 'reset')
    const stop = new AbortController()
    await expect(
      connectDevice(
        url,
        { clientId: 'T-6' },
        {
          signal: stop.signal,
          onRetry: (n) => void (n === 2 && stop.abort()),
          wait: () => Promise.resolve(),
        },
      ),
    ).rejects.toMatchObject({ code: 'ECONNRESET' })
  })
})

describe('terminal fleet', () => {
  test('terminals whose first connects are reset come online and count their retries', async () => {
    const { url } = await flakyBroker(3, 'reset')
    const clock = recorder()
    const fleet = await startTerminals({
      url,
      terminals: [{ id: 'T-A' }, { id: 'T-B' }],
      retry: { wait: clock.wait },
    })
    cleanups.push(() => fleet.close())
    expect([...fleet.online].sort()).toEqual(['T-A', 'T-B'])
    expect(fleet.connectRetries()).toBe(3)
    expect(clock.waits).toHaveLength(3)
    expect([...fleet.connectedAt().keys()].sort()).toEqual(['T-A', 'T-B'])
  })
})
