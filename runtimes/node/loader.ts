// Loads a function's module by path, CommonJS or ESM as Node decides, and picks the function to call.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { UserFunction } from './shapes/shape.js'

export interface Loaded {
  fn: UserFunction
  /** `export const config = {stream: true}`: the function reads the raw request stream. */
  stream: boolean
  /** `export function upgrade(req, socket, head)`: the function accepts HTTP upgrades (WebSocket). */
  upgrade: UpgradeHandler | undefined
  file: string
  /** require.cache keys this load added, removed again on unload (CommonJS only). */
  cjsKeys: string[]
}

export type UpgradeHandler = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => unknown

export class LoadError extends Error {}

let loads = 0

/** `'file'` or `'file:export'` → [file, export]. */
export function parseEntrypoint(entrypoint: string | undefined): [string | undefined, string | undefined] {
  if (!entrypoint) return [undefined, undefined]
  const c = entrypoint.lastIndexOf(':')
  // a Windows drive letter is not an export separator, nor is a trailing colon
  if (c > 1 && c < entrypoint.length - 1) return [entrypoint.slice(0, c), entrypoint.slice(c + 1)]
  return [entrypoint, undefined]
}

/**
 * The module file and export: `codePath` itself when it is a file (the entrypoint then only names the
 * export), else the entrypoint (or index.*) inside it. `file.export` (Fission / Lambda style) is
 * accepted when no file of that name exists.
 */
export function resolveFile(codePath: string, entry: string | undefined, exportName?: string): [string, string | undefined] {
  let st
  try {
    st = statSync(codePath)
  } catch {
    throw new LoadError(`code path not found: ${codePath}`)
  }
  if (st.isFile()) {
    // 'file:export', ':export', or a bare export name
    if (exportName === undefined && entry) {
      if (entry.startsWith(':')) exportName = entry.slice(1)
      else if (entry !== basename(codePath) && !entry.includes('/') && !entry.includes('.')) exportName = entry
    }
    return [codePath, exportName]
  }
  if (entry) {
    const root = resolve(codePath)
    const f = resolve(root, entry)
    if (f !== root && !f.startsWith(root + sep)) throw new LoadError(`entrypoint escapes the package: ${entry}`)
    const found = withExt(f)
    if (found) return [found, exportName]
    const dot = entry.lastIndexOf('.')
    if (exportName === undefined && dot > 0) {
      const g = withExt(resolve(root, entry.slice(0, dot)))
      if (g) return [g, entry.slice(dot + 1)]
    }
    throw new LoadError(`entrypoint not found: ${entry} (in ${codePath})`)
  }
  for (const name of ['index.mjs', 'index.cjs', 'index.js']) {
    const f = join(codePath, name)
    if (existsSync(f)) return [f, exportName]
  }
  throw new LoadError(`no entrypoint given and no index.{mjs,cjs,js} in ${codePath}`)
}

function withExt(f: string): string | undefined {
  if (existsSync(f) && statSync(f).isFile()) return f
  for (const ext of ['.js', '.mjs', '.cjs']) if (existsSync(f + ext)) return f + ext
  return undefined
}

/** Node's rule: .mjs ESM, .cjs CommonJS, otherwise the nearest package.json's `type`. */
export function isEsm(file: string): boolean {
  const ext = extname(file)
  if (ext === '.mjs') return true
  if (ext === '.cjs') return false
  let dir = dirname(file)
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        return JSON.parse(readFileSync(pj, 'utf8')).type === 'module'
      } catch {
        return false
      }
    }
    const up = dirname(dir)
    if (up === dir) return false
    dir = up
  }
}

const NAMES = ['default', 'main', 'handler', 'handle']

/** A module's own property only: `constructor`, `toString` or `__proto__` must never resolve to what every object inherits. */
function own(obj: unknown, name: string): unknown {
  return obj !== null && (typeof obj === 'object' || typeof obj === 'function') && Object.hasOwn(obj, name)
    ? (obj as Record<string, unknown>)[name]
    : undefined
}

function pick(mod: unknown, exportName: string | undefined): UserFunction | undefined {
  if (typeof mod === 'function' && exportName === undefined) return mod as UserFunction
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) return undefined
  if (exportName !== undefined) {
    const f = own(mod, exportName)
    if (typeof f === 'function') return f as UserFunction
    // a CommonJS module imported as ESM, or esbuild's __esModule interop
    const g = own(own(mod, 'default'), exportName)
    return typeof g === 'function' ? (g as UserFunction) : undefined
  }
  for (const n of NAMES) {
    const f = own(mod, n)
    if (typeof f === 'function') return f as UserFunction
  }
  const d = own(mod, 'default')
  return d !== undefined && d !== mod ? pick(d, undefined) : undefined
}

function streamFlag(mod: unknown): boolean {
  return own(own(mod, 'config'), 'stream') === true || own(own(own(mod, 'default'), 'config'), 'stream') === true
}

function upgradeOf(mod: unknown): UpgradeHandler | undefined {
  const u = own(mod, 'upgrade') ?? own(own(mod, 'default'), 'upgrade')
  return typeof u === 'function' ? (u as UpgradeHandler) : undefined
}

/** Loads `file` and returns its function; throws (the loader's own error) when it cannot. */
export async function load(file: string, exportName: string | undefined): Promise<Loaded> {
  let mod: unknown
  const cjsKeys: string[] = []
  if (isEsm(file)) {
    // The query makes Node evaluate the entry again after an unload instead of reusing its cache entry.
    mod = await import(pathToFileURL(file).href + '?kiln=' + ++loads)
  } else {
    const req = createRequire(file)
    const before = new Set(Object.keys(req.cache))
    try {
      mod = req(file)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err
      mod = await import(pathToFileURL(file).href + '?kiln=' + ++loads)
    } finally {
      for (const k of Object.keys(req.cache)) if (!before.has(k)) cjsKeys.push(k)
    }
  }
  const fn = pick(mod, exportName)
  if (fn === undefined) {
    for (const k of cjsKeys) delete createRequire(file).cache[k]
    const what = exportName === undefined ? 'a default export (or main/handler/handle)' : `an export named "${exportName}"`
    throw new LoadError(`${file}: no function found: expected ${what}`)
  }
  return { fn, stream: streamFlag(mod), upgrade: upgradeOf(mod), file, cjsKeys }
}

/** Drops a CommonJS function's modules from require's cache (ESM modules cannot be evicted). */
export function forget(loaded: Loaded): void {
  if (loaded.cjsKeys.length === 0) return
  const cache = createRequire(loaded.file).cache
  for (const k of loaded.cjsKeys) delete cache[k]
}
