// What Kiln's Deployments of runtime pods look like. A pool Deployment: generic runtime pods of one
// runtime and placement, labelled `kiln.dev/pool=<deployment>` and `kiln.dev/state=generic` (the
// ReplicaSet's selector, which a claimed pod leaves). A function set (the `dedicated` strategy): one
// function's own pods, selected by `kiln.dev/pool` alone, so claimed pods stay in it and its replicas
// are the function's instances. Function resources become requests = limits (cpu, memory); a pod booted
// without them requests POOL_REQUESTS, so it can be resized to a function's limits later; isolation
// is the toleration of the isolation taint plus a required node affinity to `kiln.dev/pool=isolated` nodes.
import { DEFAULT_NAMESPACE, kubeName, parseRef } from '../../core/refs.js'
import { createHash } from 'node:crypto'
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node'
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

function resources(l?: InstanceLimits): { limits?: Record<string, string>; requests: Record<string, string> } {
  if (!l || (l.cpu === undefined && l.memoryBytes === undefined)) return { requests: { ...POOL_REQUESTS } }
  const q: Record<string, string> = {}
  if (l.cpu !== undefined) q.cpu = `${Math.max(1, Math.round(l.cpu * 1000))}m`
  if (l.memoryBytes !== undefined) q.memory = String(l.memoryBytes)
  return { limits: q, requests: { ...q } }
}

export function podSpec(k: PoolKey): V1PodSpec {
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
    containers: [{
      name: 'runtime',
      image: rt.spec.image!,
      ...(rt.spec.command && rt.spec.image ? { args: rt.spec.command } : {}),
      ports: [{ name: 'http', containerPort: port }],
      env,
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' as never }, periodSeconds: 1, failureThreshold: 3 },
      resources: resources(k.limits),
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }],
  }
  if (isIsolated(k.node)) {
    spec.tolerations = [{ ...ISOLATION_TAINT, operator: 'Equal' }]
    spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kiln.dev/pool', operator: 'In', values: ['isolated'] }] }] } } }
  }
  return spec
}

export function poolDeployment(k: PoolKey, namespace: string, replicas: number): V1Deployment {
  const name = poolName(k)
  const selector = { [LABEL.pool]: name, [LABEL.state]: 'generic' }
  const spec = podSpec(k)
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
export function functionSetName(k: FunctionSetKey): string {
  const tail = `${isIsolated(k.node) ? '-isolated' : ''}-${hash(podSpec(k))}`
  // `k.fn` is a ref: outside `default` the name carries the namespace and a hash of the ref, so
  // `a-b/c` and `a/b-c` never share a set.
  const { namespace, name } = parseRef(k.fn)
  const base = namespace === DEFAULT_NAMESPACE ? `kiln-fn-${name}` : `kiln-fn-${namespace}-${name}-${hash(k.fn, 6)}`
  return base.length + tail.length > 63 ? `kiln-fn-${hash(k.fn, 8)}${tail}` : `${base}${tail}`
}

/** A dedicated function's Deployment, created at 0 replicas: the executors scale it by the instances they hold. */
export function functionSetDeployment(k: FunctionSetKey, namespace: string): V1Deployment {
  const name = functionSetName(k)
  const labels = { [LABEL.pool]: name, [LABEL.fn]: kubeName(k.fn), [LABEL.runtime]: k.runtime.metadata.name, 'app.kubernetes.io/part-of': 'kiln', 'app.kubernetes.io/component': COMPONENT.functionSet }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 0,
      selector: { matchLabels: { [LABEL.pool]: name } },
      template: { metadata: { labels: { ...labels, [LABEL.state]: 'generic' } }, spec: podSpec(k) },
    },
  }
}
