// core/package-archive.ts against archives a hostile caller could upload: each is refused whole with
// KILN_ERR_BAD_PACKAGE before anything is written, and what is unpacked carries no special mode bits and
// no owner from the archive.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_ARCHIVE_LIMITS, inspectArchive, unpackArchive } from '../../../core/package-archive.js'
import { INDEX, gzipBomb, rawTar, tarGz, type RawEntry } from '../../helpers/archives.js'

const temps: string[] = []
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-archive-test-'))
  temps.push(d)
  return d
}
afterAll(async () => { await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))) })

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(() => undefined, (e: { code?: string }) => e.code ?? String(e))
}

const bad: [string, RawEntry[]][] = [
  ['a Windows-style escape ..\\..\\x', [INDEX, { path: '..\\..\\x', body: 'hi' }]],
  ['a backslash inside a name', [INDEX, { path: 'lib\\x.js', body: 'hi' }]],
  ['a .. segment', [INDEX, { path: 'lib/../../x', body: 'hi' }]],
  ['an absolute path', [INDEX, { path: '/etc/cron.d/x', body: 'hi' }]],
  ['a drive letter', [INDEX, { path: 'C:x', body: 'hi' }]],
  ['a newline in a name', [INDEX, { path: 'a\nb.js', body: 'hi' }]],
  ['a symbolic link', [INDEX, { path: 'link', type: 'SymbolicLink', linkpath: '/etc/shadow' }]],
  ['a hard link', [INDEX, { path: 'hard', type: 'Link', linkpath: 'index.mjs' }]],
  ['a character device', [INDEX, { path: 'dev', type: 'CharacterDevice' }]],
  ['a fifo', [INDEX, { path: 'fifo', type: 'FIFO' }]],
  ['the same file twice', [INDEX, { path: 'index.mjs', body: 'export default () => "other"' }]],
  ['a file that is also a folder', [INDEX, { path: 'index.mjs/x.js', body: 'hi' }]],
  ['a folder that is also a file', [{ path: 'lib/', type: 'Directory', mode: 0o755 }, { path: 'lib', body: 'hi' }, INDEX]],
  ['a file named "."', [INDEX, { path: '.', body: 'hi' }]],
  ['an empty folder name', [INDEX, { path: 'a//b.js', body: 'hi' }]],
  ['a name over 255 bytes', [INDEX, { path: `${'n'.repeat(256)}.js`, body: 'hi' }]],
  ['a path over 1024 bytes', [INDEX, { path: `${'d/'.repeat(30)}${'n'.repeat(200)}/${'m'.repeat(200)}/${'o'.repeat(200)}/${'p'.repeat(200)}/${'q'.repeat(200)}.js`, body: 'hi' }]],
  ['nesting over 64 folders', [INDEX, { path: `${'d/'.repeat(64)}x.js`, body: 'hi' }]],
  ['no files at all', [{ path: 'lib/', type: 'Directory' }]],
]

