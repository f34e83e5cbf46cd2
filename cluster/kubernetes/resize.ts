// What an in-place resize (`pods/resize`, GA since Kubernetes 1.35) of a runtime pod asks for, and
// whether the kubelet has done it. A function's limits become the runtime container's cpu/memory
// limits. The API server refuses a resize that changes the pod's QoS class or removes a request or
// limit, so the requests follow the pod's class: a Guaranteed pod (a function set's, or a pool booted
// with limits) keeps requests = limits; a Burstable one (a generic pool pod, pod-template.ts) keeps its
// own small requests, capped at the limits and kept below them on at least one resource. `null` (back
// to a generic pool) restores the claimed pod's requests and limits; a limit the pod did not have
// cannot be removed, so it is raised to the node's capacity, which binds no container (the kubelet
// holds all pods below the node's allocatable anyway).
import { ApiException, type CoreV1Api, type V1Pod, type V1ResourceRequirements } from '@kubernetes/client-node'
import type { InstanceLimits } from '../backend.js'

/** cpu in millicores, memory in bytes. */
export interface Amounts { cpu?: number; memory?: number }
export interface Resources { requests: Amounts; limits: Amounts }

const KEYS = ['cpu', 'memory'] as const
const SUFFIX: Record<string, number> = {
  m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
}

/** A Kubernetes quantity ("500m", "1", "128Mi", "134217728", "1e3") in base units; NaN if malformed. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim())
  const mult = m ? SUFFIX[m[2]!] : undefined
  return m && mult !== undefined ? Number(m[1]) * mult : NaN
}

function amounts(list: Record<string, string> | undefined): Amounts {
  const a: Amounts = {}
  if (list?.cpu !== undefined) a.cpu = Math.round(parseQuantity(list.cpu) * 1000)
  if (list?.memory !== undefined) a.memory = Math.round(parseQuantity(list.memory))
  return a
}

export function fromK8s(r: V1ResourceRequirements | undefined): Resources {
  return { requests: amounts(r?.requests), limits: amounts(r?.limits) }
}

function list(a: Amounts): Record<string, string> {
  const out: Record<string, string> = {}
  if (a.cpu !== undefined) out.cpu = `${a.cpu}m`
  if (a.memory !== undefined) out.memory = String(a.memory)
  return out
}

export function toK8s(r: Resources): { requests: Record<string, string>; limits: Record<string, string> } {
  return { requests: list(r.requests), limits: list(r.limits) }
}

const empty = (a: Amounts) => KEYS.every((k) => a[k] === undefined)
const same = (a: Amounts, b: Amounts) => KEYS.every((k) => a[k] === b[k])
export const sameResources = (a: Resources, b: Resources) => same(a.requests, b.requests) && same(a.limits, b.limits)

/** Kubernetes' rule (pkg/apis/core/helper/qos): cpu and memory limits set, and every request equal to its limit. */
function guaranteed(r: Resources): boolean {
  return r.limits.cpu !== undefined && r.limits.memory !== undefined && KEYS.every((k) => (r.requests[k] ?? r.limits[k]) === r.limits[k])
}

export class ResizeError extends Error {}

/** The API server's own words (its Status message) rather than the client's dump of body and headers. */
export function kubeMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body
      if (typeof body?.message === 'string') return body.message
    } catch { /* not a Status */ }
  }
  return (err as Error).message
}

/**
 * The runtime container's resources for `limits` (null: the claimed pod's own again).
 * `orig` is the pod's as claimed, `cur` its spec now, `capacity` its node's (needed only to lift a limit).
 */
export function resizeTarget(orig: Resources, cur: Resources, limits: InstanceLimits | null, capacity?: Amounts): Resources {
  if (empty(orig.requests) && empty(orig.limits)) {
    throw new ResizeError('the pod has no cpu/memory requests (QoS BestEffort), and a resize may not change its QoS class: roll the pool so its pods carry requests')
  }
  if (limits === null) {
    const lim = { ...orig.limits }
    for (const k of KEYS) {
      if (cur.limits[k] === undefined || lim[k] !== undefined) continue
      if (capacity?.[k] === undefined) throw new ResizeError(`the ${k} limit cannot be removed and the node's ${k} capacity is unknown`)
      lim[k] = capacity[k]
    }
    return { requests: { ...orig.requests }, limits: lim }
  }
  // A limit the function does not set keeps its value: limits cannot be removed.
  const lim = { ...cur.limits }
  if (limits.cpu !== undefined) lim.cpu = Math.max(1, Math.round(limits.cpu * 1000))
  if (limits.memoryBytes !== undefined) lim.memory = limits.memoryBytes
  if (guaranteed(orig)) return { requests: { ...lim }, limits: lim }
  const req = { ...orig.requests }
  for (const k of KEYS) if (req[k] !== undefined && lim[k] !== undefined && req[k]! > lim[k]!) req[k] = lim[k]
  // Requests equal to both limits would make the pod Guaranteed, which a resize may not.
  if (guaranteed({ requests: req, limits: lim })) req.cpu = Math.floor(lim.cpu! / 2)
  return { requests: req, limits: lim }
}

/** Whether restoring `orig` must lift a limit the pod has now but did not have when claimed. */
export const lifts = (orig: Resources, cur: Resources) => KEYS.some((k) => cur.limits[k] !== undefined && orig.limits[k] === undefined)

/** The node's capacity, the ceiling a lifted limit is raised to. */
export async function nodeCapacity(api: CoreV1Api, node: string): Promise<Amounts> {
  const n = await api.readNode({ name: node }).catch((err: Error) => {
    throw new ResizeError(`node ${node} not read: ${err.message}`)
  })
  return fromK8s({ limits: n.status?.capacity }).limits
}

const CONTAINER = 'runtime'

export function runtimeContainer(p: V1Pod) {
  return p.spec?.containers.find((c) => c.name === CONTAINER) ?? p.spec?.containers[0]
}

/** The resources the kubelet reports it has applied to the runtime container, if it reports them. */
export function appliedResources(p: V1Pod): Resources | undefined {
  const name = runtimeContainer(p)?.name
  const st = p.status?.containerStatuses?.find((c) => c.name === name)
  return st?.resources ? fromK8s(st.resources) : undefined
}

/**
 * Where the kubelet is with a resize to `want`: done once it reports the limits applied (what its
 * cgroups enforce) and no resize is pending or in progress; `Infeasible` is final.
 */
export function resizeState(p: V1Pod, want: Resources): 'done' | 'waiting' | { infeasible: string } {
  const pending = p.status?.conditions?.find((c) => c.type === 'PodResizePending' && c.status === 'True')
  if (pending?.reason === 'Infeasible') return { infeasible: pending.message ?? 'the node cannot fit the resize' }
  const inProgress = p.status?.conditions?.some((c) => c.type === 'PodResizeInProgress' && c.status === 'True')
  const applied = appliedResources(p)
  return !pending && !inProgress && applied && same(applied.limits, want.limits) ? 'done' : 'waiting'
}

/** The runtime container's limits as InstanceLimits: the applied ones where the kubelet reports them, else the spec's. */
export function podLimits(p: V1Pod): InstanceLimits {
  const l = (appliedResources(p) ?? fromK8s(runtimeContainer(p)?.resources)).limits
  const out: InstanceLimits = {}
  if (l.cpu !== undefined) out.cpu = l.cpu / 1000
  if (l.memory !== undefined) out.memoryBytes = l.memory
  return out
}
