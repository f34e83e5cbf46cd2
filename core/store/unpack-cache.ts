// The local folder cache of unpacked packages, shared by every package store: each sha256 is unpacked
// once (concurrent callers share the work) into a temp folder renamed into place, so a reader never
// sees half a package. A package that fails to unpack leaves no temp folder behind, and temp folders
// left by a process that died mid-unpack are swept on the next unpack.
import { existsSync } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { unpackArchive } from '../package-archive.js'

const TMP = /^[a-f0-9]{64}\.(\d+)\.tmp$/

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class UnpackCache {
  private readonly unpacking = new Map<string, Promise<string>>()
  private swept = false

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

  private async sweep(): Promise<void> {
    if (this.swept) return
    this.swept = true
    for (const name of await readdir(this.dir).catch(() => [])) {
      const m = TMP.exec(name)
      if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue
      // A minute's grace: another process (another pid namespace on a shared volume) may still be at it.
      const st = await stat(join(this.dir, name)).catch(() => undefined)
      if (st && Date.now() - st.mtimeMs > 60_000) await rm(join(this.dir, name), { recursive: true, force: true })
    }
  }

  private async unpack(sha256: string, dir: string): Promise<string> {
    const data = await this.fetch(sha256)
    if (!data) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${sha256} not found`)
    await this.sweep()
    const tmp = `${dir}.${process.pid}.tmp`
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true, mode: 0o755 })
    try {
      await unpackArchive(data, tmp)
      await rename(tmp, dir)
    } catch (e) {
      await rm(tmp, { recursive: true, force: true, maxRetries: 3 })
      throw e
    }
    return dir
  }
}
