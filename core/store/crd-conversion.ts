// Kiln's custom resources across their served versions. A Function is stored and read as kiln.dev/v2,
// whose fields follow Kubernetes conventions: durations as strings (`timeout: 30s`,
// `async.retryBackoff: 500ms`), resources as requests/limits quantities (`resources.limits.cpu: 500m`),
// and the limits that pods cannot take per container (`processLimits`: pids, the embedded sandbox's
// openFiles, fileSize and tmp; sizes as quantities) apart from them. kiln.dev/v1 (integer milliseconds,
// `resources: {cpu, memory, pids, openFiles, fileSize, tmp}`) stays served, so objects written before
// v2 and clients that still speak v1 keep working: the API server converts between the two through the
// controller's conversion webhook (platform/kubernetes/conversion-webhook.ts), which calls
// `convertReview` below.
//
// Kiln's own spec (core/types.ts FunctionSpec) is v1's shape plus `resources.requests`; `fromV2`/`toV2`
// are what the CRD store reads and writes. Conversions are lossless both ways: what v1 cannot hold (a
// request, a duration finer than a millisecond) rides in the annotation `kiln.dev/v2-spec` on the v1
// object and comes back when the object is read as v2 again, as long as the v1 spec was not changed meanwhile.
import { parseDuration } from '../quantity.js'
import type { FunctionSpec } from '../types.js'

export const GROUP = 'kiln.dev'
/** The version each kind is stored and read in; kinds not listed have v1 only. */
export const STORED_VERSION: Record<string, string> = { Function: 'v2' }
/** Annotation on a v1 object holding the v2 spec that v1's fields could not hold exactly. */
export const V2_SPEC_ANNOTATION = 'kiln.dev/v2-spec'

export function versionOf(kind: string): string {
  return STORED_VERSION[kind] ?? 'v1'
}

/** Kiln's spec of a `kind` as its stored version writes it. */
export function specToStored(kind: string, spec: unknown): unknown {
  return kind === 'Function' && isObj(spec) ? toV2(spec) : spec
}

/** A spec of a `kind` in its stored version as Kiln's own. */
export function specFromStored(kind: string, spec: unknown): unknown {
  return kind === 'Function' && isObj(spec) ? fromV2(spec) : spec
}

type Obj = Record<string, unknown>
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x)

/** v1's integer-millisecond fields and their v2 duration names (of the spec; of `async`). */
const DURATIONS: [v1: string, v2: string][] = [['timeoutMs', 'timeout'], ['idleTimeoutMs', 'idleTimeout'], ['maxAgeMs', 'maxAge']]
const ASYNC_DURATIONS: [v1: string, v2: string][] = [['retryBackoffMs', 'retryBackoff']]
/** v1 `resources` keys other than cpu and memory that are sizes: quantities in v2's `processLimits`. */
const SIZE_LIMITS = new Set(['fileSize', 'tmp'])

/** Milliseconds as the shortest exact duration string: 30000 → "30s", 90000 → "90s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** Cores as a Kubernetes cpu quantity: 0.5 → "500m", 2 → "2", 0.0001 → "0.0001". */
export function formatCpu(cores: number): string {
  if (Number.isInteger(cores)) return String(cores)
  const milli = Math.round(cores * 1000)
  return Math.abs(milli - cores * 1000) < 1e-9 ? `${milli}m` : String(cores)
}

const CPU_SUFFIX: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9 }

/** A cpu quantity ("500m", "0.5", 2, "1e0") in cores. */
export function parseCpu(q: string | number): number {
  if (typeof q === 'number') return q
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([mkMG])|[eE]([+-]?[0-9]+))?$/.exec(q.trim())
  if (!m) throw new Error(`not a cpu quantity: "${q}" (use e.g. 500m, 0.5, 2)`)
  const n = Number(m[1]) * (m[3] !== undefined ? 10 ** Number(m[3]) : CPU_SUFFIX[m[2] ?? ''])
  // Rounded to what the decimal digits can mean, so "0.1" is 0.1 and not 0.1000000000000000055.
  return Number(n.toPrecision(12))
}

