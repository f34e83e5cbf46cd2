// One behaviour suite for a function's releases (core/releases/releases.ts) over any pair of stores:
// files in a data dir (test/unit/releases/releases.test.ts) and custom resources on a real
// kube-apiserver (test/k8s/releases.test.ts). `open()` gives fresh, empty stores.
import { expect, it } from 'vitest'
import { KilnError } from '../../core/errors.js'
import { Releases, type ReleaseStores } from '../../core/releases/releases.js'
import type { FunctionResource, FunctionSpec } from '../../core/types.js'

export interface ReleaseStoresUnderTest { stores: ReleaseStores; close(): Promise<void> }

const SHA = (c: string) => c.repeat(64)
const fn = (name: string, spec: Partial<FunctionSpec> = {}, namespace?: string): FunctionResource => ({
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { runtime: 'node', package: { sha256: SHA('a') }, entrypoint: 'index.mjs', ...spec },
})
const who = { id: 'tok123', name: 'ci' }
const noop = async (f: FunctionResource) => f
const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e: KilnError) => e.code)

export function releasesSuite(open: () => Promise<ReleaseStoresUnderTest>): void {
  const use = (retain: number, f: (r: Releases, s: ReleaseStores) => Promise<void>, routes: number[] = []) => async () => {
    const t = await open()
    try { await f(new Releases(t.stores, { retain, routeVersions: () => routes }), t.stores) } finally { await t.close() }
  }

  it('numbers versions 1, 2, 3 with the spec, the author and what changed; the same spec again makes none', use(10, async (r) => {
    expect(await r.deploy(fn('hello'), who, true, noop)).toMatchObject({ version: 1, promoted: true })
    expect(await r.deploy(fn('hello', { env: { A: '1' } }), who, true, noop)).toMatchObject({ version: 2, promoted: true })
    expect(await r.deploy(fn('hello', { env: { A: '1' }, package: { sha256: SHA('b') } }), who, true, noop)).toMatchObject({ version: 3 })
    expect(await r.deploy(fn('hello', { env: { A: '1' }, package: { sha256: SHA('b') } }), who, true, noop)).toMatchObject({ version: undefined, promoted: false })
    const vs = r.versions('hello')
    expect(vs.map((v) => [v.spec.version, v.spec.changed])).toEqual([[1, []], [2, ['env']], [3, ['package']]])
    expect(vs[2].spec.spec.package.sha256).toBe(SHA('b'))
    expect(vs[0].spec.createdBy).toEqual(who)
    expect(vs[0].metadata.labels?.['kiln.dev/function']).toBe('hello')
    expect(r.latest('hello')).toBe(3)
    expect(r.traffic('hello')?.spec.traffic).toEqual({ targets: [{ version: 3, weight: 100 }] })
    // Another namespace's function of the same name has versions of its own.
    await r.deploy(fn('hello', {}, 'team-a'), who, true, noop)
    expect(r.versions('team-a/hello').map((v) => v.spec.version)).toEqual([1])
    expect(r.versions('hello')).toHaveLength(3)
  }))

  it('promote false records a version and leaves the traffic; a first version takes it anyway', use(10, async (r) => {
    expect(await r.deploy(fn('f'), who, false, noop)).toMatchObject({ version: 1, promoted: true })
    expect(await r.deploy(fn('f', { timeoutMs: 5 }), who, false, noop)).toMatchObject({ version: 2, promoted: false })
    expect(r.traffic('f')?.spec.traffic.targets).toEqual([{ version: 1, weight: 100 }])
  }))

  it('rollback goes to the newest version older than the one serving, or the one named; it stops a canary', use(10, async (r) => {
    for (let i = 1; i <= 3; i++) await r.deploy(fn('f', { timeoutMs: i }), who, true, noop)
    expect(await r.rollback('f')).toEqual({ from: 3, to: 2 })
    expect(await r.rollback('f')).toEqual({ from: 2, to: 1 })
    expect(await code(r.rollback('f'))).toBe('KILN_ERR_VERSION_NOT_FOUND')
    expect(await r.rollback('f', 3)).toEqual({ from: 1, to: 3 })
    expect(await code(r.rollback('f', 9))).toBe('KILN_ERR_VERSION_NOT_FOUND')
    await r.startCanary('f', { to: 1, step: 10, intervalMs: 1000, maxErrorRate: 0.01 })
    expect(await r.rollback('f', 2)).toEqual({ from: 3, to: 2 })
    expect(r.traffic('f')?.spec.canary).toMatchObject({ state: 'aborted', reason: 'rolled back by hand to version 2' })
    expect(await code(r.rollback('nope'))).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  }))

  it('splits and aliases: checked, stored apart from the function; an alias a route uses stays', use(10, async (r) => {
    for (let i = 1; i <= 3; i++) await r.deploy(fn('f', { timeoutMs: i }), who, true, noop)
    await r.setSplit('f', { targets: [{ version: 2, weight: 90 }, { version: 3, weight: 10 }], stickyHeader: 'X-User' })
    await r.setSplit('f', { targets: [{ version: 1, weight: 100 }] }, 'prod')
    const t = r.traffic('f')!.spec
    expect(t.traffic).toEqual({ targets: [{ version: 2, weight: 90 }, { version: 3, weight: 10 }], stickyHeader: 'X-User' })
    expect(t.aliases).toEqual({ prod: { targets: [{ version: 1, weight: 100 }] } })
    expect(await code(r.setSplit('f', { targets: [{ version: 2, weight: 80 }] }))).toBe('KILN_ERR_VALIDATION')
    expect(await code(r.setSplit('f', { targets: [{ version: 7, weight: 100 }] }, 'beta'))).toBe('KILN_ERR_VERSION_NOT_FOUND')
    expect(await code(r.deleteAlias('f', 'prod', () => 'route r1'))).toBe('KILN_ERR_IN_USE')
    expect(await code(r.deleteAlias('f', 'beta'))).toBe('KILN_ERR_ALIAS_NOT_FOUND')
    await r.deleteAlias('f', 'prod')
    expect(r.traffic('f')!.spec.aliases).toBeUndefined()
    // A deploy keeps aliases and replaces the main split.
    await r.setSplit('f', { targets: [{ version: 1, weight: 100 }] }, 'prod')
    await r.deploy(fn('f', { timeoutMs: 4 }), who, true, noop)
    expect(r.traffic('f')!.spec).toMatchObject({ traffic: { targets: [{ version: 4, weight: 100 }] }, aliases: { prod: { targets: [{ version: 1, weight: 100 }] } } })
  }))

  it('a canary steps, holds, promotes at 100, rolls back; moves for a canary that changed meanwhile are dropped', use(10, async (r) => {
    await r.deploy(fn('f', { timeoutMs: 1 }), who, true, noop)
    await r.deploy(fn('f', { timeoutMs: 2 }), who, false, noop)
    const c = await r.startCanary('f', { to: 2, step: 40, intervalMs: 1000, maxErrorRate: 0.01, maxP99Ms: 100 })
    expect(c).toMatchObject({ from: 1, to: 2, weight: 40, state: 'running' })
    expect(await code(r.startCanary('f', { to: 2, step: 10, intervalMs: 1000, maxErrorRate: 0.01 }))).toBe('KILN_ERR_CANARY_RUNNING')
    expect(await code(r.setSplit('f', { targets: [{ version: 2, weight: 100 }] }))).toBe('KILN_ERR_CANARY_RUNNING')
    expect(r.traffic('f')!.spec.traffic.targets).toEqual([{ version: 1, weight: 60 }, { version: 2, weight: 40 }])
    const ev = { at: new Date().toISOString(), weight: 40, requests: 50, errors: 0, errorRate: 0, verdict: 'within bounds' }
    expect(await r.advanceCanary('f', c.startedAt, 'hold', { ...ev, verdict: 'waiting' })).toMatchObject({ weight: 40, lastEvaluation: { verdict: 'waiting' } })
    expect(await r.advanceCanary('f', c.startedAt, 'step', ev)).toMatchObject({ weight: 80, state: 'running' })
    expect(r.traffic('f')!.spec.traffic.targets).toEqual([{ version: 1, weight: 20 }, { version: 2, weight: 80 }])
    expect(await r.advanceCanary('f', 'another start', 'step', ev)).toBeUndefined()
    expect(await r.advanceCanary('f', c.startedAt, 'step', ev)).toMatchObject({ weight: 100, state: 'promoted' })
    expect(r.traffic('f')!.spec.traffic.targets).toEqual([{ version: 2, weight: 100 }])
    expect(await r.advanceCanary('f', c.startedAt, 'step', ev)).toBeUndefined()

    await r.deploy(fn('f', { timeoutMs: 3 }), who, false, noop)
    const d = await r.startCanary('f', { to: 3, step: 10, intervalMs: 1000, maxErrorRate: 0.01 })
    expect(await r.advanceCanary('f', d.startedAt, 'rollback', { ...ev, errors: 30, errorRate: 0.3, verdict: 'breach' }, 'error rate 30%')).toMatchObject({ state: 'rolledBack', weight: 0, reason: 'error rate 30%' })
    expect(r.traffic('f')!.spec.traffic.targets).toEqual([{ version: 2, weight: 100 }])
    expect(await code(r.startCanary('f', { to: 2, step: 10, intervalMs: 1000, maxErrorRate: 0.01 }))).toBe('KILN_ERR_VALIDATION')
    expect(await code(r.abortCanary('f'))).toBe('KILN_ERR_CANARY_NOT_FOUND')
    // A promoted deploy supersedes a running canary.
    const e = await r.startCanary('f', { to: 3, step: 10, intervalMs: 1000, maxErrorRate: 0.01 })
    await r.deploy(fn('f', { timeoutMs: 4 }), who, true, noop)
    expect(r.traffic('f')!.spec.canary).toMatchObject({ startedAt: e.startedAt, state: 'aborted', reason: 'superseded by the deploy of version 4' })
  }))

  it('retention keeps the newest versions and those the main split, an alias, a canary or a route use', use(2, async (r) => {
    for (let i = 1; i <= 3; i++) await r.deploy(fn('f', { timeoutMs: i }), who, true, noop)
    expect(r.versions('f').map((v) => v.spec.version)).toEqual([2, 3])
    await r.setSplit('f', { targets: [{ version: 2, weight: 100 }] }, 'prod')
    for (let i = 4; i <= 6; i++) await r.deploy(fn('f', { timeoutMs: i }), who, true, noop)
    expect(r.versions('f').map((v) => v.spec.version)).toEqual([2, 5, 6])
    await r.deploy(fn('f', { timeoutMs: 7 }), who, false, noop)
    await r.startCanary('f', { to: 7, step: 10, intervalMs: 1000, maxErrorRate: 0.01 })
    await r.deploy(fn('f', { timeoutMs: 8 }), who, false, noop)
    await r.deploy(fn('f', { timeoutMs: 9 }), who, false, noop)
    // With the newest two: prod's 2, the route's 5, the canary's 6 (from) and 7 (to).
    expect(r.versions('f').map((v) => v.spec.version)).toEqual([2, 5, 6, 7, 8, 9])
  }, [5]))

  it('reconcile: a function with no versions gets version 1 serving; one changed around a deploy gets a new version serving', use(10, async (r) => {
    let stored: FunctionResource | undefined = fn('old', { timeoutMs: 1 })
    await r.reconcile('old', () => stored)
    expect(r.versions('old').map((v) => [v.spec.version, v.spec.createdBy.id])).toEqual([[1, 'kiln']])
    expect(r.traffic('old')?.spec.traffic.targets).toEqual([{ version: 1, weight: 100 }])
    expect(r.needsReconcile(stored)).toBe(false)
    await r.reconcile('old', () => stored)
    expect(r.latest('old')).toBe(1)
    stored = fn('old', { timeoutMs: 2 })
    expect(r.needsReconcile(stored)).toBe(true)
    await r.reconcile('old', () => stored)
    expect(r.versions('old').map((v) => [v.spec.version, v.spec.note])).toEqual([[1, 'the function as it was when it first got versions'], [2, 'changed outside a deploy']])
    expect(r.traffic('old')?.spec.traffic.targets).toEqual([{ version: 2, weight: 100 }])
    stored = undefined
    await r.reconcile('old', () => stored)
    expect(r.latest('old')).toBe(2)
  }))

  it('forget removes a function\'s versions and traffic, but not those made after the snapshot it is given', use(10, async (r, s) => {
    await r.deploy(fn('f'), who, true, noop)
    await r.deploy(fn('f', { timeoutMs: 2 }), who, true, noop)
    await r.deploy(fn('g'), who, true, noop)
    const seen = r.snapshot('f')
    await r.forget('f')
    // The function made again under its name: creation times on Kubernetes have a resolution of a second.
    await new Promise((res) => setTimeout(res, 1100))
    await r.deploy(fn('f', { timeoutMs: 9 }), who, true, noop)
    await r.forget('f', seen)
    expect(r.versions('f').map((v) => v.spec.version)).toEqual([1])
    expect(r.traffic('f')).toBeDefined()
    await r.forget('f')
    expect(r.versions('f')).toEqual([])
    expect(r.traffic('f')).toBeUndefined()
    expect(s.versions.list().map((v) => v.spec.function)).toEqual(['g'])
  }))

  it('two writers deploying at once never share a number', use(10, async (_r, s) => {
    const a = new Releases(s, { retain: 10 })
    const b = new Releases(s, { retain: 10 })
    await a.deploy(fn('f'), who, true, noop)
    const made = await Promise.all([a.deploy(fn('f', { timeoutMs: 1 }), who, true, noop), b.deploy(fn('f', { timeoutMs: 2 }), who, true, noop)])
    expect(made.map((m) => m.version).sort()).toEqual([2, 3])
    expect(a.versions('f').map((v) => v.spec.version)).toEqual([1, 2, 3])
  }))
}
