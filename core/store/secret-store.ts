// Where Kiln secrets are kept: one interface, encrypted files in the data dir for the embedded platform
// (this file) and Kubernetes Secrets in the cluster (kube-secret-store.ts), both run through the same
// test suite. What the API may show (names, key names, sizes) is separate from the values, which only
// the executor reads, to hand them to the instances of the functions that list the secret.
//
// At rest (embedded): AES-256-GCM, one fresh 96-bit IV per value, the namespace, name and key bound as
// associated data (a value copied into another secret's file does not decrypt), under a 256-bit key in
// `<data>/secrets.key` (mode 0600, made on first start). Whoever can read the data dir can read the key
// too: the encryption keeps values out of backups of `resources/`, logs and casual reads, and the data
// dir is the platform's own (docs/security.md).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { DEFAULT_NAMESPACE, isName, parseRef, refOf } from '../refs.js'
import { MAX_SECRET_BYTES, SECRET_KEY_PATTERN, type FunctionResource } from '../types.js'
import { describeRef, notFound } from './resource-store.js'
import { writeSecretFile } from './secret-file.js'

export interface SecretInfo {
  namespace: string
  name: string
  keys: { key: string; bytes: number }[]
  createdAt: string
  updatedAt: string
  /** Changes whenever a value changes, and between a deleted secret and one made again under its name. */
  version: string
}

export interface SecretEvent { type: 'put' | 'delete'; ref: string; info: SecretInfo }

export interface SecretStore {
  get(ref: string): SecretInfo | undefined
  list(): SecretInfo[]
  /** The values, for the executor only. */
  values(ref: string): Map<string, Buffer> | undefined
  /** `create` fails with KILN_ERR_ALREADY_EXISTS when it exists; `update` with KILN_ERR_SECRET_NOT_FOUND when not. */
  put(ref: string, data: Map<string, Buffer>, mode: 'create' | 'update'): Promise<SecretInfo>
  delete(ref: string): Promise<boolean>
  watch(fn: (ev: SecretEvent) => void): () => void
  close(): Promise<void>
}

/** Does the function list the secret `namespace/name` (as files or for its env)? */
export function listsSecret(fn: FunctionResource, namespace: string, name: string): boolean {
  if ((fn.metadata.namespace ?? DEFAULT_NAMESPACE) !== namespace) return false
  return (fn.spec.secrets ?? []).includes(name) || (fn.spec.secretEnv ?? []).some((e) => e.secret === name)
}

/** Checks keys and size before anything is stored (both stores). */
export function checkSecretData(data: Map<string, Buffer>): void {
  if (data.size === 0) throw new KilnError('KILN_ERR_VALIDATION', 'data: a secret needs at least one key')
  let total = 0
  for (const [k, v] of data) {
    if (!SECRET_KEY_PATTERN.test(k) || k === '.' || k === '..') throw new KilnError('KILN_ERR_VALIDATION', `data.${k}: a key is 1-253 letters, digits, '-', '.' or '_' (and not . or ..)`)
    total += v.length
  }
  if (total > MAX_SECRET_BYTES) throw new KilnError('KILN_ERR_VALIDATION', `data: ${total} bytes is over the ${MAX_SECRET_BYTES}-byte limit of a secret`)
}

interface StoredSecret {
  namespace: string
  name: string
  createdAt: string
  updatedAt: string
  generation: number
  /** key → `v1.<iv>.<tag>.<ciphertext>` (base64url parts). */
  data: Record<string, string>
}

const ALGO = 'aes-256-gcm'

function aad(ns: string, name: string, key: string): Buffer {
  return Buffer.from(`kiln-secret\0${ns}\0${name}\0${key}`)
}

export function sealValue(master: Buffer, ns: string, name: string, key: string, value: Buffer): string {
  const iv = randomBytes(12)
  const c = createCipheriv(ALGO, master, iv)
  c.setAAD(aad(ns, name, key))
  const ct = Buffer.concat([c.update(value), c.final()])
  return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`
}

export function openValue(master: Buffer, ns: string, name: string, key: string, sealed: string): Buffer {
  const [v, iv, tag, ct] = sealed.split('.')
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new KilnError('KILN_ERR_INTERNAL', `secret ${describeRef(refOf(ns, name))}: key ${key} is not sealed by Kiln`)
  const d = createDecipheriv(ALGO, master, Buffer.from(iv, 'base64url'))
  d.setAAD(aad(ns, name, key))
  d.setAuthTag(Buffer.from(tag, 'base64url'))
  try {
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()])
  } catch {
    throw new KilnError('KILN_ERR_INTERNAL', `secret ${describeRef(refOf(ns, name))}: key ${key} does not decrypt with this data dir's secrets.key`)
  }
}

