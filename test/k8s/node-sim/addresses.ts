// Pod IPs for simulated pods: one loopback address each. Linux routes all of 127.0.0.0/8 to lo, so a
// process can bind 127.a.b.c with no setup, and two pods may both listen on port 8888.
//
// Each simulator takes its own 127.<octet>.0.0/16 (chosen at random, distinct within this process),
// so simulators in parallel test workers are unlikely to meet; 127.0.0.0/16 is left to the host.

const taken = new Set<number>()

export class LoopbackAddresses {
  readonly octet: number
  private next = 1
  private readonly free: number[] = []
  private readonly inUse = new Map<string, number>()

  constructor(octet?: number) {
    if (octet === undefined) {
      do { octet = 1 + Math.floor(Math.random() * 254) } while (taken.has(octet) && taken.size < 254)
    }
    if (octet < 1 || octet > 254) throw new Error(`loopback octet ${octet} must be 1..254`)
    this.octet = octet
    taken.add(octet)
  }

  /** An address for `key` (a pod uid); the same key gets the same address until released. */
  allocate(key: string): string {
    const have = this.inUse.get(key)
    if (have !== undefined) return this.format(have)
    const n = this.free.shift() ?? this.next++
    if (n >= 254 * 256) throw new Error('loopback addresses exhausted')
    this.inUse.set(key, n)
    return this.format(n)
  }

  release(key: string): void {
    const n = this.inUse.get(key)
    if (n === undefined) return
    this.inUse.delete(key)
    this.free.push(n)
  }

  dispose(): void { taken.delete(this.octet) }

  // n counts hosts from 1; skip .0 and .255 in the last octet.
  private format(n: number): string {
    const third = Math.floor((n - 1) / 254)
    const fourth = ((n - 1) % 254) + 1
    return `127.${this.octet}.${third}.${fourth}`
  }
}
