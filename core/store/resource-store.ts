// One store per kind of resource: get/list/create/put/delete/watch. Reads are synchronous from an
// in-memory view so the hot path never waits on I/O; the file store persists every write before it
// resolves, so a restarted `kiln up` sees what the last one accepted.
import { EventEmitter } from 'node:events'
import { KilnError, type ErrorCode } from '../errors.js'
import type { Resource } from '../types.js'

export interface StoreEvent<T> { type: 'put' | 'delete'; object: T }

export interface ResourceStore<T extends Resource> {
  readonly kind: string
  get(name: string): T | undefined
  list(): T[]
  /** Creates; fails with KILN_ERR_ALREADY_EXISTS when the name is taken. */
  create(obj: T): Promise<T>
  /** Creates or replaces; bumps metadata.generation when the spec changed. */
  put(obj: T): Promise<T>
  delete(name: string): Promise<T | undefined>
  watch(fn: (ev: StoreEvent<T>) => void): () => void
}

export interface Persistence<T> {
  load(): Promise<T[]>
  write(obj: T): Promise<void>
  remove(name: string): Promise<void>
}

const NOT_FOUND: Record<string, ErrorCode> = {
  Function: 'KILN_ERR_FUNCTION_NOT_FOUND',
  Runtime: 'KILN_ERR_RUNTIME_NOT_FOUND',
  HTTPTrigger: 'KILN_ERR_TRIGGER_NOT_FOUND',
  Workflow: 'KILN_ERR_WORKFLOW_NOT_FOUND',
  QueueTrigger: 'KILN_ERR_MQ_TRIGGER_NOT_FOUND',
}

export function notFound(kind: string, name: string): KilnError {
  return new KilnError(NOT_FOUND[kind] ?? 'KILN_ERR_NOT_FOUND', `${kind} "${name}" not found`)
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
    if (this.persistence) for (const obj of await this.persistence.load()) this.items.set(obj.metadata.name, obj)
    return this
  }

  get(name: string): T | undefined {
    return this.items.get(name)
  }

  list(): T[] {
    return [...this.items.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  }

  create(obj: T): Promise<T> {
    return this.serial(async () => {
      if (this.items.has(obj.metadata.name)) {
        throw new KilnError('KILN_ERR_ALREADY_EXISTS', `${this.kind} "${obj.metadata.name}" already exists`)
      }
      return this.write(obj, undefined)
    })
  }

  put(obj: T): Promise<T> {
    return this.serial(async () => this.write(obj, this.items.get(obj.metadata.name)))
  }

  delete(name: string): Promise<T | undefined> {
    return this.serial(async () => {
      const old = this.items.get(name)
      if (!old) return undefined
      await this.persistence?.remove(name)
      this.items.delete(name)
      this.events.emit('event', { type: 'delete', object: old } satisfies StoreEvent<T>)
      return old
    })
  }

  watch(fn: (ev: StoreEvent<T>) => void): () => void {
    this.events.on('event', fn)
    return () => this.events.off('event', fn)
  }

  private async write(obj: T, old: T | undefined): Promise<T> {
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
    this.items.set(stored.metadata.name, stored)
    this.events.emit('event', { type: 'put', object: stored } satisfies StoreEvent<T>)
    return stored
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }
}
