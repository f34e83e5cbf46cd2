// Runtime pods claimed by an executor replica that is gone (killed, its node lost): nobody serves from
// them, and a function set would keep their replicas. Any replica reclaims them once the owner's member
// Lease has expired (members.ts): it takes each such pod with one JSON patch whose `test` op makes the
// take atomic among replicas (as a claim is, backend.ts), gives a function set's replica back, and
// deletes the pod. A replica never seen holding a Lease (one that predates member Leases) is given one
// lease duration from when its pods were first seen before they are reclaimed.
import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { FunctionSets } from './function-sets.js'
import { COMPONENT, LABEL } from './pod-template.js'

export interface OrphanSweepOptions {
  api: CoreV1Api
  namespace: string
  identity: string
  /** The runtime pods this replica watches (claimed ones included). */
  pods(): readonly V1Pod[]
  /** A replica's membership: live, gone since (ms), or never seen. */
  member(identity: string): { live: true } | { live: false; since: number } | undefined
  /** How long a replica never seen in a Lease is waited for. */
  leaseMs: number
  sets?: FunctionSets
  logger: Logger
}

const esc = (label: string) => label.replace('~', '~0').replace('/', '~1')
export const RECLAIMED_BY = 'kiln.dev/reclaimed-by'
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost'

export class OrphanSweeper {
  /** Replicas with claimed pods but no Lease, since when they were first seen so. */
  private readonly unknown = new Map<string, number>()

  constructor(private readonly o: OrphanSweepOptions) {}

  /** One pass: the pods whose owner is gone, reclaimed by whichever replica takes each first. Returns how many this one took. */
  async sweep(now = Date.now()): Promise<number> {
    const byOwner = new Map<string, V1Pod[]>()
    for (const p of this.o.pods()) {
      const owner = p.metadata?.labels?.[LABEL.executor]
      if (!owner || owner === this.o.identity || p.metadata?.deletionTimestamp) continue
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), p])
    }
    for (const id of [...this.unknown.keys()]) if (!byOwner.has(id)) this.unknown.delete(id)
    let taken = 0
    for (const [owner, pods] of byOwner) {
      const m = this.o.member(owner)
      if (m?.live) { this.unknown.delete(owner); continue }
      if (m === undefined) {
        const first = this.unknown.get(owner) ?? now
        this.unknown.set(owner, first)
        if (now - first < this.o.leaseMs) continue
      }
      for (const p of pods) if (await this.reclaim(p, owner)) taken++
    }
    return taken
  }

  private async reclaim(p: V1Pod, owner: string): Promise<boolean> {
    const name = p.metadata!.name!
    const { api, namespace } = this.o
    try {
      await api.patchNamespacedPod({
        name, namespace,
        body: [
          { op: 'test', path: `/metadata/labels/${esc(LABEL.executor)}`, value: owner },
          { op: 'replace', path: `/metadata/labels/${esc(LABEL.executor)}`, value: this.o.identity },
          // The cheapest pod to delete: scaling its set down removes this one, not a busy pod.
          { op: 'add', path: `/metadata/annotations`, value: { ...p.metadata?.annotations, [RECLAIMED_BY]: this.o.identity, [DELETION_COST]: '-1000000' } },
        ],
      }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))
    } catch (e) {
      // Another replica took it first, or it is gone.
      if (e instanceof ApiException && [404, 409, 422].includes(e.code)) return false
      throw e
    }
    const labels = p.metadata?.labels ?? {}
    this.o.logger.info({ pod: name, owner, function: labels[LABEL.fn] }, 'reclaiming the runtime pod of a vanished executor')
    if (this.o.sets && labels['app.kubernetes.io/component'] === COMPONENT.functionSet && labels[LABEL.pool]) {
      await this.o.sets.scale(labels[LABEL.pool], -1).catch((err) => this.o.logger.warn({ err, pod: name }, 'function set not scaled down'))
    }
    try {
      await api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 1 })
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) this.o.logger.warn({ err: e, pod: name }, 'reclaimed pod not deleted')
    }
    return true
  }
}
