// Code packages are gzipped tar archives. Before anything is stored or unpacked, every entry is checked:
// only regular files and folders, relative paths that stay inside the package on every platform (no `..`,
// no absolute paths, no backslashes, no control characters, bounded length and depth), no path twice,
// bounded size and count. A package that breaks a rule is refused whole.
//
// Decompression is streamed (async zlib, 64 KiB slices, backpressure) and metered: it stops as soon as
// the archive unpacks to more than the limits or than `maxRatio` times its compressed size, so a gzip
// bomb costs a few MiB of memory, never its expanded size. Unpacking normalizes modes (0644 / 0755: no
// setuid, setgid, sticky or group/world-writable bits) and never takes owners from the archive.
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { Parser, Unpack, type ReadEntry } from 'tar'
import { KilnError } from './errors.js'

export interface ArchiveLimits {
  /** files and folders */
  maxEntries: number
  /** the sum of the files' sizes */
  maxUnpackedBytes: number
  /** decompressed bytes per compressed byte, enforced once the archive has unpacked `ratioFloorBytes` */
  maxRatio: number
  ratioFloorBytes: number
  /** bytes of one entry's path (UTF-8), its depth in folders, and bytes of one path segment */
  maxPathBytes: number
  maxDepth: number
  maxSegmentBytes: number
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 20_000,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  maxRatio: 200,
  ratioFloorBytes: 16 * 1024 * 1024,
  maxPathBytes: 1024,
  maxDepth: 64,
  maxSegmentBytes: 255,
}

export interface ArchiveInfo { files: string[]; unpackedBytes: number }

const SLICE = 64 * 1024
// A tar stream is its files plus a 512-byte header, padding and at most a small pax record per entry.
const PER_ENTRY_OVERHEAD = 4096
const MAX_META_BYTES = 64 * 1024
const TRAILING_SLACK = 256 * 1024
const CONTROL = /[\x00-\x1f\x7f]/

function badPackage(why: string): KilnError {
  return new KilnError('KILN_ERR_BAD_PACKAGE', `code package refused: ${why}`)
}

/**
 * The entry's path as it will be unpacked ('' for the package root), or a KILN_ERR_BAD_PACKAGE.
 * Backslashes are refused rather than read as names: tar (and Windows) take them as separators, so
 * `..\..\x` would step out of the package on the way in or out.
 */
export function checkEntryPath(raw: string, isDir = false, limits = DEFAULT_ARCHIVE_LIMITS): string {
  const shown = JSON.stringify(raw)
  if (CONTROL.test(raw)) throw badPackage(`control character in the path ${shown}`)
  if (raw.includes('\\')) throw badPackage(`backslash in the path ${shown}`)
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) throw badPackage(`absolute path ${shown}`)
  let p = raw
  while (p.startsWith('./')) p = p.slice(2)
  if (isDir) p = p.replace(/\/+$/, '')
  else if (p.endsWith('/')) throw badPackage(`the file ${shown} ends with "/"`)
  if (p === '' || p === '.') {
    if (!isDir) throw badPackage(`the file ${shown} names the package folder itself`)
    return ''
  }
  const segs = p.split('/')
  if (segs.includes('..')) throw badPackage(`path escapes the package: ${shown}`)
  if (segs.some((s) => s === '' || s === '.')) throw badPackage(`empty or "." folder name in ${shown}`)
  if (segs.some((s) => Buffer.byteLength(s) > limits.maxSegmentBytes)) throw badPackage(`a name in ${shown} is over ${limits.maxSegmentBytes} bytes`)
  if (segs.length > limits.maxDepth) throw badPackage(`${shown} is nested over ${limits.maxDepth} folders deep`)
  if (Buffer.byteLength(p) > limits.maxPathBytes) throw badPackage(`the path ${shown} is over ${limits.maxPathBytes} bytes`)
  return p
}

/** Counts the tar stream's bytes as they are decompressed and stops the stream past the limits. */
class Meter extends Transform {
  private bytes = 0
  private head = Buffer.alloc(0)
  private readonly maxBytes: number

  constructor(private readonly compressedBytes: number, private readonly limits: ArchiveLimits) {
    super()
    this.maxBytes = limits.maxUnpackedBytes + limits.maxEntries * PER_ENTRY_OVERHEAD
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // A compressed archive inside the compressed archive would be inflated again by tar, unmetered
    // (its first two bytes may arrive in separate chunks).
    if (this.head.length < 2) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, 2 - this.head.length)])
      if (this.head[0] === 0x1f && this.head[1] === 0x8b) return done(badPackage('a gzip stream inside the gzip stream'))
    }
    this.bytes += chunk.length
    if (this.bytes > this.maxBytes) return done(badPackage(`it unpacks to more than ${this.limits.maxUnpackedBytes} bytes`))
    if (this.bytes > this.limits.ratioFloorBytes && this.bytes > this.compressedBytes * this.limits.maxRatio) {
      return done(badPackage(`it unpacks to over ${this.limits.maxRatio} times its compressed size (a compression bomb?)`))
    }
    done(null, chunk)
  }
}

/**
 * Feeds tar only as far as the archive's entries reach. tar keeps whatever follows the end-of-archive
 * blocks in one buffer it grows by copying, so trailing data (a bomb of zeros after an empty archive)
 * would cost memory and quadratic time: past the end of the last entry's data plus some slack for the
 * end blocks, record padding and metadata records, the package is refused. `sawEntry` is called by
 * tar's filter as each header is read (synchronously, while the chunk holding it is written).
 */