/**
 * A size (memory, file size, /tmp) as a Kubernetes quantity. Kiln's v1 sizes allow lower-case m/g/t
 * meaning mega/giga/tera and `K` meaning kilo (core/quantity.ts); in a Kubernetes quantity `m` is milli
 * and kilo is `k`, so those become M/G/T and k.
 */
export function memoryQuantity(s: string): string {
  return s.replace(/([0-9.])([mgt]|K)$/, (_, d: string, u: string) => d + (u === 'K' ? 'k' : u.toUpperCase()))
}

/** Renames the duration fields of `o` (v1 → v2 when `toV2`), leaving every other field as it is. */
function renameDurations(o: Obj, names: [v1: string, v2: string][], toV2: boolean): Obj {
  const out: Obj = {}
  for (const [k, v] of Object.entries(o)) {
    const d = names.find((n) => n[toV2 ? 0 : 1] === k)
    if (d && toV2 && typeof v === 'number') out[d[1]] = formatDuration(v)
    else if (d && !toV2 && (typeof v === 'string' || typeof v === 'number')) out[d[0]] = parseDuration(v)
    else out[k] = v
  }
  return out
}

// ---- Kiln's spec <-> v2 ----

/** Kiln's Function spec as kiln.dev/v2 writes it. Fields this module does not know pass through unchanged. */
export function toV2(spec: Obj): Obj {
  const out: Obj = {}
  for (const [k, v] of Object.entries(renameDurations(spec, DURATIONS, true))) {
    if (k === 'resources' && isObj(v)) Object.assign(out, resourcesToV2(v))
    else if (k === 'async' && isObj(v)) out[k] = renameDurations(v, ASYNC_DURATIONS, true)
    else out[k] = v
  }
  return out
}

function resourcesToV2(r: Obj): Obj {
  const limits: Obj = {}
  const requests: Obj = {}
  const processLimits: Obj = {}
  for (const [k, v] of Object.entries(r)) {
    if (k === 'cpu' && typeof v === 'number') limits.cpu = formatCpu(v)
    else if (k === 'memory' && typeof v === 'string') limits.memory = memoryQuantity(v)
    else if (k === 'requests' && isObj(v)) {
      if (typeof v.cpu === 'number') requests.cpu = formatCpu(v.cpu)
      if (typeof v.memory === 'string') requests.memory = memoryQuantity(v.memory)
    } else processLimits[k] = SIZE_LIMITS.has(k) && typeof v === 'string' ? memoryQuantity(v) : v
  }
  const out: Obj = {}
  const resources: Obj = {}
  if (Object.keys(requests).length) resources.requests = requests
  if (Object.keys(limits).length) resources.limits = limits
  if (Object.keys(resources).length) out.resources = resources
  if (Object.keys(processLimits).length) out.processLimits = processLimits
  return out
}

/** A kiln.dev/v2 Function spec as Kiln's own. Throws on a duration or quantity it cannot read (the CRD schema admits none). */
export function fromV2(spec: Obj): FunctionSpec {
  const out: Obj = {}
  let resources: Obj | undefined
  for (const [k, v] of Object.entries(renameDurations(spec, DURATIONS, false))) {
    if (k === 'async' && isObj(v)) out[k] = renameDurations(v, ASYNC_DURATIONS, false)
    else if (k === 'resources' && isObj(v)) {
      resources ??= {}
      const limits = isObj(v.limits) ? v.limits : {}
      const requests = isObj(v.requests) ? v.requests : {}
      if (limits.cpu !== undefined) resources.cpu = parseCpu(limits.cpu as string | number)
      if (limits.memory !== undefined) resources.memory = String(limits.memory)
      const req: Obj = {}
      if (requests.cpu !== undefined) req.cpu = parseCpu(requests.cpu as string | number)
      if (requests.memory !== undefined) req.memory = String(requests.memory)
      if (Object.keys(req).length) resources.requests = req
    } else if (k === 'processLimits' && isObj(v)) {
      resources ??= {}
      // A size may be an integer quantity in v2; Kiln's sizes are strings.
      for (const [pk, pv] of Object.entries(v)) resources[pk] = SIZE_LIMITS.has(pk) && typeof pv === 'number' ? String(pv) : pv
    } else out[k] = v
  }
  if (resources && Object.keys(resources).length) {
    // Kiln's order: cpu, memory, the process limits, then requests.
    const { cpu, memory, requests, ...rest } = resources
    out.resources = { ...(cpu !== undefined ? { cpu } : {}), ...(memory !== undefined ? { memory } : {}), ...rest, ...(requests ? { requests } : {}) }
  }
  return out as FunctionSpec
}

