/**
 * Password hashes: our scrypt PHC strings, and Mosquitto's own hashes made by its mosquitto_passwd
 * (the oracle: Debian package mosquitto) verified as they are, so a site can migrate its file.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parseMosquittoPasswd } from '../../../gateway/src/security/enroll.js'
import {
  generateSecret,
  hashFormat,
  hashPassword,
  verifyPassword,
} from '../../../gateway/src/security/passwords.js'
import { requireBinary } from '../../helpers/requires.js'

const hasPasswd = requireBinary('/usr/bin/mosquitto_passwd', 'mosquitto')

describe('scrypt', () => {
  test('a hash carries its parameters and verifies only its password', async () => {
    const h = await hashPassword('correct horse battery staple', { ln: 4, r: 8, p: 1 })
    expect(h).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(hashFormat(h)).toBe('scrypt')
    expect(await verifyPassword('correct horse battery staple', h)).toBe(true)
    expect(await verifyPassword('correct horse battery stapl', h)).toBe(false)
    // Salted: the same password never gives the same hash.
    expect(await hashPassword('x', { ln: 4, r: 8, p: 1 })).not.toBe(
      await hashPassword('x', { ln: 4, r: 8, p: 1 }),
    )
  })

  test('generated secrets are 256 bits, base64url', () => {
    const s = generateSecret()
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(s, 'base64url')).toHaveLength(32)
  })

  test('a malformed or unknown hash verifies nothing and does not throw', async () => {
    for (const bad of [
      '',
      'plain',
      '$scrypt$ln=99,r=8,p=1$AAAA$BBBB',
      '$7$x$y$z',
      '$2b$10$abcdefghijklmnopqrstuv',
    ])
      expect(await verifyPassword('x', bad)).toBe(false)
  })
})

describe.runIf(hasPasswd)("Mosquitto's mosquitto_passwd as the oracle", () => {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-passwd-'))

  test('its $7$ (PBKDF2-SHA512) hashes verify, at its default and at a chosen iteration count', async () => {
    const file = join(dir, 'pw7')
    writeFileSync(file, '')
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', file, 'wl-lw-01', 'secret with spaces 水位'])
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', '-I', '1000', file, 'rg-lw-01', 'another-secret'])
    const { entries, problems } = parseMosquittoPasswd(readFileSync(file, 'utf8'))
    expect(problems).toEqual([])
    expect(entries.map((e) => [e.username, hashFormat(e.hash)])).toEqual([
      ['wl-lw-01', 'mosquitto-pbkdf2-sha512'],
      ['rg-lw-01', 'mosquitto-pbkdf2-sha512'],
    ])
    expect(entries[1]!.hash).toMatch(/^\$7\$1000\$/)
    expect(await verifyPassword('secret with spaces 水位', entries[0]!.hash)).toBe(true)
    expect(await verifyPassword('secret with spaces', entries[0]!.hash)).toBe(false)
    expect(await verifyPassword('another-secret', entries[1]!.hash)).toBe(true)
  })

  test('a plain file converted with -U verifies too', async () => {
    const file = join(dir, 'plain')
    writeFileSync(file, 'a:alpha-password\nb:beta-password\n')
    execFileSync('/usr/bin/mosquitto_passwd', ['-U', file])
    const { entries } = parseMosquittoPasswd(readFileSync(file, 'utf8'))
    expect(
      await Promise.all(
        entries.map((e, i) => verifyPassword(['alpha-password', 'beta-password'][i]!, e.hash)),
      ),
    ).toEqual([true, true])
  })

  test('bad lines are reported with their number; nothing else is taken from them', () => {
    const { entries, problems } = parseMosquittoPasswd(
      '# c\nok:$7$101$c2FsdA==$aGFzaA==\nnocolon\nx:plaintext\n',
    )
    expect(entries.map((e) => e.username)).toEqual(['ok'])
    expect(problems).toEqual(['line 3: bad username', 'line 4: x: not a $7$, $6$ or $scrypt$ hash'])
  })
})
