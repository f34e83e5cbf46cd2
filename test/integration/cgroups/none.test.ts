// The 'none' driver needs no privileges, so these run everywhere.
import { afterEach, describe, expect, it } from 'vitest'
import { detectCgroups } from '../../../cluster/local/cgroups/index.js'
import { killChildren, spawnIn, until } from './helpers.js'

afterEach(killChildren)

describe("the 'none' driver", () => {
  it('says why, enforces nothing and wraps nothing', async () => {
    const d = await detectCgroups({ rootName: 'kiln-test-none', prefer: 'none' })
    expect(d.mode).toBe('none')
    expect(d.reason).toBeTruthy()
    const g = await d.group('nodes/general/i-1', { memoryBytes: 1 << 26 })
    expect(await g.readLimits()).toEqual({})
    expect(d.wrap(g, ['node', 'x.js'])).toEqual({ command: 'node', args: ['x.js'] })
    await expect(g.sample()).rejects.toMatchObject({ code: 'KILN_ERR_INTERNAL' })
    expect(await d.sweep()).toBe(0)
  })

  it('samples a process tree from /proc: cpu, resident memory and tasks of the descendants', async () => {
    const d = await detectCgroups({ rootName: 'kiln-test-none', prefer: 'none' })
    // A shell with two children: one holds ~32MiB resident, one spins. In a group of its own, so the
    // background child goes with the shell afterwards.
    const child = spawnIn(d, null, [
      '/bin/sh',
      '-c',
      `"${process.execPath}" -e 'const b = Buffer.alloc(32 << 20, 1); setInterval(() => b[0]++, 1000)' & while :; do :; done`,
    ], { detached: true })
    const s = await until('the tree to be measured', async () => {
      const x = await d.sampleProcess!(child.pid!)
      return x.memoryBytes > 32 * 1024 * 1024 && x.cpuUsageUsec > 0 && x.pids >= 2 ? x : undefined
    })
    expect(s.oomKills).toBe(0)
    expect(s.nrThrottled).toBe(0)
    await expect(d.sampleProcess!(2 ** 22 + 12345)).rejects.toMatchObject({ code: 'KILN_ERR_NOT_FOUND' })
  })
})
