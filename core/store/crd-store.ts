// Resources as custom resources (kiln.dev, namespaced; Functions as v2, crd-conversion.ts): the distributed twin of the file store.
// Reads are synchronous from a local view fed by a client-node informer (list + watch, relisted after
// a dropped watch and on a resync timer); writes go through the API server and update the view from
// the server's answer at once, so a caller reads its own write, and the informer's echo of the same
// resourceVersion is not reported twice. Watch events have CachedStore's shape and order.
// Every Kiln object lives in the one Kubernetes namespace Kiln runs in; a Kiln namespace other than
// `default` is the label `kiln.dev/namespace` and the object name `<ns>.<name>` (core/refs.ts kubeName:
// a dot is legal in object names and not in Kiln names, so names never collide).
import { EventEmitter } from 'node:events'
import { ApiException, CustomObjectsApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node'
import { KilnError } from '../errors.js'
import { DEFAULT_NAMESPACE, kubeName, parseRef, refOfKubeName, refOfMeta } from '../refs.js'
import { API_VERSION, type Resource } from '../types.js'
import { specFromStored, specToStored, versionOf } from './crd-conversion.js'
import { describeRef, withNamespace, type ResourceStore, type StoreEvent } from './resource-store.js'

const GROUP = 'kiln.dev'
const UPDATED_AT = 'kiln.dev/updated-at'
const PLURALS: Record<string, string> = { Function: 'functions', Runtime: 'runtimes', HTTPTrigger: 'httptriggers', Workflow: 'workflows', Namespace: 'namespaces', QueueTrigger: 'queuetriggers' }
/** The Kiln namespace of an object outside `default`. */
export const NAMESPACE_LABEL = 'kiln.dev/namespace'

interface CustomObject extends KubernetesObject { spec?: unknown; status?: Record<string, unknown> }

export interface CrdStoreOptions {
  namespace: string
  /** Relist from the API server this often and report any difference (default 5 min). */
  resyncMs?: number
  /** Wait before restarting a watch that failed (default 1 s, doubled up to 30 s). */
  retryMs?: number
  onError?: (err: unknown) => void
}

/** The permission an RBAC refusal names (the API server's own words: `User "u" cannot VERB resource "R" in API group "G" in the namespace "N"`). */
export interface MissingPermission { user?: string; verb: string; resource: string; group: string; namespace?: string }

export function missingPermission(message: string): MissingPermission | undefined {
  const m = /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/.exec(message)
  if (!m) return undefined
  return { user: m[1], verb: m[2]!, resource: m[3]!, group: m[4]!, ...(m[5] ? { namespace: m[5] } : {}) }
}

/** A 403 from the API server: KILN_ERR_CLUSTER_FORBIDDEN naming who lacks which permission. */
export function clusterForbidden(message: string, what: string): KilnError {
  const p = missingPermission(message)
  if (!p) return new KilnError('KILN_ERR_CLUSTER_FORBIDDEN', `${what}: the Kubernetes API refused (403): ${message}`, { kubeStatus: 403 })
  const resource = p.group ? `${p.resource}.${p.group}` : p.resource
  const where = p.namespace ? ` in namespace ${p.namespace}` : ' (cluster-wide)'
  return new KilnError('KILN_ERR_CLUSTER_FORBIDDEN', `${what}: ${p.user ?? 'Kiln'} may not ${p.verb} ${resource}${where}`, { kubeStatus: 403, permission: p })
}

/** The API server's Status message of a failed call, else the client's. */
function statusMessage(e: ApiException<unknown>): string {
  const body = typeof e.body === 'string' ? safeJson(e.body) : e.body
  return (body as { message?: string } | undefined)?.message ?? e.message
}

/** A Kubernetes API failure as Kiln's error catalogue names it. */
export function kubeError(e: unknown, what: string): KilnError {
  if (e instanceof KilnError) return e
  if (e instanceof ApiException) {
    const message = statusMessage(e)
    if (e.code === 403) return clusterForbidden(message, what)
    if (e.code === 409) return new KilnError('KILN_ERR_ALREADY_EXISTS', `${what} already exists`)
    if (e.code === 422 || e.code === 400) return new KilnError('KILN_ERR_VALIDATION', `${what}: ${message}`)
    if (e.code === 404) return new KilnError('KILN_ERR_NOT_FOUND', `${what}: ${message}`)
    return new KilnError('KILN_ERR_INTERNAL', `${what}: the Kubernetes API answered ${e.code}: ${message}`, { kubeStatus: e.code })
  }
  return new KilnError('KILN_ERR_INTERNAL', `${what}: ${(e as Error)?.message ?? String(e)}`)
}

function safeJson(s: string): unknown {
  try { return JSON.parse(s) } catch { return undefined }
}

/** resourceVersions are opaque, but etcd's are integers: newer-than when both parse, else "different". */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return true
  try { return BigInt(a) > BigInt(b) } catch { return a !== b }
}

