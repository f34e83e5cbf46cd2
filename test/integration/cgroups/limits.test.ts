import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openTestDriver } from './helpers.js'
import { tier } from '../../helpers/tier.js'

const t = await openTestDriver('limits')
afterAll(() => t.driver.close())

describe(`cgroup limits on this host (${t.driver.mode})`, tier('cgroups', t.skip), () => {
  const MiB = 1024 * 1024

  it('limits written to a node and an instance read back from the cgroup files', async () => {
    const node = await t.driver.group('nodes/general', { cpu: 1, memoryBytes: 256 * MiB, pids: 100 })
    const inst = await t.driver.group('nodes/general/i-1', { cpu: 0.5, memoryBytes: 64 * MiB, memoryHighBytes: 48 * MiB, pids: 20, cpuset: '0' })
    expect(await node.readLimits()).toMatchObject({ cpu: 1, memoryBytes: 256 * MiB, pids: 100 })
    const back = await inst.readLimits()
    expect(back).toMatchObject({ cpu: 0.5, memoryBytes: 64 * MiB, memoryHighBytes: 48 * MiB, pids: 20 })
    // The kernel decides whether there is a cpuset to write (the controller mounted or delegated here):
    // then the file holds the pin; else the driver reads none back and said it could not pin.
    const cpusetFile = inst.procsFiles.map((f) => join(dirname(f), 'cpuset.cpus')).find((f) => existsSync(f))
    const warned = t.warnings.some((w) => (w.obj as { group?: string }).group === 'nodes/general/i-1' && w.msg.startsWith('cgroup cpuset not applied'))
    expect({ file: cpusetFile && readFileSync(cpusetFile, 'utf8').trim(), readBack: back.cpuset, warned })
      .toEqual(cpusetFile ? { file: '0', readBack: '0', warned: false } : { file: undefined, readBack: undefined, warned: true })
    expect((await inst.sample()).memoryLimitBytes).toBe(64 * MiB)
  })

  it('an instance asking for more than its node is clamped to the node, with a warning', async () => {
    await t.driver.group('nodes/small', { cpu: 0.5, memoryBytes: 128 * MiB, pids: 50 })
    const before = t.warnings.length
    const inst = await t.driver.group('nodes/small/i-big', { cpu: 2, memoryBytes: 1024 * MiB, pids: 1000 })
    expect(await inst.readLimits()).toMatchObject({ cpu: 0.5, memoryBytes: 128 * MiB, pids: 50 })
    const fields = t.warnings.slice(before).map((w) => (w.obj as { field: string }).field)
    expect(fields.sort()).toEqual(['cpu', 'memoryBytes', 'pids'])
  })

  it('Infinity removes a limit; absent fields stay as they were', async () => {
    const g = await t.driver.group('nodes/general/i-2', { cpu: 0.3, memoryBytes: 64 * MiB, pids: 10 })
    await g.setLimits({ cpu: Infinity, memoryBytes: Infinity })
    const back = await g.readLimits()
    expect(back.cpu).toBeUndefined()
    expect(back.memoryBytes).toBeUndefined()
    expect(back.pids).toBe(10)
  })

  it('reopening an existing group keeps its limits; remove() deletes it and its children', async () => {
    await t.driver.group('nodes/tmp/i-x', { pids: 7 })
    expect((await (await t.driver.group('nodes/tmp/i-x')).readLimits()).pids).toBe(7)
    const parent = await t.driver.group('nodes/tmp')
    await parent.remove()
    for (const f of parent.procsFiles) expect(existsSync(f)).toBe(false)
  })

  it('rejects paths that could leave the root', async () => {
    for (const p of ['../x', '/abs', 'a//b', 'a/cpu.max', '']) {
      await expect(t.driver.group(p)).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
    }
  })
})
