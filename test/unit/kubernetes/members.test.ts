// Which executor replica owns a function (cluster/kubernetes/members.ts): rendezvous hashing over the
// live members — one owner per function, a fair share each, and a member leaving moves only its own.
import { describe, expect, it } from 'vitest'
import { memberLeaseName, rendezvous, type Member } from '../../../cluster/kubernetes/members.js'

const m = (identity: string): Member => ({ identity, url: `http://${identity}:8082` })
const keys = Array.from({ length: 600 }, (_, i) => `fn-${i}`)

describe('rendezvous hashing over members', () => {
  it('every key has one owner, the same whatever order the members are listed in', () => {
    const a = [m('exec-a'), m('exec-b'), m('exec-c')]
    const b = [...a].reverse()
    for (const k of keys) expect(rendezvous(k, a)!.identity).toBe(rendezvous(k, b)!.identity)
  })

  it('three members each own about a third', () => {
    const members = [m('exec-a'), m('exec-b'), m('exec-c')]
    const count = new Map<string, number>()
    for (const k of keys) count.set(rendezvous(k, members)!.identity, (count.get(rendezvous(k, members)!.identity) ?? 0) + 1)
    for (const id of ['exec-a', 'exec-b', 'exec-c']) expect(count.get(id)).toBeGreaterThan(140)
  })

  it('a member leaving moves only the keys it owned; one joining takes keys only for itself', () => {
    const three = [m('exec-a'), m('exec-b'), m('exec-c')]
    const two = [m('exec-a'), m('exec-c')]
    for (const k of keys) {
      const before = rendezvous(k, three)!.identity
      const after = rendezvous(k, two)!.identity
      if (before !== 'exec-b') expect(after).toBe(before)
    }
  })

  it('no members: no owner', () => {
    expect(rendezvous('fn', [])).toBeUndefined()
  })

  it('a member Lease is named after the group and the replica', () => {
    expect(memberLeaseName('kiln-executor', 'kiln-executor-7d9f-abcde')).toBe('kiln-executor-member-kiln-executor-7d9f-abcde')
    expect(memberLeaseName('g', 'x'.repeat(300)).length).toBeLessThanOrEqual(253)
  })
})
