import { describe, expect, it } from 'vitest'
import { isTraceparent, newTraceparent } from '../../../router/traceparent.js'

describe('traceparent', () => {
  it('new ones are version 00, unsampled, and distinct across refills of the random pool', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const t = newTraceparent()
      expect(t).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
      expect(isTraceparent(t)).toBe(true)
      seen.add(t.slice(3, 35))
    }
    expect(seen.size).toBe(1000)
  })

  it.each([
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', true],
    ['01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future', true],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', false],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', false],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', false],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', false],
    ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', false],
    ['', false],
  ])('%s is valid: %s', (v, ok) => {
    expect(isTraceparent(v)).toBe(ok)
  })
})
