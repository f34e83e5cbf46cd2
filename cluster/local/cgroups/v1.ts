// cgroup v1: one directory per hierarchy (cpu, cpuacct — often one "cpu,cpuacct" mount —, memory,
// pids, optionally cpuset), each beneath the platform's own cgroup in that hierarchy. On hybrid hosts
// the unified (v2) tree is joined as well, without controllers, for PSI and cgroup.kill.

import path from 'node:path'
import { AncestorLimits, clampLimits, tighter } from './clamp.js'
import { parseCpuList, parseCpuStat, parseFlatKeyed, parseLimitValue, parsePressureSomeAvg10 } from './file-parse.js'
import { ensureDir, num, readOptional, readText, walkUp, writeValue } from './fs.js'
import { splitGroupPath } from './names.js'
import { clearBelow, killTree, removeTree, treePids } from './tree.js'
import { wrapArgv } from './wrapper.js'
import type { CgroupDriver, CgroupGroup, CgroupLimits, CgroupLogger, CgroupSample } from './types.js'

/** Absolute directories, one per hierarchy; `cpu` and `cpuacct` are equal when co-mounted. */
export interface V1Dirs {
  cpu: string
  cpuacct: string
  memory: string
  pids: string
  cpuset?: string
  unified?: string
}

const KEYS = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'unified'] as const

function uniqueDirs(d: V1Dirs): string[] {
  const out: string[] = []
  for (const k of KEYS) {
    const v = d[k]
    if (v !== undefined && !out.includes(v)) out.push(v)
  }
  return out
}

function join(d: V1Dirs, rel: string): V1Dirs {
  const out = {} as V1Dirs
  for (const k of KEYS) if (d[k] !== undefined) out[k] = `${d[k]}/${rel}`
  return out
}

/** A new v1 cpuset group starts with empty cpus and mems; no process can join until they are copied from the parent. */
export async function inheritCpuset(dir: string): Promise<void> {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const own = await readOptional(`${dir}/${f}`)
    if (own === undefined || own.trim() !== '') continue
    const parent = (await readText(`${path.dirname(dir)}/${f}`)).trim()
    await writeValue(`${dir}/${f}`, parent)
  }
}

export class V1Group implements CgroupGroup {
  readonly procsFiles: string[]
  private readonly all: string[]

  constructor(
    readonly path: string,
    readonly dirs: V1Dirs,
    private readonly logger: CgroupLogger,
  ) {
    this.all = uniqueDirs(dirs)
    this.procsFiles = this.all.map((d) => `${d}/cgroup.procs`)
  }

  async ancestorLimits(): Promise<AncestorLimits> {
    const a: AncestorLimits = {}
    await walkUp(path.dirname(this.dirs.cpu), 'cpu.cfs_quota_us', async (q, d) => {
      const quota = Number(q.trim())
      if (quota > 0) a.cpu = tighter(a.cpu, quota / ((await num(`${d}/cpu.cfs_period_us`)) || 100_000))
    })
    await walkUp(path.dirname(this.dirs.memory), 'memory.limit_in_bytes', (t) => {
      a.memoryBytes = tighter(a.memoryBytes, parseLimitValue(t))
    })
    await walkUp(path.dirname(this.dirs.pids), 'pids.max', (t) => {
      a.pids = tighter(a.pids, parseLimitValue(t))
    })
    if (this.dirs.cpuset) {
      const p = path.dirname(this.dirs.cpuset)
      const cpus = (await readOptional(`${p}/cpuset.effective_cpus`)) ?? (await readOptional(`${p}/cpuset.cpus`))
      if (cpus !== undefined) a.cpus = parseCpuList(cpus)
    }
    return a
  }

  async setLimits(req: CgroupLimits): Promise<void> {
    const { limits: l, notes } = clampLimits(req, await this.ancestorLimits())
    for (const n of notes) this.logger.warn({ group: this.path, ...n }, 'cgroup limit clamped to the parent limit')
    const d = this.dirs
    if (l.cpu !== undefined) {
      const period = (await num(`${d.cpu}/cpu.cfs_period_us`)) || 100_000
      const quota = l.cpu === Infinity ? -1 : Math.max(1000, Math.round(l.cpu * period))
      await writeValue(`${d.cpu}/cpu.cfs_quota_us`, String(quota))
    }
    if (l.memoryBytes !== undefined) await this.setMemoryLimit(l.memoryBytes === Infinity ? -1 : l.memoryBytes)
    if (l.memoryHighBytes !== undefined) {
      await writeValue(`${d.memory}/memory.soft_limit_in_bytes`, l.memoryHighBytes === Infinity ? '-1' : String(l.memoryHighBytes))
    }
    if (l.pids !== undefined) await writeValue(`${d.pids}/pids.max`, l.pids === Infinity ? 'max' : String(l.pids))
    if (l.cpuset !== undefined) {
      if (d.cpuset) await writeValue(`${d.cpuset}/cpuset.cpus`, l.cpuset)
      else this.logger.warn({ group: this.path, cpuset: l.cpuset }, 'cgroup cpuset not applied: the cpuset hierarchy is not available')
    }
  }

