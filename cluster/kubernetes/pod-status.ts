// What a runtime pod's status says of the instance in it: Ready to take requests, how often its
// containers restarted (a restart loses the specialized code), and why it ended.
import type { V1Pod } from '@kubernetes/client-node'
import type { ExitInfo } from '../backend.js'

export const isReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

/** Restarts of all the pod's containers. */
export const restarts = (p: V1Pod): number => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0)

/** Why the pod's instance ended: a container's termination (out of memory named as such), else its deletion or phase. */
export function exitOf(p: V1Pod): ExitInfo {
  const term = (p.status?.containerStatuses ?? []).map((c) => c.state?.terminated ?? c.lastState?.terminated).find(Boolean)
  if (term) {
    const oomKilled = term.reason === 'OOMKilled'
    return { code: term.exitCode ?? null, signal: term.signal ? String(term.signal) : null, oomKilled, reason: oomKilled ? 'out of memory' : `${term.reason ?? 'terminated'} (exit ${term.exitCode})` }
  }
  return { code: null, signal: null, oomKilled: false, reason: p.metadata?.deletionTimestamp ? 'pod deleted' : `pod ${p.status?.phase ?? 'gone'}` }
}
