/** The gateway's clock follows the wall clock forward and never backward (gateway/src/core/clock.ts). */
import { expect, test } from 'vitest'
import { steadyClock } from '../../../gateway/src/core/clock.js'

test('a step back is absorbed: the clock keeps counting from where it was', () => {
  let wall = 1_000_000
  const steps: number[] = []
  const now = steadyClock(
    () => wall,
    (step) => steps.push(step),
  )
  expect(now()).toBe(1_000_000)
  wall += 5_000
  expect(now()).toBe(1_005_000)
  wall -= 3_600_000 // NTP steps the clock back an hour
  expect(now()).toBe(1_005_000)
  expect(now()).toBe(1_005_000) // noticed once
  wall += 60_000
  expect(now()).toBe(1_065_000) // a minute later is a minute later
  expect(now.offsetMs).toBe(3_600_000)
  expect(steps).toEqual([3_600_000])
  wall += 7_200_000 // a step forward is taken as it is
  expect(now()).toBe(8_265_000)
  expect(steps).toEqual([3_600_000])
})
