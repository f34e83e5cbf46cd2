// File persistence for resources: one JSON file per resource in `<data>/resources/<kind>/`,
// written to a temp file and renamed so a crash never leaves a half-written spec.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Resource } from '../types.js'
import { CachedStore, type Persistence } from './resource-store.js'

class FilePersistence<T extends Resource> implements Persistence<T> {
  constructor(private readonly dir: string) {}

  async load(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true })
    const out: T[] = []
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json')) continue
      out.push(JSON.parse(await readFile(join(this.dir, f), 'utf8')) as T)
    }
    return out
  }

  async write(obj: T): Promise<void> {
    const file = join(this.dir, `${obj.metadata.name}.json`)
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(obj, null, 2))
    await rename(tmp, file)
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.dir, `${name}.json`), { force: true })
  }
}

export async function fileStore<T extends Resource>(dataDir: string, kind: string): Promise<CachedStore<T>> {
  return new CachedStore<T>(kind, new FilePersistence<T>(join(dataDir, 'resources', kind.toLowerCase()))).open()
}