// ---- v1 <-> v2, as the API server asks ----

/** What v1 holds of Kiln's spec: all of it but the requests. */
function v1Of(spec: Obj): Obj {
  if (!isObj(spec.resources) || spec.resources.requests === undefined) return spec
  const { requests: _, ...rest } = spec.resources
  const out = { ...spec }
  if (Object.keys(rest).length) out.resources = rest
  else delete out.resources
  return out
}

const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
function canonical(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canonical)
  if (!isObj(x)) return x
  return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canonical(x[k])]))
}

export interface KubeObject { apiVersion?: string; kind?: string; metadata?: { annotations?: Record<string, string>; [k: string]: unknown }; spec?: unknown; [k: string]: unknown }

/** One object of `kind` converted to `version` (v1 or v2 of kiln.dev). */
export function convertObject(o: KubeObject, version: string): KubeObject {
  const [, from] = (o.apiVersion ?? '').split('/')
  const to = version
  if (from === to || o.kind !== 'Function' || !isObj(o.spec)) return { ...o, apiVersion: `${GROUP}/${to}` }
  const annotations = { ...o.metadata?.annotations }
  let spec: Obj
  if (from === 'v1' && to === 'v2') {
    spec = toV2(o.spec)
    const saved = annotations[V2_SPEC_ANNOTATION]
    delete annotations[V2_SPEC_ANNOTATION]
    if (saved) {
      // The v2 spec this v1 object was made from, unless the v1 spec changed since.
      try {
        const v2 = JSON.parse(saved) as Obj
        if (same(v1Of(fromV2(v2) as Obj), o.spec)) spec = v2
      } catch { /* unreadable: the v1 fields hold */ }
    }
  } else if (from === 'v2' && to === 'v1') {
    spec = v1Of(fromV2(o.spec) as Obj)
    if (same(toV2(spec), o.spec)) delete annotations[V2_SPEC_ANNOTATION]
    else annotations[V2_SPEC_ANNOTATION] = JSON.stringify(o.spec)
  } else {
    throw new Error(`no conversion from ${o.apiVersion} to ${GROUP}/${to}`)
  }
  const metadata = { ...o.metadata }
  if (Object.keys(annotations).length) metadata.annotations = annotations
  else delete metadata.annotations
  return { ...o, apiVersion: `${GROUP}/${to}`, metadata, spec }
}

export interface ConversionReview {
  apiVersion: string
  kind: 'ConversionReview'
  request?: { uid: string; desiredAPIVersion: string; objects: KubeObject[] }
  response?: { uid: string; result: { status: 'Success' | 'Failure'; message?: string }; convertedObjects?: KubeObject[] }
}

/** The answer to an API server's ConversionReview (apiextensions.k8s.io/v1). */
export function convertReview(review: ConversionReview): ConversionReview {
  const req = review.request
  if (!req || typeof req.uid !== 'string' || !Array.isArray(req.objects)) {
    return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid: req?.uid ?? '', result: { status: 'Failure', message: 'not a ConversionReview request' } } }
  }
  const [group, version] = String(req.desiredAPIVersion).split('/')
  try {
    if (group !== GROUP || (version !== 'v1' && version !== 'v2')) throw new Error(`cannot convert to ${req.desiredAPIVersion}`)
    const convertedObjects = req.objects.map((o) => convertObject(o, version))
    return { apiVersion: review.apiVersion, kind: 'ConversionReview', response: { uid: req.uid, result: { status: 'Success' }, convertedObjects } }
  } catch (e) {
    return { apiVersion: review.apiVersion, kind: 'ConversionReview', response: { uid: req.uid, result: { status: 'Failure', message: (e as Error).message } } }
  }
}

