import { describe, expect, it } from 'vitest'
import { parseQuantity } from '../../../cluster/local/cgroups/index.js'

describe('parseQuantity', () => {
  it('binary and decimal suffixes, plain numbers, "max"', () => {
    expect(parseQuantity('128Mi')).toBe(128 * 1024 * 1024)
    expect(parseQuantity('1G')).toBe(1e9)
    expect(parseQuantity('512k')).toBe(512_000)
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 1024 ** 3)
    expect(parseQuantity('65536')).toBe(65536)
    expect(parseQuantity(' 64Mi ')).toBe(64 * 1024 * 1024)
    expect(parseQuantity('max')).toBe(Infinity)
  })

  it('rejects what is not a size', () => {
    expect(() => parseQuantity('lots')).toThrow()
    expect(() => parseQuantity('-5Mi')).toThrow()
  })
})
