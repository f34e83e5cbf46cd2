// A function version's count of ready instances (FunctionState.readyCount, read on the acquire slow
// path instead of a scan) stays equal to a recount through every way an instance changes: it joins
// ready, becomes ready while a member, serves (busy), drains, exits, is removed, returns to a pool and
// is loaded for another function, or dies before it joins.
import { afterEach, describe, expect, it } from 'vitest'
import type { FunctionResource } from '../../../core/types.js'
import { FunctionState } from '../../../executor/function-state.js'
import { InstanceRecord } from '../../../poolmgr/instance.js'

const fn = (name: string): FunctionResource => ({
  metadata: { name }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs' },
}) as FunctionResource

const made: InstanceRecord[] = []
afterEach(async () => { await Promise.all(made.splice(0).map((r) => r.client.destroy())) })

let seq = 0
/** A real record (its connection pool opens nothing until used) of an instance that never runs. */
function record(): InstanceRecord {
  const rec = new InstanceRecord({ id: `i${++seq}`, runtime: 'node', node: 'n', url: 'http://127.0.0.1:9', pid: 0, startedAt: Date.now(), bootMs: 0, exited: new Promise(() => undefined) }, 'node')
  made.push(rec)
  return rec
}

/** The scan the counter replaces. */
const recount = (fs: FunctionState) => fs.instances.filter((r) => r.state === 'ready').length

function expectCount(fs: FunctionState, n: number): void {
  expect([fs.readyCount, recount(fs)]).toEqual([n, n])
}

describe('FunctionState.readyCount', () => {
  it('matches a recount after each add, ready, busy, drain, exit and remove', () => {
    const fs = new FunctionState(fn('f'))
    expectCount(fs, 0)

    // Loaded, then joins (executor startProvision after loadCode).
    const a = record()
    a.state = 'specializing'
    a.state = 'ready'
    fs.add(a)
    expectCount(fs, 1)

    const b = record()
    b.state = 'ready'
    fs.add(b)
    expectCount(fs, 2)

    // Busy: still ready (a slot taken is not a state).
    b.inflight++
    expectCount(fs, 2)

    // Becomes ready while a member.
    const c = record()
    c.state = 'specializing'
    fs.add(c)
    expectCount(fs, 2)
    c.state = 'ready'
    expectCount(fs, 3)

    // A version roll: an old version's ready instance counts until it drains (the scan counted any version).
    fs.version = 'other'
    expectCount(fs, 3)

    // Drained with a request in flight (stays a member), then it exits (the fleet's 'gone'), then leaves.
    b.state = 'draining'
    expectCount(fs, 2)
    b.state = 'gone'
    expectCount(fs, 2)
    fs.remove(b)
    expectCount(fs, 2)
    fs.remove(b) // removing twice changes nothing
    expectCount(fs, 2)

    // Crashes while ready: gone at once, then removed.
    a.state = 'gone'
    expectCount(fs, 1)
    fs.remove(a)
    expectCount(fs, 1)

    // Removed while ready (reclaimed idle: drained and removed), then the same state again is no change.
    fs.remove(c)
    expectCount(fs, 0)
    c.state = 'ready'
    expectCount(fs, 0)

    // An instance that died before it could join.
    const d = record()
    d.state = 'gone'
    fs.add(d)
    expectCount(fs, 0)
  })

  it('an instance that leaves for a pool and is loaded for another function counts there only', () => {
    const one = new FunctionState(fn('one'))
    const two = new FunctionState(fn('two'))
    const r = record()
    r.state = 'ready'
    one.add(r)
    expectCount(one, 1)
    r.state = 'draining'
    one.remove(r)
    r.state = 'generic' // unloaded, back in its pool
    r.state = 'specializing'
    r.state = 'ready'
    two.add(r)
    expectCount(one, 0)
    expectCount(two, 1)
    r.state = 'draining'
    expectCount(one, 0)
    expectCount(two, 0)
  })
})
