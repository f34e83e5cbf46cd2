// Detection and the v2 driver against a fake cgroupfs in a temp dir: the mount points in the
// mountinfo text point there, so no real cgroup is touched (the real ones are in test/integration/cgroups).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { detectCgroups } from '../../../cluster/local/cgroups/index.js'

const tmps: string[] = []
afterEach(() => {
  for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true })
})
function fakeFs(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kiln-cgfake-'))
  tmps.push(d)
  return d
}
function put(file: string, text: string) {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, text)
}
const logs = () => {
  const warn: Array<[object, string]> = []
  return { warn, logger: { warn: (o: object, m: string) => warn.push([o, m]), info() {} } }
}

describe('detectCgroups on fake hosts', () => {
  it('hybrid host whose cgroup2 has no controllers: chooses v1 and says why not v2', async () => {
    const fs = fakeFs()
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids']) mkdirSync(`${fs}/${c}/own`, { recursive: true })
    put(`${fs}/unified/cgroup.controllers`, 'hugetlb\n')
    const mountinfo = ['cpu', 'cpuacct', 'memory', 'pids']
      .map((c, i) => `${30 + i} 1 0:${30 + i} / ${fs}/${c} rw - cgroup cgroup rw,${c}`)
      .concat(`40 1 0:40 / ${fs}/unified rw - cgroup2 cgroup2 rw`)
      .join('\n')
    const procSelfCgroup = '4:pids:/own\n3:memory:/own\n2:cpuacct:/own\n1:cpu:/own\n0::/\n'
    const { logger } = logs()
    const d = await detectCgroups({ rootName: 'kiln', logger, sources: { procSelfCgroup, mountinfo } })
    expect(d.mode).toBe('v1')
    expect(existsSync(`${fs}/memory/own/kiln`)).toBe(true)
    const g = await d.group('nodes/n1/i-1', { cpu: 0.25, memoryBytes: 1 << 26, pids: 12 })
    expect(g.procsFiles).toContain(`${fs}/memory/own/kiln/nodes/n1/i-1/cgroup.procs`)
    expect(readFileSync(`${fs}/cpu/own/kiln/nodes/n1/i-1/cpu.cfs_quota_us`, 'utf8')).toBe('25000')
    expect(readFileSync(`${fs}/pids/own/kiln/nodes/n1/i-1/pids.max`, 'utf8')).toBe('12')
  })

  it('nothing writable: "none" with a reason naming each version', async () => {
    const fs = fakeFs()
    const mountinfo = `40 1 0:40 / ${fs}/absent rw - cgroup2 cgroup2 rw\n41 1 0:41 / ${fs}/absent-mem rw - cgroup cgroup rw,memory\n`
    const { logger, warn } = logs()
    const d = await detectCgroups({ rootName: 'kiln', logger, sources: { procSelfCgroup: '0::/\n3:memory:/\n', mountinfo } })
    expect(d.mode).toBe('none')
    expect(d.reason).toMatch(/cgroup v2 at .* does not offer cpu, memory, pids/)
    expect(d.reason).toMatch(/cgroup v1: no cpu mount/)
    expect(warn).toHaveLength(1) // printed once
    expect(d.wrap(await d.group('x'), ['node', 'a.js'])).toEqual({ command: 'node', args: ['a.js'] })
  })

  it('prefer "none" disables cgroups', async () => {
    const d = await detectCgroups({ rootName: 'kiln', prefer: 'none' })
    expect(d.mode).toBe('none')
    expect(d.reason).toMatch(/prefer: none/)
  })

  it('rejects root names that could escape or collide', async () => {
    for (const rootName of ['../x', 'a/b', 'cpu.max', '']) {
      await expect(detectCgroups({ rootName, prefer: 'none' })).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    }
  })
})

