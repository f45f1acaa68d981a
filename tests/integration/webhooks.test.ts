/**
 * Webhooks: a released version is POSTed to a real HTTP endpoint on loopback, signed with
 * HMAC-SHA256; an endpoint that fails is retried with backoff until it answers 2xx.
 */
import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { api, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

const SECRET = 'webhook-secret-0123456789'
let gw: RunningGateway | undefined
let server: Server | undefined
afterEach(async () => {
  await gw?.stop()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  gw = undefined
  server = undefined
})

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = ''
    req.on('data', (c: Buffer) => (s += c.toString('utf8')))
    req.on('end', () => resolve(s))
  })

test('signed, and retried until the endpoint takes it', async () => {
  const received: { signature: string; body: string; status: number }[] = []
  let calls = 0
  server = createServer((req, res) => {
    void body(req).then((b) => {
      calls++
      // The endpoint is down for its first two calls.
      const status = calls <= 2 ? 503 : 200
      received.push({ signature: String(req.headers['x-shaobing-signature']), body: b, status })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  ;({ gw } = await startTestGateway(
    makeConfigDir(
      undefined,
      `webhooks: { targets: [{ url: '${url}', secret: ${SECRET} }], retryAfter: 50ms }`,
    ).config,
  ))
  const r = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: ['511823100201'],
  })
  const { warningId } = (await r.json()) as { warningId: string }
  await until(
    () => received,
    (got) => got.some((x) => x.status === 200),
    'the endpoint to take it',
  )
  expect(received.map((x) => x.status)).toEqual([503, 503, 200])
  const last = received.at(-1)!
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(last.signature)!
  expect(m).not.toBeNull()
  expect(m[2]).toBe(createHmac('sha256', SECRET).update(`${m[1]}.${last.body}`).digest('hex'))
  const event = JSON.parse(last.body) as {
    type: string
    warning: { id: string }
    version: { report: string; capMsgType: string }
  }
  expect(event).toMatchObject({
    type: 'warning.version',
    warning: { id: warningId },
    version: { report: 'first', capMsgType: 'Alert' },
  })
  // The same body each time: one event, three attempts.
  expect(new Set(received.map((x) => x.body)).size).toBe(1)
})
