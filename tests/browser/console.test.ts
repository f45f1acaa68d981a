/// <reference lib="dom" />
/**
 * The duty officer's console in a real browser (Debian's Chromium, playwright-core) against a real
 * gateway: simulated sensors and all the demo county's loudspeakers over real MQTT. An officer
 * logs in, watches the flood scenario raise warnings on the map and in the list, approves the red
 * flood warning held for two approvers, sees the loudspeakers' receipts bring its coverage to
 * every targeted terminal, acknowledges, lifts it; a viewer sees no approve button and the API
 * refuses it anyway; the console survives a gateway restart and resumes without a reload.
 * Screenshots of each step: test-results/console/.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { buildConsole } from '../../dashboards/console/build.mjs'
import type { RunningGateway } from '../../gateway/src/app.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { hasChromium, launchBrowser, logIn, probe, screenshot, untilProbe } from '../helpers/browser.js'
import { freePort } from '../helpers/ports.js'
import { registryCredentials } from '../helpers/devices.js'
import {
  api,
  DEMO_REGISTRY,
  getJson,
  makeConfigDir,
  OPERATORS_YAML,
  startTestGateway,
  TOKENS,
} from '../helpers/gateway.js'
import { shippedScenario } from '../helpers/scenario.js'

const ADMIN = 'test-token-admin'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')
const T0 = Date.UTC(2026, 6, 15)
const PASSWORDS = { officer: 'officer-pw correct horse', viewer: 'viewer-pw correct horse' }
/** Red flood warnings wait for two approvers (as in the demo), long enough never to time out here. */
const APPROVAL = 'warnings: { approval: [{ hazards: [flood], levels: [red], timeout: 1h, twoPerson: true }] }'

const run = hasChromium()

