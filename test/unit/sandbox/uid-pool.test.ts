import { describe, expect, it } from 'vitest'
import { UidPool } from '../../../cluster/local/sandbox/uid-pool.js'

describe('UidPool', () => {
  it('never hands out a uid that is in use, and hands a freed one out as late as it can', () => {
    const p = new UidPool(200_000, 200_002)
    const a = p.take()
    const b = p.take()
    expect([a, b]).toEqual([200_000, 200_001])
    p.give(a)
    expect(p.take()).toBe(200_002)
    expect(p.take()).toBe(200_000)
    expect(() => p.take()).toThrow(expect.objectContaining({ code: 'KILN_ERR_NO_CAPACITY' }))
    p.give(b)
    expect(p.take()).toBe(200_001)
    expect(p.live).toBe(3)
  })

  it('derives 65536 uids from the data dir (distinct platforms get distinct ranges), or takes the configured range', () => {
    const x = UidPool.forDataDir('/srv/a/.kiln')
    const y = UidPool.forDataDir('/srv/b/.kiln')
    expect(x.last - x.first).toBe(65_535)
    expect(x.first).toBeGreaterThanOrEqual(1_000_000_000)
    expect(x.last).toBeLessThan(2 ** 31)
    expect(UidPool.forDataDir('/srv/a/.kiln').first).toBe(x.first)
    expect(x.first === y.first && x.last === y.last).toBe(false)
    const c = UidPool.forDataDir('/any', '300000-300009')
    expect([c.first, c.last]).toEqual([300_000, 300_009])
  })

  it('refuses a range that is not of unprivileged uids', () => {
    for (const [a, b] of [[0, 10], [5000, 4000], [999, 2000]]) expect(() => new UidPool(a, b)).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
  })
})
