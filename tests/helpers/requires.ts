/**
 * Suites that need a Debian package skip with a loud line naming it when its binary is missing.
 * CI installs the packages and sets SHAOBING_REQUIRE_SERVICES=1, which turns such a skip into a failure.
 */
import { existsSync } from 'node:fs'

export function requireBinary(path: string, debianPackage: string): boolean {
  if (existsSync(path)) return true
  const line = `!!! ${path} not found: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`
  if (process.env.SHAOBING_REQUIRE_SERVICES === '1')
    throw new Error(`${line}; SHAOBING_REQUIRE_SERVICES=1 forbids skipping`)
  process.stderr.write(`\n${line} — SKIPPING the suites that need it\n\n`)
  return false
}