class Gate extends Transform {
  private fed = 0
  private reach = 0
  failure: Error | undefined

  sawEntry(entry: ReadEntry): void {
    this.reach = Math.max(this.reach, this.fed + entry.startBlockSize)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.failure) return done(this.failure)
    this.fed += chunk.length
    if (this.fed > this.reach + TRAILING_SLACK) return done(badPackage('data past the end of the tar archive'))
    done(null, chunk)
  }
}

function* slices(data: Buffer): Generator<Buffer> {
  for (let i = 0; i < data.length; i += SLICE) yield data.subarray(i, i + SLICE)
}

/** The archive's uncompressed tar bytes, decompressed as the consumer reads them, within the limits. */
function tarStages(data: Buffer, limits: ArchiveLimits, gate: Gate): (Readable | Transform)[] {
  const source = Readable.from(slices(data), { objectMode: false })
  // An uncompressed tar is as large as the upload, which the body limit bounds.
  if (data[0] === 0x1f && data[1] === 0x8b) return [source, createGunzip(), new Meter(data.length, limits), gate]
  return [source, gate]
}

// tar would otherwise sniff and inflate zstd or brotli itself, outside the meter.
const PARSE_OPTIONS = { strict: true, zstd: false, brotli: false, maxMetaEntrySize: MAX_META_BYTES } as const

/** The files of an archive, every entry checked; throws KILN_ERR_BAD_PACKAGE (nothing is written). */
export async function inspectArchive(data: Buffer, limits = DEFAULT_ARCHIVE_LIMITS): Promise<ArchiveInfo> {
  const files: string[] = []
  const fileSet = new Set<string>()
  const dirSet = new Set<string>()
  let entries = 0
  let unpackedBytes = 0
  let failure: Error | undefined

  const addParents = (p: string) => {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
      const parent = p.slice(0, i)
      if (fileSet.has(parent)) throw badPackage(`"${parent}" is both a file and a folder`)
      dirSet.add(parent)
    }
  }

  const check = (entry: ReadEntry) => {
    const isDir = entry.type === 'Directory'
    if (!isDir && entry.type !== 'File' && entry.type !== 'OldFile') {
      throw badPackage(`${JSON.stringify(entry.path)} is a ${entry.type}; only files and folders are allowed`)
    }
    const p = checkEntryPath(entry.path, isDir, limits)
    if (++entries > limits.maxEntries) throw badPackage(`more than ${limits.maxEntries} files and folders`)
    if (p === '') return
    if (fileSet.has(p)) throw badPackage(`"${p}" appears twice`)
    addParents(p)
    if (isDir) {
      dirSet.add(p)
      return
    }
    if (dirSet.has(p)) throw badPackage(`"${p}" is both a file and a folder`)
    fileSet.add(p)
    files.push(p)
    // The header's size, which is what tar reads and writes (a pax record may claim another).
    unpackedBytes += entry.header.size ?? 0
    if (unpackedBytes > limits.maxUnpackedBytes) throw badPackage(`it unpacks to more than ${limits.maxUnpackedBytes} bytes`)
  }

  const gate = new Gate()
  const fail = (e: Error) => { failure ??= e; gate.failure ??= failure }
  const parser = new Parser({
    ...PARSE_OPTIONS,
    filter: (_path, entry) => { gate.sawEntry(entry as ReadEntry); return true },
    onReadEntry: (entry: ReadEntry) => {
      try {
        if (!failure) check(entry)
      } catch (e) {
        fail(e as Error)
      } finally {
        entry.resume()
      }
    },
  })
  // Entries tar skips on its own (unknown types, oversized pax records) are refused, not ignored.
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    fail(badPackage(`${JSON.stringify(entry.path)} is an entry of an unsupported kind (${entry.type})`))
  })
  try {
    await pipeline([...tarStages(data, limits, gate), parser as unknown as Writable])
  } catch (e) {
    if (failure) throw failure
    if (e instanceof KilnError) throw e
    throw badPackage(`not a gzipped tar archive (${(e as Error).message})`)
  }
  if (failure) throw failure
  if (files.length === 0) throw badPackage('the archive holds no files')
  return { files, unpackedBytes }
}

/** Files 0644, or 0755 when the archive marks them executable; folders 0755. */
function normalizeMode(entry: ReadEntry): boolean {
  entry.mode = entry.type === 'Directory' || ((entry.mode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644
  return true
}

/**
 * Unpacks an archive into `dir` (which must exist and be empty): checked first as `inspectArchive`
 * does, then extracted with normalized modes and the platform as owner. On failure `dir` may hold
 * part of the package: the caller removes it.
 */
export async function unpackArchive(data: Buffer, dir: string, limits = DEFAULT_ARCHIVE_LIMITS): Promise<ArchiveInfo> {
  const info = await inspectArchive(data, limits)
  const gate = new Gate()
  const unpack = new Unpack({
    ...PARSE_OPTIONS,
    cwd: dir,
    preservePaths: false,
    preserveOwner: false,
    dmode: 0o755,
    fmode: 0o644,
    maxDepth: limits.maxDepth,
    filter: (_path, entry) => { gate.sawEntry(entry as ReadEntry); return normalizeMode(entry as ReadEntry) },
  })
  try {
    await pipeline([...tarStages(data, limits, gate), unpack as unknown as Writable])
  } catch (e) {
    if (e instanceof KilnError) throw e
    throw badPackage(`it cannot be unpacked (${(e as Error).message})`)
  }
  return info
}
