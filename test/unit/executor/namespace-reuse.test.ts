// The pool-poisoning rule across trust boundaries: who may be specialized on an instance that has run
// someone's code. The sequence it stops: a function patches a global, is deleted, and its instance
// (unloaded "clean") is handed to a victim of another namespace.
import { describe, expect, it } from 'vitest'
import { namespaceAllowsReuse, namespaceSharing, type CodeOwner } from '../../../executor/namespace-reuse.js'
import { CachedStore } from '../../../core/store/resource-store.js'
import type { NamespaceResource } from '../../../core/types.js'

const fn = (namespace: string, name: string, uid = `${namespace}/${name}#1`): CodeOwner => ({ namespace, name, uid })
const never = () => false
const always = () => true

describe('namespaceAllowsReuse', () => {
  it('the same function (a new version of it) may reuse its own instance, sharing on or off', () => {
    expect(namespaceAllowsReuse(fn('team-a', 'api'), fn('team-a', 'api'), never)).toBe(true)
    expect(namespaceAllowsReuse(fn('default', 'api'), fn('default', 'api'), never)).toBe(true)
  })

  it('a function of another namespace never gets it, even when both namespaces share instances', () => {
    expect(namespaceAllowsReuse(fn('attacker', 'patcher'), fn('victim', 'payroll'), always)).toBe(false)
    expect(namespaceAllowsReuse(fn('default', 'hello'), fn('team-a', 'hello'), always)).toBe(false)
    expect(namespaceAllowsReuse(fn('team-a', 'hello'), fn('default', 'hello'), always)).toBe(false)
  })

  it('another function of the same namespace gets it only when that namespace shares instances', () => {
    expect(namespaceAllowsReuse(fn('team-a', 'one'), fn('team-a', 'two'), never)).toBe(false)
    expect(namespaceAllowsReuse(fn('team-a', 'one'), fn('team-a', 'two'), (ns) => ns === 'team-a')).toBe(true)
    expect(namespaceAllowsReuse(fn('team-a', 'one'), fn('team-a', 'two'), (ns) => ns === 'team-b')).toBe(false)
  })

  it('a function deleted and created again under its name is another function (the patch-delete-redeploy sequence)', () => {
    expect(namespaceAllowsReuse(fn('team-a', 'api', 'old'), fn('team-a', 'api', 'new'), never)).toBe(false)
    expect(namespaceAllowsReuse(fn('team-a', 'api', 'old'), fn('team-a', 'api', 'new'), always)).toBe(true)
  })
})

describe('namespaceSharing', () => {
  it('reads each namespace\'s shareInstances live: off by default, default included, on where set', async () => {
    const store = await new CachedStore<NamespaceResource>('Namespace').open()
    const sharing = namespaceSharing(store)
    expect(sharing.shareWithinNamespace('default')).toBe(false)
    expect(sharing.shareWithinNamespace('team-a')).toBe(false)
    await store.put({ metadata: { name: 'team-a' }, spec: { shareInstances: true } })
    await store.put({ metadata: { name: 'team-b' }, spec: {} })
    expect(sharing.shareWithinNamespace('team-a')).toBe(true)
    expect(sharing.shareWithinNamespace('team-b')).toBe(false)
    await store.put({ metadata: { name: 'team-a' }, spec: { shareInstances: false } })
    expect(sharing.shareWithinNamespace('team-a')).toBe(false)
    // Together: a poisoned instance of team-a never reaches team-b, whatever team-a allows.
    await store.put({ metadata: { name: 'team-a' }, spec: { shareInstances: true } })
    expect(namespaceAllowsReuse(fn('team-a', 'patcher'), fn('team-b', 'victim'), sharing.shareWithinNamespace)).toBe(false)
    expect(namespaceAllowsReuse(fn('team-a', 'patcher'), fn('team-a', 'neighbour'), sharing.shareWithinNamespace)).toBe(true)
  })
})
