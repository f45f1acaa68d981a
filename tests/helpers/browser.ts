/**
 * A real browser for the console's tests: Debian's Chromium driven by playwright-core, headless,
 * with nothing of its own phoning out (the machine's network is closed and the console must not
 * need it). Screenshots go to test-results/console/, to be looked at.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { requireBinary } from './requires.js'

export const CHROMIUM = '/usr/bin/chromium'
export const SHOTS = join(import.meta.dirname, '../../test-results/console')

export const hasChromium = (): boolean => requireBinary(CHROMIUM, 'chromium')

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The alarm's Web Audio plays without the click a person would give it.
      '--autoplay-policy=no-user-gesture-required',
    ],
  })
}

export async function screenshot(page: Page, name: string, dir: string = SHOTS): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${name}.png`)
  await page.screenshot({ path })
  return path
}

/** What the console shows of itself to tests and benchmarks (`window.shaobing`, dashboards/console/src/main.ts). */
export interface ConsoleProbe {
  readonly link: 'connecting' | 'live' | 'lost'
  readonly alarm: boolean
  readonly lastEventId: number
  readonly reconnects: number
  readonly readyAt: number | undefined
}
type Probed = { shaobing: ConsoleProbe }

/** One of the console's probe values, read in the page. */
export const probe = <K extends keyof ConsoleProbe>(page: Page, key: K): Promise<ConsoleProbe[K]> =>
  page.evaluate((k: string) => (globalThis as unknown as Probed).shaobing[k as K], key as string) as Promise<
    ConsoleProbe[K]
  >

/** Waits until a probe value is truthy (`want`, by default) or falsy. */
export const untilProbe = (page: Page, key: keyof ConsoleProbe, want = true, timeout?: number) =>
  page.waitForFunction(
    ([k, w]) => !!(globalThis as unknown as Probed).shaobing[k as keyof ConsoleProbe] === w,
    [key, want] as const,
    timeout !== undefined ? { timeout } : {},
  )

/** Logs in through the console's form. */
export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#login-user', username)
  await page.fill('#login-password', password)
  await page.click('#login-submit')
}
