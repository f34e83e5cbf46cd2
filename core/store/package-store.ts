// Content-addressed code packages: stored by the sha256 of the archive, unpacked once on first use.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { KilnError } from '../errors.js'
import { writeDurably } from './durable-write.js'
import { UnpackCache } from './unpack-cache.js'
import { inspectArchive, unpackArchive } from '../package-archive.js'

export interface PackageInfo { sha256: string; size: number; files: string[] }

export interface PackageStore {
  /** Checks and stores an archive; fails with KILN_ERR_BAD_PACKAGE without storing anything. */
  put(data: Buffer, expectedSha256?: string): Promise<PackageInfo>
  has(sha256: string): Promise<boolean>
  /** The archive, checked against its sha256 (KILN_ERR_STATE_CORRUPT when the stored bytes changed). */
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

/** A sha256 a caller gave (URL, query): 64 lowercase hex digits, else KILN_ERR_VALIDATION. */
export function checkSha256(sha256: string, what = 'sha256'): string {
  if (!SHA.test(sha256)) throw new KilnError('KILN_ERR_VALIDATION', `${what}: must be 64 lowercase hex digits, got ${JSON.stringify(sha256.slice(0, 80))}`)
  return sha256
}

/** Stored bytes are served only if they still hash to their name: a changed blob is never loaded as code. */
export function verified(sha256: string, data: Buffer, where: string): Buffer {
  const actual = sha256Hex(data)
  if (actual !== sha256) throw new KilnError('KILN_ERR_STATE_CORRUPT', `package ${sha256} in ${where} does not match its sha256 (it hashes to ${actual})`, { sha256 })
  return data
}

let seq = 0

export class FilePackageStore implements PackageStore {
  private readonly blobs: string
  private readonly cache: UnpackCache

  constructor(dataDir: string) {
    this.blobs = join(dataDir, 'packages', 'sha256')
    this.cache = new UnpackCache(join(dataDir, 'packages', 'unpacked'), (sha) => this.get(sha))
  }

  async put(data: Buffer, expectedSha256?: string): Promise<PackageInfo> {
    if (expectedSha256 !== undefined) checkSha256(expectedSha256, '?sha256')
    const sha256 = sha256Hex(data)
    if (expectedSha256 && expectedSha256 !== sha256) {
      throw new KilnError('KILN_ERR_BAD_PACKAGE', `package checksum mismatch: expected ${expectedSha256}, got ${sha256}`)
    }
    const { files } = await inspectArchive(data)
    await mkdir(this.blobs, { recursive: true })
    const file = join(this.blobs, sha256)
    if (!existsSync(file)) await writeDurably(file, data, `${file}.${process.pid}.${++seq}.tmp`)
    return { sha256, size: data.length, files }
  }

  async has(sha256: string): Promise<boolean> {
    return SHA.test(sha256) && existsSync(join(this.blobs, sha256))
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    if (!(await this.has(checkSha256(sha256)))) return undefined
    return verified(sha256, await readFile(join(this.blobs, sha256)), this.blobs)
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
    if (!(await this.has(checkSha256(sha256)))) return false
    await rm(join(this.blobs, sha256), { force: true })
    await this.cache.forget(sha256)
    return true
  }

  unpacked(sha256: string): Promise<string> {
    return this.cache.get(sha256)
  }
}
