// The local folder cache of unpacked packages, shared by every package store: each sha256 is unpacked
// once (concurrent callers share the work) into a temp folder renamed into place, so a reader never
// sees half a package.
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { unpackArchive } from '../package-archive.js'

export class UnpackCache {
  private readonly unpacking = new Map<string, Promise<string>>()

  constructor(readonly dir: string, private readonly fetch: (sha256: string) => Promise<Buffer | undefined>) {}

  get(sha256: string): Promise<string> {
    if (!/^[a-f0-9]{64}$/.test(sha256)) return Promise.reject(new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${sha256} not found`))
    const dir = join(this.dir, sha256)
    if (existsSync(dir)) return Promise.resolve(dir)
    let p = this.unpacking.get(sha256)
    if (!p) {
      p = this.unpack(sha256, dir).finally(() => this.unpacking.delete(sha256))
      this.unpacking.set(sha256, p)
    }
    return p
  }

  async forget(sha256: string): Promise<void> {
    await rm(join(this.dir, sha256), { recursive: true, force: true })
  }

  private async unpack(sha256: string, dir: string): Promise<string> {
    const data = await this.fetch(sha256)
    if (!data) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${sha256} not found`)
    const tmp = `${dir}.${process.pid}.tmp`
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true })
    await unpackArchive(data, tmp)
    await rename(tmp, dir)
    return dir
  }
}
