// What the node agents report (cli/serve/node-agent.ts): each runtime pod's cgroup counters, per node,
// kept as the latest report of each node. The Kubernetes backend's `sample(id)` reads an instance's
// pod from here, so the executor's load monitor judges pods by the same rules as local processes.
import type { InstanceSample } from '../backend.js'

export interface PodLoad {
  pod: string
  uid: string
  function?: string
  instance?: string
  sample: Record<string, number | undefined>
}
export interface NodeLoadReport { node: string; at: number; pods: PodLoad[] }

/** Reports come every 5 s (the agent's interval); one older than four intervals means the agent or its node is gone. */
export const STALE_AFTER_MS = 20_000

export class PodLoads {
  private readonly latest = new Map<string, { report: NodeLoadReport; receivedAt: number }>()

  constructor(private readonly staleAfterMs = STALE_AFTER_MS) {}

  report(r: NodeLoadReport): void { this.latest.set(r.node, { report: r, receivedAt: Date.now() }) }
  all(): NodeLoadReport[] { return [...this.latest.values()].map((l) => l.report) }

  /**
   * The latest sample of one pod, whichever node reported it: `at` is the agent's clock (rates are
   * differences between one node's reports), `receivedAt` this process's (staleness).
   */
  pod(name: string): (PodLoad & { at: number; receivedAt: number }) | undefined {
    for (const { report, receivedAt } of this.latest.values()) {
      for (const p of report.pods) if (p.pod === name) return { ...p, at: report.at, receivedAt }
    }
    return undefined
  }

  /** The pod's latest counters as an instance sample; undefined when unreported, stale, or without cpu counters. */
  sample(pod: string, now = Date.now()): InstanceSample | undefined {
    const p = this.pod(pod)
    if (!p || now - p.receivedAt > this.staleAfterMs) return undefined
    const s = p.sample
    // Rates are differences of cpu counters: without them there is nothing to judge.
    if (typeof s.cpuUsageUsec !== 'number') return undefined
    return {
      at: p.at,
      cpuUsageUsec: s.cpuUsageUsec,
      throttledUsec: s.throttledUsec ?? 0,
      nrPeriods: s.nrPeriods ?? 0,
      nrThrottled: s.nrThrottled ?? 0,
      memoryBytes: s.memoryBytes ?? 0,
      memoryLimitBytes: s.memoryLimitBytes,
      pids: s.pids ?? 0,
      cpuPressureSomeAvg10: s.cpuPressureSomeAvg10,
      oomKills: s.oomKills ?? 0,
    }
  }
}
