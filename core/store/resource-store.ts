// One store per kind of resource: get/list/create/put/delete/watch. Reads are synchronous from an
// in-memory view so the hot path never waits on I/O; the file store persists every write before it
// resolves, so a restarted `kiln up` sees what the last one accepted.
import { EventEmitter } from 'node:events'
import { KilnError, type ErrorCode } from '../errors.js'
import { DEFAULT_NAMESPACE, refOfMeta } from '../refs.js'
import { NAMESPACED_KINDS, type Resource } from '../types.js'

export interface StoreEvent<T> { type: 'put' | 'delete'; object: T }

/**
 * Keyed by ref (core/refs.ts): the name in the `default` namespace or for cluster-wide kinds, `ns/name`
 * elsewhere. `list()` holds every namespace; callers filter by `metadata.namespace`.
 */
export interface ResourceStore<T extends Resource> {
  readonly kind: string
  get(ref: string): T | undefined
  list(): T[]
  /** Creates; fails with KILN_ERR_ALREADY_EXISTS when the name is taken in its namespace. */
  create(obj: T): Promise<T>
  /** Creates or replaces; bumps metadata.generation when the spec changed. */
  put(obj: T): Promise<T>
  delete(ref: string): Promise<T | undefined>
  watch(fn: (ev: StoreEvent<T>) => void): () => void
}

export interface Persistence<T> {
  load(): Promise<T[]>
  write(obj: T): Promise<void>
  remove(ref: string): Promise<void>
}

/** Namespaced kinds always carry their namespace (`default` included); cluster-wide ones never do. */
export function withNamespace<T extends Resource>(kind: string, obj: T): T {
  const namespaced = NAMESPACED_KINDS.includes(kind)
  const ns = obj.metadata.namespace
  if (namespaced && ns === undefined) return { ...obj, metadata: { ...obj.metadata, namespace: DEFAULT_NAMESPACE } }
  if (!namespaced && ns !== undefined) {
    const { namespace: _, ...metadata } = obj.metadata
    return { ...obj, metadata } as T
  }
  return obj
}

const NOT_FOUND: Record<string, ErrorCode> = {
  Function: 'KILN_ERR_FUNCTION_NOT_FOUND',
  Runtime: 'KILN_ERR_RUNTIME_NOT_FOUND',
  HTTPTrigger: 'KILN_ERR_TRIGGER_NOT_FOUND',
  Workflow: 'KILN_ERR_WORKFLOW_NOT_FOUND',
  Namespace: 'KILN_ERR_NAMESPACE_NOT_FOUND',
  Secret: 'KILN_ERR_SECRET_NOT_FOUND',
  CronTrigger: 'KILN_ERR_CRON_NOT_FOUND',
  QueueTrigger: 'KILN_ERR_MQ_TRIGGER_NOT_FOUND',
}

/** Not found, named as the user wrote it: `Function "hello"`, or `Function "hello" in namespace "team-a"`. */
export function notFound(kind: string, ref: string): KilnError {
  return new KilnError(NOT_FOUND[kind] ?? 'KILN_ERR_NOT_FOUND', `${kind} ${describeRef(ref)} not found`)
}

export class CachedStore<T extends Resource> implements ResourceStore<T> {
  private readonly items = new Map<string, T>()
  private readonly events = new EventEmitter()
  // Writes are serialized so generation numbers and files never interleave.
  private queue: Promise<unknown> = Promise.resolve()

  constructor(readonly kind: string, private readonly persistence?: Persistence<T>) {
    this.events.setMaxListeners(0)
  }

  async open(): Promise<this> {
    if (this.persistence) {
      for (const loaded of await this.persistence.load()) {
        const obj = withNamespace(this.kind, loaded)
        this.items.set(refOfMeta(obj.metadata), obj)
      }
    }
    return this
  }

  get(ref: string): T | undefined {
    return this.items.get(ref)
  }

  list(): T[] {
    return [...this.items.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v)
  }

  create(obj: T): Promise<T> {
    return this.serial(async () => {
      const ref = refOfMeta(obj.metadata)
      if (this.items.has(ref)) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `${this.kind} ${describeRef(ref)} already exists`)
      return this.write(obj, undefined)
    })
  }

  put(obj: T): Promise<T> {
    return this.serial(async () => this.write(obj, this.items.get(refOfMeta(obj.metadata))))
  }

  delete(ref: string): Promise<T | undefined> {
    return this.serial(async () => {
      const old = this.items.get(ref)
      if (!old) return undefined
      await this.persistence?.remove(ref)
      this.items.delete(ref)
      this.events.emit('event', { type: 'delete', object: old } satisfies StoreEvent<T>)
      return old
    })
  }

  watch(fn: (ev: StoreEvent<T>) => void): () => void {
    this.events.on('event', fn)
    return () => this.events.off('event', fn)
  }

  private async write(given: T, old: T | undefined): Promise<T> {
    const obj = withNamespace(this.kind, given)
    const now = new Date().toISOString()
    const changed = !old || JSON.stringify(old.spec) !== JSON.stringify(obj.spec)
    const stored = {
      ...obj,
      kind: this.kind,
      apiVersion: 'kiln.dev/v1',
      metadata: {
        ...obj.metadata,
        generation: old ? (old.metadata.generation ?? 1) + (changed ? 1 : 0) : 1,
        createdAt: old?.metadata.createdAt ?? now,
        updatedAt: changed ? now : (old?.metadata.updatedAt ?? now),
      },
    } as T
    await this.persistence?.write(stored)
    this.items.set(refOfMeta(stored.metadata), stored)
    this.events.emit('event', { type: 'put', object: stored } satisfies StoreEvent<T>)
    return stored
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }
}

/** `"hello"`, or `"hello" in namespace "team-a"`, for messages. */
export function describeRef(ref: string): string {
  const i = ref.indexOf('/')
  return i < 0 ? `"${ref}"` : `"${ref.slice(i + 1)}" in namespace "${ref.slice(0, i)}"`
}
