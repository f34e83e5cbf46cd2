import { describe, expect, it } from 'vitest'
import {
  cgroupDir,
  findCgroupLine,
  findV1Mount,
  findV2Mount,
  parseMountinfo,
  parseProcCgroup,
} from '../../../cluster/local/cgroups/proc-parse.js'

// This VM: v1 controllers mounted one per hierarchy, memory in a per-session cgroup, an empty cgroup2.
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/b5fcc854
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
// A typical systemd host of the cgroup v1 era: cpu and cpuacct co-mounted, optional fields present.
const COMBINED_MOUNTINFO = `25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
26 24 0:23 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,memory
`

describe('parseProcCgroup', () => {
  it('reads v1 controller lists and the unified line', () => {
    const lines = parseProcCgroup(HYBRID_CGROUP)
    expect(lines).toHaveLength(7)
    expect(findCgroupLine(lines, 'memory')).toEqual({ id: 4, controllers: ['memory'], path: '/process_api/b5fcc854' })
    expect(findCgroupLine(lines)).toEqual({ id: 0, controllers: [], path: '/' })
    expect(findCgroupLine(lines, 'blkio')).toBeUndefined()
  })

  it('finds a controller inside a combined list and keeps colons in the path', () => {
    const lines = parseProcCgroup('3:cpu,cpuacct:/system.slice/kiln.service\n0::/a:b\n')
    expect(findCgroupLine(lines, 'cpuacct')?.path).toBe('/system.slice/kiln.service')
    expect(findCgroupLine(lines)?.path).toBe('/a:b')
  })

  it('reads a pure v2 host', () => {
    const lines = parseProcCgroup('0::/system.slice/kiln.service\n')
    expect(findCgroupLine(lines)?.path).toBe('/system.slice/kiln.service')
    expect(findCgroupLine(lines, 'memory')).toBeUndefined()
  })
})

describe('parseMountinfo', () => {
  it('reads fs type, mount point, root and super options', () => {
    const mounts = parseMountinfo(HYBRID_MOUNTINFO)
    expect(findV1Mount(mounts, 'cpu')?.mountPoint).toBe('/sys/fs/cgroup/cpu')
    expect(findV1Mount(mounts, 'cpuacct')?.mountPoint).toBe('/sys/fs/cgroup/cpuacct')
    expect(findV1Mount(mounts, 'cpuset')).toBeUndefined()
    expect(findV2Mount(mounts)).toMatchObject({ mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', root: '/' })
  })

  it('matches co-mounted controllers and skips optional fields', () => {
    const mounts = parseMountinfo(COMBINED_MOUNTINFO)
    expect(findV1Mount(mounts, 'cpu')).toBe(findV1Mount(mounts, 'cpuacct'))
    expect(findV1Mount(mounts, 'cpu')?.mountPoint).toBe('/sys/fs/cgroup/cpu,cpuacct')
  })

  it('decodes octal escapes in paths', () => {
    const [m] = parseMountinfo('50 1 0:40 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n')
    expect(m.mountPoint).toBe('/mnt/my cgroups')
  })
})

describe('cgroupDir', () => {
  const mount = { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] }

  it('joins the mount point and the cgroup path', () => {
    expect(cgroupDir(mount, '/process_api/x')).toBe('/sys/fs/cgroup/memory/process_api/x')
    expect(cgroupDir(mount, '/')).toBe('/sys/fs/cgroup/memory')
  })

  it('strips a mount root (a container that sees only its own part of the tree)', () => {
    const m = { ...mount, root: '/kubepods/pod1' }
    expect(cgroupDir(m, '/kubepods/pod1/c1')).toBe('/sys/fs/cgroup/memory/c1')
    expect(cgroupDir(m, '/kubepods/pod1')).toBe('/sys/fs/cgroup/memory')
  })

  it('refuses cgroups outside the mounted part', () => {
    expect(cgroupDir({ ...mount, root: '/kubepods/pod1' }, '/system.slice')).toBeUndefined()
    expect(cgroupDir(mount, '/../etc')).toBeUndefined()
  })
})
