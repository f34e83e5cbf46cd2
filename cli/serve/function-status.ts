// Level-triggered, every 2 s: each claimed pod's labels say which function it serves
// (`kubectl get pods -l kiln.dev/function=NAME`), and on the leader each Function's status carries
// its instances (the `Ready` and `Instances` columns of `kubectl get functions`), counted from those
// labels, so the pods every executor replica holds are counted, not the leader's alone.
// `observedGeneration` is the generation the executor has applied (executor.whenApplied: the new
// version is the only one served and, for `warm`, warm), written as soon as it is: the controller's
// deploy waits for it (awaitServable), so a deploy returns once the function can be invoked, as in
// the embedded platform.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { KubernetesBackend } from '../../cluster/kubernetes/backend.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource } from '../../core/types.js'
import type { Executor } from '../../executor/executor.js'
import type { Fleet } from '../../poolmgr/fleet.js'

export function startStatusLoop(kc: KubeConfig, namespace: string, executor: Executor, fleet: Fleet, backend: KubernetesBackend, isLeader: () => boolean, logger: Logger, functions: ResourceStore<FunctionResource>): { stop(): void } {
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
      for (const rec of fleet.records.values()) await backend.label(rec.id, rec.state === 'generic' ? undefined : rec.fn)
      if (!isLeader()) return
      for (const fs of executor.functions()) {
        const generation = fs.fn.metadata.generation ?? 1
        if (watching.get(fs.name) !== generation) {
          // Once this generation is applied, write it at once rather than at the next tick.
          watching.set(fs.name, generation)
          void executor.whenApplied(fs.name).then(() => {
            if ((fs.fn.metadata.generation ?? 1) !== generation || (applied.get(fs.name) ?? 0) >= generation) return
            applied.set(fs.name, generation)
            pass()
          })
        }
        const observed = applied.get(fs.name)
        if (observed === undefined) continue
        const { instances, ready } = backend.functionPods(fs.name)
        const status = {
          observedGeneration: observed, instances, readyInstances: ready,
          conditions: [{
            type: 'Ready', status: 'True', observedGeneration: observed, lastTransitionTime: fs.fn.metadata.updatedAt ?? new Date().toISOString(),
            reason: ready > 0 ? 'InstancesReady' : 'ServedFromPool',
            message: ready > 0 ? `${ready} instance(s) hold the code` : `the first request takes a pod from the ${fs.fn.spec.runtime} pool`,
          }],
        }
        const sig = `${observed}:${instances}:${ready}`
        if (written.get(fs.name) === sig) continue
        await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: 'v1', namespace, plural: 'functions', name: fs.name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .then(() => written.set(fs.name, sig), (err) => logger.warn({ err, function: fs.name }, 'function status not written'))
      }
    })().finally(() => {
      busy = false
      if (again) { again = false; pass() }
    })
  }
  const timer = setInterval(pass, 2000)
  timer.unref()
  // A new spec: once the executor's own watch has applied it (right after this event), watch for it at once.
  const unwatch = functions.watch((ev) => { if (ev.type === 'put') setImmediate(pass) })
  return { stop: () => { clearInterval(timer); unwatch() } }
}
