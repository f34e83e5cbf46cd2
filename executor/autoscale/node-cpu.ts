// The node's idle CPU, in cores, between two reads of the kernel's per-CPU counters (/proc/stat via
// os.cpus()): what another instance on this machine could use.
import { availableParallelism, cpus } from 'node:os'

export class NodeCpu {
  private prevIdle = 0
  private prevTotal = 0
  readonly cores = availableParallelism()

  constructor() { this.read() }

  /** Idle cores since the previous call (over all CPUs of the machine). */
  idleCores(): number {
    const { idle, total } = this.read()
    const dIdle = idle - this.prevIdle
    const dTotal = total - this.prevTotal
    this.prevIdle = idle
    this.prevTotal = total
    if (dTotal <= 0) return this.cores
    return (dIdle / dTotal) * cpus().length
  }

  private read(): { idle: number; total: number } {
    let idle = 0
    let total = 0
    for (const c of cpus()) {
      const t = c.times
      idle += t.idle
      total += t.user + t.nice + t.sys + t.idle + t.irq
    }
    if (this.prevTotal === 0) { this.prevIdle = idle; this.prevTotal = total }
    return { idle, total }
  }
}