describe('v2 driver file formats (fake cgroupfs)', () => {
  async function v2() {
    const fs = fakeFs()
    const own = `${fs}/cg/system.slice/kiln.service`
    put(`${own}/cgroup.controllers`, 'cpuset cpu io memory pids\n')
    put(`${own}/cgroup.subtree_control`, '')
    put(`${own}/memory.max`, String(1 << 30)) // the service's own limit: the ceiling for everything below
    const mountinfo = `40 1 0:40 / ${fs}/cg rw - cgroup2 cgroup2 rw,nsdelegate\n`
    const l = logs()
    const d = await detectCgroups({ rootName: 'kiln', logger: l.logger, sources: { procSelfCgroup: '0::/system.slice/kiln.service\n', mountinfo } })
    return { d, own, warn: l.warn }
  }

  it('chooses v2 when cpu, memory and pids are offered, and delegates them downwards', async () => {
    const { d, own } = await v2()
    expect(d.mode).toBe('v2')
    expect(d.root).toBe(`${own}/kiln`)
    expect(readFileSync(`${own}/cgroup.subtree_control`, 'utf8')).toMatch(/\+cpu\b.*\+memory.*\+pids/)
    await d.group('nodes/general/i-1')
    expect(readFileSync(`${own}/kiln/nodes/general/cgroup.subtree_control`, 'utf8')).toMatch(/\+memory/)
  })

  it('writes cpu.max, memory.max/high, swap, pids.max and reads them back', async () => {
    const { d, own } = await v2()
    const g = await d.group('i-1')
    const dir = `${own}/kiln/i-1`
    put(`${dir}/cpu.max`, 'max 100000\n')
    put(`${dir}/memory.swap.max`, 'max\n')
    await g.setLimits({ cpu: 0.5, memoryBytes: 64 << 20, memoryHighBytes: 48 << 20, pids: 20 })
    expect(readFileSync(`${dir}/cpu.max`, 'utf8')).toBe('50000 100000')
    expect(readFileSync(`${dir}/memory.swap.max`, 'utf8')).toBe('0')
    expect(await g.readLimits()).toEqual({ cpu: 0.5, memoryBytes: 64 << 20, memoryHighBytes: 48 << 20, pids: 20 })
    await g.setLimits({ cpu: Infinity, memoryBytes: Infinity })
    expect(readFileSync(`${dir}/cpu.max`, 'utf8')).toBe('max 100000')
    expect(await g.readLimits()).toEqual({ memoryHighBytes: 48 << 20, pids: 20 })
  })

  it('clamps a child to the tightest ancestor and warns', async () => {
    const { d, own, warn } = await v2()
    put(`${own}/kiln/memory.max`, 'max\n') // the kernel gives every group below a delegating parent its files
    const g = await d.group('i-2')
    await g.setLimits({ memoryBytes: 2 ** 31 })
    expect((await g.readLimits()).memoryBytes).toBe(1 << 30)
    expect(warn).toEqual([[expect.objectContaining({ group: 'i-2', field: 'memoryBytes', applied: 1 << 30 }), 'cgroup limit clamped to the parent limit']])
  })

  it('samples cpu.stat, memory.current, memory.events, pids.current and cpu.pressure', async () => {
    const { d, own } = await v2()
    const g = await d.group('i-3')
    const dir = `${own}/kiln/i-3`
    put(`${dir}/cpu.stat`, 'usage_usec 900\nuser_usec 800\nsystem_usec 100\nnr_periods 10\nnr_throttled 4\nthrottled_usec 321\n')
    put(`${dir}/memory.current`, '4096\n')
    put(`${dir}/memory.max`, '8192\n')
    put(`${dir}/memory.events`, 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')
    put(`${dir}/pids.current`, '2\n')
    put(`${dir}/cpu.pressure`, 'some avg10=7.50 avg60=1.00 avg300=0.00 total=10\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n')
    const s = await g.sample()
    expect(s).toEqual({
      at: expect.any(Number),
      cpuUsageUsec: 900,
      throttledUsec: 321,
      nrPeriods: 10,
      nrThrottled: 4,
      memoryBytes: 4096,
      memoryLimitBytes: 8192,
      pids: 2,
      cpuPressureSomeAvg10: 7.5,
      oomKills: 1,
    })
  })

  it('reserves "supervisor" for the platform\'s own processes', async () => {
    const { d } = await v2()
    await expect(d.group('supervisor')).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
  })
})
