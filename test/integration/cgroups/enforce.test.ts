// The kernel enforces what setLimits wrote: memory (OOM kill inside the group only), cpu (throttling),
// pids (no fork past the limit). Assertions are on counters, never on how long something took.
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { CgroupGroup } from '../../../cluster/local/cgroups/index.js'
import { alive, exited, killChildren, openTestDriver, spawnIn, until } from './helpers.js'
import { needs, tier } from '../../helpers/tier.js'

const t = await openTestDriver('enforce')
afterEach(killChildren)
afterAll(() => t.driver.close())

const MiB = 1024 * 1024
const bash = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p))

function pidsEventsMax(g: CgroupGroup): number | undefined {
  for (const f of g.procsFiles) {
    const file = path.join(path.dirname(f), 'pids.events')
    if (existsSync(file)) return Number(/^max (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0)
  }
  return undefined
}

describe(`limits are enforced by the kernel (${t.driver.mode})`, tier('cgroups', t.skip), () => {
  it('a memory hog under 64Mi is OOM-killed inside its group while a sibling keeps running', async () => {
    await t.driver.group('nodes/mem', { memoryBytes: 512 * MiB })
    const hogGroup = await t.driver.group('nodes/mem/i-hog', { memoryBytes: 64 * MiB })
    const sibGroup = await t.driver.group('nodes/mem/i-sibling', { memoryBytes: 64 * MiB })
    const sibling = spawnIn(t.driver, sibGroup, ['sleep', '300'])
    const before = (await hogGroup.sample()).oomKills
    // Buffer.alloc(n, 1) touches every page, so the memory is really charged.
    const hog = spawnIn(t.driver, hogGroup, [process.execPath, '-e', 'const a = []; for (;;) a.push(Buffer.alloc(4 << 20, 1))'])
    const end = await exited(hog)
    expect(end.signal).toBe('SIGKILL')
    const after = await hogGroup.sample()
    expect(after.oomKills).toBeGreaterThan(before)
    expect((await sibGroup.sample()).oomKills).toBe(0)
    expect(sibling.exitCode).toBeNull()
    expect(alive(sibling.pid!)).toBe(true)
    expect(await sibGroup.pids()).toEqual([sibling.pid])
  })

  it('a cpu spinner under cpu 0.2 is throttled', async () => {
    const g = await t.driver.group('nodes/cpu/i-spin', { cpu: 0.2 })
    spawnIn(t.driver, g, ['/bin/sh', '-c', 'while :; do :; done'])
    const s = await until('the spinner to be throttled', async () => {
      const x = await g.sample()
      return x.nrThrottled > 0 && x.throttledUsec > 0 ? x : undefined
    })
    expect(s.nrPeriods).toBeGreaterThanOrEqual(s.nrThrottled)
    expect(s.cpuUsageUsec).toBeGreaterThan(0)
    expect(s.throttledUsec).toBeGreaterThan(0)
    expect(s.pids).toBe(1)
  })

  it('a fork bomb never gets more tasks than pids.max, and remove() ends all of it', needs(bash ? undefined : 'no bash at /bin/bash or /usr/bin/bash'), async () => {
    const limit = 8
    const g = await t.driver.group('nodes/pids/i-bomb', { pids: limit })
    // bash retries a failed fork instead of exiting, so it keeps pushing against the limit.
    spawnIn(t.driver, g, [bash!, '-c', 'while :; do sleep 300 & done'])
    await until('the bomb to reach the limit', async () => ((await g.sample()).pids >= limit ? true : undefined))
    await until('the kernel to refuse a fork', () => ((pidsEventsMax(g) ?? 1) > 0 ? true : undefined))
    for (let i = 0; i < 20; i++) {
      expect((await g.sample()).pids).toBeLessThanOrEqual(limit)
      expect((await g.pids()).length).toBeLessThanOrEqual(limit)
    }
    const pids = await g.pids()
    await g.remove()
    for (const p of pids) expect(alive(p), `pid ${p}`).toBe(false)
    for (const f of g.procsFiles) expect(existsSync(path.dirname(f))).toBe(false)
  })
})
