// Code an instance loads is the code that was uploaded: the first time this process needs a package it
// reads the stored archive, checks its sha256, and unpacks it afresh (a tree left by an earlier run is
// not trusted) into a folder only the platform can write, files read-only. It notes each file's inode,
// size, mode and modification time (not ctime: every hard link made for an instance changes that).
// Whenever an instance is handed the code, those are checked again; anything that differs means the tree
// was touched, and it is verified and unpacked again from the archive before the instance sees it.
import { createHash, randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { lstatSync } from 'node:fs'
import { join } from 'node:path'
import { KilnError } from '../../../core/errors.js'
import { unpackArchive } from '../../../core/package-archive.js'

interface FileMark { rel: string; ino: bigint; size: bigint; mtimeNs: bigint; mode: bigint }

export interface VerifiedTree {
  readonly sha256: string
  readonly root: string
  /** Folders (relative, parents first) and files of the package. */
  readonly dirs: string[]
  readonly files: FileMark[]
}

export type PackageReader = (sha256: string) => Promise<Buffer | undefined>

const SHA = /^[a-f0-9]{64}$/

export class VerifiedCode {
  private readonly trees = new Map<string, Promise<VerifiedTree>>()

  constructor(readonly dir: string, private readonly read: PackageReader) {}

  /** The verified tree of a package, unpacked and checked once per process. */
  tree(sha256: string): Promise<VerifiedTree> {
    let t = this.trees.get(sha256)
    if (t === undefined) {
      t = this.verify(sha256)
      this.trees.set(sha256, t)
      t.catch(() => this.trees.delete(sha256))
    }
    return t
  }

  /** The tree, checked unchanged since it was verified (verified again from the archive otherwise). */
  async current(sha256: string): Promise<VerifiedTree> {
    const t = await this.tree(sha256)
    if (await unchanged(t)) return t
    this.trees.delete(sha256)
    return this.tree(sha256)
  }

  private async verify(sha256: string): Promise<VerifiedTree> {
    if (!SHA.test(sha256)) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${sha256} not found`)
    const data = await this.read(sha256)
    if (!data) throw new KilnError('KILN_ERR_PACKAGE_NOT_FOUND', `package ${sha256} not found`)
    const got = createHash('sha256').update(data).digest('hex')
    if (got !== sha256) {
      throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `stored package ${sha256} does not match its sha256 (it hashes to ${got}): refusing to load it`, { reason: 'checksum_mismatch' })
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const tmp = join(this.dir, `.${sha256}.${randomBytes(4).toString('hex')}.tmp`)
    await mkdir(tmp, { mode: 0o700 })
    try {
      await unpackArchive(data, tmp)
      const t = await readTree(sha256, tmp)
      await seal(t)
      const root = join(this.dir, sha256)
      await rm(root, { recursive: true, force: true })
      await rename(tmp, root)
      return { ...t, root }
    } catch (e) {
      await rm(tmp, { recursive: true, force: true })
      throw e
    }
  }
}

async function readTree(sha256: string, root: string): Promise<VerifiedTree> {
  const dirs: string[] = []
  const files: FileMark[] = []
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) {
        dirs.push(r)
        await walk(r)
      } else if (e.isFile()) {
        files.push({ rel: r, ino: 0n, size: 0n, mtimeNs: 0n, mode: 0n })
      } else {
        throw new KilnError('KILN_ERR_BAD_PACKAGE', `code package refused: ${r} is not a file or a folder`)
      }
    }
  }
  await walk('')
  return { sha256, root, dirs, files }
}

/** Read-only for everyone (executable bits kept), owned by the platform; then the marks are taken. */
async function seal(t: VerifiedTree): Promise<void> {
  for (const f of t.files) {
    const p = join(t.root, f.rel)
    const st = await lstat(p)
    await chmod(p, (st.mode & 0o555) | 0o444)
  }
  for (const d of t.dirs) await chmod(join(t.root, d), 0o555)
  for (const f of t.files) {
    const st = await lstat(join(t.root, f.rel), { bigint: true })
    f.ino = st.ino
    f.size = st.size
    f.mtimeNs = st.mtimeNs
    f.mode = st.mode
  }
}

/** Small trees (a bundled function is one file) are checked synchronously: a few microseconds per file. */
const SYNC_FILES = 64

async function unchanged(t: VerifiedTree): Promise<boolean> {
  const sync = t.files.length <= SYNC_FILES
  for (const f of t.files) {
    try {
      const p = join(t.root, f.rel)
      const st = sync ? lstatSync(p, { bigint: true }) : await lstat(p, { bigint: true })
      if (!st.isFile() || st.ino !== f.ino || st.size !== f.size || st.mtimeNs !== f.mtimeNs || st.mode !== f.mode) return false
    } catch {
      return false
    }
  }
  return true
}
