// Level-triggered, every 2 s: each claimed pod's labels say which function it serves
// (`kubectl get pods -l kiln.dev/function=NAME`), and on the leader each Function's status carries
// its instances (the `Ready` and `Instances` columns of `kubectl get functions`), counted from those
// labels, so the pods every executor replica holds are counted, not the leader's alone.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { versionOf } from '../../core/store/crd-conversion.js'
import type { FunctionResource } from '../../core/types.js'
import type { KubernetesBackend } from './backend.js'

/** What the loop reads of this executor (platform/kubernetes passes it in). */
export interface StatusSource {
  /** Every instance held here, with the function it serves (undefined while generic). */
  instances(): Iterable<{ id: string; fn: string | undefined }>
  /** The functions this executor serves. */
  functions(): Iterable<FunctionResource>
}

export function startStatusLoop(kc: KubeConfig, namespace: string, source: StatusSource, backend: KubernetesBackend, isLeader: () => boolean, logger: Logger): NodeJS.Timeout {
  const api = kc.makeApiClient(CustomObjectsApi)
  const written = new Map<string, string>()
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      for (const rec of source.instances()) await backend.label(rec.id, rec.fn)
      if (!isLeader()) return
      for (const fn of source.functions()) {
        const name = fn.metadata.name
        const { instances, ready } = backend.functionPods(name)
        const generation = fn.metadata.generation ?? 1
        const status = {
          observedGeneration: generation, instances, readyInstances: ready,
          conditions: [{
            type: 'Ready', status: 'True', observedGeneration: generation, lastTransitionTime: fn.metadata.updatedAt ?? new Date().toISOString(),
            reason: ready > 0 ? 'InstancesReady' : 'ServedFromPool',
            message: ready > 0 ? `${ready} instance(s) hold the code` : `the first request takes a pod from the ${fn.spec.runtime} pool`,
          }],
        }
        const sig = `${fn.metadata.generation}:${instances}:${ready}`
        if (written.get(name) === sig) continue
        await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: versionOf('Function'), namespace, plural: 'functions', name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .then(() => written.set(name, sig), (err) => logger.warn({ err, function: name }, 'function status not written'))
      }
    })().finally(() => { busy = false })
  }, 2000)
  timer.unref()
  return timer
}