/** `<data>/secrets.key`: read, or made (32 random bytes, mode 0600) on first start. */
export async function secretsKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, 'secrets.key')
  if (existsSync(file)) {
    const key = await readFile(file)
    if (key.length !== 32) throw new KilnError('KILN_ERR_VALIDATION', `${file}: must hold 32 bytes (a key Kiln made); it holds ${key.length}`)
    await chmod(file, 0o600)
    return key
  }
  const key = randomBytes(32)
  await writeSecretFile(file, key)
  return key
}

/** Encrypted files: `<data>/secrets/<name>.json` (default namespace) or `<data>/secrets/<ns>/<name>.json`. */
export class FileSecretStore implements SecretStore {
  private readonly items = new Map<string, StoredSecret>()
  private readonly events = new EventEmitter()
  private readonly dir: string
  private queue: Promise<unknown> = Promise.resolve()

  constructor(dataDir: string, private readonly master: Buffer) {
    this.dir = join(dataDir, 'secrets')
    this.events.setMaxListeners(0)
  }

  async open(): Promise<this> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await chmod(this.dir, 0o700)
    for (const e of await readdir(this.dir, { withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.json')) this.load(await readFile(join(this.dir, e.name), 'utf8'))
      else if (e.isDirectory() && isName(e.name)) {
        for (const f of await readdir(join(this.dir, e.name))) if (f.endsWith('.json')) this.load(await readFile(join(this.dir, e.name, f), 'utf8'))
      }
    }
    return this
  }

  private load(text: string): void {
    const s = JSON.parse(text) as StoredSecret
    this.items.set(refOf(s.namespace, s.name), s)
  }

  get(ref: string): SecretInfo | undefined {
    const s = this.items.get(ref)
    return s && this.info(s)
  }

  list(): SecretInfo[] {
    return [...this.items.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => this.info(s))
  }

  values(ref: string): Map<string, Buffer> | undefined {
    const s = this.items.get(ref)
    if (!s) return undefined
    return new Map(Object.entries(s.data).map(([k, v]) => [k, openValue(this.master, s.namespace, s.name, k, v)]))
  }

  put(ref: string, data: Map<string, Buffer>, mode: 'create' | 'update'): Promise<SecretInfo> {
    return this.serial(async () => {
      checkSecretData(data)
      const { namespace, name } = parseRef(ref)
      const old = this.items.get(ref)
      if (mode === 'create' && old) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `secret ${describeRef(ref)} already exists`, { hint: 'change it with `kiln secret update`' })
      if (mode === 'update' && !old) throw notFound('Secret', ref)
      const now = new Date().toISOString()
      const sealed: Record<string, string> = {}
      for (const [k, v] of [...data].sort(([a], [b]) => a.localeCompare(b))) sealed[k] = sealValue(this.master, namespace, name, k, v)
      const s: StoredSecret = { namespace, name, createdAt: old?.createdAt ?? now, updatedAt: now, generation: (old?.generation ?? 0) + 1, data: sealed }
      if (ref.includes('/')) await mkdir(join(this.dir, namespace), { recursive: true, mode: 0o700 })
      await writeSecretFile(this.file(ref), JSON.stringify(s, null, 2))
      this.items.set(ref, s)
      const info = this.info(s)
      this.events.emit('event', { type: 'put', ref, info } satisfies SecretEvent)
      return info
    })
  }

  delete(ref: string): Promise<boolean> {
    return this.serial(async () => {
      const s = this.items.get(ref)
      if (!s) return false
      await rm(this.file(ref), { force: true })
      this.items.delete(ref)
      this.events.emit('event', { type: 'delete', ref, info: this.info(s) } satisfies SecretEvent)
      return true
    })
  }

  watch(fn: (ev: SecretEvent) => void): () => void {
    this.events.on('event', fn)
    return () => this.events.off('event', fn)
  }

  async close(): Promise<void> { await this.queue }

  private file(ref: string): string {
    const { namespace, name } = parseRef(ref)
    return ref.includes('/') ? join(this.dir, namespace, `${name}.json`) : join(this.dir, `${name}.json`)
  }

  private info(s: StoredSecret): SecretInfo {
    const keys = Object.entries(s.data).map(([key, v]) => ({ key, bytes: Math.max(0, Buffer.from(v.split('.')[3] ?? '', 'base64url').length) }))
    return { namespace: s.namespace, name: s.name, keys, createdAt: s.createdAt, updatedAt: s.updatedAt, version: `${s.createdAt}#${s.generation}` }
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }
}

export async function fileSecretStore(dataDir: string): Promise<FileSecretStore> {
  return new FileSecretStore(dataDir, await secretsKey(dataDir)).open()
}
