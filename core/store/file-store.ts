// File persistence for resources: one JSON file per resource in `<data>/resources/<kind>/` (the
// `default` namespace and cluster-wide kinds) or `<data>/resources/<kind>/<namespace>/` (any other
// namespace), written to a temp file and renamed so a crash never leaves a half-written spec.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isName, parseRef, refOfMeta } from '../refs.js'
import type { Resource } from '../types.js'
import { CachedStore, type Persistence } from './resource-store.js'

class FilePersistence<T extends Resource> implements Persistence<T> {
  constructor(private readonly dir: string) {}

  async load(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true })
    const out: T[] = []
    for (const e of await readdir(this.dir, { withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.json')) out.push(JSON.parse(await readFile(join(this.dir, e.name), 'utf8')) as T)
      else if (e.isDirectory() && isName(e.name)) {
        for (const f of await readdir(join(this.dir, e.name))) {
          if (!f.endsWith('.json')) continue
          const obj = JSON.parse(await readFile(join(this.dir, e.name, f), 'utf8')) as T
          // The folder names the namespace; a file that says otherwise was not written by Kiln.
          if ((obj.metadata.namespace ?? e.name) === e.name) out.push({ ...obj, metadata: { ...obj.metadata, namespace: e.name } })
        }
      }
    }
    return out
  }

  private file(ref: string): string {
    const { namespace, name } = parseRef(ref)
    return ref.includes('/') ? join(this.dir, namespace, `${name}.json`) : join(this.dir, `${name}.json`)
  }

  async write(obj: T): Promise<void> {
    const ref = refOfMeta(obj.metadata)
    const file = this.file(ref)
    if (ref.includes('/')) await mkdir(join(this.dir, parseRef(ref).namespace), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(obj, null, 2))
    await rename(tmp, file)
  }

  async remove(ref: string): Promise<void> {
    await rm(this.file(ref), { force: true })
  }
}

export async function fileStore<T extends Resource>(dataDir: string, kind: string): Promise<CachedStore<T>> {
  return new CachedStore<T>(kind, new FilePersistence<T>(join(dataDir, 'resources', kind.toLowerCase()))).open()
}
