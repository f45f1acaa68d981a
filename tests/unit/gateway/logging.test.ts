/**
 * The one place that decides how the gateway's log lines look: pretty on a terminal, JSON
 * otherwise, the option and then the environment overriding the terminal; and what each writes.
 */
import { describe, expect, test } from 'vitest'
import { chooseLogFormat, createLogger } from '../../../gateway/src/logging.js'

const tty = { isTTY: true }
const pipe = {}

describe('chooseLogFormat', () => {
  test('pretty exactly when stdout is a terminal', () => {
    expect(chooseLogFormat({ stdout: tty, env: {} })).toBe('pretty')
    expect(chooseLogFormat({ stdout: pipe, env: {} })).toBe('json')
    expect(chooseLogFormat({ stdout: { isTTY: false }, env: {} })).toBe('json')
  })

  test('--log-format wins over the environment, which wins over the terminal', () => {
    expect(chooseLogFormat({ option: 'json', stdout: tty, env: { SHAOBING_LOG_FORMAT: 'pretty' } })).toBe(
      'json',
    )
    expect(chooseLogFormat({ option: 'pretty', stdout: pipe, env: {} })).toBe('pretty')
    expect(chooseLogFormat({ stdout: tty, env: { SHAOBING_LOG_FORMAT: 'json' } })).toBe('json')
    expect(chooseLogFormat({ stdout: pipe, env: { SHAOBING_LOG_FORMAT: 'pretty' } })).toBe('pretty')
    // Set but empty: as if unset.
    expect(chooseLogFormat({ stdout: tty, env: { SHAOBING_LOG_FORMAT: '' } })).toBe('pretty')
  })

  test('anything else is refused, naming where it came from', () => {
    expect(() => chooseLogFormat({ option: 'xml', stdout: tty, env: {} })).toThrow(/--log-format .* xml/)
    expect(() => chooseLogFormat({ stdout: tty, env: { SHAOBING_LOG_FORMAT: 'text' } })).toThrow(
      /SHAOBING_LOG_FORMAT .* text/,
    )
  })
})

function sink(isTTY: boolean) {
  const writes: string[] = []
  return { writes, destination: { isTTY, write: (s: string) => writes.push(s) } }
}

describe('createLogger', () => {
  test('json: one JSON object a line, secrets redacted', () => {
    const { writes, destination } = sink(false)
    const log = createLogger({ level: 'info', format: 'json', destination })
    log
      .child({ component: 'broker' })
      .info({ clientId: 'c1', user: { password: 'hunter2' } }, 'client connected')
    log.debug('not at info')
    expect(writes).toHaveLength(1)
    const line = JSON.parse(writes[0]!) as Record<string, unknown>
    expect(line).toMatchObject({ level: 30, component: 'broker', clientId: 'c1', msg: 'client connected' })
    expect(writes[0]).not.toContain('hunter2')
  })

  test('pretty: time, level, [component], message and the fields on one readable line, written at the call', () => {
    const { writes, destination } = sink(false)
    const log = createLogger({ level: 'info', format: 'pretty', destination, env: {} })
    log
      .child({ component: 'warnings' })
      .info({ warningId: 'w1', version: 2, session: { token: 'secret' } }, 'warning changed')
    // Synchronous: the line is there as soon as the call returns.
    expect(writes).toHaveLength(1)
    const line = writes[0]!
    expect(() => JSON.parse(line) as unknown).toThrow()
    expect(line).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[warnings\] warning changed \{.*"warningId":"w1".*\}\n$/,
    )
    expect(line).not.toMatch(/pid|hostname|"component"/)
    expect(line).not.toContain('secret')
    // Not a terminal: no colours.
    expect(line).not.toContain('\u001b[')
  })

  test('pretty on a terminal is coloured unless NO_COLOR is set', () => {
    const coloured = sink(true)
    createLogger({ level: 'info', format: 'pretty', destination: coloured.destination, env: {} }).warn(
      'low battery',
    )
    expect(coloured.writes[0]).toContain('\u001b[')
    const plain = sink(true)
    createLogger({
      level: 'info',
      format: 'pretty',
      destination: plain.destination,
      env: { NO_COLOR: '1' },
    }).warn('low battery')
    expect(plain.writes[0]).toMatch(/WARN: low battery/)
    expect(plain.writes[0]).not.toContain('\u001b[')
  })
})
