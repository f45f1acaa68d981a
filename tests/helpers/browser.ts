/**
 * A real browser for the console's tests: Debian's Chromium driven by playwright-core, headless,
 * with nothing of its own phoning out (the machine's network is closed and the console must not
 * need it). Screenshots go to test-results/console/, to be looked at.
 */
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
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

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true })
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path })
  return path
}

/** A port free on loopback now (for a gateway that must come back on the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}
