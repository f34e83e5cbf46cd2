// Finds the entry file and export of a function source: a file, or a folder with --entrypoint,
// package.json `main`, or index.{js,mjs,cjs}. Accepts 'file', 'file:export' and Fission's 'file.export'.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, relative, resolve } from 'node:path'
import { BuildError } from './errors.js'

export interface Entry {
  /** the folder the function lives in (node_modules are looked up from here) */
  root: string
  /** absolute path of the entry file */
  file: string
  exportName?: string
}

const EXTS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function withExt(p: string): string | undefined {
  if (isFile(p)) return p
  for (const e of EXTS) if (isFile(p + e)) return p + e
  return undefined
}

function fail(text: string): never {
  throw new BuildError([{ file: '', line: 0, column: 0, text }], 'cannot find the entry')
}

export function findEntry(source: string, entrypoint: string | undefined): Entry {
  const src = resolve(source)
  if (!existsSync(src)) fail(`source not found: ${source}`)
  let spec = entrypoint
  let exportName: string | undefined
  if (spec !== undefined) {
    const c = spec.lastIndexOf(':')
    if (c > 1) [spec, exportName] = [spec.slice(0, c), spec.slice(c + 1)]
  }
  if (isFile(src)) {
    // a single file: the entrypoint may only name the export ('handler', ':handler', or 'file.handler')
    if (spec !== undefined && exportName === undefined) {
      const base = basename(src, extname(src))
      if (spec.startsWith(base + '.') && !isFile(join(dirname(src), spec))) exportName = spec.slice(base.length + 1)
      else if (spec !== basename(src) && !spec.includes('/') && !spec.includes('.')) exportName = spec
    }
    return { root: dirname(src), file: src, exportName: exportName || undefined }
  }
  if (spec) {
    const direct = withExt(join(src, spec))
    if (direct) return { root: src, file: direct, exportName }
    const dot = spec.lastIndexOf('.')
    if (exportName === undefined && dot > 0) {
      const f = withExt(join(src, spec.slice(0, dot)))
      if (f) return { root: src, file: f, exportName: spec.slice(dot + 1) }
    }
    // Fission style: a bare export name is that export of the folder's main file (package.json main, index.js).
    if (exportName === undefined && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(spec)) {
      const main = mainFile(src)
      if (main) return { root: src, file: main, exportName: spec }
    }
    fail(`entrypoint not found: ${entrypoint} (in ${source})`)
  }
  const pj = join(src, 'package.json')
  if (isFile(pj)) {
    let main: unknown
    try {
      main = JSON.parse(readFileSync(pj, 'utf8')).main
    } catch (err) {
      fail(`${pj}: ${(err as Error).message}`)
    }
    if (typeof main === 'string') {
      const f = withExt(join(src, main)) ?? withExt(join(src, main, 'index'))
      if (f) return { root: src, file: f }
      fail(`package.json main not found: ${main}`)
    }
  }
  for (const n of ['index.js', 'index.mjs', 'index.cjs', 'index.ts']) if (isFile(join(src, n))) return { root: src, file: join(src, n) }
  fail(`no entrypoint: pass one, set package.json "main", or add index.js/index.mjs/index.cjs in ${source}`)
}

/** The folder's main file: package.json `main`, else index.{js,mjs,cjs,ts}; undefined when it has none. */
function mainFile(src: string): string | undefined {
  try {
    const main = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')).main
    if (typeof main === 'string') return withExt(join(src, main)) ?? withExt(join(src, main, 'index'))
  } catch { /* no package.json */ }
  for (const n of ['index.js', 'index.mjs', 'index.cjs', 'index.ts']) if (isFile(join(src, n))) return join(src, n)
  return undefined
}

export function relativeTo(root: string, file: string): string {
  return relative(root, file).split('\\').join('/')
}
