// Writing a file so that a crash leaves either the old content or the new, never a part: write a temp
// file beside it, fsync it, rename it over the target, fsync the directory (so the rename is on disk too).
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname } from 'node:path'

/** The temp file name `writeDurably` uses for `file` in this process. */
export function tempFor(file: string): string {
  return `${file}.${process.pid}.tmp`
}

export async function writeDurably(file: string, data: string | Buffer, tmp = tempFor(file)): Promise<void> {
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (e) {
    await fh.close()
    await rm(tmp, { force: true })
    throw e
  }
  await fh.close()
  await rename(tmp, file)
  await syncDir(dirname(file))
}

/** fsyncs a directory: its entries (a rename, a removal) survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

/** A temp file `writeDurably` left when its process died mid-write (its pid is not running); the target beside it is intact. */
export function staleTemp(name: string): boolean {
  const m = /\.(\d+)(?:\.\d+)?\.tmp$/.exec(basename(name))
  if (!m) return false
  const pid = Number(m[1])
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
