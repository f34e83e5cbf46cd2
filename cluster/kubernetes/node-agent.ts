// The node agent: one per node (DaemonSet). Every interval it finds the runtime pods bound to its node,
// reads each pod's cgroup v2 counters from the host's cgroup fs (KILN_CGROUP_FS, mounted read-only) with
// the same parsers the local backend uses, and POSTs them to the executor replica that claimed each pod
// (executor-targets.ts; else KILN_EXECUTOR_URL), whose noisy-function monitor compares them with the
// normal range. It writes nothing, anywhere.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { request } from 'undici'
import { parseCpuStat, parseFlatKeyed, parsePressureSomeAvg10 } from '../local/cgroups/file-parse.js'
import { readOptional } from '../local/cgroups/fs.js'
import { LABEL } from './pod-template.js'
import { ExecutorTargets } from './executor-targets.js'
import type { NodeLoadReport, PodLoad } from './pod-loads.js'

export interface NodeAgentOptions {
  kc: KubeConfig
  namespace: string
  node: string
  cgroupFs: string
  executorUrl: string
  intervalMs?: number
  logger: Logger
}

/** The pod's cgroup dir: `…/pod<uid>` (cgroupfs driver) or `…pod<uid_with_underscores>.slice` (systemd). */
export async function findPodCgroup(root: string, uid: string, depth = 4): Promise<string | undefined> {
  const names = [`pod${uid}`, `pod${uid.replaceAll('-', '_')}.slice`]
  const walk = async (dir: string, d: number): Promise<string | undefined> => {
    let entries: import('node:fs').Dirent[]
    try { entries = await readdir(dir, { withFileTypes: true }) } catch { return undefined }
    for (const e of entries) if (e.isDirectory() && names.some((n) => e.name === n || e.name.endsWith(`-${n}`))) return join(dir, e.name)
    if (d === 0) return undefined
    for (const e of entries) {
      if (!e.isDirectory() || !e.name.startsWith('kubepods')) continue
      const hit = await walk(join(dir, e.name), d - 1)
      if (hit) return hit
    }
    return undefined
  }
  return walk(root, depth)
}

export async function samplePodCgroup(dir: string): Promise<PodLoad['sample']> {
  const [cpu, mem, memMax, pids, pressure, events] = await Promise.all(
    ['cpu.stat', 'memory.current', 'memory.max', 'pids.current', 'cpu.pressure', 'memory.events'].map((f) => readOptional(join(dir, f))))
  const c = cpu ? parseCpuStat(cpu) : undefined
  const num = (s?: string) => (s === undefined || s.trim() === 'max' ? undefined : Number(s.trim()))
  return {
    cpuUsageUsec: c?.usageUsec, throttledUsec: c?.throttledUsec, nrPeriods: c?.nrPeriods, nrThrottled: c?.nrThrottled,
    memoryBytes: num(mem), memoryLimitBytes: num(memMax), pids: num(pids),
    cpuPressureSomeAvg10: pressure ? parsePressureSomeAvg10(pressure) : undefined,
    oomKills: events ? parseFlatKeyed(events).oom_kill : undefined,
  }
}

export function startNodeAgent(o: NodeAgentOptions): { once(): Promise<NodeLoadReport>; stop(): void } {
  const api = o.kc.makeApiClient(CoreV1Api)
  const dirs = new Map<string, string>()
  const targets = new ExecutorTargets(api, o.namespace, o.executorUrl)
  const once = async (): Promise<NodeLoadReport> => {
    const list = await api.listNamespacedPod({ namespace: o.namespace, labelSelector: LABEL.pool, fieldSelector: `spec.nodeName=${o.node}` })
    const pods: PodLoad[] = []
    const byTarget = new Map<string, PodLoad[]>()
    for (const p of list.items as V1Pod[]) {
      const uid = p.metadata!.uid!
      const dir = dirs.get(uid) ?? (await findPodCgroup(o.cgroupFs, uid))
      if (!dir) continue
      dirs.set(uid, dir)
      const l = p.metadata!.labels ?? {}
      const load: PodLoad = { pod: p.metadata!.name!, uid, function: l[LABEL.fn], instance: l[LABEL.instance], sample: await samplePodCgroup(dir) }
      pods.push(load)
      const url = await targets.url(l[LABEL.executor])
      byTarget.set(url, [...(byTarget.get(url) ?? []), load])
    }
    for (const uid of [...dirs.keys()]) if (!list.items.some((p) => p.metadata?.uid === uid)) dirs.delete(uid)
    const at = Date.now()
    const failed: string[] = []
    await Promise.all([...byTarget].map(async ([url, group]) => {
      try {
        const res = await request(new URL('/internal/node-load', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node: o.node, at, pods: group }) })
        await res.body.dump()
        if (res.statusCode >= 300) throw new Error(`answered ${res.statusCode}`)
      } catch (err) {
        targets.forget(url)
        failed.push(`${url}: ${(err as Error).message}`)
      }
    }))
    if (failed.length) throw new Error(`executor report failed: ${failed.join('; ')}`)
    return { node: o.node, at, pods }
  }
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const loop = () => {
    if (stopped) return
    timer = setTimeout(() => void once().catch((err) => o.logger.warn({ err }, 'node agent: report failed')).finally(loop), o.intervalMs ?? 5000)
  }
  loop()
  return { once, stop: () => { stopped = true; if (timer) clearTimeout(timer) } }
}
