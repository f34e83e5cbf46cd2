// File persistence for resources: one JSON file per resource in `<data>/resources/<kind>/` (the
// `default` namespace and cluster-wide kinds) or `<data>/resources/<kind>/<namespace>/` (any other
// namespace), written durably (core/store/durable-write.ts: temp file, fsync, rename, fsync of the
// folder) so a crash never leaves a half-written spec. At open, a temp file a crashed write left is
// removed (the file beside it is the last complete write); a resource file that is not valid JSON, or
// does not hold the resource it is named for, was changed outside kiln: KILN_ERR_STATE_CORRUPT names
// it, nothing starts.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { isName, parseRef, refOfMeta } from '../refs.js'
import type { Resource } from '../types.js'
import { staleTemp, syncDir, writeDurably } from './durable-write.js'
import { CachedStore, type Persistence } from './resource-store.js'

class FilePersistence<T extends Resource> implements Persistence<T> {
  constructor(private readonly dir: string) {}

  async load(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true })
    const out: T[] = []
    for (const e of (await readdir(this.dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && isName(e.name)) {
        // A namespace's folder: the folder names the namespace; a file that says otherwise was not written by Kiln.
        for (const obj of await this.readFolder(join(this.dir, e.name))) {
          if ((obj.metadata.namespace ?? e.name) !== e.name) throw new KilnError('KILN_ERR_STATE_CORRUPT', `${join(this.dir, e.name, obj.metadata.name + '.json')} names namespace "${obj.metadata.namespace}", not its folder's`)
          out.push({ ...obj, metadata: { ...obj.metadata, namespace: e.name } })
        }
      }
    }
    out.push(...(await this.readFolder(this.dir)))
    return out
  }

  /** The resource files of one folder; stale temp files removed, damaged files refused. */
  private async readFolder(dir: string): Promise<T[]> {
    const out: T[] = []
    for (const f of (await readdir(dir)).sort()) {
      const file = join(dir, f)
      if (f.endsWith('.tmp')) {
        if (staleTemp(f)) await rm(file, { force: true })
        continue
      }
      if (!f.endsWith('.json')) continue
      let obj: T
      try {
        obj = JSON.parse(await readFile(file, 'utf8')) as T
      } catch (e) {
        throw new KilnError('KILN_ERR_STATE_CORRUPT', `${file} is not valid JSON (${(e as Error).message})`, { file })
      }
      if (obj?.metadata?.name !== f.slice(0, -'.json'.length)) {
        throw new KilnError('KILN_ERR_STATE_CORRUPT', `${file} does not hold the resource it is named for`, { file })
      }
      out.push(obj)
    }
    return out
  }

  private file(ref: string): string {
    const { namespace, name } = parseRef(ref)
    return ref.includes('/') ? join(this.dir, namespace, `${name}.json`) : join(this.dir, `${name}.json`)
  }

  async write(obj: T): Promise<void> {
    const ref = refOfMeta(obj.metadata)
    if (ref.includes('/')) await mkdir(join(this.dir, parseRef(ref).namespace), { recursive: true })
    await writeDurably(this.file(ref), JSON.stringify(obj, null, 2))
  }

  async remove(ref: string): Promise<void> {
    const file = this.file(ref)
    await rm(file, { force: true })
    await syncDir(join(file, '..'))
  }
}

export async function fileStore<T extends Resource>(dataDir: string, kind: string): Promise<CachedStore<T>> {
  return new CachedStore<T>(kind, new FilePersistence<T>(join(dataDir, 'resources', kind.toLowerCase()))).open()
}
