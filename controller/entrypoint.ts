// The deploy-time check of `spec.entrypoint` against the unpacked package, so a function that can never
// load is refused once with a 400 instead of failing every call. Static only: files are looked up the
// way the function's runtime resolves them (runtimes/node/loader.ts, runtimes/python/kiln_runtime/
// loader.py), and nothing of the package is executed. The runtimes check again at load and look exports
// up as own properties, so a name every object inherits can never resolve there either.
import { realpathSync, statSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { KilnError } from '../core/errors.js'
import type { RuntimeResource } from '../core/types.js'

export type EntryLanguage = 'node' | 'python' | 'other'

/** Names of Object.prototype and Function.prototype: `module.exports[name]` finds them on any module. */
const JS_INHERITED = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
  'prototype',
])

const PY_NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u
const DUNDER = /^__.*__$/

function refuse(why: string): never {
  throw new KilnError('KILN_ERR_VALIDATION', `spec.entrypoint: ${why}`)
}

export function entryLanguage(rt: RuntimeResource): EntryLanguage {
  if (rt.spec.protocol === 'fission') return 'other' // Fission's servers resolve the module themselves
  const l = rt.spec.language ?? rt.metadata.name
  if (l.startsWith('python')) return 'python'
  if (l.startsWith('node') || l === 'javascript' || l === 'typescript') return 'node'
  return 'other'
}

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false
}

/** The file must be a regular file inside the package, after every link and `..` is resolved. */
function inside(root: string, file: string, shown: string): void {
  const real = realpathSync(root)
  let f: string
  try {
    f = realpathSync(file)
  } catch {
    refuse(`${shown}: no such file in the package`)
  }
  if (!f.startsWith(real + sep)) refuse(`${shown} is outside the package`)
  if (!isFile(f)) refuse(`${shown} is not a file`)
}

function checkJsExport(name: string | undefined): void {
  if (name !== undefined && JS_INHERITED.has(name)) {
    refuse(`"${name}" is a property every object or function inherits, not an export; name the function's own export`)
  }
}

function checkPyName(func: string | undefined): void {
  if (func === undefined) return
  for (const part of func.split('.')) {
    if (!PY_NAME.test(part)) refuse(`"${func}" is not a Python name (dotted names are allowed)`)
    if (DUNDER.test(part)) refuse(`"${part}" is a name Python defines on every object, not the function's own`)
  }
}

/** runtimes/node/loader.ts: parseEntrypoint + resolveFile, for a package folder. */
function checkNode(root: string, entrypoint: string): void {
  const c = entrypoint.lastIndexOf(':')
  let [entry, exportName] = c > 1 && c < entrypoint.length - 1 ? [entrypoint.slice(0, c), entrypoint.slice(c + 1)] : [entrypoint, undefined]
  const f = resolve(root, entry)
  if (f !== root && !f.startsWith(root + sep)) refuse(`${entry} is outside the package`)
  const withExt = (p: string) => (isFile(p) ? p : ['.js', '.mjs', '.cjs'].map((e) => p + e).find(isFile))
  let file = withExt(f)
  if (!file) {
    const dot = entry.lastIndexOf('.')
    if (exportName === undefined && dot > 0) {
      file = withExt(resolve(root, entry.slice(0, dot)))
      if (file) exportName = entry.slice(dot + 1)
    }
  }
  if (!file) refuse(`${entry}: no such file in the package`)
  inside(root, file, entry)
  checkJsExport(exportName)
}

/** runtimes/python/kiln_runtime/loader.py: _resolve_entry, for a package folder. */
function checkPython(root: string, entrypoint: string): void {
  const e = entrypoint.trim()
  const i = e.indexOf(':')
  const filePart = i < 0 ? e : e.slice(0, i)
  let func = i < 0 ? undefined : e.slice(i + 1).trim() || undefined
  if (!filePart) {
    const name = ['main.py', 'handler.py', 'index.py', 'app.py', 'lambda_function.py'].find((n) => isFile(join(root, n)))
    if (!name) refuse('no file named and none of main.py, handler.py, index.py, app.py, lambda_function.py in the package')
    checkPyName(func)
    return
  }
  const f = resolve(root, filePart)
  if (filePart.startsWith('/') || (f !== root && !f.startsWith(root + sep))) refuse(`${filePart} is outside the package`)
  const candidates: [string, string | undefined][] = [[filePart, func]]
  if (!filePart.endsWith('.py')) {
    candidates.push([`${filePart}.py`, func], [join(filePart, '__init__.py'), func])
    if (func === undefined && filePart.includes('.')) {
      const at = filePart.lastIndexOf('.')
      candidates.push([`${filePart.slice(0, at).replaceAll('.', '/')}.py`, filePart.slice(at + 1)])
    }
  }
  const found = candidates.find(([f]) => isFile(join(root, f)))
  if (!found) refuse(`${filePart}: no such file in the package`)
  inside(root, join(root, found[0]), filePart)
  func = found[1]
  checkPyName(func)
}

/** Any other runtime: the file part stays in the package; the export is no inherited name in either language. */
function checkOther(root: string, entrypoint: string): void {
  const c = entrypoint.lastIndexOf(':')
  const [file, exp] = c < 0 ? [entrypoint, undefined] : [entrypoint.slice(0, c), entrypoint.slice(c + 1) || undefined]
  const f = resolve(root, file)
  if (file.startsWith('/') || (f !== root && !f.startsWith(root + sep))) refuse(`${file} is outside the package`)
  checkJsExport(exp)
  if (exp !== undefined && exp.split('.').some((p) => DUNDER.test(p))) refuse(`"${exp}" is a name Python defines on every object`)
}

/** Throws KILN_ERR_VALIDATION naming spec.entrypoint when the package cannot provide it. */
export function checkEntrypoint(packageDir: string, entrypoint: string, language: EntryLanguage): void {
  if (/[\x00-\x1f\x7f\\]/.test(entrypoint)) refuse('control characters and backslashes are not allowed')
  const root = resolve(packageDir)
  if (language === 'node') checkNode(root, entrypoint)
  else if (language === 'python') checkPython(root, entrypoint)
  else checkOther(root, entrypoint)
}
