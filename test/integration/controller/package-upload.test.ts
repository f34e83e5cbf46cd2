// Hostile code packages over the control API of an in-process platform: each is refused with 400
// KILN_ERR_BAD_PACKAGE at upload and leaves nothing in the data dir (no blob, no temp file, no unpacked
// folder); a package that is stored is unpacked without setuid/setgid/sticky/writable bits or foreign
// owners; and a stored blob that cannot be unpacked fails the deploy with a 400, not a 500 and a temp dir.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../../core/store/package-store.js'
import { INDEX, tarGz, type RawEntry } from '../../helpers/archives.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

let p: TestPlatform
beforeAll(async () => { p = await startTestPlatform({ poolSize: 1 }) })
afterAll(async () => { await p?.stop() })

const GZIP = { 'content-type': 'application/gzip' }
const JSON_HEADERS = { 'content-type': 'application/json' }

/** Every file and folder under the data dir's packages/ (blobs, temp files, unpacked folders). */
async function packagesTree(): Promise<string[]> {
  const root = join(p.dataDir, 'packages')
  const entries = await readdir(root, { recursive: true }).catch(() => [] as string[])
  return entries.map((e) => relative(root, join(root, e))).sort()
}

const upload = (archive: Buffer) => p.call('/v1/packages', { method: 'POST', body: archive, headers: GZIP })
const putFunction = (name: string, spec: Record<string, unknown>) =>
  p.call(`/v1/functions/${name}`, { method: 'PUT', body: JSON.stringify({ metadata: { name }, spec: { runtime: 'node', ...spec } }), headers: JSON_HEADERS })

const hostile: [string, RawEntry[]][] = [
  ['an entry named ..\\..\\x', [INDEX, { path: '..\\..\\x', body: 'planted' }]],
  ['an entry named ../x', [INDEX, { path: '../x', body: 'planted' }]],
  ['a symbolic link to /etc/shadow', [INDEX, { path: 'shadow', type: 'SymbolicLink', linkpath: '/etc/shadow' }]],
  ['a file that is also a folder', [INDEX, { path: 'index.mjs/x', body: 'x' }]],
  ['a control character in a name', [INDEX, { path: 'a\rb.mjs', body: 'x' }]],
]

describe('package upload refuses hostile archives and leaves nothing behind', () => {
  it.each(hostile)('%s: 400 KILN_ERR_BAD_PACKAGE, nothing stored', async (_what, entries) => {
    const before = await packagesTree()
    const res = await upload(tarGz(entries))
    expect(res.status).toBe(400)
    expect(res.json().error).toBe('KILN_ERR_BAD_PACKAGE')
    expect(await packagesTree()).toEqual(before)
    expect((await p.call('/v1/packages')).json()).toEqual([])
  })

  it('the ..\\..\\x package is not deployable either: its sha256 is unknown', async () => {
    const archive = tarGz(hostile[0][1])
    expect((await upload(archive)).status).toBe(400)
    const res = await putFunction('escape', { package: { sha256: sha256Hex(archive) }, entrypoint: 'index.mjs' })
    expect(res.status).toBe(400)
    expect(res.json().error).toBe('KILN_ERR_VALIDATION')
    expect(res.json().message).toContain('spec.package.sha256')
    expect((await p.call('/v1/functions/escape')).status).toBe(404)
  })
})

