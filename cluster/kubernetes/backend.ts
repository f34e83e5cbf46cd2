// The Kubernetes cluster backend: an instance is a runtime pod. `start()` takes a Ready generic pod out
// of its pool Deployment by relabelling it (`kiln.dev/state: generic → claimed`, with this executor's
// identity and the instance id) — one JSON patch whose `test` op makes the take atomic between
// executors. The pod leaves the ReplicaSet's selector, so the ReplicaSet boots a replacement: that is
// the pool refill. An instance booted for a `dedicated` function (`spec.function`) comes from that
// function's own Deployment instead (function-sets.ts): `start()` adds a replica, then claims a pod the
// same way; the pod stays in its Deployment, and the replica is taken away when the instance ends.
// The instance's URL is `http://<podIP>:<port>`; `stop()` deletes the pod; the instance has exited
// when its pod is deleted, fails, or its container restarts (the code is lost). `setLimits()` resizes
// the claimed pod in place (`pods/resize`, resize.ts) so a `pool`/`warm` function's resources reach it.
import { ApiException, CoreV1Api, PatchStrategy, makeInformer, setHeaderOptions, type Informer, type KubeConfig, type ObjectCache, type V1Pod } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { ClusterBackend, ExitInfo, Instance, InstanceLimits, InstanceSample, InstanceSpec } from '../backend.js'
import type { NodeConfig } from '../../core/config.js'
import { KilnError } from '../../core/errors.js'
import { kubeName } from '../../core/refs.js'
import { clusterForbidden } from '../../core/store/crd-store.js'
import type { RuntimeResource } from '../../core/types.js'
import type { FunctionSets } from './function-sets.js'
import { exitOf, isReady, restarts } from './pod-status.js'
import { COMPONENT, LABEL, portOf, type PoolKey } from './pod-template.js'
import type { PodLoads } from './pod-loads.js'
import type { PoolDeployments } from './pools.js'
import { fromK8s, kubeMessage, lifts, nodeCapacity, podLimits, resizeState, resizeTarget, runtimeContainer, sameResources, toK8s, type Resources } from './resize.js'

export interface KubernetesBackendOptions {
  kc: KubeConfig
  namespace: string
  /** This executor (its pod name): claimed pods carry it, so its leftovers can be found. */
  identity: string
  logger: Logger
  pools: PoolDeployments
  /** Dedicated functions' own Deployments; without it their instances come from the pools too. */
  sets?: FunctionSets
  /** The node agents' latest reports, for `sample(id)` (the load monitor). */
  loads?: PodLoads
  runtime(name: string): RuntimeResource | undefined
  /** Placement classes (the Fleet's nodes): an isolated one adds the toleration and node affinity. */
  nodes: NodeConfig[]
  /** How long a start waits for a Ready pod (default 120 s). */
  readyTimeoutMs?: number
  /** How long `setLimits` waits for the kubelet to apply a resize (default 30 s). */
  resizeTimeoutMs?: number
}

interface Held {
  inst: Instance
  pod: string
  restarts: number
  /** The function set the pod belongs to (dedicated), whose replica it holds until `release()`. */
  set?: string
  /** The runtime container's resources as claimed: what `setLimits(id, null)` restores. */
  resources: Resources
  release?: Promise<void>
  settle(exit: ExitInfo): void
}

const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost'

const esc = (label: string) => label.replace('~', '~0').replace('/', '~1')

export class KubernetesBackend implements ClusterBackend {
  readonly name = 'kubernetes'
  private readonly api: CoreV1Api
  private readonly held = new Map<string, Held>()
  private readonly byPod = new Map<string, string>()
  private readonly claiming = new Set<string>()
  private readonly wake = new Set<() => void>()
  private informer!: Informer<V1Pod> & ObjectCache<V1Pod>
  private closed = false
  private packageBase: string | undefined
  private signPackage: ((sha256: string) => string) | undefined