  // memory.memsw.limit_in_bytes (memory + swap) must never be below memory.limit_in_bytes, so the
  // order of the two writes depends on the direction; setting both equal means no swapping past the limit.
  private async setMemoryLimit(bytes: number): Promise<void> {
    const mem = `${this.dirs.memory}/memory.limit_in_bytes`
    const memsw = `${this.dirs.memory}/memory.memsw.limit_in_bytes`
    const swText = await readOptional(memsw)
    if (swText === undefined) return writeValue(mem, String(bytes))
    const sw = parseLimitValue(swText) ?? Infinity
    const want = bytes < 0 ? Infinity : bytes
    if (want > sw) {
      await writeValue(memsw, String(bytes))
      await writeValue(mem, String(bytes))
    } else {
      await writeValue(mem, String(bytes))
      await writeValue(memsw, String(bytes))
    }
  }

  async readLimits(): Promise<CgroupLimits> {
    const d = this.dirs
    const out: CgroupLimits = {}
    const quota = await num(`${d.cpu}/cpu.cfs_quota_us`)
    if (quota !== undefined && quota > 0) out.cpu = quota / ((await num(`${d.cpu}/cpu.cfs_period_us`)) || 100_000)
    const mem = parseLimitValue((await readOptional(`${d.memory}/memory.limit_in_bytes`)) ?? 'max')
    if (mem !== undefined) out.memoryBytes = mem
    const soft = parseLimitValue((await readOptional(`${d.memory}/memory.soft_limit_in_bytes`)) ?? 'max')
    if (soft !== undefined) out.memoryHighBytes = soft
    const pids = parseLimitValue((await readOptional(`${d.pids}/pids.max`)) ?? 'max')
    if (pids !== undefined) out.pids = pids
    if (d.cpuset) {
      const cpus = (await readOptional(`${d.cpuset}/cpuset.cpus`))?.trim()
      if (cpus) out.cpuset = cpus
    }
    return out
  }

  async sample(): Promise<CgroupSample> {
    const d = this.dirs
    const [usage, stat, memCur, memMax, pidsCur, oom, pressure] = await Promise.all([
      num(`${d.cpuacct}/cpuacct.usage`),
      readOptional(`${d.cpu}/cpu.stat`),
      num(`${d.memory}/memory.usage_in_bytes`),
      readOptional(`${d.memory}/memory.limit_in_bytes`),
      num(`${d.pids}/pids.current`),
      readOptional(`${d.memory}/memory.oom_control`),
      d.unified ? readOptional(`${d.unified}/cpu.pressure`) : Promise.resolve(undefined),
    ])
    const cpu = parseCpuStat(stat ?? '')
    const oomKv = parseFlatKeyed(oom ?? '')
    // Kernels before 4.13 have no oom_kill line; failcnt (times the limit was hit) is the closest proxy.
    const oomKills = oomKv.oom_kill ?? (await num(`${d.memory}/memory.failcnt`)) ?? 0
    return {
      at: Date.now(),
      cpuUsageUsec: Math.floor((usage ?? 0) / 1000),
      throttledUsec: cpu.throttledUsec,
      nrPeriods: cpu.nrPeriods,
      nrThrottled: cpu.nrThrottled,
      memoryBytes: memCur ?? 0,
      memoryLimitBytes: parseLimitValue(memMax ?? 'max'),
      pids: pidsCur ?? 0,
      cpuPressureSomeAvg10: pressure === undefined ? undefined : parsePressureSomeAvg10(pressure),
      oomKills,
    }
  }

  pids(): Promise<number[]> {
    return treePids(this.all)
  }

  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await killTree(this.all, signal)
  }

  async remove(): Promise<void> {
    await removeTree(this.all)
  }
}

export class V1Driver implements CgroupDriver {
  readonly mode = 'v1' as const
  readonly root: string
  private readonly tops: string[]

  /** `roots`: the kiln root directory in each hierarchy (already created by detection). */
  constructor(
    private readonly roots: V1Dirs,
    private readonly logger: CgroupLogger,
  ) {
    this.tops = uniqueDirs(roots)
    this.root = KEYS.filter((k) => roots[k] !== undefined && (k !== 'cpuacct' || roots.cpuacct !== roots.cpu))
      .map((k) => `${k}:${roots[k]}`)
      .join(' ')
  }

  async group(p: string, limits?: CgroupLimits): Promise<CgroupGroup> {
    const segs = splitGroupPath(p)
    for (let i = 1; i <= segs.length; i++) {
      const rel = segs.slice(0, i).join('/')
      const dirs = join(this.roots, rel)
      for (const dir of uniqueDirs(dirs)) {
        const created = await ensureDir(dir)
        if (created && dir === dirs.memory) {
          // 0 = the kernel OOM-kills inside the group when it cannot reclaim (the default; asserted, not assumed).
          await writeValue(`${dir}/memory.oom_control`, '0').catch(() => {})
        }
      }
      if (dirs.cpuset) await inheritCpuset(dirs.cpuset)
    }
    const g = new V1Group(segs.join('/'), join(this.roots, segs.join('/')), this.logger)
    if (limits) await g.setLimits(limits)
    return g
  }

  wrap(group: CgroupGroup | null, argv: string[]) {
    return wrapArgv(group, argv)
  }

  async sweep(): Promise<number> {
    const killed = await clearBelow(this.tops)
    if (killed.size) this.logger.warn({ root: this.root, killed: killed.size }, 'cgroup sweep killed processes left by a previous run')
    return killed.size
  }

  async close(): Promise<void> {
    await removeTree(this.tops)
  }
}
