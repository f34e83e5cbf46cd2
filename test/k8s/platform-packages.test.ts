// The Redis package store against a real redis-server: the same contract as the file store (content
// addressed, checked before stored, unpacked once into a local cache dir), shared between processes.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisPackageStore } from '../../core/store/redis-package-store.js'
import { buildPackage } from '../../runtimes/builder/index.js'
import { useRedis } from '../helpers/redis.js'

describe('Redis package store', () => {
  const redis = useRedis()
  const dirs: string[] = []
  const stores: RedisPackageStore[] = []
  const open = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-pkgcache-'))
    dirs.push(dir)
    const s = new RedisPackageStore({ redis: redis.current.url, cacheDir: dir })
    stores.push(s)
    return s
  }
  afterAll(async () => {
    for (const s of stores) await s.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const pkg = async (body: string) => {
    const src = await mkdtemp(join(tmpdir(), 'kiln-pkgsrc-'))
    dirs.push(src)
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(src, 'index.mjs'), `export default async () => ${JSON.stringify(body)}\n`)
    return buildPackage({ source: join(src, 'index.mjs'), runtime: 'node' })
  }

  it('stores by sha256; another process sees it and unpacks it into its own cache dir', async () => {
    const a = await open()
    const b = await open()
    const built = await pkg('one')
    const info = await a.put(built.archive)
    expect(info.sha256).toBe(built.sha256)
    expect(await b.has(built.sha256)).toBe(true)
    expect((await b.get(built.sha256))?.equals(built.archive)).toBe(true)
    expect(await b.list()).toContainEqual({ sha256: built.sha256, size: built.archive.length })
    const dir = await b.unpacked(built.sha256)
    expect(dir.startsWith(dirs[1]!)).toBe(true)
    expect(await readFile(join(dir, built.entrypoint), 'utf8')).toContain('one')
    expect(await b.unpacked(built.sha256)).toBe(dir)
  })

  it('a checksum mismatch or a broken archive is KILN_ERR_BAD_PACKAGE and stores nothing', async () => {
    const s = await open()
    const built = await pkg('two')
    await expect(s.put(built.archive, 'f'.repeat(64))).rejects.toMatchObject({ code: 'KILN_ERR_BAD_PACKAGE' })
    await expect(s.put(Buffer.from('not a tarball'))).rejects.toMatchObject({ code: 'KILN_ERR_BAD_PACKAGE' })
    expect(await s.has(built.sha256)).toBe(false)
  })

  it('delete removes the blob and the unpacked tree; unknown packages are KILN_ERR_PACKAGE_NOT_FOUND', async () => {
    const s = await open()
    const built = await pkg('three')
    await s.put(built.archive)
    await s.unpacked(built.sha256)
    expect(await s.delete(built.sha256)).toBe(true)
    expect(await s.has(built.sha256)).toBe(false)
    expect(await s.delete(built.sha256)).toBe(false)
    await expect(s.unpacked(built.sha256)).rejects.toMatchObject({ code: 'KILN_ERR_PACKAGE_NOT_FOUND' })
  })
})
