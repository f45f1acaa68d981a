/**
 * The Node-RED editor embedded in a real gateway, in a real browser (Debian's Chromium,
 * playwright-core): the admin logs in through the editor's own login form, the palette loads with
 * the Shaobing nodes of dashboards/node-red/ in it, the package's example flow (installed into the
 * empty userDir) is drawn with every node known, and nothing is fetched from off the machine.
 * Screenshots: test-results/node-red/.
 */
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { nodePackageDir } from '../../gateway/src/nodered/embedded.js'
import { hasChromium, launchBrowser, screenshot } from '../helpers/browser.js'
import { api, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'

const SHOTS = join(import.meta.dirname, '../../test-results/node-red')
const PASSWORD_ENV = 'SHAOBING_TEST_NODE_RED_EDITOR_PASSWORD'
const PASSWORD = 'editor admin pw, correct horse'

/**
 * The package's node types that belong in the palette: those whose editor file (.html beside the
 * .cjs) exists and that are not configuration nodes (which live in the config sidebar instead).
 */
const PACKAGE_DIR = nodePackageDir()
const PALETTE_TYPES = Object.entries(
  (
    JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> }
    }
  )['node-red'].nodes,
).flatMap(([type, file]) => {
  const html = join(PACKAGE_DIR, file.replace(/\.c?js$/, '.html'))
  if (!existsSync(html)) return []
  return /category:\s*['"]config['"]/.test(readFileSync(html, 'utf8')) ? [] : [type]
})

/** The package's example flow, installed into the empty userDir; its endpoints come from `nodeRed.env`. */
const EXAMPLE = join(PACKAGE_DIR, 'examples/flood-sluice.json')
const EXAMPLE_NODES = (
  JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { id: string; type: string; z?: string }[]
)
  .filter((n) => n.z !== undefined)
  .map((n) => n.id)
/** A village of the demo county. */
const VILLAGE = '511823100201'

const run = hasChromium()

describe.skipIf(!run)('the embedded Node-RED editor in Chromium', () => {
  let gw: RunningGateway | undefined
  let browser: Browser
  let page: Page
  let base: string
  const offsite: string[] = []
  // The simulated sluice relay and LED sign the example flow drives: HTTP endpoints that keep what they get.
  const relay: unknown[] = []
  const sign: unknown[] = []
  const devices = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      ;(req.url === '/sluice' ? relay : sign).push(JSON.parse(body))
      res.end('ok')
    })
  })

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = PASSWORD
    devices.listen(0, '127.0.0.1')
    await once(devices, 'listening')
    const at = `http://127.0.0.1:${(devices.address() as AddressInfo).port}`
    // The flows need the gateway's address before it starts: a fixed free port for its API.
    const httpPort = await freePort()
    const { config } = makeConfigDir(undefined, '', { http: `{ host: 127.0.0.1, port: ${httpPort} }` })
    const env = {
      SHAOBING_URL: `http://127.0.0.1:${httpPort}`,
      SHAOBING_VILLAGE: VILLAGE,
      SHAOBING_SLUICE_URL: `${at}/sluice`,
      SHAOBING_SIGN_URL: `${at}/sign`,
    }
    writeFileSync(
      config,
      readFileSync(config, 'utf8') +
        `\nnodeRed: { enabled: true, port: 0, flows: ${JSON.stringify(EXAMPLE)}, env: ${JSON.stringify(env)},` +
        ` admin: { username: admin, password: { env: ${PASSWORD_ENV} } } }\n`,
    )
    gw = (await startTestGateway(config)).gw
    base = gw.urls.nodeRed!
    browser = await launchBrowser()
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, locale: 'zh-CN' })
    page = await context.newPage()
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) offsite.push(r.url())
    })
  })
  afterAll(async () => {
    await browser?.close()
    await gw?.stop()
    devices.close()
    delete process.env[PASSWORD_ENV]
  })

  test('the admin logs in through the login form; a wrong password is refused there', async () => {
    await page.goto(base)
    await page.waitForSelector('#node-dialog-login-username', { state: 'visible' })
    await screenshot(page, '01-login', SHOTS)
    await page.fill('#node-dialog-login-username', 'admin')
    await page.fill('#node-dialog-login-password', 'not the password')
    await page.click('#node-dialog-login-submit')
    await page.waitForSelector('#node-dialog-login-failed', { state: 'visible' })
    await page.fill('#node-dialog-login-password', PASSWORD)
    await page.click('#node-dialog-login-submit')
    await page.waitForSelector('#node-dialog-login-username', { state: 'detached' })
  })

  test('the palette has the Shaobing nodes', async () => {
    // The core nodes first: then the palette has loaded every module's nodes.
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]', { state: 'visible' })
    expect(PALETTE_TYPES.length).toBeGreaterThan(0)
    for (const type of PALETTE_TYPES) {
      const node = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`)
      await expect.poll(() => node.count(), { message: type }).toBe(1)
    }
    const first = page.locator(`.red-ui-palette-node[data-palette-type="${PALETTE_TYPES[0]}"]`)
    await first.scrollIntoViewIfNeeded()
    await expect.poll(() => first.isVisible()).toBe(true)
    const labels = await page
      .locator(PALETTE_TYPES.map((t) => `.red-ui-palette-node[data-palette-type="${t}"]`).join(', '))
      .allInnerTexts()
    expect(labels.every((l) => l.trim() !== '')).toBe(true)
    await screenshot(page, '02-palette', SHOTS)
  })

  test('the example flow is installed and drawn, every node known to the editor', async () => {
    for (const id of EXAMPLE_NODES)
      await page.waitForSelector(`#red-ui-workspace-chart [id="${id}"]`, { state: 'attached' })
    expect(await page.locator('#red-ui-workspace-chart g.red-ui-flow-node-group').count()).toBe(
      EXAMPLE_NODES.length,
    )
    expect(await page.locator('#red-ui-workspace-chart .red-ui-flow-node-unknown').count()).toBe(0)
    // The warning node reached the gateway at the address `nodeRed.env` gave the flows.
    const status = page.locator('#red-ui-workspace-chart [id="f.in"] .red-ui-flow-node-status-label')
    await expect.poll(() => status.textContent()).toMatch(/connected/)
    await screenshot(page, '03-example-flow', SHOTS)
  })

  test('a red flash-flood warning for the village: the embedded example flow closes the sluice and writes the sign', async () => {
    const res = await api(gw!.urls.http, 'POST', '/api/warnings', {
      hazard: 'flash_flood',
      level: 'red',
      regions: [VILLAGE],
      text: '山洪红色预警，立即转移',
    })
    const { warningId } = (await res.json()) as { warningId: string }
    await expect.poll(() => relay.length, { timeout: 10_000 }).toBe(1)
    await expect.poll(() => sign.length, { timeout: 10_000 }).toBe(1)
    expect(relay[0]).toEqual({
      relay: 'sluice-1',
      action: 'close',
      reason: `flash_flood red ${warningId} v1`,
    })
    expect(sign[0]).toEqual({ line1: '红色预警', line2: '山洪红色预警，立即转移', blink: true })
  })

  test('the editor fetched nothing from off the machine', () => {
    expect(offsite).toEqual([])
  })
})
