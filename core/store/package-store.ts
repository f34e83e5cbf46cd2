// Content-addressed code packages: stored by the sha256 of the archive, unpacked once on first use.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { UnpackCache } from './unpack-cache.js'
import { inspectArchive } from '../package-archive.js'

export interface PackageInfo { sha256: string; size: number; files: string[] }

export interface PackageStore {
  /** Checks and stores an archive; fails with KILN_ERR_BAD_PACKAGE without storing anything. */
  put(data: Buffer, expectedSha256?: string): Promise<PackageInfo>
  has(sha256: string): Promise<boolean>
  get(sha256: string): Promise<Buffer | undefined>
  list(): Promise<{ sha256: string; size: number }[]>
  delete(sha256: string): Promise<boolean>
  /** A local folder holding the unpacked package (unpacked on first call, then cached). */
  unpacked(sha256: string): Promise<string>
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

const SHA = /^[a-f0-9]{64}$/

export class FilePackageStore implements PackageStore {
  private readonly blobs: string
  private readonly cache: UnpackCache

  constructor(dataDir: string) {
    this.blobs = join(dataDir, 'packages', 'sha256')
    this.cache = new UnpackCache(join(dataDir, 'packages', 'unpacked'), (sha) => this.get(sha))
  }

  async put(data: Buffer, expectedSha256?: string): Promise<PackageInfo> {
    const sha256 = sha256Hex(data)
    if (expectedSha256 && expectedSha256 !== sha256) {
      throw new KilnError('KILN_ERR_BAD_PACKAGE', `package checksum mismatch: expected ${expectedSha256}, got ${sha256}`)
    }
    const { files } = await inspectArchive(data)
    await mkdir(this.blobs, { recursive: true })
    const file = join(this.blobs, sha256)
    if (!existsSync(file)) {
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
      try {
        await writeFile(tmp, data)
        await rename(tmp, file)
      } catch (e) {
        await rm(tmp, { force: true })
        throw e
      }
    }
    return { sha256, size: data.length, files }
  }

  async has(sha256: string): Promise<boolean> {
    return SHA.test(sha256) && existsSync(join(this.blobs, sha256))
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    if (!(await this.has(sha256))) return undefined
    return readFile(join(this.blobs, sha256))
  }

  async list(): Promise<{ sha256: string; size: number }[]> {
    if (!existsSync(this.blobs)) return []
    const out = []
    for (const f of await readdir(this.blobs)) {
      if (SHA.test(f)) out.push({ sha256: f, size: (await stat(join(this.blobs, f))).size })
    }
    return out
  }

  async delete(sha256: string): Promise<boolean> {
    if (!(await this.has(sha256))) return false
    await rm(join(this.blobs, sha256), { force: true })
    await this.cache.forget(sha256)
    return true
  }

  unpacked(sha256: string): Promise<string> {
    return this.cache.get(sha256)
  }
}
