// Pins processes to CPUs with taskset (`-a`: every thread), so servers and load generators do not compete.
import { readFileSync } from 'node:fs'
import { run } from './wrk.js'

export async function pin(pid: number, cpu: string | undefined): Promise<void> {
  if (!cpu) return
  const r = await run('taskset', ['-a', '-cp', cpu, String(pid)])
  if (r.code !== 0) process.stderr.write(`warning: could not pin pid ${pid}: ${r.stderr}`)
}

/** Pins a process and its descendants (kiln's spawner: the instances it boots later inherit the CPU). */
export async function pinTree(pid: number, cpu: string | undefined): Promise<void> {
  const all = [pid]
  for (let i = 0; i < all.length && all.length < 200; i++) {
    try { all.push(...readFileSync(`/proc/${all[i]}/task/${all[i]}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)) } catch { /* gone */ }
  }
  for (const p of all) await pin(p, cpu)
}
