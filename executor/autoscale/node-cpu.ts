// The node's idle CPU, in cores, between two reads of the kernel's per-CPU counters (/proc/stat via
// os.cpus()): what another instance on this machine could use. Only the CPUs this process may run on
// count (its affinity, which instances inherit: a platform pinned to some cores boots them there).
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'

export class NodeCpu {
  private prevIdle = 0
  private prevTotal = 0
  private allowed: number[] = []

  constructor() { this.read() }

  /** The cores this process (and the instances it starts) may run on. */
  get cores(): number { return this.allowed.length }

  /** Idle cores since the previous call, over the allowed CPUs. */
  idleCores(): number {
    const { idle, total } = this.read()
    const dIdle = idle - this.prevIdle
    const dTotal = total - this.prevTotal
    this.prevIdle = idle
    this.prevTotal = total
    if (dTotal <= 0) return this.cores
    return (dIdle / dTotal) * this.cores
  }

  private read(): { idle: number; total: number } {
    const all = cpus()
    this.allowed = allowedCpus(all.length)
    let idle = 0
    let total = 0
    for (const i of this.allowed) {
      const t = all[i]?.times
      if (t === undefined) continue
      idle += t.idle
      total += t.user + t.nice + t.sys + t.idle + t.irq
    }
    if (this.prevTotal === 0) { this.prevIdle = idle; this.prevTotal = total }
    return { idle, total }
  }
}

/**
 * Idle CPU that lasted: the least of the last `n` samples. A gap in the load (a client reconnecting, a
 * quarter second between two bursts) leaves a core idle for one sample; instances booted for it would
 * find the CPU taken again.
 */
export class LastingIdle {
  private readonly samples: number[] = []
  constructor(private readonly n: number) {}
  add(idle: number): number {
    this.samples.push(idle)
    if (this.samples.length > this.n) this.samples.shift()
    return Math.min(...this.samples)
  }
}

/** CPU numbers in this process's affinity mask (`Cpus_allowed_list`: "0-3,6"); all of them where unknown. */
export function allowedCpus(count: number): number[] {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (line) {
      const out: number[] = []
      for (const part of line.trim().split(',')) {
        const [a, b] = part.split('-').map(Number)
        for (let i = a; i <= (b ?? a); i++) if (i < count) out.push(i)
      }
      if (out.length > 0) return out
    }
  } catch { /* not Linux: every CPU */ }
  return Array.from({ length: count }, (_, i) => i)
}
