// Which cgroup driver this host allows: v2 when the unified hierarchy offers cpu, memory and pids
// beneath our own cgroup; else v1 when the cpu, cpuacct, memory and pids hierarchies are writable
// beneath our own cgroups; else 'none', with the reason.

import { readFile, rmdir } from 'node:fs/promises'
import { NoneDriver } from './none.js'
import { checkRootName } from './names.js'
import { cgroupDir, findCgroupLine, findV1Mount, findV2Mount, MountInfo, parseMountinfo, parseProcCgroup, ProcCgroupLine } from './proc-parse.js'
import { ensureDir, errno, readOptional, writeValue } from './fs.js'
import { inheritCpuset, V1Dirs, V1Driver } from './v1.js'
import { openV2 } from './v2.js'
import { silentCgroupLogger, type CgroupDriver, type CgroupLogger, type CgroupMode } from './types.js'

export interface DetectOptions {
  /** The root group's name beneath the platform's own cgroup, e.g. 'kiln' or 'kiln-test-<pid>'. */
  rootName: string
  /** Try this mode first ('none' disables cgroups). Falls back to the others. */
  prefer?: CgroupMode
  logger?: CgroupLogger
  /** Texts to use instead of /proc/self/cgroup and /proc/self/mountinfo (tests point mounts at a temp dir). */
  sources?: { procSelfCgroup: string; mountinfo: string }
}

interface Host {
  lines: ProcCgroupLine[]
  mounts: MountInfo[]
}

type Located = { dir: string; reason?: undefined } | { dir?: undefined; reason: string }

/** The platform's own cgroup directory in one hierarchy (v1 controller, or the unified one when undefined). */
function ownDir(host: Host, controller?: string): Located {
  const what = controller ?? 'cgroup2'
  const mount = controller === undefined ? findV2Mount(host.mounts) : findV1Mount(host.mounts, controller)
  if (!mount) return { reason: `no ${what} mount` }
  const line = findCgroupLine(host.lines, controller)
  if (!line) return { reason: `this process has no ${what} cgroup in /proc/self/cgroup` }
  const dir = cgroupDir(mount, line.path)
  if (!dir) return { reason: `own ${what} cgroup ${line.path} is not visible under ${mount.mountPoint} (mount root ${mount.root})` }
  return { dir }
}

async function tryV2(host: Host, rootName: string, logger: CgroupLogger): Promise<CgroupDriver | string> {
  const own = ownDir(host)
  if (own.reason !== undefined) return `cgroup v2: ${own.reason}`
  return openV2(own.dir, rootName, logger)
}

async function tryV1(host: Host, rootName: string, logger: CgroupLogger): Promise<CgroupDriver | string> {
  const created: string[] = []
  const rollback = async (reason: string) => {
    for (const d of created.reverse()) await rmdir(d).catch(() => {})
    return reason
  }
  const roots: Partial<V1Dirs> = {}
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids'] as const) {
    const own = ownDir(host, c)
    if (own.reason !== undefined) return rollback(`cgroup v1: ${own.reason}`)
    const root = `${own.dir}/${rootName}`
    try {
      if (await ensureDir(root)) created.push(root)
    } catch (e) {
      return rollback(`cgroup v1: cannot create ${root} (${errno(e)}): the ${c} hierarchy is not writable by this user`)
    }
    roots[c] = root
  }
  // Optional: cpuset (node pinning) and, on hybrid hosts, the unified tree (PSI, cgroup.kill).
  const cpusetOwn = ownDir(host, 'cpuset')
  if (cpusetOwn.dir !== undefined) {
    try {
      const root = `${cpusetOwn.dir}/${rootName}`
      if (await ensureDir(root)) created.push(root)
      await inheritCpuset(root)
      roots.cpuset = root
    } catch (e) {
      logger.info({ err: String(e) }, 'cgroup v1: cpuset hierarchy not usable; nodes cannot pin cpus')
    }
  }
  const unifiedOwn = ownDir(host)
  if (unifiedOwn.dir !== undefined) {
    try {
      const root = `${unifiedOwn.dir}/${rootName}`
      if (await ensureDir(root)) created.push(root)
      roots.unified = root
    } catch {
      // Without it there is no per-group PSI; nothing else depends on it.
    }
  }
  const mem = roots.memory!
  if ((await readOptional(`${mem}/memory.use_hierarchy`))?.trim() === '0') {
    // Node quotas only bound their instances when charges propagate upwards.
    await writeValue(`${mem}/memory.use_hierarchy`, '1').catch((e) => logger.warn({ err: String(e) }, 'cgroup v1: memory.use_hierarchy is 0; node memory quotas will not cover instances'))
  }
  await writeValue(`${mem}/memory.oom_control`, '0').catch(() => {})
  return new V1Driver(roots as V1Dirs, logger)
}

export async function detectCgroups(opts: DetectOptions): Promise<CgroupDriver> {
  const logger = opts.logger ?? silentCgroupLogger
  const rootName = checkRootName(opts.rootName)
  const none = (reason: string) => {
    logger.warn({ reason }, 'cgroups unavailable: instance cpu, memory and pids limits are NOT enforced')
    return new NoneDriver(reason)
  }
  if (opts.prefer === 'none') return none('cgroups disabled by configuration (prefer: none)')
  let host: Host
  try {
    const src = opts.sources ?? {
      procSelfCgroup: await readFile('/proc/self/cgroup', 'utf8'),
      mountinfo: await readFile('/proc/self/mountinfo', 'utf8'),
    }
    host = { lines: parseProcCgroup(src.procSelfCgroup), mounts: parseMountinfo(src.mountinfo) }
  } catch (e) {
    return none(`cannot read /proc/self/cgroup or /proc/self/mountinfo (${errno(e) ?? String(e)}): not Linux?`)
  }
  const order: CgroupMode[] = opts.prefer === 'v1' ? ['v1', 'v2'] : ['v2', 'v1']
  const reasons: string[] = []
  for (const mode of order) {
    const r = mode === 'v2' ? await tryV2(host, rootName, logger) : await tryV1(host, rootName, logger)
    if (typeof r !== 'string') {
      logger.info({ mode: r.mode, root: r.root, ...(reasons.length ? { notUsed: reasons } : {}) }, 'cgroups: instance limits enforced')
      return r
    }
    reasons.push(r)
  }
  return none(reasons.join('; '))
}
