// `/fn/<name>[@<version|alias>][/rest][?query]` and `/ns/<namespace>/fn/<name>[@...][/rest][?query]` →
// the function's ref (core/refs.ts), the version or alias it names (none: the function's main split),
// and the path it sees (`/rest?query`, at least `/`).
import { refOf } from '../core/refs.js'

export interface FunctionUrl {
  name: string
  /** `@prod`: the alias; undefined otherwise. */
  alias: string | undefined
  /** `@3`: the version; 0 otherwise. */
  version: number
  path: string
}

const ALIAS = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** Undefined when the name is not valid percent-encoding, names a malformed version (`@`, `@0`, `@Prod`), or an `/ns/` URL names no function. */
export function parseFunctionUrl(url: string): FunctionUrl | undefined {
  let start = 4
  let namespace: string | undefined
  if (url.startsWith('/ns/')) {
    const slash = url.indexOf('/', 4)
    if (slash < 0 || !url.startsWith('/fn/', slash)) return undefined
    namespace = decode(url.slice(4, slash))
    if (namespace === undefined || namespace === '' || namespace.includes('/')) return undefined
    start = slash + 4
  }
  let end = url.length
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c === 47 /* / */ || c === 63 /* ? */) { end = i; break }
  }
  let name = decode(url.slice(start, end))
  // A decoded slash would spell another namespace's ref: not a name.
  if (name === undefined || name.includes('/')) return undefined
  let alias: string | undefined
  let version = 0
  const at = name.indexOf('@')
  if (at >= 0) {
    const sel = name.slice(at + 1)
    name = name.slice(0, at)
    if (name === '' || sel === '' || sel.length > 63) return undefined
    const n = Number(sel)
    if (Number.isSafeInteger(n) && n > 0 && String(n) === sel) version = n
    else if (ALIAS.test(sel)) alias = sel
    else return undefined
  }
  const rest = url.slice(end)
  return { name: namespace === undefined ? name : refOf(namespace, name), alias, version, path: rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest }
}

function decode(s: string): string | undefined {
  if (!s.includes('%')) return s
  try { return decodeURIComponent(s) } catch { return undefined }
}

/**
 * `/async/fn/...` or `/ns/NS/async/fn/...` (triggers/async): as parseFunctionUrl without the `/async`.
 * An async call runs the function's main split: a URL naming a version or an alias is not one (404).
 */
export function parseAsyncFunctionUrl(url: string): FunctionUrl | undefined {
  const at = url.startsWith('/async/fn/') ? 0 : asyncSegment(url)
  if (at < 0) return undefined
  const u = parseFunctionUrl(url.slice(0, at) + url.slice(at + 6))
  return u === undefined || u.alias !== undefined || u.version !== 0 ? undefined : u
}

/** Where `/async/fn/` starts in `/ns/NS/async/fn/...`; -1 when the URL is not one. */
export function asyncSegment(url: string): number {
  if (!url.startsWith('/ns/')) return -1
  const slash = url.indexOf('/', 4)
  return slash > 4 && url.startsWith('/async/fn/', slash) ? slash : -1
}
