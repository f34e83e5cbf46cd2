// Hand-made code packages for tests of what a hostile caller can upload: any entry name, type, mode and
// owner (built from raw tar headers, as a tool other than ours would write them), and gzip bombs.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip, gzipSync } from 'node:zlib'
import { Header, Pax, type HeaderData } from 'tar'

export interface RawEntry {
  path: string
  body?: string | Buffer
  mode?: number
  type?: HeaderData['type']
  uid?: number
  gid?: number
  linkpath?: string
}

function block(h: Header): Buffer {
  const b = Buffer.alloc(512)
  h.encode(b, 0)
  return b
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512)

/** An uncompressed tar of `entries`, exactly as given (long paths as pax records). */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '')
    const data = { path: e.path, mode: e.mode ?? 0o644, uid: e.uid ?? 0, gid: e.gid ?? 0, size: body.length, type: e.type ?? 'File', mtime: new Date(0), linkpath: e.linkpath }
    if (Buffer.byteLength(e.path) > 100) {
      const pax = new Pax({ path: e.path }).encode()
      parts.push(pax)
      data.path = e.path.slice(0, 99)
    }
    parts.push(block(new Header(data as HeaderData)), body, pad(body.length))
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

export function tarGz(entries: RawEntry[]): Buffer {
  return gzipSync(rawTar(entries))
}

/** A package holding one valid function file, for tests that need an otherwise good archive. */
export const INDEX = { path: 'index.mjs', body: 'export default () => "ok"\n' }

async function gzipStream(chunks: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = []
  const gz = createGzip({ level: 9 })
  gz.on('data', (c: Buffer) => out.push(c))
  await pipeline(Readable.from(chunks), gz)
  return Buffer.concat(out)
}

function* zeros(bytes: number): Generator<Buffer> {
  const zero = Buffer.alloc(1 << 20)
  for (let left = bytes; left > 0; left -= zero.length) yield left >= zero.length ? zero : zero.subarray(0, left)
}

/**
 * A gzip bomb: a valid tar whose one file is `bytes` of zeros (declared in its header), compressed at
 * level 9 without ever holding the zeros in memory. 1.1 GiB gives about 1.1 MB.
 */
export function gzipBomb(bytes: number, name = 'index.mjs'): Promise<Buffer> {
  const header = block(new Header({ path: name, mode: 0o644, size: bytes, type: 'File', mtime: new Date(0) }))
  return gzipStream((function* () {
    yield header
    yield* zeros(bytes)
    yield pad(bytes)
    yield Buffer.alloc(1024)
  })())
}

/** `bytes` of zeros, gzipped: no tar at all (tar reads it as an empty archive followed by zeros). */
export function gzipZeros(bytes: number): Promise<Buffer> {
  return gzipStream(zeros(bytes))
}
