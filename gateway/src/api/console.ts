/**
 * The duty officer's console (dashboards/console/), served as built files: `/` is its page,
 * `/console/…` its script and stylesheet. Everything it needs is in the bundle, nothing comes
 * from the internet (a content security policy says so to the browser too). The page and its
 * files are open, like a login page: they hold no data; every call they make needs a session.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import { text } from '../contracts/api.js'

/** The built console: beside the sources (tsx) or two levels further up (the compiled dist/). */
export function consoleDir(): string | undefined {
  for (const up of ['../../../', '../../../../']) {
    const dir = fileURLToPath(new URL(`${up}dashboards/console/dist/`, import.meta.url))
    if (existsSync(`${dir}index.html`)) return dir
  }
  return undefined
}

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  // Leaflet and uPlot position their elements with inline styles.
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

/** The headers the page and every file of the console carry. */
const secure = (reply: FastifyReply): void => {
  reply.headers({
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  })
}

export async function registerConsole(app: FastifyInstance, log: Logger): Promise<void> {
  const root = consoleDir()
  const summary = 'the duty officer’s console (add ?kiosk for a wall display without actions)'
  if (!root) {
    log.warn('the console is not built (dashboards/console/dist): run npm run build')
    app.get(
      '/',
      { schema: { tags: ['console'], summary, response: { 503: text('text/plain', 'not built') } } },
      async (_req, reply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The console is not built: run `npm run build`.\n'),
    )
    return
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    index: 'index.html',
    // Hashless file names: the browser asks again (ETag) so that a new build is seen at once.
    cacheControl: true,
    maxAge: 0,
    setHeaders: secure,
    schemaHide: true,
  })
  app.get(
    '/',
    { schema: { tags: ['console'], summary, response: { 200: text('text/html', 'the console') } } },
    async (_req, reply) => {
      secure(reply)
      return reply.type('text/html; charset=utf-8').sendFile('index.html')
    },
  )
}
