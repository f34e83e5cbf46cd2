// Reading and writing cgroupfs files, with errors that name the file and what to do.

import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { KilnError } from '../../../core/errors.js'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8')
}

/** The file's text, or undefined when the file does not exist (controller absent, group gone). */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENODEV' || errno(e) === 'EOPNOTSUPP') return undefined
    throw e
  }
}

/** Write one value into a cgroup file; a kernel refusal becomes a KilnError naming file, value and errno. */
export async function writeValue(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value)
  } catch (e) {
    throw new KilnError('KILN_ERR_INTERNAL', `cgroup: cannot write "${value}" to ${file}: ${errno(e) ?? String(e)}`, {
      reason: 'cgroup_write_failed',
      file,
      value,
      errno: errno(e),
    })
  }
}

/** mkdir that tolerates an existing directory; returns whether it created it. */
export async function ensureDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir)
    return true
  } catch (e) {
    if (errno(e) === 'EEXIST') return false
    throw e
  }
}

/** `dir` and every directory below it, deepest first (the order rmdir needs). Missing dir → []. */
export async function subtreeDirs(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (e) {
    if (errno(e) === 'ENOENT') return []
    throw e
  }
  const out: string[] = []
  for (const ent of entries) if (ent.isDirectory()) out.push(...(await subtreeDirs(`${dir}/${ent.name}`)))
  out.push(dir)
  return out
}

/** rmdir, retrying while the kernel still counts exiting (not yet reaped) tasks. Missing dir is fine. */
export async function rmdirRetry(dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      await rmdir(dir)
      return
    } catch (e) {
      if (errno(e) === 'ENOENT') return
      if (errno(e) !== 'EBUSY' || Date.now() > deadline) {
        throw new KilnError('KILN_ERR_INTERNAL', `cgroup: cannot remove ${dir}: ${errno(e) ?? String(e)}`, {
          reason: 'cgroup_rmdir_failed',
          dir,
          errno: errno(e),
        })
      }
      await sleep(delay)
    }
  }
}

/** A numeric cgroup file's value, or undefined when the file does not exist. */
export async function num(file: string): Promise<number | undefined> {
  const t = await readOptional(file)
  return t === undefined ? undefined : Number(t.trim())
}

/** Walks from `dir` upwards while `file` exists there (it stops at the hierarchy's top or an unreadable level). */
export async function walkUp(dir: string, file: string, visit: (text: string, dir: string) => Promise<void> | void): Promise<void> {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    let text: string | undefined
    try {
      text = await readOptional(`${d}/${file}`)
    } catch {
      return
    }
    if (text === undefined) return
    await visit(text, d)
  }
}
