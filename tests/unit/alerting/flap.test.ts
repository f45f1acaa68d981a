/** Flap damping: steps down of a flapping warning wait for the hold (controlled clock). */
import { describe, expect, test } from 'vitest'
import { alerting, PLACES } from '../../helpers/alerting.js'

const MIN = 60_000

describe('flap damping', () => {
  test.each([
    { changes: 4, heldAfter: 4 },
    { changes: 3, heldAfter: 3 },
  ])(
    'with flap.changes $changes the step down that makes the $heldAfter-th change is held',
    async ({ changes }) => {
      const a = alerting({ flap: { changes, window: '30m', hold: '15m' } })
      const key = `flood|${PLACES.liuwan}`
      // A river hovering at its warning level: yellow, clear, yellow, clear … one minute apart.
      let level: 'yellow' | null = null
      for (let i = 0; i < changes; i++) {
        const next: 'yellow' | null = level === null ? 'yellow' : null
        await a.apply('river-flood', 'WL-LW-01', level, next)
        level = next
      }
      const w = a.stores.warnings.activeByKey(key)
      if (changes % 2 === 0) {
        // the last change was a step down: held, the warning stays yellow
        expect(w?.level).toBe('yellow')
        expect(w?.holdUntil).toBe(a.clock.now() + 15 * MIN)
      }
      expect(a.audit('flap_detected')).toHaveLength(1)
    },
  )

  test('the held step down goes out when the hold has passed, not a millisecond before', async () => {
    const a = alerting({ flap: { changes: 4, window: '30m', hold: '15m' } })
    const key = `flood|${PLACES.liuwan}`
    await a.apply('river-flood', 'WL-LW-01', null, 'yellow')
    await a.apply('river-flood', 'WL-LW-01', 'yellow', null)
    await a.apply('river-flood', 'WL-LW-01', null, 'yellow')
    await a.apply('river-flood', 'WL-LW-01', 'yellow', null) // held
    const before = a.released()
    a.clock.advance(15 * MIN - 1)
    await a.manager.tick()
    expect(a.stores.warnings.activeByKey(key)?.level).toBe('yellow')
    expect(a.released()).toEqual(before)
    a.clock.advance(1)
    await a.manager.tick()
    expect(a.stores.warnings.activeByKey(key)).toBeUndefined()
    expect(a.released()).toHaveLength(before.length + 1)
    expect(a.released().at(-1)).toMatch(/ lift$/)
  })

  test('raises are never held: a flapping warning still goes up at once', async () => {
    const a = alerting({ flap: { changes: 2, window: '30m', hold: '15m' } })
    await a.apply('river-flood', 'WL-LW-01', null, 'yellow')
    await a.apply('river-flood', 'WL-LW-01', 'yellow', 'orange')
    await a.apply('river-flood', 'WL-LW-01', 'orange', 'yellow') // held
    await a.apply('river-flood', 'WL-LW-01', 'yellow', 'red')
    const w = a.warnings()[0]!
    expect(w.versions.map((v) => v.level)).toEqual(['yellow', 'orange', 'red'])
  })
})
