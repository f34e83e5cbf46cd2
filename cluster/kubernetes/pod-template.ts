// What Kiln's Deployments of runtime pods look like. A pool Deployment: generic runtime pods of one
// runtime and placement, labelled `kiln.dev/pool=<deployment>` and `kiln.dev/state=generic` (the
// ReplicaSet's selector, which a claimed pod leaves). A function set (the `dedicated` strategy): one
// function's own pods, selected by `kiln.dev/pool` alone, so claimed pods stay in it and its replicas
// are the function's instances. Function resources become requests = limits (cpu, memory); a pod booted
// without them requests POOL_REQUESTS, so it can be resized to a function's limits later; isolation
// is the toleration of the isolation taint plus a required node affinity to `kiln.dev/pool=isolated` nodes.
import { DEFAULT_NAMESPACE, kubeName, parseRef } from '../../core/refs.js'
import { createHash } from 'node:crypto'
import type { V1Deployment, V1PodSecurityContext, V1PodSpec, V1SecurityContext, V1Toleration } from '@kubernetes/client-node'
import type { InstanceLimits } from '../backend.js'
import type { NodeConfig } from '../../core/config.js'
import type { RuntimeResource } from '../../core/types.js'

export const LABEL = {
  pool: 'kiln.dev/pool',
  state: 'kiln.dev/state',
  runtime: 'kiln.dev/runtime',
  fn: 'kiln.dev/function',
  executor: 'kiln.dev/executor',
  instance: 'kiln.dev/instance',
} as const
export const TEMPLATE_HASH = 'kiln.dev/template-hash'
export const COMPONENT = { pool: 'runtime-pool', functionSet: 'function-set' } as const
export const ISOLATION_TAINT = { key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' } as const
export const DEFAULT_PORT = 8888

export interface PoolKey { runtime: RuntimeResource; node?: NodeConfig; limits?: InstanceLimits }

/** Where runtime pods of one placement class may run: the nodes they select and the taints they tolerate. */
export interface Placement { nodeSelector?: Record<string, string>; tolerations?: V1Toleration[] }

/**
 * What the operator sets for every runtime pod (the chart's `nodes` and `runtimePods` values, passed to
 * the executor as KILN_RUNTIME_POD_TEMPLATE): placement on Runtime Worker Nodes and on isolated nodes,
 * the requests of a pod booted without limits, the size of its memory-backed /tmp, its security
 * contexts, and whether a NetworkPolicy guards them. Unset parts keep the defaults below.
 */
export interface RuntimePodTemplate {
  runtime?: Placement
  isolated?: Placement
  requests?: { cpu?: string; memory?: string }
  tmpSize?: string
  podSecurityContext?: V1PodSecurityContext
  containerSecurityContext?: V1SecurityContext
  /** The operator's NetworkPolicy lets only executors reach runtime pods (the chart's runtimePods.networkPolicy): reported in pod-protections.ts. */
  networkPolicy?: boolean
}

/**
 * A runtime pod runs users' code: the protections docs/sandbox.md lists for Kubernetes (a non-root uid,
 * no privilege escalation, no capabilities, RuntimeDefault seccomp, a read-only root file system with a
 * memory-backed /tmp, no ServiceAccount token, no service links). They satisfy the `restricted` Pod
 * Security Standard.
 */
export const RUNTIME_POD_SECURITY: { pod: V1PodSecurityContext; container: V1SecurityContext } = {
  pod: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  container: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } },
}
export const DEFAULT_TMP_SIZE = '64Mi'
/** Isolated pods select nodes labelled so (and tolerate ISOLATION_TAINT) unless the template says otherwise. */
export const ISOLATED_NODE_SELECTOR = { 'kiln.dev/pool': 'isolated' } as const
/** A dedicated function's own set of pods: its runtime, placement and limits, and its name. */
export interface FunctionSetKey extends PoolKey { fn: string }

export function isIsolated(node: NodeConfig | undefined): boolean {
  return (node?.taints ?? []).some((t) => t.key === ISOLATION_TAINT.key)
}

function hash(x: unknown, n = 6): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, n)
}

/** `kiln-pool-<runtime>[-isolated][-<limits hash>]`, at most 63 characters (a label value). */
export function poolName(k: PoolKey): string {
  const limits = k.limits && Object.values(k.limits).some((v) => v !== undefined) ? `-${hash(k.limits)}` : ''
  const iso = isIsolated(k.node) ? '-isolated' : ''
  let base = `kiln-pool-${k.runtime.metadata.name}`
  if (base.length + iso.length + limits.length > 63) base = `kiln-pool-${hash(k.runtime.metadata.name, 8)}`
  return `${base}${iso}${limits}`
}

export function portOf(rt: RuntimeResource): number {
  return rt.spec.port || DEFAULT_PORT
}

/**
 * What a pod booted without limits (a generic pool pod) requests: about what an idle runtime uses.
 * Requests without limits make it Burstable, the QoS class an in-place resize (resize.ts) can give a
 * function's limits without changing; a pod with no requests (BestEffort) could never take them.
 */
export const POOL_REQUESTS = { cpu: '50m', memory: '64Mi' } as const

function quantities(cpu: number | undefined, memoryBytes: number | undefined): Record<string, string> {
  const q: Record<string, string> = {}
  if (cpu !== undefined) q.cpu = `${Math.max(1, Math.round(cpu * 1000))}m`
  if (memoryBytes !== undefined) q.memory = String(memoryBytes)
  return q
}

