// A process's descendants, from /proc/<pid>/task/<pid>/children (a sandboxed runtime is bubblewrap's
// grandchild: signals and priorities meant for it must find it there).
import { readFileSync } from 'node:fs'

export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length && out.length < 1000; i++) out.push(...childrenOf(out[i]))
  return out
}
