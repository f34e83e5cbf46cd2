// Package objects (deploy/crds/packages.yaml) into the package store: what lets a Function be applied
// with kubectl alone. For each Package the controller decodes the inline archive (or fetches its URL),
// puts it into the package store under the sha256 the object names (the store refuses bytes that do not
// hash to it, or that are no valid package), and writes `status.loaded`. Level-triggered: every object
// is looked at when the watch starts and on each change; a package already in the store is left alone.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { request } from 'undici'
import { kubeName, refOfMeta } from '../../core/refs.js'
import type { PackageStore } from '../../core/store/package-store.js'
import type { CrdStore } from '../../core/store/crd-store.js'
import type { Resource } from '../../core/types.js'

interface PackageSpec { sha256: string; archive?: string; url?: string }

export interface PackageSyncOptions {
  kc: KubeConfig
  namespace: string
  store: CrdStore<Resource>
  packages: PackageStore
  logger: Logger
  /** Largest archive fetched from a URL. */
  maxBytes: number
}

async function fetchArchive(url: string, maxBytes: number): Promise<Buffer> {
  const res = await request(url, { headersTimeout: 30_000, bodyTimeout: 60_000 })
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw new Error(`${url} answered ${res.statusCode}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of res.body) {
    size += (c as Buffer).length
    if (size > maxBytes) throw new Error(`${url} is over ${maxBytes} bytes`)
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

export function startPackageSync(o: PackageSyncOptions): () => void {
  const api = o.kc.makeApiClient(CustomObjectsApi)
  const busy = new Map<string, Promise<void>>()

  const setStatus = async (pkg: Resource, status: Record<string, unknown>) => {
    const current = pkg.status ?? {}
    if (Object.entries(status).every(([k, v]) => current[k] === v)) return
    await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: 'v1', namespace: o.namespace, plural: 'packages', name: kubeName(refOfMeta(pkg.metadata)), body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  }

  const load = async (pkg: Resource): Promise<void> => {
    const spec = pkg.spec as PackageSpec
    try {
      if (!(await o.packages.has(spec.sha256))) {
        const bytes = spec.archive !== undefined ? Buffer.from(spec.archive, 'base64') : await fetchArchive(String(spec.url), o.maxBytes)
        await o.packages.put(bytes, spec.sha256)
        o.logger.info({ package: pkg.metadata.name, sha256: spec.sha256, bytes: bytes.length }, 'package loaded from its Package object')
      }
      await setStatus(pkg, { loaded: 'True', message: '' })
    } catch (err) {
      o.logger.warn({ err, package: pkg.metadata.name }, 'package object not loaded')
      await setStatus(pkg, { loaded: 'False', message: (err as Error).message }).catch(() => undefined)
    }
  }

  const handle = (pkg: Resource) => {
    const key = refOfMeta(pkg.metadata)
    const prev = busy.get(key) ?? Promise.resolve()
    const next = prev.then(() => load(pkg))
    busy.set(key, next)
    void next.finally(() => { if (busy.get(key) === next) busy.delete(key) })
  }

  for (const pkg of o.store.list()) handle(pkg)
  return o.store.watch((ev) => { if (ev.type === 'put') handle(ev.object) })
}
