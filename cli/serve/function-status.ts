// Level-triggered, every 2 s: each claimed pod's labels say which function it serves
// (`kubectl get pods -l kiln.dev/function=NAME`), and on the leader each Function's status carries
// its instances (the `Ready` and `Instances` columns of `kubectl get functions`), counted from those
// labels, so the pods every executor replica holds are counted, not the leader's alone.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { KubernetesBackend } from '../../cluster/kubernetes/backend.js'
import type { Executor } from '../../executor/executor.js'
import type { Fleet } from '../../poolmgr/fleet.js'

export function startStatusLoop(kc: KubeConfig, namespace: string, executor: Executor, fleet: Fleet, backend: KubernetesBackend, isLeader: () => boolean, logger: Logger): NodeJS.Timeout {
  const api = kc.makeApiClient(CustomObjectsApi)
  const written = new Map<string, string>()
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      for (const rec of fleet.records.values()) await backend.label(rec.id, rec.state === 'generic' ? undefined : rec.fn)
      if (!isLeader()) return
      for (const fs of executor.functions()) {
        const { instances, ready } = backend.functionPods(fs.name)
        const generation = fs.fn.metadata.generation ?? 1
        const status = {
          observedGeneration: generation, instances, readyInstances: ready,
          conditions: [{
            type: 'Ready', status: 'True', observedGeneration: generation, lastTransitionTime: fs.fn.metadata.updatedAt ?? new Date().toISOString(),
            reason: ready > 0 ? 'InstancesReady' : 'ServedFromPool',
            message: ready > 0 ? `${ready} instance(s) hold the code` : `the first request takes a pod from the ${fs.fn.spec.runtime} pool`,
          }],
        }
        const sig = `${fs.fn.metadata.generation}:${instances}:${ready}`
        if (written.get(fs.name) === sig) continue
        await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: 'v1', namespace, plural: 'functions', name: fs.name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .then(() => written.set(fs.name, sig), (err) => logger.warn({ err, function: fs.name }, 'function status not written'))
      }
    })().finally(() => { busy = false })
  }, 2000)
  timer.unref()
  return timer
}
