// Where tokens are kept (hashed; core/auth/token.ts): one interface, a file in the data dir for the
// embedded platform (this file) and Kubernetes Secrets in the cluster (kube-token-store.ts), both
// run through the same test suite. Reads are synchronous from memory: a request's token is checked
// with a map lookup and one hash, never an I/O wait.
import { chmod, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { parseToken, type TokenRecord } from '../auth/token.js'
import { writeSecretFile } from './secret-file.js'

export interface TokenStore {
  get(id: string): TokenRecord | undefined
  list(): TokenRecord[]
  create(rec: TokenRecord): Promise<void>
  /** False when there was no such token. */
  delete(id: string): Promise<boolean>
  /** Notes a use; written at most once a minute per token (never on the request's path). */
  touch(id: string, at: Date): void
  /**
   * Stores the first admin token and publishes the token itself where an operator finds it (the
   * embedded platform: `<data>/admin.token`; Kubernetes: the Secret `kiln-admin-token`). False when
   * another replica did it first. Returns where it was published.
   */
  createInitialAdmin(rec: TokenRecord, token: string): Promise<{ created: boolean; where: string }>
  close(): Promise<void>
}

const TOUCH_EVERY_MS = 60_000

/** Tokens in `<data>/tokens.json` (mode 0600, replaced atomically on every change). */
export class FileTokenStore implements TokenStore {
  private readonly tokens = new Map<string, TokenRecord>()
  private readonly file: string
  private queue: Promise<unknown> = Promise.resolve()
  private dirty: NodeJS.Timeout | undefined

  constructor(private readonly dataDir: string) {
    this.file = join(dataDir, 'tokens.json')
  }

  async open(): Promise<this> {
    if (existsSync(this.file)) {
      let doc: { tokens?: TokenRecord[] }
      try {
        doc = JSON.parse(await readFile(this.file, 'utf8')) as { tokens?: TokenRecord[] }
      } catch (e) {
        throw new KilnError('KILN_ERR_VALIDATION', `${this.file}: not a token file (${(e as Error).message})`)
      }
      for (const t of doc.tokens ?? []) this.tokens.set(t.id, t)
      // Whoever can read this file can read hashes only; still, nobody else needs to.
      await chmod(this.file, 0o600)
    }
    return this
  }

  get(id: string): TokenRecord | undefined { return this.tokens.get(id) }

  list(): TokenRecord[] { return [...this.tokens.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)) }

  create(rec: TokenRecord): Promise<void> {
    return this.serial(async () => {
      if (this.tokens.has(rec.id)) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `token ${rec.id} already exists`)
      this.tokens.set(rec.id, rec)
      await this.persist()
    })
  }

  delete(id: string): Promise<boolean> {
    return this.serial(async () => {
      if (!this.tokens.delete(id)) return false
      await this.persist()
      // A revoked first admin token is not left lying in the data dir for the CLI to try.
      const adminFile = join(this.dataDir, 'admin.token')
      const published = await readFile(adminFile, 'utf8').catch(() => '')
      if (parseToken(published.trim())?.id === id) await rm(adminFile, { force: true })
      return true
    })
  }

  touch(id: string, at: Date): void {
    const t = this.tokens.get(id)
    if (!t || (t.lastUsedAt && at.getTime() - Date.parse(t.lastUsedAt) < TOUCH_EVERY_MS)) return
    this.tokens.set(id, { ...t, lastUsedAt: at.toISOString() })
    this.dirty ??= setTimeout(() => {
      this.dirty = undefined
      void this.serial(() => this.persist()).catch(() => undefined)
    }, 1000)
    this.dirty.unref()
  }

  createInitialAdmin(rec: TokenRecord, token: string): Promise<{ created: boolean; where: string }> {
    const where = join(this.dataDir, 'admin.token')
    return this.serial(async () => {
      this.tokens.set(rec.id, rec)
      await this.persist()
      await writeSecretFile(where, `${token}\n`)
      return { created: true, where }
    })
  }

  async close(): Promise<void> {
    if (this.dirty) {
      clearTimeout(this.dirty)
      this.dirty = undefined
      await this.serial(() => this.persist())
    }
    await this.queue
  }

  private async persist(): Promise<void> {
    await writeSecretFile(this.file, JSON.stringify({ tokens: this.list() }, null, 2))
  }

  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.queue.then(fn, fn)
    this.queue = next.catch(() => undefined)
    return next
  }
}

export async function fileTokenStore(dataDir: string): Promise<FileTokenStore> {
  return new FileTokenStore(dataDir).open()
}
