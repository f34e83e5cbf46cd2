// Resources as custom resources (kiln.dev/v1, namespaced): the distributed twin of the file store.
// Reads are synchronous from a local view fed by a client-node informer (list + watch, relisted after
// a dropped watch and on a resync timer); writes go through the API server and update the view from
// the server's answer at once, so a caller reads its own write, and the informer's echo of the same
// resourceVersion is not reported twice. Watch events have CachedStore's shape and order.
import { EventEmitter } from 'node:events'
import { ApiException, CustomObjectsApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node'
import { KilnError } from '../errors.js'
import type { Resource } from '../types.js'
import { type ResourceStore, type StoreEvent } from './resource-store.js'

const GROUP = 'kiln.dev'
const VERSION = 'v1'
const UPDATED_AT = 'kiln.dev/updated-at'
const PLURALS: Record<string, string> = { Function: 'functions', Runtime: 'runtimes', HTTPTrigger: 'httptriggers', Workflow: 'workflows', QueueTrigger: 'queuetriggers' }

interface CustomObject extends KubernetesObject { spec?: unknown; status?: Record<string, unknown> }

export interface CrdStoreOptions {
  namespace: string
  /** Relist from the API server this often and report any difference (default 5 min). */
  resyncMs?: number
  /** Wait before restarting a watch that failed (default 1 s, doubled up to 30 s). */
  retryMs?: number
  onError?: (err: unknown) => void
}

/** A Kubernetes API failure as Kiln's error catalogue names it. */
export function kubeError(e: unknown, what: string): KilnError {
  if (e instanceof KilnError) return e
  if (e instanceof ApiException) {
    const body = typeof e.body === 'string' ? safeJson(e.body) : e.body
    const message = (body as { message?: string } | undefined)?.message ?? e.message
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
  private informer: (Informer<CustomObject> & ObjectCache<CustomObject>) | undefined
  private resync: NodeJS.Timeout | undefined
  private retry: NodeJS.Timeout | undefined
  private backoff: number
  private closed = false

  constructor(readonly kind: string, private readonly kc: KubeConfig, private readonly o: CrdStoreOptions) {
    this.events.setMaxListeners(0)
    this.api = kc.makeApiClient(CustomObjectsApi)
    this.plural = PLURALS[kind] ?? `${kind.toLowerCase()}s`
    this.backoff = o.retryMs ?? 1000
  }

  private get ref() { return { group: GROUP, version: VERSION, namespace: this.o.namespace, plural: this.plural } }

  /** Lists, starts the watch, and resolves once the view holds the namespace's objects. */
  async open(): Promise<this> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${this.o.namespace}/${this.plural}`
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
    for (const o of list.items) { seen.add(o.metadata!.name!); this.observe(o) }
    for (const name of [...this.items.keys()]) if (!seen.has(name)) this.forget(name, undefined)
  }

  get(name: string): T | undefined {
    return this.items.get(name)?.obj
  }

  list(): T[] {
    return [...this.items.values()].map((i) => i.obj).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  }

  async create(obj: T): Promise<T> {
    const name = obj.metadata.name
    try {
      const res = await this.api.createNamespacedCustomObject({ ...this.ref, body: this.toKube(obj, undefined) })
      return this.observe(res as CustomObject)!
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `${this.kind} "${name}" already exists`)
      throw kubeError(e, `${this.kind} "${name}"`)
    }
  }

  async put(obj: T): Promise<T> {
    const name = obj.metadata.name
    for (let attempt = 0; ; attempt++) {
      let current: CustomObject | undefined
      try {
        current = (await this.api.getNamespacedCustomObject({ ...this.ref, name })) as CustomObject
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 404)) throw kubeError(e, `${this.kind} "${name}"`)
      }
      try {
        const res = current
          ? await this.api.replaceNamespacedCustomObject({ ...this.ref, name, body: this.toKube(obj, current) })
          : await this.api.createNamespacedCustomObject({ ...this.ref, body: this.toKube(obj, undefined) })
        return this.observe(res as CustomObject)!
      } catch (e) {
        // Someone else wrote between our read and our write: read again (optimistic concurrency).
        if (e instanceof ApiException && e.code === 409 && attempt < 5) continue
        throw kubeError(e, `${this.kind} "${name}"`)
      }
    }
  }

  async delete(name: string): Promise<T | undefined> {
    const old = this.items.get(name)?.obj
    try {
      const res = (await this.api.deleteNamespacedCustomObject({ ...this.ref, name })) as CustomObject
      const gone = res?.kind === this.kind ? res : undefined
      return this.forget(name, gone?.metadata?.resourceVersion) ?? old ?? (gone ? this.toKiln(gone) : undefined)
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) { this.forget(name, undefined); return undefined }
      throw kubeError(e, `${this.kind} "${name}"`)
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
    const name = o.metadata?.name
    if (!name) return undefined
    const rv = o.metadata?.resourceVersion
    if (this.tombstones.has(name)) {
      if (!newer(rv, this.tombstones.get(name))) return undefined
      this.tombstones.delete(name)
    }
    const have = this.items.get(name)
    if (have && !newer(rv, have.rv)) return have.obj
    const obj = this.toKiln(o)
    this.items.set(name, { obj, rv })
    this.events.emit('event', { type: 'put', object: obj } satisfies StoreEvent<T>)
    return obj
  }

  private observeDelete(o: CustomObject): void {
    if (o.metadata?.name) this.forget(o.metadata.name, o.metadata.resourceVersion)
  }

  private forget(name: string, rv: string | undefined): T | undefined {
    this.tombstones.set(name, rv)
    setTimeout(() => this.tombstones.delete(name), 60_000).unref()
    const have = this.items.get(name)
    if (!have) return undefined
    this.items.delete(name)
    this.events.emit('event', { type: 'delete', object: have.obj } satisfies StoreEvent<T>)
    return have.obj
  }

  private toKube(obj: T, current: CustomObject | undefined): CustomObject {
    const changed = !current || JSON.stringify(current.spec) !== JSON.stringify(obj.spec)
    const annotations = { ...current?.metadata?.annotations }
    if (changed) annotations[UPDATED_AT] = new Date().toISOString()
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: this.kind,
      metadata: {
        name: obj.metadata.name,
        namespace: this.o.namespace,
        ...(obj.metadata.labels ? { labels: obj.metadata.labels } : {}),
        annotations,
        ...(current ? { resourceVersion: current.metadata!.resourceVersion } : {}),
      },
      spec: obj.spec,
    }
  }

  private toKiln(o: CustomObject): T {
    const m = o.metadata!
    const createdAt = m.creationTimestamp ? new Date(m.creationTimestamp as unknown as string).toISOString() : undefined
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: this.kind,
      metadata: {
        name: m.name!,
        generation: m.generation ?? 1,
        ...(createdAt ? { createdAt } : {}),
        updatedAt: m.annotations?.[UPDATED_AT] ?? createdAt,
        ...(m.labels && Object.keys(m.labels).length ? { labels: m.labels } : {}),
      },
      spec: o.spec,
      ...(o.status && Object.keys(o.status).length ? { status: o.status } : {}),
    } as T
  }
}

export async function crdStore<T extends Resource>(kc: KubeConfig, kind: string, o: CrdStoreOptions): Promise<CrdStore<T>> {
  return new CrdStore<T>(kind, kc, o).open()
}
