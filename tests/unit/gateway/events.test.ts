/** The event bus and its durable window, on an in-memory store. */
import { pino } from 'pino'
import { describe, expect, test } from 'vitest'
import { EventBus } from '../../../gateway/src/events/bus.js'
import type { GatewayEvent, NewEvent } from '../../../gateway/src/events/types.js'
import { openMemoryDb } from '../../../gateway/src/store/db.js'
import { storesOf } from '../../../gateway/src/store/index.js'
import { clock } from '../../helpers/wait.js'

const fault = (sensorId: string, region: string): NewEvent => ({
  type: 'fault.raised',
  region,
  data: { sensorId, stationId: sensorId.toUpperCase(), kind: 'no_data', detail: 'silent' },
})

function bus() {
  const stores = storesOf(openMemoryDb())
  const time = clock()
  const b = new EventBus(stores.events, time.now, pino({ level: 'silent' }))
  const heard: GatewayEvent[] = []
  b.listen((e) => heard.push(e))
  return { stores, time, bus: b, heard }
}

describe('event bus', () => {
  test('events are stored with increasing ids; listeners hear them after the commit', async () => {
    const { bus: b, stores, heard } = bus()
    const inTx: number[] = []
    b.subscribe((e) => {
      inTx.push(e.id)
    })
    const done = stores.atomically(() => [
      b.emit(fault('a', '511823100201')),
      b.emit(fault('b', '511823101201')),
    ])
    expect(inTx).toEqual([1, 2]) // subscribers run inside the transaction
    expect(heard).toEqual([]) // listeners only after it
    await Promise.all(done)
    expect(heard.map((e) => e.id)).toEqual([1, 2])
    expect(stores.events.read({ after: 0, limit: 10 }).map((e) => e.data)).toEqual(heard.map((e) => e.data))
  })

  test('an event whose transaction rolls back is neither kept nor heard', async () => {
    const { bus: b, stores, heard } = bus()
    const sent: string[] = []
    // A subscriber's after-commit work (a channel's sending) runs for committed events only.
    b.subscribe((e, afterCommit) =>
      afterCommit(() => {
        sent.push((e.data as { sensorId: string }).sensorId)
      }),
    )
    let pending: Promise<void> | undefined
    expect(() =>
      stores.atomically(() => {
        pending = b.emit(fault('a', '511823100201'))
        throw new Error('the change failed')
      }),
    ).toThrow('the change failed')
    await pending
    await b.emit(fault('b', '511823100201')) // a later marker
    expect(heard.map((e) => (e.data as { sensorId: string }).sensorId)).toEqual(['b'])
    expect(sent).toEqual(['b'])
    expect(stores.events.read({ after: 0, limit: 10 })).toHaveLength(1)
  })

  test.each([
    { filter: { types: ['fault.raised' as const] }, want: ['a', 'b', 'c'] },
    { filter: { types: ['fault.cleared' as const] }, want: [] },
    { filter: { regionPrefix: '511823100' }, want: ['a', 'c'] },
    { filter: { regionPrefix: '511823101201' }, want: ['b'] },
    { filter: { after: 1 }, want: ['b', 'c'] },
  ])('reads filter by type, region and position: $filter', async ({ filter, want }) => {
    const { bus: b, stores } = bus()
    await b.emit(fault('a', '511823100201'))
    await b.emit(fault('b', '511823101201'))
    await b.emit(fault('c', '511823100203'))
    const got = stores.events.read({ after: 0, limit: 100, ...filter })
    expect(got.map((e) => (e.data as { sensorId: string }).sensorId)).toEqual(want)
  })

  test('the window is pruned by age and by count; ids never go back, even when it empties', async () => {
    const { bus: b, stores, time } = bus()
    for (let i = 0; i < 5; i++) {
      await b.emit(fault(`s${i}`, '511823100201'))
      time.advance(1000)
    }
    expect(stores.events.prune(time.now() - 2500, 1000)).toBe(3) // the three older than 2.5 s
    expect(stores.events.bounds()).toEqual({ oldest: 4, newest: 5 })
    expect(stores.events.prune(0, 1)).toBe(1)
    expect(stores.events.bounds()).toEqual({ oldest: 5, newest: 5 })
    expect(stores.events.prune(time.now() + 1, 1)).toBe(1)
    expect(stores.events.bounds()).toEqual({ oldest: 6, newest: 5 })
    await b.emit(fault('next', '511823100201'))
    expect(stores.events.bounds()).toEqual({ oldest: 6, newest: 6 })
  })
})
