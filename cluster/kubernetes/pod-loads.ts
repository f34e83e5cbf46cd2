// What the node agents report (node-agent.ts): each runtime pod's cgroup counters, kept as
// the latest sample of each pod (an agent sends each executor the pods it claimed, so one node's
// pods arrive in several reports). The Kubernetes backend's `sample(id)` reads an instance's pod from
// here, so the executor's load monitor judges pods by the same rules as local processes.
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
  private readonly latest = new Map<string, PodLoad & { node: string; at: number; receivedAt: number }>()

  constructor(private readonly staleAfterMs = STALE_AFTER_MS) {}

  report(r: NodeLoadReport): void {
    const now = Date.now()
    for (const p of r.pods) this.latest.set(p.pod, { ...p, node: r.node, at: r.at, receivedAt: now })
    // Pods no agent mentions any more (deleted, or their node gone) are forgotten once stale.
    for (const [pod, l] of this.latest) if (now - l.receivedAt > this.staleAfterMs) this.latest.delete(pod)
  }

  /** The latest samples grouped by node, as reports. */
  all(): NodeLoadReport[] {
    const byNode = new Map<string, NodeLoadReport>()
    for (const { node, at, receivedAt: _, ...p } of this.latest.values()) {
      const r = byNode.get(node) ?? { node, at, pods: [] }
      r.at = Math.max(r.at, at)
      r.pods.push(p)
      byNode.set(node, r)
    }
    return [...byNode.values()]
  }

  /**
   * The latest sample of one pod: `at` is the agent's clock (rates are differences between one
   * node's samples), `receivedAt` this process's (staleness).
   */
  pod(name: string): (PodLoad & { node: string; at: number; receivedAt: number }) | undefined {
    return this.latest.get(name)
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
