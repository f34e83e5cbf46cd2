// Operations on a group's whole subtree, across the one (v2) or several (v1) hierarchies it lives in:
// list its processes, signal them until none is left, remove the directories children first.

import { constants as fsConstants } from 'node:fs'
import { open, readdir } from 'node:fs/promises'
import { KilnError } from '../../../core/errors.js'
import { parsePids } from './file-parse.js'
import { readOptional, rmdirRetry, sleep, subtreeDirs } from './fs.js'

export interface TreeOptions {
  /** Pids never to signal (the platform itself; on v2 its supervisor leaf's processes). */
  exclude?: ReadonlySet<number>
  /** Directories (absolute) to leave alone, with everything below them. */
  skipDirs?: ReadonlySet<string>
}

async function dirsOf(tops: string[], opts: TreeOptions): Promise<string[]> {
  const all: string[] = []
  for (const top of tops) {
    for (const d of await subtreeDirs(top)) {
      if (opts.skipDirs && [...opts.skipDirs].some((s) => d === s || d.startsWith(s + '/'))) continue
      all.push(d)
    }
  }
  return all
}

/** Every process in the subtrees (union over hierarchies), without the excluded ones. */
export async function treePids(tops: string[], opts: TreeOptions = {}): Promise<number[]> {
  const pids = new Set<number>()
  for (const d of await dirsOf(tops, opts)) {
    const text = await readOptional(`${d}/cgroup.procs`)
    if (text) for (const p of parsePids(text)) if (!opts.exclude?.has(p)) pids.add(p)
  }
  return [...pids]
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false // already gone
  }
}

/**
 * Signal every process in the subtrees. With SIGKILL it repeats until the subtrees are empty, so
 * processes forked meanwhile (a fork bomb) are caught too; v2's cgroup.kill is used where it exists.
 * Returns the distinct pids it signalled.
 */
export async function killTree(tops: string[], signal: NodeJS.Signals, opts: TreeOptions = {}, timeoutMs = 10_000): Promise<Set<number>> {
  const signalled = new Set<number>()
  const self = new Set(opts.exclude ?? [])
  self.add(process.pid)
  const o = { ...opts, exclude: self }
  if (signal !== 'SIGKILL') {
    for (const p of await treePids(tops, o)) if (signalPid(p, signal)) signalled.add(p)
    return signalled
  }
  const deadline = Date.now() + timeoutMs
  for (let round = 0; ; round++) {
    const pids = await treePids(tops, o)
    if (pids.length === 0) return signalled
    if (round === 0 && !opts.skipDirs?.size && !opts.exclude?.size && !(await treePids(tops)).includes(process.pid)) {
      await useCgroupKill(tops)
      // cgroup.kill may have reaped them before our own signal: they were killed all the same.
      for (const p of pids) signalled.add(p)
    }
    for (const p of pids) if (signalPid(p, 'SIGKILL')) signalled.add(p)
    if (Date.now() > deadline) {
      throw new KilnError('KILN_ERR_INTERNAL', `cgroup: processes still alive after SIGKILL: ${pids.slice(0, 10).join(' ')}`, {
        reason: 'cgroup_kill_timeout',
        pids,
      })
    }
    await sleep(Math.min(5 * 2 ** round, 50))
  }
}

// v2 (and the hybrid unified tree on v1 hosts) since Linux 5.14: one write kills the whole subtree atomically.
async function useCgroupKill(tops: string[]): Promise<void> {
  for (const top of tops) {
    // cgroup.kill is write-only: test for it by writing (ENOENT on kernels before 5.14 and on v1).
    const fh = await open(`${top}/cgroup.kill`, fsConstants.O_WRONLY).catch(() => undefined) // never O_CREAT
    if (!fh) continue
    await fh.write('1').catch(() => {})
    await fh.close()
  }
}

/** Kill everything (SIGKILL), then rmdir every directory, children first. Returns the pids signalled. */
export async function removeTree(tops: string[], opts: TreeOptions = {}): Promise<Set<number>> {
  const killed = await killTree(tops, 'SIGKILL', opts)
  const skip = [...(opts.skipDirs ?? [])]
  for (const d of await dirsOf(tops, opts)) {
    if (skip.some((s) => s.startsWith(d + '/'))) continue // an ancestor of a kept directory stays too
    await rmdirRetry(d)
  }
  return killed
}

/** Kill everything in the subtrees, then rmdir every group below each top (the tops themselves stay). */
export async function clearBelow(tops: string[], opts: TreeOptions = {}): Promise<Set<number>> {
  const killed = await killTree(tops, 'SIGKILL', opts)
  for (const top of tops) {
    const ents = await readdir(top, { withFileTypes: true }).catch(() => [])
    for (const e of ents) if (e.isDirectory()) await removeTree([`${top}/${e.name}`], opts)
  }
  return killed
}
