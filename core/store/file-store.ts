// File persistence for resources: one JSON file per resource in `<data>/resources/<kind>/`, written
// durably (core/store/durable-write.ts: temp file, fsync, rename, fsync of the folder) so a crash
// never leaves a half-written spec. At open, a temp file a crashed write left is removed (the file
// beside it is the last complete write); a resource file that is not valid JSON, or does not hold the
// resource it is named for, was changed outside kiln: KILN_ERR_STATE_CORRUPT names it, nothing starts.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import type { Resource } from '../types.js'
import { staleTemp, syncDir, writeDurably } from './durable-write.js'
import { CachedStore, type Persistence } from './resource-store.js'

class FilePersistence<T extends Resource> implements Persistence<T> {
  constructor(private readonly dir: string) {}

  async load(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true })
    const out: T[] = []
    for (const f of (await readdir(this.dir)).sort()) {
      const file = join(this.dir, f)
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

  async write(obj: T): Promise<void> {
    await writeDurably(join(this.dir, `${obj.metadata.name}.json`), JSON.stringify(obj, null, 2))
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.dir, `${name}.json`), { force: true })
    await syncDir(this.dir)
  }
}

export async function fileStore<T extends Resource>(dataDir: string, kind: string): Promise<CachedStore<T>> {
  return new CachedStore<T>(kind, new FilePersistence<T>(join(dataDir, 'resources', kind.toLowerCase()))).open()
}
