// The uids instances run as: one per live instance, from a range the operator configures (or one
// derived from the data dir, so two platforms on one machine do not share uids). A uid comes back only
// once its instance is gone (processes and cgroup removed), and is handed out again as late as possible.
import { createHash } from 'node:crypto'
import { KilnError } from '../../../core/errors.js'

export class UidPool {
  private readonly used = new Set<number>()
  private next: number

  constructor(readonly first: number, readonly last: number) {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1000 || last < first || last > 0xfffffffd) {
      throw new KilnError('KILN_ERR_VALIDATION', `config sandbox.uids: ${first}-${last} is not a range of unprivileged uids (1000 or above)`)
    }
    this.next = first
  }

  /** "FIRST-LAST" from kiln.yaml, or 65536 uids at an offset derived from the data dir. */
  static forDataDir(dataDir: string, range?: string): UidPool {
    if (range !== undefined) {
      const [a, b] = range.split('-').map(Number)
      return new UidPool(a, b)
    }
    const slot = createHash('sha256').update(dataDir).digest().readUInt16BE(0) % 1000
    const first = 1_000_000_000 + slot * 65_536
    return new UidPool(first, first + 65_535)
  }

  take(): number {
    const size = this.last - this.first + 1
    for (let i = 0; i < size; i++) {
      const uid = this.next
      this.next = uid === this.last ? this.first : uid + 1
      if (!this.used.has(uid)) {
        this.used.add(uid)
        return uid
      }
    }
    throw new KilnError('KILN_ERR_NO_CAPACITY', `every uid of sandbox.uids (${this.first}-${this.last}) is in use by a live instance`)
  }

  give(uid: number): void {
    this.used.delete(uid)
  }

  get live(): number {
    return this.used.size
  }
}