  constructor(private readonly o: KubernetesBackendOptions) {
    this.api = o.kc.makeApiClient(CoreV1Api)
  }

  /**
   * The platform URL runtime pods download packages from (`/v1/packages/<sha256>?sig=...`): KILN_PACKAGE_URL
   * or the executor's own; `sign` makes the URL's signature (a pod holds no token).
   */
  setPackageBase(url: string, sign?: (sha256: string) => string): void {
    this.packageBase = url.replace(/\/+$/, '')
    this.signPackage = sign
  }

  codeUrl(sha256: string): string | undefined {
    if (!this.packageBase) return undefined
    return `${this.packageBase}/v1/packages/${sha256}${this.signPackage ? `?sig=${this.signPackage(sha256)}` : ''}`
  }

  async open(): Promise<this> {
    const ns = this.o.namespace
    const inf = makeInformer<V1Pod>(this.o.kc, `/api/v1/namespaces/${ns}/pods`, () => this.api.listNamespacedPod({ namespace: ns, labelSelector: LABEL.pool }), LABEL.pool)
    inf.on('add', (p) => this.observe(p))
    inf.on('update', (p) => this.observe(p))
    inf.on('delete', (p) => this.gone(p, undefined))
    inf.on('error', (err) => {
      if (this.closed) return
      this.o.logger.warn({ err }, 'pod watch failed; restarting')
      setTimeout(() => void inf.start().catch(() => undefined), 1000).unref()
    })
    this.informer = inf
    await inf.start()
    // Pods an earlier run of this executor claimed are nobody's now.
    for (const p of inf.list(ns)) {
      const l = p.metadata?.labels ?? {}
      if (l[LABEL.executor] !== this.o.identity) continue
      await this.deletePod(p.metadata!.name!, 1)
      if (this.o.sets && l['app.kubernetes.io/component'] === COMPONENT.functionSet) await this.o.sets.scale(l[LABEL.pool]!, -1).catch(() => undefined)
    }
    return this
  }

  async start(spec: InstanceSpec): Promise<Instance> {
    if (this.closed) throw new Error('backend closed')
    const rt = this.o.runtime(spec.runtime)
    if (!rt?.spec.image) throw new KilnError('KILN_ERR_NO_CAPACITY', `runtime "${spec.runtime}" has no image: on Kubernetes a runtime runs as pods of its image`)
    const key: PoolKey = { runtime: rt, node: this.o.nodes.find((n) => n.name === spec.node), limits: spec.limits }
    const t0 = performance.now()
    if (spec.function && this.o.sets) return this.startInSet(spec, rt, { ...key, fn: spec.function }, t0)
    return this.take(await this.o.pools.ensure(key), spec, rt, t0)
  }

  /** One more replica of the function's set, then a pod of it; the replica is given back if none comes. */
  private async startInSet(spec: InstanceSpec, rt: RuntimeResource, key: PoolKey & { fn: string }, t0: number): Promise<Instance> {
    const sets = this.o.sets!
    let set = await sets.ensure(key)
    try {
      await sets.scale(set, +1)
    } catch (e) {
      // Deleted under us (the leader removes idle sets): make it again.
      if (!(e instanceof ApiException && e.code === 404)) throw e
      sets.forget(set)
      set = await sets.ensure(key)
      await sets.scale(set, +1)
    }
    try {
      return await this.take(set, spec, rt, t0)
    } catch (e) {
      await sets.scale(set, -1).catch((err) => this.o.logger.warn({ err, deployment: set }, 'function set not scaled back down'))
      throw e
    }
  }

