import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseProcCgroup } from '../../../cluster/local/cgroups/proc-parse.js'
import { killChildren, openTestDriver, output, spawnIn } from './helpers.js'
import { tier } from '../../helpers/tier.js'

const t = await openTestDriver('enter')
afterEach(killChildren)
afterAll(() => t.driver.close())

describe(`entering a cgroup before running (${t.driver.mode})`, tier('cgroups', t.skip), () => {
  it('the exec\'d program is already in the group when it starts: its /proc/self/cgroup shows the path', async () => {
    const g = await t.driver.group('nodes/general/i-enter')
    // `cat` is the wrapped runtime: the first thing it does is read its own cgroup membership.
    const r = await output(spawnIn(t.driver, g, ['cat', '/proc/self/cgroup']))
    expect(r.code).toBe(0)
    const lines = parseProcCgroup(r.stdout)
    const suffix = `/${t.rootName}/nodes/general/i-enter`
    const wanted = t.driver.mode === 'v2' ? lines.filter((l) => l.id === 0) : lines.filter((l) => ['cpu', 'cpuacct', 'memory', 'pids'].some((c) => l.controllers.includes(c)))
    expect(wanted.length).toBeGreaterThan(0)
    for (const l of wanted) expect(l.path.endsWith(suffix), `${l.controllers.join(',') || 'unified'}: ${l.path}`).toBe(true)
  })

  it('passes the runtime argv through unchanged', async () => {
    const g = await t.driver.group('nodes/general/i-argv')
    const args = ['a b', "it's", '$PATH', '"; rm -rf /', '']
    const r = await output(spawnIn(t.driver, g, [process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '--', ...args]))
    expect(JSON.parse(r.stdout)).toEqual(args)
  })

  it('pids() lists the running instance and killAll() ends it', async () => {
    const g = await t.driver.group('nodes/general/i-kill')
    const child = spawnIn(t.driver, g, ['sleep', '300'])
    const done = output(child)
    const { until } = await import('./helpers.js')
    await until('the sleep to be listed', async () => ((await g.pids()).includes(child.pid!) ? true : undefined))
    await g.killAll()
    expect((await done).signal).toBe('SIGKILL')
    expect(await g.pids()).toEqual([])
  })
})
