// Code packages are content-addressed: a store refuses an upload whose `?sha256` is wrong or not a
// sha256, refuses a name that is not one, and never hands out (to a download or to the unpacker that
// loads it as code) a stored blob that no longer hashes to its name. The same cases for the file store
// (embedded) and the Redis store (Kubernetes mode), then over HTTP through the control API.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FilePackageStore, type PackageStore } from '../../../core/store/package-store.js'
import { RedisPackageStore } from '../../../core/store/redis-package-store.js'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { useRedis } from '../../helpers/redis.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-pkgstore-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

async function pkg(body: string) {
  const src = await mkdtemp(join(dir, 'src-'))
  await writeFile(join(src, 'index.mjs'), `export default async () => ${JSON.stringify(body)}\n`)
  return buildPackage({ source: join(src, 'index.mjs'), runtime: 'node' })
}

interface Subject { store: PackageStore; tamper(sha256: string, data: Buffer): Promise<void> }

function packageStoreSuite(open: () => Promise<Subject>): void {
  it('an upload whose ?sha256 is another hash is KILN_ERR_BAD_PACKAGE and stores nothing', async () => {
    const { store } = await open()
    const built = await pkg('one')
    await expect(store.put(built.archive, 'ab'.repeat(32))).rejects.toMatchObject({ code: 'KILN_ERR_BAD_PACKAGE', status: 400 })
    expect(await store.has(built.sha256)).toBe(false)
    expect(await store.list()).toEqual([])
    expect((await store.put(built.archive, built.sha256)).sha256).toBe(built.sha256)
  })

  it('a ?sha256 or a name that is not 64 lowercase hex digits is KILN_ERR_VALIDATION', async () => {
    const { store } = await open()
    const built = await pkg('two')
    for (const bad of ['xyz', built.sha256.toUpperCase(), `${built.sha256}0`, '../../etc/passwd', '']) {
      await expect(store.put(built.archive, bad), bad).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION', status: 400 })
    }
    expect(await store.list()).toEqual([])
    for (const bad of ['xyz', '../sha256/..', built.sha256.toUpperCase()]) {
      await expect(store.get(bad), bad).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
      await expect(store.delete(bad), bad).rejects.toMatchObject({ code: 'KILN_ERR_VALIDATION' })
      expect(await store.has(bad)).toBe(false)
    }
  })

  it('a stored blob that no longer hashes to its name is KILN_ERR_STATE_CORRUPT, never unpacked as code', async () => {
    const { store, tamper } = await open()
    const built = await pkg('three')
    await store.put(built.archive)
    const evil = await pkg('tampered')
    await tamper(built.sha256, evil.archive)
    await expect(store.get(built.sha256)).rejects.toMatchObject({ code: 'KILN_ERR_STATE_CORRUPT', status: 500, details: { sha256: built.sha256 } })
    await expect(store.unpacked(built.sha256)).rejects.toMatchObject({ code: 'KILN_ERR_STATE_CORRUPT' })
    // Put back as it was, it serves again.
    await tamper(built.sha256, built.archive)
    expect((await store.get(built.sha256))!.equals(built.archive)).toBe(true)
  })
}

describe('file package store', () => {
  packageStoreSuite(async () => {
    const data = await mkdtemp(join(dir, 'data-'))
    return { store: new FilePackageStore(data), tamper: (sha, bytes) => writeFile(join(data, 'packages', 'sha256', sha), bytes) }
  })
})

describe('Redis package store', () => {
  const redis = useRedis()
  const closers: (() => Promise<unknown>)[] = []
  afterAll(async () => { for (const c of closers) await c() })
  packageStoreSuite(async () => {
    const prefix = `t${closers.length}:`
    const store = new RedisPackageStore({ redis: redis.current.url, cacheDir: await mkdtemp(join(dir, 'cache-')), prefix })
    const raw = new Redis(redis.current.url)
    closers.push(() => store.close(), () => raw.quit())
    return { store, tamper: async (sha, bytes) => { await raw.set(`${prefix}package:${sha}`, bytes) } }
  })
})

describe('packages over the control API', () => {
  let p: TestPlatform
  beforeAll(async () => { p = await startTestPlatform({ poolSize: 0, cgroups: 'none' }) })
  afterAll(async () => { await p?.stop() })
  const upload = (archive: Buffer, query = '') => p.call(`/v1/packages${query}`, { method: 'POST', body: archive, headers: { 'content-type': 'application/gzip' } })

  it('POST with a wrong ?sha256 is 400 KILN_ERR_BAD_PACKAGE, with a non-hex one 400 KILN_ERR_VALIDATION; nothing is stored', async () => {
    const built = await pkg('http')
    const wrong = await upload(built.archive, `?sha256=${'0'.repeat(64)}`)
    expect([wrong.status, wrong.json().error]).toEqual([400, 'KILN_ERR_BAD_PACKAGE'])
    const nonHex = await upload(built.archive, '?sha256=not-a-sha')
    expect([nonHex.status, nonHex.json().error]).toEqual([400, 'KILN_ERR_VALIDATION'])
    expect((await p.call('/v1/packages')).json()).toEqual([])
    expect(await readdir(join(p.dataDir, 'packages', 'sha256')).catch(() => [])).toEqual([])
    const ok = await upload(built.archive, `?sha256=${built.sha256}`)
    expect([ok.status, ok.json().sha256]).toEqual([201, built.sha256])
  })

  it('GET of a name that is not a sha256 is 400; of an unknown one 404 KILN_ERR_PACKAGE_NOT_FOUND', async () => {
    const bad = await p.call('/v1/packages/..%2f..%2fkiln.yaml')
    expect([bad.status, bad.json().error]).toEqual([400, 'KILN_ERR_VALIDATION'])
    const unknown = await p.call(`/v1/packages/${'f'.repeat(64)}`)
    expect([unknown.status, unknown.json().error]).toEqual([404, 'KILN_ERR_PACKAGE_NOT_FOUND'])
  })

  it('a tampered blob is 500 KILN_ERR_STATE_CORRUPT to a download and to a deploy that would load it', async () => {
    const built = await pkg('original')
    expect((await upload(built.archive)).status).toBe(201)
    await writeFile(join(p.dataDir, 'packages', 'sha256', built.sha256), (await pkg('swapped')).archive)
    const dl = await p.call(`/v1/packages/${built.sha256}`)
    expect([dl.status, dl.json().error]).toEqual([500, 'KILN_ERR_STATE_CORRUPT'])
    const fn = { metadata: { name: 'tampered' }, spec: { runtime: 'node', package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }
    const deploy = await p.call('/v1/functions/tampered', { method: 'PUT', body: JSON.stringify(fn), headers: { 'content-type': 'application/json' } })
    expect([deploy.status, deploy.json().error]).toEqual([500, 'KILN_ERR_STATE_CORRUPT'])
    expect((await p.call('/v1/functions/tampered')).status).toBe(404)
  })
})