export class CrdStore<T extends Resource> implements ResourceStore<T> {
  private readonly items = new Map<string, { obj: T; rv: string | undefined }>()
  private readonly tombstones = new Map<string, string | undefined>()
  private readonly events = new EventEmitter()
  private readonly api: CustomObjectsApi
  private readonly plural: string
  /** The served version this store reads and writes (crd-conversion.ts: v2 for Functions). */
  private readonly version: string
  private informer: (Informer<CustomObject> & ObjectCache<CustomObject>) | undefined
  private resync: NodeJS.Timeout | undefined
  private retry: NodeJS.Timeout | undefined
  private backoff: number
  private closed = false

  constructor(readonly kind: string, private readonly kc: KubeConfig, private readonly o: CrdStoreOptions) {
    this.events.setMaxListeners(0)
    this.api = kc.makeApiClient(CustomObjectsApi)
    this.plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`
    this.version = versionOf(kind)
    this.backoff = o.retryMs ?? 1000
  }

  private get ref() { return { group: GROUP, version: this.version, namespace: this.o.namespace, plural: this.plural } }

  /** Lists, starts the watch, and resolves once the view holds the namespace's objects. */
  async open(): Promise<this> {
    const path = `/apis/${GROUP}/${this.version}/namespaces/${this.o.namespace}/${this.plural}`
    const inf = makeInformer<CustomObject>(this.kc, path, () => this.api.listNamespacedCustomObject(this.ref) as never)
    inf.on('add', (o) => this.observe(o))
    inf.on('update', (o) => this.observe(o))
    inf.on('delete', (o) => this.observeDelete(o))
    inf.on('connect', () => { this.backoff = this.o.retryMs ?? 1000 })
    inf.on('error', (err) => {
      if (this.closed) return
      this.o.onError?.(err)
      this.retry = setTimeout(() => void inf.start().catch(() => undefined), this.backoff)
      this.backoff = Math.min(this.backoff * 2, 30_000)
    })
    this.informer = inf
    await inf.start()
    this.resync = setInterval(() => void this.relist().catch((err) => this.o.onError?.(err)), this.o.resyncMs ?? 300_000)
    this.resync.unref()
    return this
  }

  /** Compares the view with a fresh list from the server and reports what differs. */
  async relist(): Promise<void> {
    const list = (await this.api.listNamespacedCustomObject(this.ref)) as { items: CustomObject[] }
    const seen = new Set<string>()
    for (const o of list.items) { seen.add(refOfKubeName(o.metadata!.name!)); this.observe(o) }
    for (const ref of [...this.items.keys()]) if (!seen.has(ref)) this.forget(ref, undefined)
  }

  get(ref: string): T | undefined {
    return this.items.get(ref)?.obj
  }

  list(): T[] {
    return [...this.items.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, i]) => i.obj)
  }

  async create(given: T): Promise<T> {
    const obj = withNamespace(this.kind, given)
    const ref = refOfMeta(obj.metadata)
    try {
      const res = await this.api.createNamespacedCustomObject({ ...this.ref, body: this.toKube(obj, undefined) })
      return this.observe(res as CustomObject)!
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `${this.kind} ${describeRef(ref)} already exists`)
      throw kubeError(e, `${this.kind} ${describeRef(ref)}`)
    }
  }

  async put(given: T): Promise<T> {
    const obj = withNamespace(this.kind, given)
    const ref = refOfMeta(obj.metadata)
    const name = kubeName(ref)
    for (let attempt = 0; ; attempt++) {
      let current: CustomObject | undefined
      try {
        current = (await this.api.getNamespacedCustomObject({ ...this.ref, name })) as CustomObject
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 404)) throw kubeError(e, `${this.kind} ${describeRef(ref)}`)
      }
      try {
        const res = current
          ? await this.api.replaceNamespacedCustomObject({ ...this.ref, name, body: this.toKube(obj, current) })
          : await this.api.createNamespacedCustomObject({ ...this.ref, body: this.toKube(obj, undefined) })
        return this.observe(res as CustomObject)!
      } catch (e) {
        // Someone else wrote between our read and our write: read again (optimistic concurrency).
        if (e instanceof ApiException && e.code === 409 && attempt < 5) continue
        throw kubeError(e, `${this.kind} ${describeRef(ref)}`)
      }
    }
  }

  async delete(ref: string): Promise<T | undefined> {
    const old = this.items.get(ref)?.obj
    try {
      const res = (await this.api.deleteNamespacedCustomObject({ ...this.ref, name: kubeName(ref) })) as CustomObject
      const gone = res?.kind === this.kind ? res : undefined
      return this.forget(ref, gone?.metadata?.resourceVersion) ?? old ?? (gone ? this.toKiln(gone) : undefined)
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) { this.forget(ref, undefined); return undefined }
      throw kubeError(e, `${this.kind} ${describeRef(ref)}`)
    }
  }

  watch(fn: (ev: StoreEvent<T>) => void): () => void {
    this.events.on('event', fn)
    return () => this.events.off('event', fn)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.resync) clearInterval(this.resync)
    if (this.retry) clearTimeout(this.retry)
    await this.informer?.stop()
  }

  // ---- the view ----

  private observe(o: CustomObject): T | undefined {
    if (!o.metadata?.name) return undefined
    const ref = refOfKubeName(o.metadata.name)
    const rv = o.metadata?.resourceVersion
    if (this.tombstones.has(ref)) {
      if (!newer(rv, this.tombstones.get(ref))) return undefined
      this.tombstones.delete(ref)
    }
    const have = this.items.get(ref)
    if (have && !newer(rv, have.rv)) return have.obj
    const obj = this.toKiln(o)
    this.items.set(ref, { obj, rv })
    this.events.emit('event', { type: 'put', object: obj } satisfies StoreEvent<T>)
    return obj
  }

  private observeDelete(o: CustomObject): void {
    if (o.metadata?.name) this.forget(refOfKubeName(o.metadata.name), o.metadata.resourceVersion)
  }

  private forget(ref: string, rv: string | undefined): T | undefined {
    this.tombstones.set(ref, rv)
    setTimeout(() => this.tombstones.delete(ref), 60_000).unref()
    const have = this.items.get(ref)
    if (!have) return undefined
    this.items.delete(ref)
    this.events.emit('event', { type: 'delete', object: have.obj } satisfies StoreEvent<T>)
    return have.obj
  }

  private toKube(obj: T, current: CustomObject | undefined): CustomObject {
    const spec = specToStored(this.kind, obj.spec)
    const changed = !current || JSON.stringify(current.spec) !== JSON.stringify(spec)
    const annotations = { ...current?.metadata?.annotations }
    if (changed) annotations[UPDATED_AT] = new Date().toISOString()
    const ns = obj.metadata.namespace
    const labels = { ...obj.metadata.labels, ...(ns !== undefined && ns !== DEFAULT_NAMESPACE ? { [NAMESPACE_LABEL]: ns } : {}) }
    return {
      apiVersion: `${GROUP}/${this.version}`,
      kind: this.kind,
      metadata: {
        name: kubeName(refOfMeta(obj.metadata)),
        namespace: this.o.namespace,
        ...(Object.keys(labels).length ? { labels } : {}),
        annotations,
        ...(current ? { resourceVersion: current.metadata!.resourceVersion } : {}),
      },
      spec,
    }
  }

  private toKiln(o: CustomObject): T {
    const m = o.metadata!
    const createdAt = m.creationTimestamp ? new Date(m.creationTimestamp as unknown as string).toISOString() : undefined
    const { namespace, name } = parseRef(refOfKubeName(m.name!))
    const { [NAMESPACE_LABEL]: _, ...labels } = m.labels ?? {}
    return withNamespace(this.kind, {
      apiVersion: API_VERSION,
      kind: this.kind,
      metadata: {
        name,
        ...(namespace !== DEFAULT_NAMESPACE ? { namespace } : {}),
        generation: m.generation ?? 1,
        ...(createdAt ? { createdAt } : {}),
        updatedAt: m.annotations?.[UPDATED_AT] ?? createdAt,
        ...(Object.keys(labels).length ? { labels } : {}),
      },
      spec: specFromStored(this.kind, o.spec),
      ...(o.status && Object.keys(o.status).length ? { status: o.status } : {}),
    } as T)
  }
}

export async function crdStore<T extends Resource>(kc: KubeConfig, kind: string, o: CrdStoreOptions): Promise<CrdStore<T>> {
  return new CrdStore<T>(kind, kc, o).open()
}
