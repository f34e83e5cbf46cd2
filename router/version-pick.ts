// Which version of a function serves a request: the one it names (`@N`), one of its alias's split
// (`@ALIAS`), or one of the main split. A split picks by weight per request (a step through the route's
// precomputed table), or — when sticky — by a hash of the caller's header or cookie value, so one
// caller stays on one version while the weights stay put (and, on a canary's growing range, after).
// No allocation unless the answer is an error.
import type { IncomingHttpHeaders } from 'node:http'
import { KilnError } from '../core/errors.js'
import { stickyHash } from '../core/releases/split-table.js'
import type { Executor } from '../executor/executor.js'
import type { FunctionEntry, Route } from '../executor/function-entry.js'
import type { FunctionState } from '../executor/function-state.js'

export function pickVersion(executor: Executor, entry: FunctionEntry, alias: string | undefined, version: number, headers: IncomingHttpHeaders): FunctionState | KilnError {
  if (version > 0) {
    const fs = entry.states.get(version)
    if (fs !== undefined && !fs.retired) return fs
    return executor.openVersion(entry, version) ?? new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function "${entry.ref}" has no version ${version}`)
  }
  const route = alias === undefined ? entry.route : entry.aliases.get(alias)
  if (route === undefined) {
    return alias === undefined
      ? new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function "${entry.ref}" has no version serving yet`)
      : new KilnError('KILN_ERR_ALIAS_NOT_FOUND', `function "${entry.ref}" has no alias "${alias}"`)
  }
  return pick(route, headers)
}

export function pick(route: Route, headers: IncomingHttpHeaders): FunctionState {
  if (route.states.length === 1) return route.states[0]
  if (route.stickyHeader !== undefined) {
    const v = headers[route.stickyHeader]
    if (typeof v === 'string' && v.length > 0) return route.states[route.table.forHash(stickyHash(v))]
  } else if (route.stickyCookie !== undefined) {
    const c = headers.cookie
    if (c !== undefined) {
      const h = cookieHash(c, route.stickyCookie)
      if (h >= 0) return route.states[route.table.forHash(h)]
    }
  }
  return route.states[route.table.next()]
}

/** The hash of cookie `name`'s value in a Cookie header, or -1 when it is absent or empty (no substring made). */
export function cookieHash(header: string, name: string): number {
  let i = 0
  const n = header.length
  while (i < n) {
    while (i < n && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 59)) i++ // spaces and ';'
    const eq = header.indexOf('=', i)
    let end = header.indexOf(';', i)
    if (end < 0) end = n
    if (eq > i && eq < end && eq - i === name.length && header.startsWith(name, i)) {
      let vs = eq + 1
      let ve = end
      while (ve > vs && header.charCodeAt(ve - 1) === 32) ve--
      if (ve - vs >= 2 && header.charCodeAt(vs) === 34 && header.charCodeAt(ve - 1) === 34) { vs++; ve-- } // "quoted"
      return ve > vs ? stickyHash(header, vs, ve) : -1
    }
    i = end + 1
  }
  return -1
}