describe('unpacking a stored package', () => {
  it('strips setuid, setgid, sticky and writable bits and takes no owner from the archive', async () => {
    const archive = tarGz([
      { ...INDEX, mode: 0o4777, uid: 4242, gid: 4242 },
      { path: 'bin/tool', body: '#!/bin/sh\n', mode: 0o6755, uid: 4242 },
      { path: 'shared/', type: 'Directory', mode: 0o1777 },
      { path: 'shared/data.json', body: '{}', mode: 0o666 },
    ])
    const up = await upload(archive)
    expect(up.status, up.text).toBe(201)
    const res = await putFunction('modes', { package: { sha256: up.json().sha256 }, entrypoint: 'index.mjs' })
    expect(res.status, res.text).toBe(201)
    const dir = join(p.dataDir, 'packages', 'unpacked', up.json().sha256)
    const mode = async (f: string) => (await stat(join(dir, f))).mode & 0o7777
    expect(await mode('index.mjs')).toBe(0o755)
    expect(await mode('bin/tool')).toBe(0o755)
    expect(await mode('shared')).toBe(0o755)
    expect(await mode('shared/data.json')).toBe(0o644)
    expect((await stat(join(dir, 'index.mjs'))).uid).toBe(process.getuid!())
    expect((await p.call('/fn/modes')).text).toBe('ok')
  })

  it('a stored blob that cannot be unpacked fails the deploy with 400 KILN_ERR_BAD_PACKAGE and leaves no temp folder', async () => {
    // A blob stored before these checks existed (written straight into the data dir, as an older Kiln would have).
    const archive = tarGz([INDEX, { path: '..\\..\\x', body: 'planted' }])
    const sha = sha256Hex(archive)
    await mkdir(join(p.dataDir, 'packages', 'sha256'), { recursive: true })
    await writeFile(join(p.dataDir, 'packages', 'sha256', sha), archive)
    const before = await packagesTree()
    const res = await putFunction('old-blob', { package: { sha256: sha }, entrypoint: 'index.mjs' })
    expect(res.status).toBe(400)
    expect(res.json().error).toBe('KILN_ERR_BAD_PACKAGE')
    expect(await packagesTree()).toEqual(before)
    expect((await readdir(join(p.dataDir, 'packages', 'unpacked'))).filter((d) => d.startsWith(sha))).toEqual([])
    expect((await p.call('/v1/functions/old-blob')).status).toBe(404)
  })
})

describe('concurrent uploads', () => {
  /** An upload whose headers and first bytes are sent, the rest held back until `finish()`. */
  async function stalledUpload(): Promise<{ finish(): void; abort(): void; status: Promise<number> }> {
    const { connect } = await import('node:net')
    const url = new URL(p.url)
    const sock = connect(Number(url.port), url.hostname)
    const total = 64 * 1024
    sock.write(`POST /v1/packages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${p.adminToken}\r\ncontent-type: application/gzip\r\ncontent-length: ${total}\r\nconnection: close\r\n\r\n`)
    sock.write(Buffer.alloc(16, 1))
    let text = ''
    sock.on('data', (d) => (text += d))
    const status = new Promise<number>((resolve) => sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0))))
    return { finish: () => sock.write(Buffer.alloc(total - 16, 1)), abort: () => sock.destroy(), status }
  }

  it('at most two bodies are read at once; a third waits for a slot, and a client that goes away frees its slot', async () => {
    const a = await stalledUpload()
    const b = await stalledUpload()
    try {
      // Requests sent after a and b are answered: the server has read a's and b's headers by then.
      for (let i = 0; i < 5; i++) expect((await p.call('/v1/packages')).status).toBe(200)
      // An empty upload is answered at once (400) when its body is read: it waits for a slot instead.
      let done = false
      const third = upload(Buffer.alloc(0)).then((r) => { done = true; return r })
      for (let i = 0; i < 5; i++) expect((await p.call('/v1/packages')).status).toBe(200)
      expect(done).toBe(false)
      a.finish()
      expect(await a.status).toBe(400) // 64 KiB of 0x01 is no archive
      expect((await third).json().error).toBe('KILN_ERR_BAD_PACKAGE')
      b.abort()
      expect(await b.status).toBe(0)
      // b's slot came back: two uploads at once still go through
      const [x, y] = await Promise.all([upload(tarGz([INDEX, { path: 'x.js', body: 'x' }])), upload(tarGz([INDEX, { path: 'y.js', body: 'y' }]))])
      expect([x.status, y.status]).toEqual([201, 201])
    } finally {
      a.abort()
      b.abort()
    }
  })
})
