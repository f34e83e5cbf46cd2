// Pool Deployments, level-triggered: one per runtime and placement (pod-template.ts). Any executor
// creates a missing one when it needs it; the leader alone scales them to the runtime's `poolSize`,
// rolls their template when the runtime changes, keeps a default pool for every runtime with an
// image, and deletes the pools of runtimes that are gone.
import { ApiException, AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Deployment } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { NodeConfig } from '../../core/config.js'
import type { RuntimeResource } from '../../core/types.js'
import { LABEL, TEMPLATE_HASH, isIsolated, poolDeployment, poolName, type PoolKey, type RuntimePodTemplate } from './pod-template.js'
import { ReconcileLoop } from './reconcile-loop.js'

export interface PoolDeploymentsOptions {
  namespace: string
  logger: Logger
  runtimes(): RuntimeResource[]
  runtime(name: string): RuntimeResource | undefined
  /** Generic pods a pool keeps: the platform's one pool-size policy (poolmgr/pool-size.ts). */
  poolSize(runtime: RuntimeResource, special: boolean): number
  isLeader(): boolean
  reconcileMs?: number
  /** The operator's settings for runtime pods (placement, security, requests). */
  template?: RuntimePodTemplate
}

export class PoolDeployments {
  private readonly api: AppsV1Api
  /** Pools asked for (by name): the runtime's name and the placement/limits that shape the pods. */
  private readonly wanted = new Map<string, { runtime: string; node?: NodeConfig; limits?: PoolKey['limits'] }>()
  private readonly known = new Set<string>()
  private readonly loop: ReconcileLoop

  constructor(kc: KubeConfig, private readonly o: PoolDeploymentsOptions) {
    this.api = kc.makeApiClient(AppsV1Api)
    this.loop = new ReconcileLoop(() => this.reconcile(), o.reconcileMs ?? 3000)
  }

  /**
   * Replicas a pool keeps generic: the pool-size policy's number, and at least one, since an instance
   * here is only ever a pod claimed from its pool (there is no boot on the spot as locally).
   */
  replicas(k: PoolKey): number {
    const special = isIsolated(k.node) || (k.limits !== undefined && Object.values(k.limits).some((v) => v !== undefined))
    return Math.max(this.o.poolSize(k.runtime, special), 1)
  }

  /** Makes sure the pool's Deployment exists (and, on the leader, has the right size and template). */
  async ensure(k: PoolKey): Promise<string> {
    const name = poolName(k)
    if (!this.wanted.has(name)) this.wanted.set(name, { runtime: k.runtime.metadata.name, node: k.node, limits: k.limits })
    if (!this.known.has(name)) await this.sync(k)
    return name
  }

  start(): void {
    this.loop.start()
  }

  /** One pass (leader only): every runtime's default pool and every pool asked for, at its size; orphans deleted. */
  async reconcile(): Promise<void> {
    if (!this.o.isLeader()) return
    try {
      const runtimes = this.o.runtimes().filter((rt) => rt.spec.image)
      for (const rt of runtimes) {
        const name = poolName({ runtime: rt })
        if (!this.wanted.has(name)) this.wanted.set(name, { runtime: rt.metadata.name })
      }
      for (const [name, w] of this.wanted) {
        const rt = this.o.runtime(w.runtime)
        if (!rt?.spec.image) { this.wanted.delete(name); continue }
        await this.sync({ runtime: rt, node: w.node, limits: w.limits })
      }
      const live = new Set(runtimes.map((r) => r.metadata.name))
      const list = await this.api.listNamespacedDeployment({ namespace: this.o.namespace, labelSelector: 'app.kubernetes.io/component=runtime-pool' })
      for (const d of list.items) {
        const rt = d.metadata?.labels?.[LABEL.runtime]
        if (rt && !live.has(rt)) {
          this.o.logger.info({ deployment: d.metadata!.name, runtime: rt }, 'deleting the pool of a deleted runtime')
          await this.api.deleteNamespacedDeployment({ name: d.metadata!.name!, namespace: this.o.namespace }).catch(() => undefined)
          this.known.delete(d.metadata!.name!)
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'pool deployments: reconcile failed; retrying')
    }
  }

  private async sync(k: PoolKey): Promise<void> {
    const want = poolDeployment(k, this.o.namespace, this.replicas(k), this.o.template)
    const name = want.metadata!.name!
    let have: V1Deployment | undefined
    try {
      have = await this.api.readNamespacedDeployment({ name, namespace: this.o.namespace })
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e
    }
    if (!have) {
      try {
        await this.api.createNamespacedDeployment({ namespace: this.o.namespace, body: want })
        this.o.logger.info({ deployment: name, replicas: want.spec!.replicas }, 'created pool deployment')
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 409)) throw e
      }
      this.known.add(name)
      return
    }
    this.known.add(name)
    if (!this.o.isLeader()) return
    const sameTemplate = have.metadata?.annotations?.[TEMPLATE_HASH] === want.metadata!.annotations![TEMPLATE_HASH]
    if (sameTemplate && have.spec?.replicas === want.spec!.replicas) return
    const patch = sameTemplate
      ? { spec: { replicas: want.spec!.replicas } }
      : { metadata: { annotations: want.metadata!.annotations }, spec: { replicas: want.spec!.replicas, template: want.spec!.template } }
    await this.api.patchNamespacedDeployment({ name, namespace: this.o.namespace, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    this.o.logger.info({ deployment: name, replicas: want.spec!.replicas, rolled: !sameTemplate }, 'updated pool deployment')
  }

  async close(): Promise<void> {
    await this.loop.stop()
  }
}
