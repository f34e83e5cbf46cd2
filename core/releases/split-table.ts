// How one split's weights become a pick per request with no allocation: a precomputed sequence of
// target indices in smooth weighted round-robin order (nginx's: the targets interleave, so 90/10 sends
// every tenth request to the second rather than ten in a row), stepped through by a cursor; and, for
// sticky splits, cumulative ranges over 100 buckets that a caller's hash falls into. Weights of 0 have
// no place in either.

export class SplitTable {
  private readonly seq: Uint8Array
  private cursor = 0
  /** upTo[i]: the first bucket (of 100) past target i's range. */
  private readonly upTo: Uint8Array

  constructor(weights: readonly number[]) {
    if (weights.length === 0 || weights.length > 255) throw new RangeError('a split has 1 to 255 targets')
    let total = 0
    for (const w of weights) {
      if (!Number.isInteger(w) || w < 0) throw new RangeError(`weight ${w} is not a whole number >= 0`)
      total += w
    }
    if (total === 0) throw new RangeError('a split needs a weight above 0')
    const g = weights.reduce((a, w) => gcd(a, w), 0)
    const reduced = weights.map((w) => w / g)
    const n = total / g
    this.seq = new Uint8Array(n)
    const current = new Array<number>(reduced.length).fill(0)
    for (let k = 0; k < n; k++) {
      let best = -1
      for (let i = 0; i < reduced.length; i++) {
        if (reduced[i] === 0) continue
        current[i] += reduced[i]
        if (best < 0 || current[i] > current[best]) best = i
      }
      current[best] -= n
      this.seq[k] = best
    }
    this.upTo = new Uint8Array(weights.length)
    let acc = 0
    for (let i = 0; i < weights.length; i++) {
      acc += (weights[i] * 100) / total
      this.upTo[i] = Math.round(acc)
    }
    this.upTo[weights.length - 1] = 100
  }

  /** The target of the next request (a weighted round robin). */
  next(): number {
    const i = this.seq[this.cursor]
    if (++this.cursor === this.seq.length) this.cursor = 0
    return i
  }

  /** The target of a caller whose sticky key hashes to `hash` (an unsigned 32-bit number). */
  forHash(hash: number): number {
    const b = hash % 100
    const up = this.upTo
    for (let i = 0; i < up.length; i++) if (b < up[i]) return i
    return up.length - 1
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/** FNV-1a over the UTF-16 code units of `s` from `start` to `end`: a sticky key's hash, no allocation. */
export function stickyHash(s: string, start = 0, end = s.length): number {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
