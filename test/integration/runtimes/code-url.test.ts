// `code.url`: a runtime that shares no file system with the platform (a pod on another node) downloads
// the package, checks its sha256 and unpacks it safely. Same cases for every kiln-protocol runtime.
import { createHash } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { runtimes } from '../../conformance/runtimes.js'
import { startRuntime, stopAllRuntimes } from '../../helpers/runtime-process.js'
import { tier } from '../../helpers/tier.js'

/** A ustar archive of raw entries, so a test can make one a well-behaved packer never would. */
function tarOf(entries: { name: string; body: string }[]): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const data = Buffer.from(e.body)
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100, 'utf8')
    h.write('0000644\0', 100)
    h.write('0000000\0', 108)
    h.write('0000000\0', 116)
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124)
    h.write('00000000000\0', 136)
    h.write('        ', 148)
    h.write('0', 156)
    h.write('ustar\0' + '00', 257)
    let sum = 0
    for (const b of h) sum += b
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148)
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return gzipSync(Buffer.concat(blocks))
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

const SOURCES: Record<string, { file: string; body: string; expect: string }> = {
  node: { file: 'index.mjs', body: 'export default async (req) => `hello ${req.query.name} from a downloaded package`\n', expect: 'hello Ada from a downloaded package' },
  python: { file: 'main.py', body: 'def main(req):\n    return "hello %s from a downloaded package" % req.query["name"]\n', expect: 'hello Ada from a downloaded package' },
}

describe.each(runtimes.filter((r) => (r.protocol ?? 'kiln') === 'kiln' && SOURCES[r.name]))('code.url ($name)', (rt) => {
  const available = rt.tier ? tier(rt.tier, rt.unavailable) : {}
  let server: Server
  let base: string
  const packages = new Map<string, Buffer>()

  beforeAll(async () => {
    await rt.prepare?.()
    server = createServer((req, res) => {
      const body = packages.get(req.url ?? '')
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/gzip' })
      res.end(body)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterEach(stopAllRuntimes)
  const cache = (kind: string) => join(tmpdir(), `kiln-code-${kind}-${process.pid}-${rt.name}`)
  afterAll(async () => {
    for (const k of ['good', 'evil']) rmSync(cache(k), { recursive: true, force: true })
    await new Promise<void>((r) => server.close(() => r()))
  })

  const specialize = (url: string, runtimeUrl: string, sha256: string, entrypoint: string) =>
    fetch(`${runtimeUrl}/v1/specialize`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function: { name: 'dl', version: '1', entrypoint }, code: { url, sha256 } }),
    })

  it('downloads, verifies and loads the package', available, async () => {
    const src = SOURCES[rt.name]
    const archive = tarOf([{ name: src.file, body: src.body }])
    packages.set('/good', archive)
    const r = await startRuntime(rt.command, { env: { KILN_CODE_CACHE: cache('good') } })
    const s = await specialize(`${base}/good`, r.url, sha(archive), src.file)
    expect(s.status, await s.clone().text()).toBe(200)
    const inv = await fetch(`${r.url}/?name=Ada`)
    expect(await inv.text()).toBe(src.expect)
  })

  it('refuses a package whose checksum does not match, and stays usable', available, async () => {
    const src = SOURCES[rt.name]
    const archive = tarOf([{ name: src.file, body: src.body }])
    packages.set('/tampered', archive)
    const r = await startRuntime(rt.command)
    const s = await specialize(`${base}/tampered`, r.url, sha(Buffer.from('something else')), src.file)
    expect(s.status).toBe(422)
    const j = (await s.json()) as { error: string; message: string }
    expect(j.error).toBe('KILN_ERR_LOAD_FAILED')
    expect(j.message).toMatch(/checksum/)
    expect((await (await fetch(`${r.url}/healthz`)).json() as { state: string }).state).toBe('generic')
  })

  it('refuses an archive with a path that escapes the package', available, async () => {
    const src = SOURCES[rt.name]
    const archive = tarOf([{ name: src.file, body: src.body }, { name: '../../escaped-by-kiln-test.txt', body: 'x' }])
    packages.set('/evil', archive)
    const r = await startRuntime(rt.command, { env: { KILN_CODE_CACHE: cache('evil') } })
    const s = await specialize(`${base}/evil`, r.url, sha(archive), src.file)
    expect(s.status).toBe(422)
    expect(((await s.json()) as { message: string }).message).toMatch(/refused|escape|outside|path/i)
    expect(existsSync(join(tmpdir(), 'escaped-by-kiln-test.txt'))).toBe(false)
  })
})

describe('the builder packs what code.url unpacks', () => {
  it('a built package is a gzipped tar of regular files', async () => {
    const built = await buildPackage({ source: join(import.meta.dirname, '..', '..', '..', 'examples', 'hello', 'index.js'), runtime: 'node' })
    expect(built.archive.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(built.files).toContain('index.mjs')
  })
})
