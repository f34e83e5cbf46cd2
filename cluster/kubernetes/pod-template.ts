// What a pool Deployment looks like: generic runtime pods of one runtime and placement, labelled
// `kiln.dev/pool=<deployment>` and `kiln.dev/state=generic` (the ReplicaSet's selector). Function
// resources become requests = limits (cpu, memory); isolation is the toleration of the isolation
// taint plus a required node affinity to `kiln.dev/pool=isolated` nodes.
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
export const ISOLATION_TAINT = { key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' } as const
export const DEFAULT_PORT = 8888

export interface PoolKey { runtime: RuntimeResource; node?: NodeConfig; limits?: InstanceLimits }

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

function resources(l?: InstanceLimits): { limits: Record<string, string>; requests: Record<string, string> } | undefined {
  if (!l || (l.cpu === undefined && l.memoryBytes === undefined)) return undefined
  const q: Record<string, string> = {}
  if (l.cpu !== undefined) q.cpu = `${Math.max(1, Math.round(l.cpu * 1000))}m`
  if (l.memoryBytes !== undefined) q.memory = String(l.memoryBytes)
  return { limits: q, requests: { ...q } }
}

export function podSpec(k: PoolKey, warmup: boolean): V1PodSpec {
  const rt = k.runtime
  const port = portOf(rt)
  const env = Object.entries(rt.spec.env ?? {}).map(([name, value]) => ({ name, value }))
  // The runtime's self warm-up runs after its /healthz answers, so a readiness probe cannot wait for it:
  // off until runtimes gate readiness on it (KILN_WARMUP=0).
  env.push({ name: 'PORT', value: String(port) }, { name: 'KILN_WARMUP', value: warmup ? '1' : '0' })
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
      ...(resources(k.limits) ? { resources: resources(k.limits) } : {}),
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
  const spec = podSpec(k, false)
  const templateHash = hash(spec, 10)
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name, namespace,
      labels: { [LABEL.pool]: name, [LABEL.runtime]: k.runtime.metadata.name, 'app.kubernetes.io/part-of': 'kiln', 'app.kubernetes.io/component': 'runtime-pool' },
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