describe('inspectArchive refuses', () => {
  it.each(bad)('%s', async (_what, entries) => {
    expect(await refusal(inspectArchive(tarGz(entries)))).toBe('KILN_ERR_BAD_PACKAGE')
    const dir = await temp()
    expect(await refusal(unpackArchive(tarGz(entries), dir))).toBe('KILN_ERR_BAD_PACKAGE')
    expect(await readdir(dir)).toEqual([])
  })

  it('more entries or bytes than the limits', async () => {
    const limits = { ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 3, maxUnpackedBytes: 100 }
    const many = [INDEX, ...[1, 2, 3].map((i) => ({ path: `f${i}.js`, body: 'x' }))]
    expect(await refusal(inspectArchive(tarGz(many), limits))).toBe('KILN_ERR_BAD_PACKAGE')
    expect(await refusal(inspectArchive(tarGz([INDEX, { path: 'big.bin', body: Buffer.alloc(101) }]), limits))).toBe('KILN_ERR_BAD_PACKAGE')
    expect((await inspectArchive(tarGz(many.slice(0, 3)), limits)).files).toHaveLength(3)
  })

  it('a gzip bomb under the size limit, by its compression ratio', async () => {
    const bomb = await gzipBomb(256 * 1024 * 1024)
    expect(bomb.length).toBeLessThan(512 * 1024)
    expect(await refusal(inspectArchive(bomb))).toBe('KILN_ERR_BAD_PACKAGE')
  })

  it('zeros after the end of an archive (tar would buffer them all)', async () => {
    const tar = rawTar([INDEX])
    const padded = gzipSync(Buffer.concat([tar, Buffer.alloc(8 * 1024 * 1024)]))
    expect(await refusal(inspectArchive(padded))).toBe('KILN_ERR_BAD_PACKAGE')
    // the end blocks and a 10 KiB record of padding, as GNU tar writes them, are fine
    expect((await inspectArchive(gzipSync(Buffer.concat([tar, Buffer.alloc(10240)])))).files).toEqual(['index.mjs'])
  })

  it('a gzip inside the gzip whose first two bytes arrive in separate chunks', async () => {
    // Hand-made deflate of stored blocks: one byte, then 64 KiB of empty blocks (so the first 64 KiB
    // slice inflates to one byte), then the rest of an inner gzip.
    const inner = gzipSync(rawTar([INDEX]))
    const stored = (data: Buffer, final = false) => {
      const h = Buffer.alloc(5)
      h[0] = final ? 1 : 0
      h.writeUInt16LE(data.length, 1)
      h.writeUInt16LE(~data.length & 0xffff, 3)
      return Buffer.concat([h, data])
    }
    const { crc32 } = await import('node:zlib')
    const trailer = Buffer.alloc(8)
    trailer.writeUInt32LE(crc32(inner), 0)
    trailer.writeUInt32LE(inner.length, 4)
    const outer = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
      stored(inner.subarray(0, 1)), ...Array.from({ length: 14_000 }, () => stored(Buffer.alloc(0))),
      stored(inner.subarray(1)), stored(Buffer.alloc(0), true), trailer,
    ])
    expect(await refusal(inspectArchive(outer))).toBe('KILN_ERR_BAD_PACKAGE')
  })

  it('a gzip inside the gzip, zstd, and bytes that are no archive', async () => {
    expect(await refusal(inspectArchive(gzipSync(tarGz([INDEX]))))).toBe('KILN_ERR_BAD_PACKAGE')
    const d = await temp()
    await writeFile(join(d, 'p.tar'), rawTar([INDEX]))
    execFileSync('zstd', ['-q', 'p.tar', '-o', 'p.tar.zst'], { cwd: d })
    const { readFile } = await import('node:fs/promises')
    expect(await refusal(inspectArchive(await readFile(join(d, 'p.tar.zst'))))).toBe('KILN_ERR_BAD_PACKAGE')
    expect(await refusal(inspectArchive(Buffer.from('just some text, not a tar archive at all'.repeat(40))))).toBe('KILN_ERR_BAD_PACKAGE')
  })
})

describe('inspectArchive accepts', () => {
  it('GNU tar archives with ./ prefixes, folders and a record of padding', async () => {
    const d = await temp()
    await mkdir(join(d, 'src', 'lib'), { recursive: true })
    await writeFile(join(d, 'src', 'index.mjs'), INDEX.body)
    await writeFile(join(d, 'src', 'lib', 'util.mjs'), 'export const x = 1\n')
    execFileSync('tar', ['-czf', '../p.tgz', '.'], { cwd: join(d, 'src') })
    const { readFile } = await import('node:fs/promises')
    const info = await inspectArchive(await readFile(join(d, 'p.tgz')))
    expect(info.files.sort()).toEqual(['index.mjs', 'lib/util.mjs'])
  })

  it('an uncompressed tar', async () => {
    expect((await inspectArchive(rawTar([INDEX, { path: 'lib/a.js', body: 'x' }]))).files).toEqual(['index.mjs', 'lib/a.js'])
  })
})

describe('unpackArchive', () => {
  it('strips setuid, setgid, sticky and group/world-writable bits, and takes no owner from the archive', async () => {
    const dir = await temp()
    await unpackArchive(tarGz([
      { path: 'suid', body: '#!/bin/sh\n', mode: 0o4755, uid: 4242, gid: 4242 },
      { path: 'sgid', body: 'x', mode: 0o2644 },
      { path: 'open', body: 'x', mode: 0o666 },
      { path: 'exec', body: 'x', mode: 0o777 },
      { path: 'tmp/', type: 'Directory', mode: 0o1777 },
      { path: 'tmp/inner/file', body: 'x', mode: 0o644 },
      INDEX,
    ]), dir)
    const mode = async (p: string) => (await stat(join(dir, p))).mode & 0o7777
    expect(await mode('suid')).toBe(0o755)
    expect(await mode('sgid')).toBe(0o644)
    expect(await mode('open')).toBe(0o644)
    expect(await mode('exec')).toBe(0o755)
    expect(await mode('tmp')).toBe(0o755)
    expect(await mode('tmp/inner')).toBe(0o755)
    const st = await stat(join(dir, 'suid'))
    expect([st.uid, st.gid]).toEqual([process.getuid!(), process.getgid!()])
  })
})
