// Kiln secrets on Kubernetes: each one a Kubernetes Secret `kiln-secret-<name>` (or
// `kiln-secret-<ns>.<name>` outside `default`; core/refs.ts kubeName) labelled `kiln.dev/secret`, its
// keys the Secret's own data keys, so the cluster's encryption at rest and RBAC apply to them as to any
// Secret. Watched by every replica: the executors see a change and roll the functions that use it.
import type { KubeConfig, V1Secret } from '@kubernetes/client-node'
import { KilnError } from '../errors.js'
import { DEFAULT_NAMESPACE, kubeName, parseRef, refOfKubeName } from '../refs.js'
import { NAMESPACE_LABEL } from './crd-store.js'
import { LabelledSecrets } from './kube-secrets.js'
import { describeRef, notFound } from './resource-store.js'
import { checkSecretData, type SecretEvent, type SecretInfo, type SecretStore } from './secret-store.js'

export const SECRET_LABEL = 'kiln.dev/secret'
const PREFIX = 'kiln-secret-'

const objectName = (ref: string) => `${PREFIX}${kubeName(ref)}`

function refOfObject(s: V1Secret): string | undefined {
  const name = s.metadata?.name
  return name?.startsWith(PREFIX) ? refOfKubeName(name.slice(PREFIX.length)) : undefined
}

function infoOf(s: V1Secret): SecretInfo {
  const { namespace, name } = parseRef(refOfObject(s)!)
  const created = s.metadata?.creationTimestamp ? new Date(s.metadata.creationTimestamp as unknown as string).toISOString() : ''
  return {
    namespace, name,
    keys: Object.entries(s.data ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([key, v]) => ({ key, bytes: Buffer.from(v, 'base64').length })),
    createdAt: created,
    updatedAt: s.metadata?.annotations?.['kiln.dev/updated-at'] ?? created,
    version: `${s.metadata?.uid ?? ''}#${s.metadata?.resourceVersion ?? ''}`,
  }
}

export class KubeSecretStore implements SecretStore {
  private readonly view: LabelledSecrets
  private readonly byRef = new Map<string, V1Secret>()

  constructor(kc: KubeConfig, o: { namespace: string; onError?: (err: unknown) => void }) {
    this.view = new LabelledSecrets(kc, { namespace: o.namespace, label: SECRET_LABEL, onError: o.onError })
    this.view.watch((ev) => {
      const ref = refOfObject(ev.secret)
      if (ref === undefined) return
      if (ev.type === 'put') this.byRef.set(ref, ev.secret)
      else this.byRef.delete(ref)
    })
  }

  async open(): Promise<this> {
    await this.view.open()
    return this
  }

  get(ref: string): SecretInfo | undefined {
    const s = this.byRef.get(ref)
    return s && infoOf(s)
  }

  list(): SecretInfo[] {
    return [...this.byRef.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, s]) => infoOf(s))
  }

  values(ref: string): Map<string, Buffer> | undefined {
    const s = this.byRef.get(ref)
    return s && new Map(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]))
  }

  async put(ref: string, data: Map<string, Buffer>, mode: 'create' | 'update'): Promise<SecretInfo> {
    checkSecretData(data)
    const { namespace } = parseRef(ref)
    const body: V1Secret = {
      metadata: {
        name: objectName(ref),
        labels: namespace !== DEFAULT_NAMESPACE ? { [NAMESPACE_LABEL]: namespace } : {},
        annotations: { 'kiln.dev/updated-at': new Date().toISOString() },
      },
      data: Object.fromEntries([...data].map(([k, v]) => [k, v.toString('base64')])),
    }
    if (mode === 'create') {
      try {
        return infoOf(await this.view.create(body))
      } catch (e) {
        if (e instanceof KilnError && e.code === 'KILN_ERR_ALREADY_EXISTS') throw new KilnError('KILN_ERR_ALREADY_EXISTS', `secret ${describeRef(ref)} already exists`, { hint: 'change it with `kiln secret update`' })
        throw e
      }
    }
    if (!this.byRef.has(ref)) throw notFound('Secret', ref)
    return infoOf(await this.view.replace(body))
  }

  delete(ref: string): Promise<boolean> {
    return this.view.delete(objectName(ref))
  }

  watch(fn: (ev: SecretEvent) => void): () => void {
    return this.view.watch((ev) => {
      const ref = refOfObject(ev.secret)
      if (ref !== undefined) fn({ type: ev.type, ref, info: infoOf(ev.secret) })
    })
  }

  close(): Promise<void> { return this.view.close() }
}

export async function kubeSecretStore(kc: KubeConfig, o: { namespace: string; onError?: (err: unknown) => void }): Promise<KubeSecretStore> {
  return new KubeSecretStore(kc, o).open()
}
