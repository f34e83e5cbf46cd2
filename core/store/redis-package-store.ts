// Code packages in Redis, by sha256: the distributed twin of FilePackageStore. Every platform process
// (controller, executors) shares the blobs; each unpacks a package once into its own local cache dir
// on first use, exactly as the file store does. A blob is written with SET NX, so concurrent uploads
// of the same archive store it once; the index (a hash sha256 → size) lists them.
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { KilnError } from '../errors.js'
import { UnpackCache } from './unpack-cache.js'
import { inspectArchive, unpackArchive } from '../package-archive.js'
import { checkSha256, sha256Hex, verified, type PackageInfo, type PackageStore } from './package-store.js'

const SHA = /^[a-f0-9]{64}$/

export interface RedisPackageStoreOptions {
  /** An ioredis client (left open by close()) or a redis:// URL (the store owns that connection). */
  redis: Redis | string
  /** Local folder for unpacked packages. */
  cacheDir: string
  /** Key prefix (default "kiln:"). */
  prefix?: string
}

export class RedisPackageStore implements PackageStore {
  private readonly redis: Redis
  private readonly owned: boolean
  private readonly prefix: string
  private readonly cache: UnpackCache

  constructor(o: RedisPackageStoreOptions) {
    this.owned = typeof o.redis === 'string'
    this.redis = typeof o.redis === 'string' ? new Redis(o.redis, { lazyConnect: false, maxRetriesPerRequest: 3 }) : o.redis
    this.prefix = o.prefix ?? 'kiln:'
    this.cache = new UnpackCache(join(o.cacheDir, 'packages', 'unpacked'), (sha) => this.get(sha))
  }

  private blobKey(sha256: string): string { return `${this.prefix}package:${sha256}` }
  private get indexKey(): string { return `${this.prefix}packages` }

  async put(data: Buffer, expectedSha256?: string): Promise<PackageInfo> {
    if (expectedSha256 !== undefined) checkSha256(expectedSha256, '?sha256')
    const sha256 = sha256Hex(data)
    if (expectedSha256 && expectedSha256 !== sha256) {
      throw new KilnError('KILN_ERR_BAD_PACKAGE', `package checksum mismatch: expected ${expectedSha256}, got ${sha256}`)
    }
    const { files } = await inspectArchive(data)
    await this.redis.multi().set(this.blobKey(sha256), data, 'NX').hset(this.indexKey, sha256, String(data.length)).exec()
    return { sha256, size: data.length, files }
  }

  async has(sha256: string): Promise<boolean> {
    return SHA.test(sha256) && (await this.redis.exists(this.blobKey(sha256))) === 1
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    const data = await this.redis.getBuffer(this.blobKey(checkSha256(sha256)))
    return data ? verified(sha256, data, 'Redis') : undefined
  }

  async list(): Promise<{ sha256: string; size: number }[]> {
    const all = await this.redis.hgetall(this.indexKey)
    return Object.entries(all).map(([sha256, size]) => ({ sha256, size: Number(size) })).sort((a, b) => a.sha256.localeCompare(b.sha256))
  }

  async delete(sha256: string): Promise<boolean> {
    checkSha256(sha256)
    const [[, removed]] = (await this.redis.multi().del(this.blobKey(sha256)).hdel(this.indexKey, sha256).exec()) as [[Error | null, number]]
    await this.cache.forget(sha256)
    return removed === 1
  }

  unpacked(sha256: string): Promise<string> {
    return this.cache.get(sha256)
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit().catch(() => undefined)
  }
}
