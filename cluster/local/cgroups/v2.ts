// cgroup v2: one directory per group under <own cgroup>/<root>, controllers handed down through
// cgroup.subtree_control. The "no internal processes" rule may force the platform's own processes
// into the leaf <own>/<root>/supervisor first (a move inside its own subtree; see docs/cgroups.md).

import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { KilnError } from '../../../core/errors.js'
import { AncestorLimits, clampLimits, tighter } from './clamp.js'
import { parseCpuList, parseCpuMax, parseCpuStat, parseFlatKeyed, parseLimitValue, parsePids, parsePressureSomeAvg10 } from './file-parse.js'
import { ensureDir, errno, num, readOptional, walkUp, writeValue } from './fs.js'
import { splitGroupPath } from './names.js'
import { clearBelow, killTree, removeTree, treePids } from './tree.js'
import { wrapArgv } from './wrapper.js'
import type { CgroupDriver, CgroupGroup, CgroupLimits, CgroupLogger, CgroupSample } from './types.js'

export const V2_REQUIRED = ['cpu', 'memory', 'pids'] as const
/** The leaf that holds the platform's own processes when its cgroup must give up internal processes. */
export const SUPERVISOR = 'supervisor'

/** Make sure `dir/cgroup.subtree_control` enables `controllers` (reads first: the write is not free). */
async function enableControllers(dir: string, controllers: readonly string[]): Promise<void> {
  const on = ((await readOptional(`${dir}/cgroup.subtree_control`)) ?? '').trim().split(/\s+/)
  const missing = controllers.filter((c) => !on.includes(c))
  if (missing.length) await writeFile(`${dir}/cgroup.subtree_control`, missing.map((c) => `+${c}`).join(' '))
}

export class V2Group implements CgroupGroup {
  readonly procsFiles: string[]

  constructor(
    readonly path: string,
    readonly dir: string,
    private readonly logger: CgroupLogger,
  ) {
    this.procsFiles = [`${dir}/cgroup.procs`]
  }

  async ancestorLimits(): Promise<AncestorLimits> {
    const a: AncestorLimits = {}
    const parent = path.dirname(this.dir)
    await walkUp(parent, 'cpu.max', (t) => {
      a.cpu = tighter(a.cpu, parseCpuMax(t).cores)
    })
    await walkUp(parent, 'memory.max', (t) => {
      a.memoryBytes = tighter(a.memoryBytes, parseLimitValue(t))
    })
    await walkUp(parent, 'pids.max', (t) => {
      a.pids = tighter(a.pids, parseLimitValue(t))
    })
    const cpus = (await readOptional(`${parent}/cpuset.cpus.effective`))?.trim()
    if (cpus) a.cpus = parseCpuList(cpus)
    return a
  }

  async setLimits(req: CgroupLimits): Promise<void> {
    const { limits: l, notes } = clampLimits(req, await this.ancestorLimits())
    for (const n of notes) this.logger.warn({ group: this.path, ...n }, 'cgroup limit clamped to the parent limit')
    const d = this.dir
    if (l.cpu !== undefined) {
      const period = parseCpuMax((await readOptional(`${d}/cpu.max`)) ?? '').periodUsec
      const quota = l.cpu === Infinity ? 'max' : String(Math.max(1000, Math.round(l.cpu * period)))
      await writeValue(`${d}/cpu.max`, `${quota} ${period}`)
    }
    if (l.memoryBytes !== undefined) {
      await writeValue(`${d}/memory.max`, l.memoryBytes === Infinity ? 'max' : String(l.memoryBytes))
      // No swapping past the hard limit (v1 does the same with memsw = limit).
      if ((await readOptional(`${d}/memory.swap.max`)) !== undefined) {
        await writeValue(`${d}/memory.swap.max`, l.memoryBytes === Infinity ? 'max' : '0')
      }
    }
    if (l.memoryHighBytes !== undefined) {
      await writeValue(`${d}/memory.high`, l.memoryHighBytes === Infinity ? 'max' : String(l.memoryHighBytes))
    }
    if (l.pids !== undefined) await writeValue(`${d}/pids.max`, l.pids === Infinity ? 'max' : String(l.pids))
    if (l.cpuset !== undefined) {
      if ((await readOptional(`${d}/cpuset.cpus`)) !== undefined) await writeValue(`${d}/cpuset.cpus`, l.cpuset)
      else this.logger.warn({ group: this.path, cpuset: l.cpuset }, 'cgroup cpuset not applied: the cpuset controller is not delegated')
    }
  }

