// The host folders of each instance, under two roots only the platform can list:
//   <data dir>/sandbox/instances/<id>/   its code: hard links to the verified package, read-only, root's
//   <run dir>/<hash of id>/sock/                 its Unix socket (its uid's until it listens, then root's)
//   <run dir>/<hash of id>/secrets/<name>/<key>  its secret files (root:its gid, 0440)
// The run dir (/run/kiln-<hash> as root) is short, so socket paths stay under the 108-byte limit, and in
// memory, so secret values never reach a disk. Without bubblewrap (no mount namespace) the code is copied
// under the run dir instead, so the instance never needs to traverse the data dir.
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, copyFileSync, linkSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { SecretFile } from '../../backend.js'
import { KilnError } from '../../../core/errors.js'
import type { BoxPaths } from './bwrap-args.js'
import type { VerifiedTree } from './verified-code.js'

export interface Owner { uid: number; gid: number }

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/

export class BoxDirs {
  readonly instances: string

  /**
   * @param asRoot the platform runs as root: folders are root's, an instance's own ones chowned to it.
   * @param codeInRun code is staged under the run dir (no mount namespace) instead of the data dir.
   */
  constructor(readonly stateDir: string, readonly runDir: string, private readonly asRoot: boolean, private readonly codeInRun: boolean) {
    this.instances = join(stateDir, 'instances')
  }

  /**
   * Creates the roots and removes what a previous run left (its processes are gone: cgroups swept them),
   * verified code included: this run verifies every package again before its first use.
   */
  async init(): Promise<number> {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 })
    chmodSync(this.stateDir, 0o700)
    await rm(join(this.stateDir, 'code'), { recursive: true, force: true })
    mkdirSync(this.runDir, { recursive: true, mode: 0o711 })
    chmodSync(this.runDir, 0o711)
    let stale = 0
    for (const root of [this.instances, this.runDir]) {
      let names: string[] = []
      try { names = readdirSync(root) } catch { /* none yet */ }
      for (const n of names) {
        stale++
        await rm(join(root, n), { recursive: true, force: true })
      }
    }
    mkdirSync(this.instances, { recursive: true, mode: 0o700 })
    return stale
  }

  paths(id: string): BoxPaths {
    return {
      code: this.codeInRun ? join(this.runDir, short(id), 'code') : join(this.instances, id),
      secrets: join(this.runDir, short(id), 'secrets'),
      run: join(this.runDir, short(id), 'sock'),
    }
  }

  create(id: string, owner: Owner | undefined): BoxPaths {
    if (!NAME.test(id)) throw new KilnError('KILN_ERR_INTERNAL', `bad instance id for a sandbox: ${id}`)
    const p = this.paths(id)
    mkdirSync(join(this.runDir, short(id)), { mode: 0o711 })
    mkdirSync(p.code, { mode: this.codeMode() })
    mkdirSync(p.secrets, { mode: 0o750 })
    mkdirSync(p.run, { mode: 0o700 })
    if (owner) {
      chownSync(p.run, owner.uid, owner.gid)
      chownSync(p.secrets, 0, owner.gid)
    }
    chmodSync(p.secrets, this.asRoot ? 0o550 : 0o500)
    return p
  }

  /**
   * Once the runtime listens (before any function code runs), its socket folder becomes root's: the
   * instance can no longer replace its socket with a link the platform would follow to another's.
   * Without root the folder stays the instance's, which is the platform's own uid anyway.
   */
  seal(p: BoxPaths): void {
    if (!this.asRoot) return
    chownSync(p.run, 0, 0)
    chmodSync(p.run, 0o700)
  }

  /** Root's code folder is 0555 (root writes it anyway); another user needs the write bit on its own. */
  private codeMode(): number {
    return this.asRoot ? 0o555 : 0o755
  }

  /** The instance's code folder holds exactly the verified tree: hard links (copies across file systems). */
  stage(p: BoxPaths, tree: VerifiedTree): void {
    clear(p.code)
    for (const d of tree.dirs) mkdirSync(join(p.code, d), { mode: 0o755 })
    for (const f of tree.files) {
      const src = join(tree.root, f.rel)
      const dst = join(p.code, f.rel)
      try {
        linkSync(src, dst)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV' && (e as NodeJS.ErrnoException).code !== 'EPERM') throw e
        copyFileSync(src, dst)
        chmodSync(dst, Number(f.mode) & 0o555)
      }
    }
    for (let i = tree.dirs.length - 1; i >= 0; i--) chmodSync(join(p.code, tree.dirs[i]), 0o555)
  }

  /** Replaces the instance's secret files; each readable by the instance's gid (or its uid) alone. */
  placeSecrets(p: BoxPaths, files: SecretFile[], owner: Owner | undefined): void {
    for (const f of files) {
      if (!NAME.test(f.name) || !NAME.test(f.key)) throw new KilnError('KILN_ERR_VALIDATION', `secret file name ${JSON.stringify(`${f.name}/${f.key}`)}: letters, digits, dot, dash and underscore only`)
    }
    chmodSync(p.secrets, 0o700)
    clear(p.secrets)
    const dirMode = this.asRoot ? 0o550 : 0o500
    const fileMode = this.asRoot ? 0o440 : 0o400
    const dirs = new Set<string>()
    for (const f of files) {
      const dir = join(p.secrets, f.name)
      if (!dirs.has(dir)) {
        mkdirSync(dir, { mode: 0o700 })
        dirs.add(dir)
      }
      const file = join(dir, f.key)
      writeFileSync(file, f.value, { mode: 0o600, flag: 'wx' })
      if (owner) chownSync(file, 0, owner.gid)
      chmodSync(file, fileMode)
    }
    for (const dir of dirs) {
      if (owner) chownSync(dir, 0, owner.gid)
      chmodSync(dir, dirMode)
    }
    chmodSync(p.secrets, dirMode)
  }

  unstage(p: BoxPaths): void {
    clear(p.code)
    chmodSync(p.secrets, 0o700)
    clear(p.secrets)
    chmodSync(p.secrets, this.asRoot ? 0o550 : 0o500)
  }

  async remove(id: string): Promise<void> {
    const p = this.paths(id)
    if (!this.asRoot) { clear(p.code); chmodSync(p.secrets, 0o700); clear(p.secrets) }
    await rm(join(this.runDir, short(id)), { recursive: true, force: true })
    if (!this.codeInRun) await rm(p.code, { recursive: true, force: true })
  }
}

/** The run dir's name for an instance: short, so its socket path stays far below 108 bytes. */
function short(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 16)
}

/** Empties a folder the platform owns; read-only subfolders are made writable first (root needs not). */
function clear(dir: string): void {
  let ents
  try {
    ents = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of ents) {
    const p = join(dir, e.name)
    if (!e.isDirectory()) {
      unlinkSync(p)
      continue
    }
    if (process.getuid?.() !== 0) { chmodSync(p, 0o700); clear(p) }
    rmSync(p, { recursive: true, force: true })
  }
}
