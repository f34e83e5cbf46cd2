// `code.url`: the platform cannot share a file system with the instance (a pod on another node), so the
// runtime downloads the package (a gzipped tar), checks its sha256, and unpacks it once into a local
// cache. The unpacker takes regular files and folders only, with relative paths that stay inside the
// package; anything else refuses the package. No dependencies: a runtime is a separate program.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { LoadError } from './loader.js'

const CACHE = join(process.env.KILN_CODE_CACHE || join(tmpdir(), 'kiln-code'))
const MAX_BYTES = Number(process.env.KILN_MAX_PACKAGE || 512 * 1024 * 1024)

function field(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len)
  const nul = s.indexOf(0)
  return s.subarray(0, nul < 0 ? len : nul).toString('utf8')
}

/** Files and folders of a tar archive (ustar and pax `path` records), checked as it goes. */
export function untar(tar: Buffer, into: string): number {
  const root = resolve(into)
  let off = 0
  let files = 0
  let paxPath: string | undefined
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512)
    if (h.every((x) => x === 0)) break
    const size = parseInt(field(h, 124, 12).trim() || '0', 8)
    const type = String.fromCharCode(h[156] || 48)
    const prefix = field(h, 345, 155)
    let name = paxPath ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100))
    paxPath = undefined
    const data = tar.subarray(off + 512, off + 512 + size)
    off += 512 + Math.ceil(size / 512) * 512
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))
      if (m) paxPath = m[1]
      continue
    }
    if (type === 'g') continue
    name = name.replace(/^\.\//, '')
    if (name === '' || name === '.') continue
    const target = resolve(root, name)
    if (name.startsWith('/') || (target !== root && !target.startsWith(root + sep))) throw new LoadError(`package refused: path escapes it: ${name}`)
    if (type === '5') { mkdirSync(target, { recursive: true }); continue }
    if (type !== '0' && type !== '7') throw new LoadError(`package refused: ${name} is not a regular file or folder`)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, data)
    files++
  }
  return files
}

const fetching = new Map<string, Promise<string>>()

/** The local folder holding the package behind `url` (downloaded, verified and unpacked on first use). */
export function fetchCode(url: string, sha256: string): Promise<string> {
  if (!/^[a-f0-9]{64}$/.test(sha256)) return Promise.reject(new LoadError(`code.sha256 is not a sha256: ${sha256}`))
  const dir = join(CACHE, sha256)
  if (existsSync(dir)) return Promise.resolve(dir)
  let p = fetching.get(sha256)
  if (!p) {
    p = download(url, sha256, dir).finally(() => fetching.delete(sha256))
    fetching.set(sha256, p)
  }
  return p
}

async function download(url: string, sha256: string, dir: string): Promise<string> {
  let res: Response
  try {
    res = await fetch(url)
  } catch (e) {
    throw new LoadError(`cannot download the package from ${url}: ${(e as Error).message}`)
  }
  if (!res.ok) throw new LoadError(`cannot download the package from ${url}: HTTP ${res.status}`)
  const body = Buffer.from(await res.arrayBuffer())
  if (body.length > MAX_BYTES) throw new LoadError(`package over ${MAX_BYTES} bytes`)
  const got = createHash('sha256').update(body).digest('hex')
  if (got !== sha256) throw new LoadError(`package checksum mismatch: expected ${sha256}, got ${got}`)
  let tar: Buffer
  try {
    tar = gunzipSync(body, { maxOutputLength: MAX_BYTES * 4 })
  } catch (e) {
    throw new LoadError(`package is not gzip: ${(e as Error).message}`)
  }
  const tmp = `${dir}.${process.pid}.tmp`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  try {
    untar(tar, tmp)
    renameSync(tmp, dir)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  return dir
}
