// The fallback when no cgroup is writable (unprivileged laptop, locked-down container): nothing is
// enforced, and instances are measured from /proc/<pid>/stat and status, descendants included.

import { readdir } from 'node:fs/promises'
import { KilnError } from '../../../core/errors.js'
import { validateLimits } from './clamp.js'
import { readOptional } from './fs.js'
import { splitGroupPath } from './names.js'
import { wrapArgv, type Rlimits } from './wrapper.js'
import type { CgroupDriver, CgroupGroup, CgroupLimits, CgroupSample } from './types.js'

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build. */
export const CLOCK_TICKS_PER_SEC = 100

export interface ProcStat {
  pid: number
  ppid: number
  /** utime + stime in clock ticks. */
  cpuTicks: number
  /** cutime + cstime: CPU of children already waited for. */
  childTicks: number
}

/** Parse /proc/<pid>/stat; the command name (field 2) may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < 0) throw new Error('not a /proc/<pid>/stat line')
  const f = text.slice(close + 2).trim().split(/\s+/) // f[0] is field 3 (state)
  return {
    pid: Number(text.slice(0, open).trim()),
    ppid: Number(f[1]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
  }
}

/** VmRSS (bytes) and Threads from /proc/<pid>/status. */
export function parseProcStatus(text: string): { rssBytes: number; threads: number } {
  const rss = /^VmRSS:\s+([0-9]+)\s*kB/m.exec(text)
  const thr = /^Threads:\s+([0-9]+)/m.exec(text)
  return { rssBytes: rss ? Number(rss[1]) * 1024 : 0, threads: thr ? Number(thr[1]) : 1 }
}

// pid → children, from one pass over /proc (CONFIG_PROC_CHILDREN is often off, so no children files).
async function childrenMap(): Promise<Map<number, number[]>> {
  const map = new Map<number, number[]>()
  for (const name of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    const text = await readOptional(`/proc/${name}/stat`).catch(() => undefined)
    if (!text) continue
    const s = parseProcStat(text)
    const list = map.get(s.ppid)
    if (list) list.push(s.pid)
    else map.set(s.ppid, [s.pid])
  }
  return map
}

export async function sampleProcessTree(pid: number): Promise<CgroupSample> {
  const rootStat = await readOptional(`/proc/${pid}/stat`)
  if (rootStat === undefined) throw new KilnError('KILN_ERR_NOT_FOUND', `no process ${pid}`, { pid })
  const kids = await childrenMap()
  const tree: number[] = []
  for (const todo = [pid]; todo.length; ) {
    const p = todo.pop()!
    tree.push(p)
    todo.push(...(kids.get(p) ?? []))
  }
  let ticks = parseProcStat(rootStat).childTicks
  let memoryBytes = 0
  let tasks = 0
  for (const p of tree) {
    const [stat, status] = await Promise.all([readOptional(`/proc/${p}/stat`), readOptional(`/proc/${p}/status`)]).catch(() => [undefined, undefined])
    if (!stat || !status) continue // exited meanwhile
    ticks += parseProcStat(stat).cpuTicks
    const st = parseProcStatus(status)
    memoryBytes += st.rssBytes
    tasks += st.threads
  }
  return {
    at: Date.now(),
    cpuUsageUsec: Math.round((ticks * 1_000_000) / CLOCK_TICKS_PER_SEC),
    throttledUsec: 0,
    nrPeriods: 0,
    nrThrottled: 0,
    memoryBytes,
    pids: tasks,
    oomKills: 0,
  }
}

/** A group in name only: no procs files (wrap is the identity), no limits enforced. */
class UnenforcedGroup implements CgroupGroup {
  readonly procsFiles: string[] = []
  constructor(
    readonly path: string,
    private readonly reason: string,
  ) {}
  /** Validated like everywhere else (a bad spec fails the same on every host), then not enforced. */
  async setLimits(l: CgroupLimits): Promise<void> {
    validateLimits(l)
  }
  /** Nothing is enforced, so nothing reads back. */
  async readLimits(): Promise<CgroupLimits> {
    return {}
  }
  async sample(): Promise<CgroupSample> {
    throw new KilnError('KILN_ERR_INTERNAL', `cgroups are unavailable (${this.reason}); sample instances with driver.sampleProcess(pid)`, {
      reason: 'cgroups_unavailable',
    })
  }
  async pids(): Promise<number[]> {
    return []
  }
  async killAll(): Promise<void> {}
  async remove(): Promise<void> {}
}

export class NoneDriver implements CgroupDriver {
  readonly mode = 'none' as const
  readonly root = '(none)'
  constructor(readonly reason: string) {}
  async group(p: string, limits?: CgroupLimits): Promise<CgroupGroup> {
    const g = new UnenforcedGroup(splitGroupPath(p).join('/'), this.reason)
    if (limits) await g.setLimits(limits)
    return g
  }
  sampleProcess(pid: number): Promise<CgroupSample> {
    return sampleProcessTree(pid)
  }
  wrap(group: CgroupGroup | null, argv: string[], rlimits?: Rlimits) {
    return wrapArgv(group, argv, rlimits)
  }
  async sweep(): Promise<number> {
    return 0
  }
  async close(): Promise<void> {}
}
