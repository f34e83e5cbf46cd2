// `/fn/<name>[/rest][?query]` and `/ns/<namespace>/fn/<name>[/rest][?query]` → the function's ref
// (core/refs.ts) and the path it sees (`/rest?query`, at least `/`); the same after `/async` for async
// calls (`/async/fn/<name>...`, `/ns/<namespace>/async/fn/<name>...`).
import { refOf } from '../core/refs.js'

export interface FunctionUrl { name: string; path: string }

/** Undefined when the name is not valid percent-encoding (or an `/ns/` URL names no function). */
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
  const name = decode(url.slice(start, end))
  // A decoded slash would spell another namespace's ref: not a name.
  if (name === undefined || name.includes('/')) return undefined
  const rest = url.slice(end)
  return { name: namespace === undefined ? name : refOf(namespace, name), path: rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest }
}

function decode(s: string): string | undefined {
  if (!s.includes('%')) return s
  try { return decodeURIComponent(s) } catch { return undefined }
}

/** `/async/fn/...` or `/ns/NS/async/fn/...` (triggers/async): as parseFunctionUrl without the `/async`. */
export function parseAsyncFunctionUrl(url: string): FunctionUrl | undefined {
  if (url.startsWith('/async/fn/')) return parseFunctionUrl(url.slice(6))
  const at = asyncSegment(url)
  return at < 0 ? undefined : parseFunctionUrl(url.slice(0, at) + url.slice(at + 6))
}

/** Where `/async/fn/` starts in `/ns/NS/async/fn/...`; -1 when the URL is not one. */
export function asyncSegment(url: string): number {
  if (!url.startsWith('/ns/')) return -1
  const slash = url.indexOf('/', 4)
  return slash > 4 && url.startsWith('/async/fn/', slash) ? slash : -1
}
