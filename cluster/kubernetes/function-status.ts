// Level-triggered, every 2 s: each claimed pod's labels say which function it serves
// (`kubectl get pods -l kiln.dev/function=NAME`), and on the function's owner (else the leader) its status carries
// its instances (the `Ready` and `Instances` columns of `kubectl get functions`), counted from those
// labels, so the pods every executor replica holds are counted, not the leader's alone.
// `observedGeneration` is the generation the executor has applied (whenApplied: the new version is the
// only one served and, for `warm`, warm), written as soon as it is: the controller's deploy waits for
// it (platform/kubernetes/servable.ts), so a deploy returns once the function can be invoked, as in
// the embedded platform.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { versionOf } from '../../core/store/crd-conversion.js'
import { kubeName, refOfMeta } from '../../core/refs.js'
import type { FunctionResource } from '../../core/types.js'
import type { KubernetesBackend } from './backend.js'

/** What the loop reads of this executor (platform/kubernetes passes it in). */
export interface StatusSource {
  /** Every instance held here, with the function it serves (undefined while generic). */
  instances(): Iterable<{ id: string; fn: string | undefined }>
  /** The functions this executor serves. */
  functions(): Iterable<FunctionResource>
  /** Settles once the function's latest spec is applied (old version out of service). */
  whenApplied(ref: string): Promise<void>
  /** Calls back on every change of a function's spec; returns the way to stop. */
  watch(onChange: () => void): () => void
  /**
   * Whether this replica writes the function's status: the replica that owns it (members.ts), whose
   * whenApplied means its warm set is ready. Unset: the leader writes every function's.
   */
  writes?(ref: string): boolean
}

export function startStatusLoop(kc: KubeConfig, namespace: string, source: StatusSource, backend: KubernetesBackend, isLeader: () => boolean, logger: Logger): { stop(): void } {
  const api = kc.makeApiClient(CustomObjectsApi)
  const written = new Map<string, string>()
  /** function → the latest generation whose spec the executor has applied */
  const applied = new Map<string, number>()
  const watching = new Map<string, number>()
  let busy = false
  let again = false
  const pass = () => {
    if (busy) { again = true; return }
    busy = true
    void (async () => {
      for (const rec of source.instances()) await backend.label(rec.id, rec.fn)
      for (const fn of source.functions()) {
        const ref = refOfMeta(fn.metadata)
        if (!(source.writes ? source.writes(ref) : isLeader())) continue
        const name = kubeName(ref)
        const generation = fn.metadata.generation ?? 1
        if (watching.get(ref) !== generation) {
          // Once this generation is applied, write it at once rather than at the next tick.
          watching.set(ref, generation)
          void source.whenApplied(ref).then(() => {
            if ((applied.get(ref) ?? 0) >= generation) return
            applied.set(ref, generation)
            pass()
          })
        }
        const observed = applied.get(ref)
        if (observed === undefined) continue
        const { instances, ready } = backend.functionPods(ref)
        const status = {
          observedGeneration: observed, instances, readyInstances: ready,
          conditions: [{
            type: 'Ready', status: 'True', observedGeneration: observed, lastTransitionTime: fn.metadata.updatedAt ?? new Date().toISOString(),
            reason: ready > 0 ? 'InstancesReady' : 'ServedFromPool',
            message: ready > 0 ? `${ready} instance(s) hold the code` : `the first request takes a pod from the ${fn.spec.runtime} pool`,
          }],
        }
        const sig = `${observed}:${instances}:${ready}`
        if (written.get(name) === sig) continue
        await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: versionOf('Function'), namespace, plural: 'functions', name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .then(() => written.set(name, sig), (err) => logger.warn({ err, function: name }, 'function status not written'))
      }
    })().finally(() => {
      busy = false
      if (again) { again = false; pass() }
    })
  }
  const timer = setInterval(pass, 2000)
  timer.unref()
  // A new spec: once the executor's own watch has applied it (right after this event), watch for it at once.
  const unwatch = source.watch(() => setImmediate(pass))
  return { stop: () => { clearInterval(timer); unwatch() } }
}