function resources(l: InstanceLimits | undefined, t: RuntimePodTemplate): { limits?: Record<string, string>; requests: Record<string, string> } {
  if (!l || (l.cpu === undefined && l.memoryBytes === undefined)) return { requests: { ...POOL_REQUESTS, ...t.requests } }
  const limits = quantities(l.cpu, l.memoryBytes)
  // The function's requests where it gives them (each at most its limit), else requests = limits.
  return { limits, requests: { ...limits, ...quantities(l.requests?.cpu, l.requests?.memoryBytes) } }
}

export function podSpec(k: PoolKey, t: RuntimePodTemplate = {}): V1PodSpec {
  const rt = k.runtime
  const port = portOf(rt)
  const env = Object.entries(rt.spec.env ?? {}).map(([name, value]) => ({ name, value }))
  // Pods boot ahead of any request, so they run the runtime's self warm-up: /healthz answers 503 until
  // it is done, and the readiness probe keeps a warming pod from being claimed.
  env.push({ name: 'PORT', value: String(port) }, { name: 'KILN_WARMUP', value: '1' })
  const spec: V1PodSpec = {
    terminationGracePeriodSeconds: 5,
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    securityContext: t.podSecurityContext ?? RUNTIME_POD_SECURITY.pod,
    containers: [{
      name: 'runtime',
      image: rt.spec.image!,
      ...(rt.spec.command && rt.spec.image ? { args: rt.spec.command } : {}),
      ports: [{ name: 'http', containerPort: port }],
      env,
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' as never }, periodSeconds: 1, failureThreshold: 3 },
      resources: resources(k.limits, t),
      securityContext: t.containerSecurityContext ?? RUNTIME_POD_SECURITY.container,
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    }],
    // The root file system is read-only: code packages are unpacked into this /tmp, which counts
    // against the pod's memory.
    volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: t.tmpSize ?? DEFAULT_TMP_SIZE } }],
  }
  if (isIsolated(k.node)) {
    // Only on isolated nodes: their taint tolerated, their label required.
    const iso = t.isolated ?? {}
    const tolerations = iso.tolerations ?? [{ ...ISOLATION_TAINT, operator: 'Equal' }]
    if (tolerations.length) spec.tolerations = tolerations
    const selector = Object.entries(iso.nodeSelector ?? ISOLATED_NODE_SELECTOR)
    if (selector.length) spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: selector.map(([key, value]) => ({ key, operator: 'In', values: [value] })) }] } } }
  } else if (t.runtime) {
    // On Runtime Worker Nodes: selected by label, their taint tolerated.
    if (t.runtime.nodeSelector && Object.keys(t.runtime.nodeSelector).length) spec.nodeSelector = t.runtime.nodeSelector
    if (t.runtime.tolerations?.length) spec.tolerations = t.runtime.tolerations
  }
  return spec
}

export function poolDeployment(k: PoolKey, namespace: string, replicas: number, t: RuntimePodTemplate = {}): V1Deployment {
  const name = poolName(k)
  const selector = { [LABEL.pool]: name, [LABEL.state]: 'generic' }
  const spec = podSpec(k, t)
  const templateHash = hash(spec, 10)
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name, namespace,
      labels: { [LABEL.pool]: name, [LABEL.runtime]: k.runtime.metadata.name, 'app.kubernetes.io/part-of': 'kiln', 'app.kubernetes.io/component': COMPONENT.pool },
      annotations: { [TEMPLATE_HASH]: templateHash },
    },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      // Pods taken out of the pool are relabelled, never updated in place: a rollout only replaces generic ones.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...selector, [LABEL.runtime]: k.runtime.metadata.name, 'app.kubernetes.io/part-of': 'kiln' } },
        spec,
      },
    },
  }
}

/**
 * `kiln-fn-<function>[-isolated]-<template hash>`, at most 63 characters. The hash names the pod
 * template, so a set's template never changes in place (a rollout would replace pods that serve
 * requests): new limits, placement or runtime image make a new set, and the old one drains.
 */
export function functionSetName(k: FunctionSetKey, t: RuntimePodTemplate = {}): string {
  const tail = `${isIsolated(k.node) ? '-isolated' : ''}-${hash(podSpec(k, t))}`
  // `k.fn` is a ref: outside `default` the name carries the namespace and a hash of the ref, so
  // `a-b/c` and `a/b-c` never share a set.
  const { namespace, name } = parseRef(k.fn)
  const base = namespace === DEFAULT_NAMESPACE ? `kiln-fn-${name}` : `kiln-fn-${namespace}-${name}-${hash(k.fn, 6)}`
  return base.length + tail.length > 63 ? `kiln-fn-${hash(k.fn, 8)}${tail}` : `${base}${tail}`
}

/** A dedicated function's Deployment, created at 0 replicas: the executors scale it by the instances they hold. */
export function functionSetDeployment(k: FunctionSetKey, namespace: string, t: RuntimePodTemplate = {}): V1Deployment {
  const name = functionSetName(k, t)
  const labels = { [LABEL.pool]: name, [LABEL.fn]: kubeName(k.fn), [LABEL.runtime]: k.runtime.metadata.name, 'app.kubernetes.io/part-of': 'kiln', 'app.kubernetes.io/component': COMPONENT.functionSet }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 0,
      selector: { matchLabels: { [LABEL.pool]: name } },
      template: { metadata: { labels: { ...labels, [LABEL.state]: 'generic' } }, spec: podSpec(k, t) },
    },
  }
}
