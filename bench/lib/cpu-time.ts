// CPU time a process tree has used (user + system, from /proc), to report a proxy's cost per request:
// less sensitive to a shared machine's scheduling noise than requests per second.
import { readFileSync, readdirSync } from 'node:fs'

const TICK_US = 1e6 / 100 // USER_HZ is 100 on Linux

function ticksOf(pid: number): number {
  try {
    // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return 0
  }
}

/** The pids of a process's children (every thread's), from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
    } catch { /* gone */ }
  }
  return out
}

function safeReaddir(dir: string): string[] {
  try { return readdirSync(dir) } catch { return [] }
}

/** CPU microseconds used so far by `pid` and, with `tree`, its descendants (nginx's worker). */
export function cpuUs(pid: number, tree = false): number {
  return treeTicks(pid, tree) * TICK_US
}

function treeTicks(pid: number, tree: boolean): number {
  let t = ticksOf(pid)
  if (tree) for (const c of childrenOf(pid)) t += treeTicks(c, true)
  return t
}
