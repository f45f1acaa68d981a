/**
 * What signing every loudspeaker command costs: Ed25519 sign and verify per second over a real
 * command's signed bytes, beside HMAC-SHA256 over the same bytes (the shared-secret scheme a
 * terminal could use instead, which cannot tell the gateway from anyone holding the secret).
 *
 *   npm run build && npm run bench:signing -- [--seconds 2]
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import type { TerminalCommand } from '../gateway/src/contracts/payloads.js'
import { CommandSigner, CommandVerifier } from '../gateway/src/contracts/command-signing.js'
import { markdownTable, writeResults } from './lib/report.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } })
const SECONDS = Number(values.seconds)
const now = Date.now()
const cmd: TerminalCommand = {
  action: 'play',
  warningId: 'W-20260715-0001',
  version: 2,
  kind: 'issue',
  level: 'red',
  hazard: 'flood',
  text: '【山洪红色预警】青衣江柳湾水文站水位已超保证水位，柳湾村沿河群众请立即向高处转移。',
  language: 'zh-CN',
  priority: 140,
  repeat: 3,
  round: 1,
  expiresAt: now + 6 * 3_600_000,
  sentAt: now,
}

/** Operations a second of `op`, run for SECONDS after a short warm-up. */
function rate(op: (i: number) => void): number {
  for (let i = 0; i < 200; i++) op(i)
  let n = 0
  const t0 = performance.now()
  const end = t0 + SECONDS * 1000
  while (performance.now() < end) for (let k = 0; k < 100; k++) op(n++)
  return Math.round((n / (performance.now() - t0)) * 1000)
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const signer = new CommandSigner(privateKey)
const signed = Array.from({ length: 1000 }, (_, i) => signer.sign(`T-${i}`, cmd))
const verifier = new CommandVerifier([publicKey], { now: () => now, maxNonces: 1_000_000 })
const secret = randomBytes(32)
const body = JSON.stringify(cmd)

const ed = {
  sign: rate((i) => signer.sign(`T-${i % 1000}`, cmd)),
  // The signature is checked before the nonce, so a repeat costs what a first verify does.
  verify: rate((i) => verifier.verify(`T-${i % 1000}`, signed[i % 1000]!)),
}
const hmac = {
  sign: rate((i) =>
    createHmac('sha256', secret)
      .update(`T-${i % 1000}`)
      .update(body)
      .digest('base64'),
  ),
  verify: rate((i) =>
    createHmac('sha256', secret)
      .update(`T-${i % 1000}`)
      .update(body)
      .digest('base64'),
  ),
}
const fmt = (n: number) => n.toLocaleString('en-US')
console.log(
  markdownTable(
    ['operation', 'Ed25519 (ours) /s', 'HMAC-SHA256 /s', 'ratio'],
    [
      ['sign a command', fmt(ed.sign), fmt(hmac.sign), (ed.sign / hmac.sign).toFixed(2) + '×'],
      ['verify a command', fmt(ed.verify), fmt(hmac.verify), (ed.verify / hmac.verify).toFixed(2) + '×'],
    ],
  ),
)
console.log(`\nraw figures: ${writeResults('signing', { seconds: SECONDS, ed, hmac })}`)
