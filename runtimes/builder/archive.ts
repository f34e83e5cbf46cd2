// Packs a package folder into a deterministic tar.gz: sorted entries, fixed mtimes and modes,
// no owner names, so the same files always give the same bytes (and the same sha256).
import { createHash } from 'node:crypto'
import { chmod, lstat, readdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { create } from 'tar'
import { BuildError } from './errors.js'

const EPOCH = new Date('2000-01-01T00:00:00Z')

/** Every file under `dir`, relative, sorted, with '/' separators. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1).split('\\').join('/'))
    .sort()
}

export async function packDir(dir: string, files: string[]): Promise<{ archive: Buffer; sha256: string }> {
  for (const f of files) {
    // Only regular files: chmod and utimes would follow a link to a file of the build machine.
    if (!(await lstat(join(dir, f))).isFile()) throw new BuildError([{ file: f, line: 0, column: 0, text: 'not a regular file (a link?)' }], 'cannot pack the function')
    await chmod(join(dir, f), 0o644)
    await utimes(join(dir, f), EPOCH, EPOCH)
  }
  const chunks: Buffer[] = []
  const stream = create({ cwd: dir, gzip: { level: 9 }, portable: true, mtime: EPOCH, noDirRecurse: true }, files)
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c)
  const archive = Buffer.concat(chunks)
  return { archive, sha256: createHash('sha256').update(archive).digest('hex') }
}