  /** Claims a Ready generic pod of the Deployment, waiting for one. */
  private async take(pool: string, spec: InstanceSpec, rt: RuntimeResource, t0: number): Promise<Instance> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 120_000)
    for (;;) {
      const pod = this.pick(pool)
      if (pod) {
        const inst = await this.claim(pod, spec, rt, performance.now() - t0)
        if (inst) return inst
        continue
      }
      if (Date.now() > deadline || this.closed) {
        throw new KilnError('KILN_ERR_NO_CAPACITY', `no Ready pod in ${pool} within ${this.o.readyTimeoutMs ?? 120_000} ms (see \`kubectl get pods -l ${LABEL.pool}=${pool}\`)`)
      }
      await this.changed(deadline)
    }
  }

  /** A Ready generic pod of the pool that nobody is claiming, oldest first. */
  private pick(pool: string): V1Pod | undefined {
    let best: V1Pod | undefined
    for (const p of this.informer.list(this.o.namespace)) {
      const l = p.metadata?.labels ?? {}
      if (l[LABEL.pool] !== pool || l[LABEL.state] !== 'generic' || p.metadata?.deletionTimestamp || !p.status?.podIP || !isReady(p)) continue
      if (this.claiming.has(p.metadata!.name!)) continue
      if (!best || String(p.metadata!.creationTimestamp) < String(best.metadata!.creationTimestamp)) best = p
    }
    return best
  }

  private changed(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.wake.delete(done); resolve() }
      const t = setTimeout(done, Math.max(0, Math.min(1000, deadline - Date.now())))
      this.wake.add(done)
    })
  }

  private async claim(pod: V1Pod, spec: InstanceSpec, rt: RuntimeResource, waitedMs: number): Promise<Instance | undefined> {
    const name = pod.metadata!.name!
    this.claiming.add(name)
    let claimed: V1Pod
    try {
      claimed = await this.api.patchNamespacedPod({
        name, namespace: this.o.namespace,
        body: [
          { op: 'test', path: `/metadata/labels/${esc(LABEL.state)}`, value: 'generic' },
          { op: 'replace', path: `/metadata/labels/${esc(LABEL.state)}`, value: 'claimed' },
          { op: 'add', path: `/metadata/labels/${esc(LABEL.executor)}`, value: this.o.identity },
          { op: 'add', path: `/metadata/labels/${esc(LABEL.instance)}`, value: spec.id },
        ],
      }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))
    } catch (e) {
      // Another executor took it first (the test op failed), or it is gone: pick again.
      if (e instanceof ApiException && [404, 409, 422].includes(e.code)) return undefined
      throw e
    } finally {
      this.claiming.delete(name)
    }
    let settle!: (exit: ExitInfo) => void
    const exited = new Promise<ExitInfo>((r) => { settle = r })
    const created = claimed.metadata?.creationTimestamp ? new Date(claimed.metadata.creationTimestamp as unknown as string).getTime() : Date.now()
    const inst: Instance = {
      id: spec.id,
      runtime: spec.runtime,
      node: claimed.spec?.nodeName ?? spec.node,
      url: `http://${claimed.status!.podIP}:${portOf(rt)}`,
      pid: 0,
      startedAt: created,
      bootMs: waitedMs,
      exited,
    }
    const set = claimed.metadata?.labels?.['app.kubernetes.io/component'] === COMPONENT.functionSet ? claimed.metadata.labels[LABEL.pool] : undefined
    const held: Held = {
      inst, pod: name, restarts: restarts(claimed), set, resources: fromK8s(runtimeContainer(claimed)?.resources),
      settle: (exit) => {
        if (!this.held.delete(spec.id)) return
        this.byPod.delete(name)
        // The instance is gone however it ended: its set keeps one replica fewer, not a replacement.
        void this.releaseReplica(held)
        settle(exit)
      },
    }
    this.held.set(spec.id, held)
    this.byPod.set(name, spec.id)
    this.o.logger.debug({ instance: spec.id, pod: name, node: inst.node, url: inst.url }, 'claimed runtime pod')
    return inst
  }

  /**
   * Takes the instance's replica away from its function set, once, its pod marked as the cheapest to
   * delete, so the ReplicaSet removes that pod rather than a busy one (or booting a replacement).
   */
  private releaseReplica(h: Held): Promise<void> {
    const sets = this.o.sets
    if (!h.set || !sets) return Promise.resolve()
    return h.release ??= (async () => {
      await this.api.patchNamespacedPod({ name: h.pod, namespace: this.o.namespace, body: { metadata: { annotations: { [DELETION_COST]: '-1000000' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined)
      await sets.scale(h.set!, -1)
    })().catch((err) => this.o.logger.warn({ err, deployment: h.set }, 'function set not scaled down'))
  }

  private observe(p: V1Pod): void {
    for (const w of [...this.wake]) w()
    const id = this.byPod.get(p.metadata?.name ?? '')
    if (!id) return
    const h = this.held.get(id)!
    const phase = p.status?.phase
    if (phase === 'Failed' || phase === 'Succeeded' || p.metadata?.deletionTimestamp || restarts(p) > h.restarts) {
      const exit = exitOf(p)
      h.settle(exit)
      if (!p.metadata?.deletionTimestamp) void this.releaseReplica(h).then(() => this.deletePod(h.pod, 1))
    }
  }

  private gone(p: V1Pod, exit: ExitInfo | undefined): void {
    for (const w of [...this.wake]) w()
    const id = this.byPod.get(p.metadata?.name ?? '')
    if (id) this.held.get(id)?.settle(exit ?? exitOf(p))
  }

  /** Sets the function label on a claimed pod (`kubectl get pods -l kiln.dev/function=NAME`), when it differs. */
  async label(id: string, fn: string | undefined): Promise<void> {
    const h = this.held.get(id)
    if (!h) return
    const pod = this.informer.get(h.pod, this.o.namespace)
    const labels = pod?.metadata?.labels ?? {}
    const state = fn ? 'specialized' : 'claimed'
    // Label values hold no '/': a function outside `default` is `<ns>.<name>` there (core/refs.ts).
    fn = fn === undefined ? undefined : kubeName(fn)
    // A set's pods always carry their function's label (from the template).
    if (h.set) fn = labels[LABEL.fn]
    if (labels[LABEL.state] === state && labels[LABEL.fn] === fn) return
    await this.api.patchNamespacedPod({
      name: h.pod, namespace: this.o.namespace,
      body: { metadata: { labels: { [LABEL.state]: state, [LABEL.fn]: fn ?? null } } },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined)
  }

  async stop(id: string, graceMs = 1000): Promise<void> {
    const h = this.held.get(id)
    if (!h) return
    // A set's replica goes first, so the ReplicaSet does not boot a replacement for this pod; the
    // delete below covers a ReplicaSet that removed another (not yet Ready) pod instead, whose start
    // then gets the replacement.
    await this.releaseReplica(h)
    await this.deletePod(h.pod, Math.max(1, Math.ceil(graceMs / 1000)))
    const timeout = new Promise<void>((r) => setTimeout(r, graceMs + 30_000).unref())
    await Promise.race([h.inst.exited, timeout])
    h.settle({ code: null, signal: 'SIGTERM', oomKilled: false, reason: 'pod deleted' })
  }

  private async deletePod(name: string, graceSeconds: number): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name, namespace: this.o.namespace, gracePeriodSeconds: graceSeconds })
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) this.o.logger.warn({ err: e, pod: name }, 'runtime pod not deleted')
    }
  }

  list(): Instance[] {
    return [...this.held.values()].map((h) => h.inst)
  }

  /** Every runtime pod in the namespace as this replica's watch sees it, whoever holds it. */
  pods(): readonly V1Pod[] {
    return this.informer?.list(this.o.namespace) ?? []
  }

  /** A function's (by ref) specialized pods in the namespace, whichever executor holds them, and how many are Ready. */
  functionPods(ref: string): { instances: number; ready: number } {
    let instances = 0
    let ready = 0
    const fn = kubeName(ref)
    for (const p of this.informer.list(this.o.namespace)) {
      const l = p.metadata?.labels ?? {}
      if (l[LABEL.fn] !== fn || l[LABEL.state] !== 'specialized' || p.metadata?.deletionTimestamp) continue
      instances++
      if (isReady(p)) ready++
    }
    return { instances, ready }
  }

  podOf(id: string): string | undefined {
    return this.held.get(id)?.pod
  }

  /**
   * Resizes the instance's pod in place to the function's limits (null: its resources as claimed) and
   * waits until the kubelet reports them applied, so the code loads under them, as the local backend's
   * cgroup writes do. Throws (the executor then fails the specialization, or retires the instance
   * instead of pooling it) when the API refuses the resize, or the kubelet finds it infeasible or does
   * not apply it in time; in the last two cases the pod, whose spec now differs from what the executor
   * believes, is deleted. pids has no per-pod setting in Kubernetes and is not applied.
   */
  async setLimits(id: string, limits: InstanceLimits | null): Promise<void> {
    const h = this.held.get(id)
    if (!h) return
    const ns = this.o.namespace
    const log = { instance: id, pod: h.pod, limits }
    const pod = this.informer.get(h.pod, ns) ?? await this.api.readNamespacedPod({ name: h.pod, namespace: ns })
    const cur = fromK8s(runtimeContainer(pod)?.resources)
    let want: Resources
    try {
      want = resizeTarget(h.resources, cur, limits, limits === null && lifts(h.resources, cur) ? await nodeCapacity(this.api, h.inst.node) : undefined)
    } catch (err) {
      this.o.logger.warn({ err, ...log }, 'pod not resized')
      throw new KilnError('KILN_ERR_INTERNAL', `pod ${h.pod} cannot take the limits: ${(err as Error).message}`)
    }
    if (sameResources(cur, want)) return
    try {
      await this.api.patchNamespacedPodResize({ name: h.pod, namespace: ns, body: { spec: { containers: [{ name: runtimeContainer(pod)!.name, resources: toK8s(want) }] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))
    } catch (err) {
      // Refused (422: a QoS change, a removed limit; 403: no pods/resize permission): nothing changed.
      this.o.logger.warn({ err, ...log }, 'pod resize refused')
      const status = err instanceof ApiException ? err.code : undefined
      if (status === 403) throw clusterForbidden(kubeMessage(err), `pod ${h.pod} was not resized to the function's limits`)
      throw new KilnError('KILN_ERR_INTERNAL', `pod ${h.pod} was not resized${status ? ` (HTTP ${status})` : ''}: ${kubeMessage(err)}`, { kubeStatus: status })
    }
    const deadline = Date.now() + (this.o.resizeTimeoutMs ?? 30_000)
    for (;;) {
      const p = this.informer.get(h.pod, ns)
      const state = p ? resizeState(p, want) : { infeasible: 'the pod is gone' }
      if (state === 'done') return
      if (state !== 'waiting' || Date.now() > deadline || !this.held.has(id)) {
        const why = state === 'waiting' ? `not applied by the kubelet within ${this.o.resizeTimeoutMs ?? 30_000} ms` : `infeasible: ${state.infeasible}`
        this.o.logger.warn({ ...log, why }, 'pod resize failed; deleting the pod')
        await this.stop(id)
        throw new KilnError('KILN_ERR_NO_CAPACITY', `pod ${h.pod} was not resized to the function's limits: ${why}`)
      }
      await this.changed(deadline)
    }
  }

  /** The runtime container's limits, as the kubelet reports them applied (else as the spec asks). */
  async readLimits(id: string): Promise<InstanceLimits | undefined> {
    const h = this.held.get(id)
    const pod = h && this.informer.get(h.pod, this.o.namespace)
    return pod ? podLimits(pod) : undefined
  }

  /** The instance's pod's counters from the latest node-agent report; undefined when none is fresh. */
  async sample(id: string): Promise<InstanceSample | undefined> {
    const pod = this.held.get(id)?.pod
    return pod ? this.o.loads?.sample(pod) : undefined
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.held.keys()].map((id) => this.stop(id, 500)))
    await this.informer?.stop()
  }
}