  async readLimits(): Promise<CgroupLimits> {
    const d = this.dir
    const out: CgroupLimits = {}
    const cpu = parseCpuMax((await readOptional(`${d}/cpu.max`)) ?? 'max').cores
    if (cpu !== undefined) out.cpu = cpu
    const mem = parseLimitValue((await readOptional(`${d}/memory.max`)) ?? 'max')
    if (mem !== undefined) out.memoryBytes = mem
    const high = parseLimitValue((await readOptional(`${d}/memory.high`)) ?? 'max')
    if (high !== undefined) out.memoryHighBytes = high
    const pids = parseLimitValue((await readOptional(`${d}/pids.max`)) ?? 'max')
    if (pids !== undefined) out.pids = pids
    const cpus = (await readOptional(`${d}/cpuset.cpus`))?.trim()
    if (cpus) out.cpuset = cpus
    return out
  }

  async sample(): Promise<CgroupSample> {
    const d = this.dir
    const [stat, memCur, memMax, pidsCur, events, pressure] = await Promise.all([
      readOptional(`${d}/cpu.stat`),
      num(`${d}/memory.current`),
      readOptional(`${d}/memory.max`),
      num(`${d}/pids.current`),
      readOptional(`${d}/memory.events`),
      readOptional(`${d}/cpu.pressure`),
    ])
    const cpu = parseCpuStat(stat ?? '')
    return {
      at: Date.now(),
      cpuUsageUsec: cpu.usageUsec ?? 0,
      throttledUsec: cpu.throttledUsec,
      nrPeriods: cpu.nrPeriods,
      nrThrottled: cpu.nrThrottled,
      memoryBytes: memCur ?? 0,
      memoryLimitBytes: parseLimitValue(memMax ?? 'max'),
      pids: pidsCur ?? 0,
      cpuPressureSomeAvg10: pressure === undefined ? undefined : parsePressureSomeAvg10(pressure),
      oomKills: parseFlatKeyed(events ?? '').oom_kill ?? 0,
    }
  }

  pids(): Promise<number[]> {
    return treePids([this.dir])
  }

  async killAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await killTree([this.dir], signal)
  }

  async remove(): Promise<void> {
    await removeTree([this.dir])
  }
}

export class V2Driver implements CgroupDriver {
  readonly mode = 'v2' as const
  readonly root: string
  private readonly keep: ReadonlySet<string>

  constructor(
    private readonly rootDir: string,
    private readonly controllers: readonly string[],
    private readonly logger: CgroupLogger,
  ) {
    this.root = rootDir
    this.keep = new Set([`${rootDir}/${SUPERVISOR}`])
  }

  async group(p: string, limits?: CgroupLimits): Promise<CgroupGroup> {
    const segs = splitGroupPath(p)
    if (segs[0] === SUPERVISOR) {
      throw new KilnError('KILN_ERR_VALIDATION', `cgroup path "${p}": "${SUPERVISOR}" is reserved for the platform's own processes`, { field: 'path' })
    }
    let dir = this.rootDir
    for (const s of segs) {
      await enableControllers(dir, this.controllers)
      dir = `${dir}/${s}`
      await ensureDir(dir)
    }
    const g = new V2Group(segs.join('/'), dir, this.logger)
    if (limits) await g.setLimits(limits)
    return g
  }

  wrap(group: CgroupGroup | null, argv: string[]) {
    return wrapArgv(group, argv)
  }

