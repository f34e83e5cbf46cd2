// Tokens on Kubernetes: one Secret per token (`kiln-token-<id>`, labelled `kiln.dev/token`) holding the
// record (hash, role, namespaces, ...) as JSON, watched by every replica so a revocation reaches them
// all. The first admin token is the Secret `kiln-admin-token`, which also holds the token itself (as
// Argo CD's initial admin secret does): created once, atomically, by whichever replica gets there first.
import type { KubeConfig, V1Secret } from '@kubernetes/client-node'
import type { TokenRecord } from '../auth/token.js'
import { KilnError } from '../errors.js'
import { LabelledSecrets } from './kube-secrets.js'
import type { TokenStore } from './token-store.js'

export const TOKEN_LABEL = 'kiln.dev/token'
export const ADMIN_TOKEN_SECRET = 'kiln-admin-token'
const TOUCH_EVERY_MS = 60_000

function recordOf(s: V1Secret): TokenRecord | undefined {
  const raw = s.data?.record
  if (!raw) return undefined
  try { return JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as TokenRecord } catch { return undefined }
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

export class KubeTokenStore implements TokenStore {
  private readonly view: LabelledSecrets
  /** Token id → Secret name (the first admin's Secret is not named after its id). */
  private readonly names = new Map<string, string>()
  private readonly records = new Map<string, TokenRecord>()
  private readonly touched = new Map<string, number>()

  constructor(kc: KubeConfig, private readonly o: { namespace: string; onError?: (err: unknown) => void }) {
    this.view = new LabelledSecrets(kc, { namespace: o.namespace, label: TOKEN_LABEL, onError: o.onError })
    this.view.watch((ev) => {
      const rec = recordOf(ev.secret)
      if (!rec) return
      if (ev.type === 'put') { this.records.set(rec.id, rec); this.names.set(rec.id, ev.secret.metadata!.name!) } else { this.records.delete(rec.id); this.names.delete(rec.id) }
    })
  }

  async open(): Promise<this> {
    await this.view.open()
    return this
  }

  get(id: string): TokenRecord | undefined { return this.records.get(id) }

  list(): TokenRecord[] { return [...this.records.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)) }

  async create(rec: TokenRecord): Promise<void> {
    if (this.records.has(rec.id)) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `token ${rec.id} already exists`)
    await this.view.create({ metadata: { name: `kiln-token-${rec.id}` }, data: { record: b64(JSON.stringify(rec)) } })
  }

  async delete(id: string): Promise<boolean> {
    const name = this.names.get(id)
    if (!name) return false
    return this.view.delete(name)
  }

  touch(id: string, at: Date): void {
    const rec = this.records.get(id)
    const name = this.names.get(id)
    if (!rec || !name) return
    const last = Math.max(this.touched.get(id) ?? 0, rec.lastUsedAt ? Date.parse(rec.lastUsedAt) : 0)
    if (at.getTime() - last < TOUCH_EVERY_MS) return
    this.touched.set(id, at.getTime())
    const next = { ...rec, lastUsedAt: at.toISOString() }
    const secret = this.view.get(name)!
    // Best effort: a replica whose ServiceAccount may only read Secrets leaves lastUsedAt as it was.
    void this.view.replace({ ...secret, data: { ...secret.data, record: b64(JSON.stringify(next)) } }).catch(() => undefined)
  }

  async createInitialAdmin(rec: TokenRecord, token: string): Promise<{ created: boolean; where: string }> {
    const where = `Secret ${this.o.namespace}/${ADMIN_TOKEN_SECRET} (key token)`
    try {
      await this.view.create({ metadata: { name: ADMIN_TOKEN_SECRET }, data: { record: b64(JSON.stringify(rec)), token: b64(token) } })
      return { created: true, where }
    } catch (e) {
      if (e instanceof KilnError && e.code === 'KILN_ERR_ALREADY_EXISTS') return { created: false, where }
      throw e
    }
  }

  close(): Promise<void> { return this.view.close() }
}

export async function kubeTokenStore(kc: KubeConfig, o: { namespace: string; onError?: (err: unknown) => void }): Promise<KubeTokenStore> {
  return new KubeTokenStore(kc, o).open()
}
