// Code packages are gzipped tar archives. Before anything is stored or unpacked, every entry is checked:
// only regular files and folders, relative paths that stay inside the package (no `..`, no absolute
// paths, no links or devices), bounded size and count. A package that breaks a rule is refused whole.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Parser, x as extract, type ReadEntry } from 'tar'
import { KilnError } from './errors.js'

export interface ArchiveLimits { maxFiles: number; maxUnpackedBytes: number }
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxFiles: 20_000, maxUnpackedBytes: 1024 * 1024 * 1024 }

export interface ArchiveInfo { files: string[]; unpackedBytes: number }

function badPackage(why: string): KilnError {
  return new KilnError('KILN_ERR_BAD_PACKAGE', `code package refused: ${why}`)
}

export function checkEntryPath(p: string): void {
  const path = p.replace(/\/+$/, '')
  if (path === '' || path === '.') return
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) throw badPackage(`absolute path "${p}"`)
  if (path.split('/').some((seg) => seg === '..')) throw badPackage(`path escapes the package: "${p}"`)
  if (path.includes('\0')) throw badPackage('NUL in a path')
}

export async function inspectArchive(data: Buffer, limits = DEFAULT_ARCHIVE_LIMITS): Promise<ArchiveInfo> {
  const files: string[] = []
  let unpackedBytes = 0
  let failure: Error | undefined
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        if (failure) return
        checkEntryPath(entry.path)
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory') {
          throw badPackage(`"${entry.path}" is a ${entry.type}; only files and folders are allowed`)
        }
        if (entry.type !== 'Directory') files.push(entry.path)
        unpackedBytes += entry.size ?? 0
        if (files.length > limits.maxFiles) throw badPackage(`more than ${limits.maxFiles} files`)
        if (unpackedBytes > limits.maxUnpackedBytes) throw badPackage(`more than ${limits.maxUnpackedBytes} bytes unpacked`)
      } catch (e) {
        failure = e as Error
      } finally {
        entry.resume()
      }
    },
  })
  try {
    await pipeline(Readable.from([data]), parser)
  } catch (e) {
    throw failure ?? badPackage(`not a gzipped tar archive (${(e as Error).message})`)
  }
  if (failure) throw failure
  if (files.length === 0) throw badPackage('the archive holds no files')
  return { files, unpackedBytes }
}

/** Unpacks an archive that `inspectArchive` accepted into `dir` (which must exist and be empty). */
export async function unpackArchive(data: Buffer, dir: string): Promise<void> {
  await inspectArchive(data)
  await pipeline(Readable.from([data]), extract({ cwd: dir, strict: true, preservePaths: false, noChmod: true }))
}
