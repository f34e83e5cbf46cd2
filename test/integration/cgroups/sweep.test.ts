import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { detectCgroups } from '../../../cluster/local/cgroups/index.js'
import { alive, killChildren, openTestDriver, spawnIn, until } from './helpers.js'
import { tier } from '../../helpers/tier.js'

const t = await openTestDriver('sweep')
afterEach(killChildren)
afterAll(() => t.driver.close())

describe(`sweep and close (${t.driver.mode})`, tier('cgroups', t.skip), () => {
  it('sweep() at startup kills what a crashed run left in its groups and removes the groups', async () => {
    // "Previous run": instances left running in their groups, nobody to clean up.
    const g1 = await t.driver.group('nodes/general/i-old1')
    const g2 = await t.driver.group('nodes/isolated/i-old2')
    const a = spawnIn(t.driver, g1, ['sleep', '300'])
    const b = spawnIn(t.driver, g2, ['/bin/sh', '-c', 'sleep 300 & sleep 300 & wait'])
    await until('three leftovers', async () => ((await g1.pids()).length + (await g2.pids()).length === 4 ? true : undefined))
    // "This run": a fresh driver with the same root name.
    const again = await detectCgroups({ rootName: t.rootName })
    expect(again.mode).toBe(t.driver.mode)
    expect(await again.sweep()).toBe(4)
    expect(alive(a.pid!)).toBe(false)
    expect(alive(b.pid!)).toBe(false)
    for (const f of [...g1.procsFiles, ...g2.procsFiles]) expect(existsSync(path.dirname(f))).toBe(false)
    expect(await again.sweep()).toBe(0)
  })

  it('close() removes the whole root tree', async () => {
    const other = await openTestDriver('sweep-close')
    const g = await other.driver.group('nodes/general/i-1', { pids: 5 })
    spawnIn(other.driver, g, ['sleep', '300'])
    await until('the instance to start', async () => ((await g.pids()).length === 1 ? true : undefined))
    await other.driver.close()
    for (const f of g.procsFiles) {
      const rootDir = f.slice(0, f.indexOf(`/${other.rootName}/`) + other.rootName.length + 1)
      expect(existsSync(rootDir), rootDir).toBe(false)
    }
  })
})