describe.skipIf(!run)('the console in Chromium', () => {
  let config: string
  let gw: RunningGateway | undefined
  let fleet: TerminalFleet | undefined
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let base: string
  const offsite: string[] = []

  beforeAll(async () => {
    await buildConsole()
    const [mqttPort, httpPort] = [await freePort(), await freePort()]
    ;({ config } = makeConfigDir(undefined, APPROVAL, {
      mqtt: `{ host: 127.0.0.1, port: ${mqttPort}, wsPort: 0 }`,
      http: `{ host: 127.0.0.1, port: ${httpPort} }`,
    }))
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(
        OPERATORS_YAML,
        `${OPERATORS_YAML}\n  - { id: root, name: 管理员, roles: [admin], tokenSha256: ${sha(ADMIN)} }`,
      ),
    )
    gw = (await startTestGateway(config)).gw
    base = gw.urls.http
    for (const [id, name, roles] of [
      ['officer', '值班员周敏', ['operator', 'approver']],
      ['watcher', '大屏查看', ['viewer']],
    ] as const) {
      const res = await api(
        base,
        'POST',
        '/api/operators',
        {
          id,
          name,
          roles,
          password: id === 'officer' ? PASSWORDS.officer : PASSWORDS.viewer,
        },
        ADMIN,
      )
      expect(res.status).toBe(200)
    }
    fleet = await startTerminals({
      url: gw.urls.mqtt,
      terminals: registryTerminals(DEMO_REGISTRY),
      playMs: 5,
      credentials: registryCredentials(DEMO_REGISTRY),
    })
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1600, height: 900 }, locale: 'zh-CN' })
    page = await context.newPage()
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) offsite.push(r.url())
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await fleet?.close()
    await gw?.stop()
  })

  test('an officer logs in and watches the flood scenario arrive on the map and in the list', async () => {
    await page.goto(base + '/')
    await page.waitForSelector('#login')
    await screenshot(page, '01-login')
    // A wrong password is refused with the one answer every refused login gets.
    await logIn(page, 'officer', 'wrong password entirely')
    await page.waitForFunction(() => document.querySelector('#login-error')?.textContent?.includes('错误'))
    await logIn(page, 'officer', PASSWORDS.officer)
    await page.waitForSelector('[data-link="live"]')
    await page.waitForSelector('#region-tree [data-region="511823100201"]')
    // The demo county's outlines are on the map (Leaflet paths), with no tile from anywhere.
    expect(await page.locator('.leaflet-overlay-pane path').count()).toBeGreaterThan(10)
    await screenshot(page, '02-quiet-county')

    // The storm over Liuwan, cut while the river is at its red level (5 h 30 min of event time).
    const scenario = { ...shippedScenario('demo-flood'), duration: '330m' }
    const summary = await runScenario({
      url: gw!.urls.mqtt,
      scenario,
      speed: 60_000,
      startMs: T0,
      credentials: registryCredentials(DEMO_REGISTRY),
    })
    expect(summary.failed).toBe(0)
    // The red flood version waits for two approvers; the list shows it with text, not colour alone.
    const flood = page.locator('#active-warnings li.warning', { hasText: '洪水' })
    await flood.first().waitFor()
    await page.waitForSelector('#active-warnings li.warning.waiting[data-level]')
    const levels = await page
      .locator('#active-warnings li.warning')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['level']))
    expect(levels[0]).toBe('red') // most severe first
    expect(await page.locator('#active-warnings li.warning .level').first().textContent()).toBe('红色')
    // Liuwan village is filled in its warning's colour on the map; its river gauge is red.
    await page.waitForFunction(() =>
      [...document.querySelectorAll('path.station-WL-LW-01')].some(
        (p) => p.getAttribute('fill') === '#cf222e',
      ),
    )
    // Red warnings nobody acknowledged: the alarm sounds for this officer.
    await untilProbe(page, 'alarm')
    await screenshot(page, '03-warnings-arrive')
    expect(offsite).toEqual([])
  }, 60_000)

  test('the red flood version is approved by two approvers, and coverage reaches every targeted loudspeaker', async () => {
    await page.click('[data-tab="approvals"]')
    const held = page.locator('#pending li.warning', { hasText: '洪水' })
    await held.waitFor()
    await expect.poll(() => held.locator('.approval').getAttribute('data-needed')).toBe('2')
    const { pending } = await getJson<{ pending: { warningId: string; version: number }[] }>(
      base,
      '/api/approvals',
    )
    const { warningId, version } =
      pending.find((p) => p.warningId.includes('flood') && !p.warningId.includes('flash')) ?? pending[0]!
    await held.locator('button.approve').click()
    // One of two: the two-person rule is visible, and this officer cannot approve twice.
    await page.waitForSelector(`#pending li[data-warning="${warningId}"] .approval[data-approvals="1"]`)
    expect(await page.locator(`#pending li[data-warning="${warningId}"] button.approve`).count()).toBe(0)
    expect(await page.locator(`#pending li[data-warning="${warningId}"]`).textContent()).toContain(
      '还需另一名审批人',
    )
    await screenshot(page, '04-one-of-two-approvals')

    // The second approver decides elsewhere (their own API token); the console hears of it live.
    const second = await api(
      base,
      'POST',
      `/api/warnings/${warningId}/versions/${version}/approve`,
      {},
      TOKENS.approver,
    )
    expect(second.status).toBe(200)
    await page.waitForSelector(`#pending li[data-warning="${warningId}"]`, { state: 'detached' })
    await page.click('[data-tab="warnings"]')
    await page.click(`#active-warnings li[data-warning="${warningId}"]`)
    await page.waitForSelector(`#detail[data-warning="${warningId}"]`)
    // Every loudspeaker of the flood warning's area plays the red version: coverage in the page.
    const { versions } = await getJson<{ versions: { version: number; targeted: number }[] }>(
      base,
      `/api/warnings/${warningId}/coverage`,
    )
    const targeted = versions.find((v) => v.version === version)!.targeted
    expect(targeted).toBeGreaterThan(0)
    const row = `#detail table.reach tr[data-version="${version}"]`
    await page.waitForFunction(
      ({ row, targeted }) => {
        const cells = [...document.querySelectorAll(`${row} td`)].map((td) => td.textContent)
        return cells[1] === String(targeted) && cells[3] === String(targeted)
      },
      { row, targeted },
    )
    await page.waitForSelector(`#detail tr[data-state="played"]`)
    await screenshot(page, '05-red-released-coverage')
  }, 60_000)

  test('acknowledging stops the alarm; lifting sends the final report', async () => {
    // The other red warnings are acknowledged by a colleague; the flood one by this officer.
    const { warnings } = await getJson<{ warnings: { id: string; state: string; hazard: string }[] }>(
      base,
      '/api/warnings?state=active',
    )
    const flood = warnings.find((w) => w.hazard === 'flood')!
    for (const w of warnings)
      if (w.id !== flood.id) await api(base, 'POST', `/api/warnings/${w.id}/ack`, {}, TOKENS.clerk)
    expect(await probe(page, 'alarm')).toBe(true)
    await page.click('#detail button.ack')
    await untilProbe(page, 'alarm', false)
    page.once('dialog', (d) => void d.accept())
    await page.click('#detail button.lift')
    await page.waitForSelector(`#detail[data-warning="${flood.id}"] li[data-release="released"] >> text=终报`)
    await page.waitForSelector(`ul.recent li[data-warning="${flood.id}"][data-state="lifted"]`)
    await screenshot(page, '06-lifted')
  }, 60_000)

  test('a viewer sees the warnings and has no button to act; the API refuses the viewer anyway', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } })
    try {
      const viewer = await ctx.newPage()
      await viewer.goto(base + '/')
      await logIn(viewer, 'watcher', PASSWORDS.viewer)
      await viewer.waitForSelector('#active-warnings li.warning')
      await viewer.click('#active-warnings li.warning >> nth=0')
      await viewer.waitForSelector('#detail')
      expect(await viewer.locator('#detail .actions button').count()).toBe(0)
      expect(await viewer.locator('form.issue').count()).toBe(0)
      expect(await viewer.locator('#detail .actions').textContent()).toContain('只读')
      await viewer.click('[data-tab="approvals"]')
      expect(await viewer.locator('button.approve').count()).toBe(0)
      await screenshot(viewer, '07-viewer')
      const session = JSON.parse(
        (await viewer.evaluate(() => sessionStorage.getItem('shaobing.session')))!,
      ) as {
        token: string
      }
      const { warnings } = await getJson<{ warnings: { id: string }[] }>(base, '/api/warnings?state=active')
      const refused = await api(base, 'POST', `/api/warnings/${warnings[0]!.id}/ack`, {}, session.token)
      expect(refused.status).toBe(403)
      const approve = await api(
        base,
        'POST',
        `/api/warnings/${warnings[0]!.id}/versions/1/approve`,
        {},
        session.token,
      )
      expect(approve.status).toBe(403)
    } finally {
      await ctx.close()
    }
  }, 60_000)

  test('the console survives a gateway restart and resumes without a reload', async () => {
    await page.evaluate(() => Object.assign(window, { beforeRestart: true }))
    const before = await probe(page, 'lastEventId')
    await gw!.stop()
    gw = undefined
    await page.waitForSelector('#banner:not([hidden])')
    expect(await page.locator('#banner').textContent()).toContain('失去连接')
    await screenshot(page, '08-gateway-lost')
    gw = (await startTestGateway(config)).gw
    await page.waitForSelector('[data-link="live"]', { timeout: 20_000 })
    // Something happens after the restart: it appears without the page being loaded again.
    const res = await api(base, 'POST', '/api/warnings', {
      hazard: 'geohazard',
      level: 'yellow',
      regions: ['511823101202'],
      text: '新民村地质灾害黄色预警（重启后发布）',
    })
    expect(res.status).toBe(200)
    const { warningId } = (await res.json()) as { warningId: string }
    await page.waitForSelector(`#active-warnings li[data-warning="${warningId}"]`)
    expect(await page.evaluate(() => (window as unknown as { beforeRestart?: boolean }).beforeRestart)).toBe(
      true,
    )
    expect(await probe(page, 'reconnects')).toBeGreaterThan(0)
    expect(await probe(page, 'lastEventId')).toBeGreaterThan(before)
    expect(await page.locator('#banner').isHidden()).toBe(true)
    await screenshot(page, '09-resumed')
  }, 60_000)

  test('station detail: readings charted with thresholds, and the English toggle', async () => {
    await page.click('path.station-WL-LW-01', { force: true })
    await page.waitForSelector('#station-detail .chart canvas')
    await screenshot(page, '10-station-detail')
    await page.click('.modal button.close')
    await page.click('#lang')
    await page.waitForSelector('text=Active')
    await screenshot(page, '11-english')
    await page.click('#lang')
    expect(offsite).toEqual([])
  }, 60_000)

  test('an operator issues a warning by hand to villages ticked in the tree, silences a station, and is sent back to the login when the session ends', async () => {
    for (const code of ['511823101201', '511823101203'])
      await page.check(`#region-tree li[data-region="${code}"] > label input`)
    // The form shows the choice at the next redraw.
    await expect
      .poll(() => page.locator('#issue-regions').textContent(), { timeout: 10_000 })
      .toBe('龙潭村、白鹤村')
    await page.selectOption('#issue-hazard', 'reservoir')
    await page.selectOption('#issue-level', 'orange')
    await page.fill('#issue-text', '龙潭水库泄洪，下游龙潭村、白鹤村群众请远离河道。')
    await page.click('#issue-submit')
    const card = page.locator('#active-warnings li.warning', { hasText: '水库' })
    await card.waitFor()
    const id = await card.getAttribute('data-warning')
    const w = await getJson<{ targets: string[]; versions: { text: string; releasedBy: string[] }[] }>(
      base,
      `/api/warnings/${id}`,
    )
    expect([...w.targets].sort()).toEqual(['511823101201', '511823101203'])
    expect(w.versions[0]!.text).toBe('龙潭水库泄洪，下游龙潭村、白鹤村群众请远离河道。')
    expect(w.versions[0]!.releasedBy).toEqual(['officer']) // audited as who issued it
    // The form is ready for the next one: the ticks and the text are cleared.
    await expect.poll(() => page.locator('#issue-regions').textContent(), { timeout: 10_000 }).toBe('—')
    await expect.poll(() => page.inputValue('#issue-text'), { timeout: 10_000 }).toBe('')

    await page.click('[data-tab="silences"]')
    await page.selectOption('#silence-station', 'WL-LT-01')
    await page.fill('#silence-reason', '龙潭水库水位计检修')
    await page.click('form.silence button[type="submit"]')
    const silence = page.locator('#silences li', { hasText: '龙潭水库水位计检修' })
    await silence.waitFor()
    await screenshot(page, '12-issued-by-hand-and-silence')
    await silence.locator('button.end-silence').click()
    await silence.waitFor({ state: 'detached' })
    const { silences } = await getJson<{
      silences: { reason: string; author: string; endedAt: number | null }[]
    }>(base, '/api/silences')
    expect(silences.find((x) => x.reason === '龙潭水库水位计检修')).toMatchObject({ author: 'officer' })
    expect(silences.find((x) => x.reason === '龙潭水库水位计检修')!.endedAt).not.toBeNull()

    // The session ends elsewhere (here: logged out with its token); the officer's next action is
    // refused and the console shows the login again, saying why (reads on loopback need no session,
    // so it also asks who it is every 30 s).
    const { token } = JSON.parse(
      (await page.evaluate(() => sessionStorage.getItem('shaobing.session')))!,
    ) as {
      token: string
    }
    expect((await api(base, 'POST', '/api/logout', {}, token)).status).toBe(200)
    await page.click('[data-tab="warnings"]')
    await page.click(`#active-warnings li[data-warning="${id}"]`)
    await page.click(`#detail[data-warning="${id}"] button.ack`)
    await page.waitForSelector('#login')
    expect(await page.locator('#login-error').textContent()).toBe('会话已过期，请重新登录')
    await screenshot(page, '13-session-ended')
  }, 60_000)

  test('the wall display shows the same picture without actions', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
    try {
      const wall = await ctx.newPage()
      await wall.goto(base + '/?kiosk')
      await logIn(wall, 'watcher', PASSWORDS.viewer)
      await wall.waitForSelector('#active-warnings li.warning')
      expect(await wall.locator('nav.tabs').count()).toBe(0)
      expect(await wall.locator('form').count()).toBe(0)
      await screenshot(wall, '14-wall-display')
    } finally {
      await ctx.close()
    }
  }, 60_000)
})
