// Function sets: a `dedicated` function's own Deployment of runtime pods (pod-template.ts), the way
// Fission's newdeploy gives each function a Deployment. Its replicas are the function's instances:
// an executor adds one before it claims a pod and takes one away when an instance ends, each a write
// of the scale subresource guarded by the resourceVersion it read, so executors never lose each
// other's changes. The leader deletes a set once it is at zero replicas and is no longer the one its
// function would use (the function is gone, no longer dedicated, or moved to other limits or nodes).
import { refOfKubeName, refOfMeta } from '../../core/refs.js'
import { ApiException, AppsV1Api, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { InstanceLimits } from '../backend.js'
import { functionLimits } from '../limits.js'
import { FUNCTION_DEFAULTS, type FunctionResource, type RuntimeResource } from '../../core/types.js'
import { COMPONENT, LABEL, functionSetDeployment, functionSetName, type FunctionSetKey, type RuntimePodTemplate } from './pod-template.js'
import { ReconcileLoop } from './reconcile-loop.js'

export interface FunctionSetsOptions {
  namespace: string
  logger: Logger
  function(name: string): FunctionResource | undefined
  runtime(name: string): RuntimeResource | undefined
  isLeader(): boolean
  reconcileMs?: number
  /** The operator's settings for runtime pods (placement, security, requests). */
  template?: RuntimePodTemplate
}

const SCALE_ATTEMPTS = 20

export class FunctionSets {
  private readonly api: AppsV1Api
  private readonly known = new Set<string>()
  private readonly loop: ReconcileLoop

  constructor(kc: KubeConfig, private readonly o: FunctionSetsOptions) {
    this.api = kc.makeApiClient(AppsV1Api)
    this.loop = new ReconcileLoop(() => this.reconcile(), o.reconcileMs ?? 3000)
  }

  /** Makes sure the function's set for this placement and these limits exists; its name. */
  async ensure(k: FunctionSetKey): Promise<string> {
    const name = functionSetName(k, this.o.template)
    if (this.known.has(name)) return name
    try {
      await this.api.createNamespacedDeployment({ namespace: this.o.namespace, body: functionSetDeployment(k, this.o.namespace, this.o.template) })
      this.o.logger.info({ deployment: name, function: k.fn }, 'created function set')
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 409)) throw e
    }
    this.known.add(name)
    return name
  }

  /** Adds `delta` replicas (never below zero), retrying when another executor changed the count first. */
  async scale(name: string, delta: number): Promise<void> {
    for (let i = 0; i < SCALE_ATTEMPTS; i++) {
      const cur = await this.api.readNamespacedDeploymentScale({ name, namespace: this.o.namespace })
      const n = cur.spec?.replicas ?? 0
      const want = Math.max(0, n + delta)
      if (want === n) return
      try {
        // The read's resourceVersion rides along: a count changed since answers 409, and is read again.
        await this.api.replaceNamespacedDeploymentScale({ name, namespace: this.o.namespace, body: { ...cur, spec: { replicas: want } } })
        return
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 409)) throw e
      }
    }
    throw new Error(`function set ${name}: replicas kept changing; gave up after ${SCALE_ATTEMPTS} attempts`)
  }

  /** Forgets a set this process believed existed (it was deleted under it). */
  forget(name: string): void {
    this.known.delete(name)
  }

  start(): void {
    this.loop.start()
  }

  /** One pass (leader only): deletes the sets at zero replicas that no function would use now. */
  async reconcile(): Promise<void> {
    if (!this.o.isLeader()) return
    try {
      const list = await this.api.listNamespacedDeployment({ namespace: this.o.namespace, labelSelector: `app.kubernetes.io/component=${COMPONENT.functionSet}` })
      for (const d of list.items) {
        const name = d.metadata!.name!
        if ((d.spec?.replicas ?? 0) > 0 || name === this.current(d.metadata?.labels?.[LABEL.fn])) continue
        try {
          // The precondition loses to any scale-up since the list: a set about to be used is kept.
          await this.api.deleteNamespacedDeployment({ name, namespace: this.o.namespace, body: { preconditions: { resourceVersion: d.metadata!.resourceVersion } } })
          this.known.delete(name)
          this.o.logger.info({ deployment: name, function: d.metadata?.labels?.[LABEL.fn] }, 'deleted function set')
        } catch (e) {
          if (!(e instanceof ApiException && (e.code === 404 || e.code === 409))) throw e
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'function sets: reconcile failed; retrying')
    }
  }

  /** The set a dedicated function's new instances go to on general nodes; undefined when it has none. */
  private current(label: string | undefined): string | undefined {
    const f = label ? this.o.function(refOfKubeName(label)) : undefined
    const rt = f ? this.o.runtime(f.spec.runtime) : undefined
    if (!f || !rt?.spec.image || (f.spec.strategy ?? FUNCTION_DEFAULTS.strategy) !== 'dedicated') return undefined
    return functionSetName({ fn: refOfMeta(f.metadata), runtime: rt, limits: limitsOf(f) }, this.o.template)
  }

  async close(): Promise<void> {
    await this.loop.stop()
  }
}

/** A function's resources as pod limits: the same the executor asks for (cluster/limits.ts). */
function limitsOf(f: FunctionResource): InstanceLimits | undefined {
  return functionLimits(f) ?? undefined
}