  async sweep(): Promise<number> {
    const killed = await clearBelow([this.rootDir], { skipDirs: this.keep })
    if (killed.size) this.logger.warn({ root: this.root, killed: killed.size }, 'cgroup sweep killed processes left by a previous run')
    return killed.size
  }

  /** Removes every group; the root and its supervisor leaf stay when the platform itself lives there. */
  async close(): Promise<void> {
    const sup = `${this.rootDir}/${SUPERVISOR}`
    const occupied = parsePids((await readOptional(`${sup}/cgroup.procs`)) ?? '').length > 0
    await removeTree([this.rootDir], occupied ? { skipDirs: this.keep } : {})
  }
}

/**
 * Prepare <ownDir>/<rootName> for delegation and return the driver, or the reason v2 cannot be used.
 * Writes only inside ownDir: its subtree_control, and — only if the kernel refuses that with EBUSY
 * because ownDir holds processes — moves those processes into <ownDir>/<rootName>/supervisor.
 */
export async function openV2(ownDir: string, rootName: string, logger: CgroupLogger): Promise<V2Driver | string> {
  const avail = ((await readOptional(`${ownDir}/cgroup.controllers`)) ?? '').trim().split(/\s+/).filter(Boolean)
  const missing = V2_REQUIRED.filter((c) => !avail.includes(c))
  if (missing.length) {
    return `cgroup v2 at ${ownDir} does not offer ${missing.join(', ')} (it has: ${avail.join(' ') || 'no controllers'}; on hybrid hosts they are bound to v1 hierarchies)`
  }
  const controllers = avail.includes('cpuset') ? [...V2_REQUIRED, 'cpuset'] : [...V2_REQUIRED]
  const rootDir = `${ownDir}/${rootName}`
  try {
    await ensureDir(rootDir)
  } catch (e) {
    return `cgroup v2: cannot create ${rootDir} (${errno(e)}): the platform's own cgroup ${ownDir} is not delegated to this user`
  }
  try {
    await enableControllers(ownDir, controllers)
  } catch (e) {
    if (errno(e) !== 'EBUSY') return `cgroup v2: cannot enable ${controllers.join(' ')} in ${ownDir}/cgroup.subtree_control (${errno(e)})`
    const moved = await moveIntoSupervisor(ownDir, `${rootDir}/${SUPERVISOR}`)
    if (typeof moved === 'string') return moved
    logger.info({ from: ownDir, to: `${rootDir}/${SUPERVISOR}`, pids: moved }, 'cgroup v2: moved the platform processes into a leaf so controllers can be delegated')
    try {
      await enableControllers(ownDir, controllers)
    } catch (e2) {
      return `cgroup v2: cannot enable ${controllers.join(' ')} in ${ownDir}/cgroup.subtree_control (${errno(e2)})`
    }
  }
  try {
    await enableControllers(rootDir, controllers)
  } catch (e) {
    return `cgroup v2: cannot enable ${controllers.join(' ')} in ${rootDir}/cgroup.subtree_control (${errno(e)})`
  }
  return new V2Driver(rootDir, controllers, logger)
}

async function moveIntoSupervisor(ownDir: string, supervisor: string): Promise<number[] | string> {
  await ensureDir(supervisor)
  const moved: number[] = []
  for (let round = 0; round < 10; round++) {
    const pids = parsePids((await readOptional(`${ownDir}/cgroup.procs`)) ?? '')
    if (pids.length === 0) return moved
    for (const pid of pids) {
      try {
        await writeFile(`${supervisor}/cgroup.procs`, String(pid))
        moved.push(pid)
      } catch (e) {
        if (errno(e) === 'ESRCH') continue
        return `cgroup v2: cannot move pid ${pid} from ${ownDir} into ${supervisor} (${errno(e)})`
      }
    }
  }
  return `cgroup v2: ${ownDir} keeps gaining processes; cannot empty it for delegation`
}
