// Parsing of /proc/self/cgroup and /proc/self/mountinfo, and locating a process's cgroup directory.

import path from 'node:path'

export interface ProcCgroupLine {
  /** Hierarchy id; 0 is the unified (v2) hierarchy. */
  id: number
  /** Controllers bound to the hierarchy (v1), e.g. ['cpu', 'cpuacct'] or ['name=systemd']; empty for v2. */
  controllers: string[]
  /** The cgroup path within the hierarchy, e.g. "/process_api/b5fc". */
  path: string
}

/** Parse /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path" per line. */
export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const a = line.indexOf(':')
    const b = line.indexOf(':', a + 1)
    if (a < 0 || b < 0) continue
    const list = line.slice(a + 1, b)
    out.push({ id: Number(line.slice(0, a)), controllers: list ? list.split(',') : [], path: line.slice(b + 1) })
  }
  return out
}

export interface MountInfo {
  /** Root of the mount within its filesystem (for cgroupfs: the cgroup the mount shows as its top). */
  root: string
  mountPoint: string
  fsType: string
  /** Per-superblock options; for cgroup v1 they name the controllers, e.g. ['rw', 'cpu', 'cpuacct']. */
  superOptions: string[]
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Parse /proc/<pid>/mountinfo (see proc(5)); only lines with the " - " separator are kept. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = []
  for (const line of text.split('\n')) {
    const f = line.split(' ')
    const sep = f.indexOf('-', 6)
    if (f.length < 10 || sep < 0 || f.length < sep + 4) continue
    out.push({
      root: unescapeOctal(f[3]),
      mountPoint: unescapeOctal(f[4]),
      fsType: f[sep + 1],
      superOptions: f[sep + 3].split(','),
    })
  }
  return out
}

/** The cgroup2 mount, if any (the first one: that is what systemd and runc use). */
export function findV2Mount(mounts: MountInfo[]): MountInfo | undefined {
  return mounts.find((m) => m.fsType === 'cgroup2')
}

/** The cgroup v1 mount that carries `controller` (e.g. 'cpu' finds both "cpu" and "cpu,cpuacct" mounts). */
export function findV1Mount(mounts: MountInfo[], controller: string): MountInfo | undefined {
  return mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller))
}

/** The /proc/self/cgroup line for a v1 controller, or for the unified hierarchy when controller is undefined. */
export function findCgroupLine(lines: ProcCgroupLine[], controller?: string): ProcCgroupLine | undefined {
  return controller === undefined
    ? lines.find((l) => l.id === 0 && l.controllers.length === 0)
    : lines.find((l) => l.controllers.includes(controller))
}

/**
 * The directory of cgroup `cgroupPath` under `mount`, or undefined when the cgroup is not visible
 * through that mount (e.g. a container that sees only part of the host's hierarchy).
 */
export function cgroupDir(mount: MountInfo, cgroupPath: string): string | undefined {
  const root = mount.root === '/' ? '' : mount.root.replace(/\/+$/, '')
  if (root && cgroupPath !== root && !cgroupPath.startsWith(root + '/')) return undefined
  const rel = cgroupPath.slice(root.length)
  if (rel.split('/').includes('..')) return undefined
  const dir = path.join(mount.mountPoint, rel)
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir
}
