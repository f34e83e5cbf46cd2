// Kubernetes Secrets carrying one label, as a local view: listed and watched (client-node informer,
// restarted after a dropped watch), read synchronously, written through the API server with the view
// updated from the server's answer at once (a caller reads its own write). The token store and the
// Kiln secret store on Kubernetes are each one label over this.
import { EventEmitter } from 'node:events'
import { ApiException, CoreV1Api, makeInformer, type Informer, type KubeConfig, type ObjectCache, type V1Secret } from '@kubernetes/client-node'
import { KilnError } from '../errors.js'
import { kubeError } from './crd-store.js'

export interface LabelledSecretsOptions {
  namespace: string
  /** The label every object of this view carries (its value is the caller's). */
  label: string
  retryMs?: number
  onError?: (err: unknown) => void
}

export type SecretEvent = { type: 'put' | 'delete'; secret: V1Secret }

export class LabelledSecrets {
  private readonly items = new Map<string, V1Secret>()
  /** Deleted here: a late informer echo of an older version must not bring it back. */
  private readonly tombstones = new Map<string, string | undefined>()
  private readonly events = new EventEmitter()
  private readonly api: CoreV1Api
  private informer: (Informer<V1Secret> & ObjectCache<V1Secret>) | undefined
  private retry: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly kc: KubeConfig, private readonly o: LabelledSecretsOptions) {
    this.events.setMaxListeners(0)
    this.api = kc.makeApiClient(CoreV1Api)
  }

  async open(): Promise<this> {
    const ns = this.o.namespace
    const inf = makeInformer<V1Secret>(this.kc, `/api/v1/namespaces/${ns}/secrets`, () => this.api.listNamespacedSecret({ namespace: ns, labelSelector: this.o.label }), this.o.label)
    inf.on('add', (s) => this.observe(s))
    inf.on('update', (s) => this.observe(s))
    inf.on('delete', (s) => this.forget(s))
    inf.on('error', (err) => {
      if (this.closed) return
      this.o.onError?.(err)
      this.retry = setTimeout(() => void inf.start().catch(() => undefined), this.o.retryMs ?? 1000)
      this.retry.unref()
    })
    this.informer = inf
    await inf.start()
    return this
  }

  get(name: string): V1Secret | undefined {
    return this.items.get(name)
  }

  list(): V1Secret[] {
    return [...this.items.values()]
  }

  /** Creates; KILN_ERR_ALREADY_EXISTS when the name is taken. */
  async create(body: V1Secret): Promise<V1Secret> {
    try {
      return this.observe(await this.api.createNamespacedSecret({ namespace: this.o.namespace, body: this.labelled(body) }))
    } catch (e) {
      if (e instanceof ApiException && e.code === 409) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `secret object ${body.metadata?.name} already exists`)
      throw kubeError(e, `secret object ${body.metadata?.name}`)
    }
  }

  /** Replaces what is there (read, then write with its resourceVersion; retried on a conflict). */
  async replace(body: V1Secret): Promise<V1Secret> {
    const name = body.metadata!.name!
    for (let attempt = 0; ; attempt++) {
      try {
        const current = await this.api.readNamespacedSecret({ name, namespace: this.o.namespace })
        const next = this.labelled({ ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } })
        return this.observe(await this.api.replaceNamespacedSecret({ name, namespace: this.o.namespace, body: next }))
      } catch (e) {
        if (e instanceof ApiException && e.code === 409 && attempt < 5) continue
        throw kubeError(e, `secret object ${name}`)
      }
    }
  }

  async delete(name: string): Promise<boolean> {
    const had = this.items.get(name)
    try {
      await this.api.deleteNamespacedSecret({ name, namespace: this.o.namespace })
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) { if (had) this.forget(had); return false }
      throw kubeError(e, `secret object ${name}`)
    }
    if (had) this.forget(had)
    return true
  }

  watch(fn: (ev: SecretEvent) => void): () => void {
    this.events.on('event', fn)
    return () => this.events.off('event', fn)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    await this.informer?.stop()
  }

  private labelled(body: V1Secret): V1Secret {
    const [key, value] = this.o.label.split('=')
    return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', ...body, metadata: { ...body.metadata, namespace: this.o.namespace, labels: { ...body.metadata?.labels, [key]: value ?? 'true' } } }
  }

  private observe(s: V1Secret): V1Secret {
    const name = s.metadata?.name
    if (!name) return s
    if (this.tombstones.has(name)) {
      if (!older(this.tombstones.get(name), s.metadata?.resourceVersion)) return s
      this.tombstones.delete(name)
    }
    const have = this.items.get(name)
    if (have && have.metadata?.resourceVersion === s.metadata?.resourceVersion) return have
    // An older echo of the informer must not undo a newer write of ours.
    if (have && older(s.metadata?.resourceVersion, have.metadata?.resourceVersion)) return have
    this.items.set(name, s)
    this.events.emit('event', { type: 'put', secret: s } satisfies SecretEvent)
    return s
  }

  private forget(s: V1Secret): void {
    const name = s.metadata?.name
    if (!name || !this.items.has(name)) return
    const have = this.items.get(name)!
    this.tombstones.set(name, have.metadata?.resourceVersion)
    setTimeout(() => this.tombstones.delete(name), 60_000).unref()
    this.items.delete(name)
    this.events.emit('event', { type: 'delete', secret: have } satisfies SecretEvent)
  }
}

function older(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false
  try { return BigInt(a) < BigInt(b) } catch { return false }
}
