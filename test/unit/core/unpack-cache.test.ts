// core/store/unpack-cache.ts (through FilePackageStore): a package that fails to unpack leaves no temp
// folder, and temp folders left by a process that died mid-unpack are swept on the next unpack.
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FilePackageStore, sha256Hex } from '../../../core/store/package-store.js'
import { INDEX, tarGz } from '../../helpers/archives.js'

const temps: string[] = []
afterAll(async () => { await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))) })

async function store(): Promise<{ s: FilePackageStore; dir: string; unpacked: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-unpack-cache-'))
  temps.push(dir)
  return { s: new FilePackageStore(dir), dir, unpacked: join(dir, 'packages', 'unpacked') }
}

describe('unpack cache', () => {
  it('a blob that fails to unpack: KILN_ERR_BAD_PACKAGE and no temp folder', async () => {
    const { s, dir, unpacked } = await store()
    const bad = tarGz([INDEX, { path: 'a\\..\\..\\x', body: 'x' }])
    await mkdir(join(dir, 'packages', 'sha256'), { recursive: true })
    await writeFile(join(dir, 'packages', 'sha256', sha256Hex(bad)), bad)
    await expect(s.unpacked(sha256Hex(bad))).rejects.toMatchObject({ code: 'KILN_ERR_BAD_PACKAGE' })
    expect(await readdir(unpacked).catch(() => [])).toEqual([])
  })

  it("sweeps a dead process's old temp folders, and keeps a live one's and a fresh one", async () => {
    const { s, unpacked } = await store()
    const dead = spawnSync(process.execPath, ['-e', '0']).pid! // exited: its pid names no live process
    const sha = 'a'.repeat(64)
    const old = join(unpacked, `${sha}.${dead}.tmp`)
    const fresh = join(unpacked, `${'b'.repeat(64)}.${dead}.tmp`)
    const live = join(unpacked, `${'c'.repeat(64)}.${process.ppid}.tmp`)
    for (const d of [old, fresh, live]) await mkdir(join(d, 'half'), { recursive: true })
    const longAgo = new Date(Date.now() - 10 * 60_000)
    await utimes(old, longAgo, longAgo)
    await utimes(live, longAgo, longAgo)
    const { sha256 } = await s.put(tarGz([INDEX]))
    await s.unpacked(sha256)
    expect((await readdir(unpacked)).sort()).toEqual([sha256, `${'b'.repeat(64)}.${dead}.tmp`, `${'c'.repeat(64)}.${process.ppid}.tmp`].sort())
  })
})
