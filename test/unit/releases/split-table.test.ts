// The pick of a version per request: weighted round robin over a precomputed table, and sticky ranges.
import { describe, expect, it } from 'vitest'
import { SplitTable, stickyHash } from '../../../core/releases/split-table.js'

const picks = (t: SplitTable, n: number) => Array.from({ length: n }, () => t.next())
const count = (xs: number[]) => xs.reduce<Record<number, number>>((a, x) => { a[x] = (a[x] ?? 0) + 1; return a }, {})

describe('split table', () => {
  it('90/10 sends exactly one request in ten to the second target, spread out rather than in a row', () => {
    const t = new SplitTable([90, 10])
    const seq = picks(t, 1000)
    expect(count(seq)).toEqual({ 0: 900, 1: 100 })
    // Never two second-target picks within nine of each other.
    const at = seq.flatMap((x, i) => (x === 1 ? [i] : []))
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBe(10)
  })

  it('any weights: each target gets its share of every full cycle; weight 0 gets nothing', () => {
    const t = new SplitTable([50, 0, 30, 20])
    expect(count(picks(t, 100))).toEqual({ 0: 50, 2: 30, 3: 20 })
    const u = new SplitTable([33, 67])
    expect(count(picks(u, 1000))).toEqual({ 0: 330, 1: 670 })
    expect(picks(new SplitTable([100]), 5)).toEqual([0, 0, 0, 0, 0])
  })

  it('refuses what is not a split', () => {
    expect(() => new SplitTable([])).toThrow(RangeError)
    expect(() => new SplitTable([0, 0])).toThrow(RangeError)
    expect(() => new SplitTable([50, -1])).toThrow(RangeError)
    expect(() => new SplitTable([1.5])).toThrow(RangeError)
  })

  it('sticky: a hash always lands on the same target, ranges in proportion to the weights', () => {
    const t = new SplitTable([80, 20])
    const hashes = Array.from({ length: 5000 }, (_, i) => stickyHash(`user-${i}`))
    const got = hashes.map((h) => t.forHash(h))
    expect(hashes.map((h) => t.forHash(h))).toEqual(got)
    const share = got.filter((x) => x === 1).length / got.length
    expect(share).toBeGreaterThan(0.17)
    expect(share).toBeLessThan(0.23)
    // A weight of 0 has no range.
    const z = new SplitTable([0, 100])
    expect(new Set(hashes.map((h) => z.forHash(h)))).toEqual(new Set([1]))
  })

  it('sticky on a growing last range: a caller on the new version stays there as its weight grows', () => {
    const hashes = Array.from({ length: 2000 }, (_, i) => stickyHash(`caller-${i}`))
    let onNew = new Set<number>()
    for (const w of [10, 20, 50, 90]) {
      const t = new SplitTable([100 - w, w])
      const now = new Set(hashes.flatMap((h, i) => (t.forHash(h) === 1 ? [i] : [])))
      for (const i of onNew) expect(now.has(i)).toBe(true)
      onNew = now
    }
  })

  it('stickyHash is FNV-1a over a range of the string, the same for equal ranges', () => {
    expect(stickyHash('')).toBe(0x811c9dc5)
    expect(stickyHash('a')).toBe(0xe40c292c)
    expect(stickyHash('xx-abc-yy', 3, 6)).toBe(stickyHash('abc'))
  })
})
