// Loading a function's code into a generic instance, in the protocol its runtime speaks:
// Kiln's `POST /v1/specialize`, or a Fission environment's `POST /v2/specialize` (v1: `/specialize`,
// which loads the server's own fixed code path; Kiln sends the v2 body anyway, for servers that read it).
// A Fission-protocol instance cannot unload: once specialized (or after a failed load) it is only ever
// retired, never returned to a generic pool.
import { KilnError } from '../core/errors.js'
import type { FunctionResource, RuntimeResource } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

const SPECIALIZE_TIMEOUT_MS = 60_000

export interface SpecializeInput {
  rec: InstanceRecord
  fn: FunctionResource
  version: string
  runtime: RuntimeResource
  /** A local folder with the unpacked package, or a URL the instance downloads it from. */
  code: { path: string } | { url: string }
  /** More environment for the function (its secrets' variables; secret-delivery.ts), over spec.env. */
  env?: Record<string, string>
}

function kilnBody({ fn, version, code, env }: SpecializeInput): unknown {
  const s = fn.spec
  return {
    function: { name: fn.metadata.name, version, entrypoint: s.entrypoint, env: env ? { ...s.env, ...env } : s.env ?? {}, timeoutMs: s.timeoutMs ?? 60_000, shape: s.shape ?? 'kiln' },
    code: { ...code, sha256: s.package.sha256 },
  }
}

/**
 * Fission's v2 body `{filepath, functionName, url}`. A Fission server loads `path.join(filepath, module)`
 * and takes `export` from `functionName` = "module.export" (split at the dot), so:
 * - `.js` (Node) and `.py` files: `filepath` is the package folder, `functionName` the file without its
 *   extension (Python: dotted, e.g. `pkg.mod`) plus `.export` when one is named (Python: `.main` by default,
 *   which is what Fission's Python server calls when only a module is given);
 * - any other file (the builder's `index.cjs` / `index.mjs`, which a bare `require(dir/index)` does not
 *   find): `filepath` is the file itself, as Fission does for a single-file package, and `functionName`
 *   is `""` or `".export"` (an empty module part, so the join leaves the file path as it is).
 */
function fissionBody({ fn, code }: SpecializeInput): unknown {
  // Fission's fetcher downloads `url` into `filepath`; a local package is passed as a path.
  const codePath = 'path' in code ? code.path : ''
  const url = 'url' in code ? code.url : ''
  const [file, exp] = splitEntry(fn.spec.entrypoint ?? '')
  if (file.endsWith('.py')) {
    const mod = file.slice(0, -3).replaceAll('/', '.')
    return { filepath: codePath, functionName: `${mod}.${exp ?? 'main'}`, url }
  }
  if (file === '' || file.endsWith('.js')) {
    const mod = file.replace(/\.js$/, '')
    return { filepath: codePath, functionName: exp ? `${mod}.${exp}` : mod, url }
  }
  return { filepath: `${codePath}/${file}`, functionName: exp ? `.${exp}` : '', url }
}

/** 'file', 'file:export' → [file, export?]. */
function splitEntry(entry: string): [string, string | undefined] {
  const i = entry.lastIndexOf(':')
  return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1) || undefined]
}

export async function specialize(input: SpecializeInput): Promise<void> {
  const { rec, runtime } = input
  const fission = runtime.spec.protocol === 'fission'
  const path = fission ? (runtime.spec.fissionVersion === 1 ? '/specialize' : '/v2/specialize') : '/v1/specialize'
  const body = JSON.stringify(fission ? fissionBody(input) : kilnBody(input))
  let status: number
  let text: string
  try {
    const res = await rec.client.request({
      method: 'POST', path, body,
      headers: { 'content-type': 'application/json' },
      headersTimeout: SPECIALIZE_TIMEOUT_MS, bodyTimeout: SPECIALIZE_TIMEOUT_MS,
    })
    status = res.statusCode
    text = await res.body.text()
  } catch (e) {
    if (fission && rec.state === 'specializing') rec.state = 'draining'
    throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `instance ${rec.id} did not answer specialization: ${(e as Error).message}`)
  }
  if (status >= 200 && status < 300) return
  // A Fission server has no unload: after a failed load it may hold half-imported code, so it must not
  // go back to the generic pool (the executor only returns instances whose state is still 'specializing').
  if (fission && rec.state === 'specializing') rec.state = 'draining'
  let message = text
  try {
    const j = JSON.parse(text) as { message?: string }
    if (j.message) message = j.message
  } catch { /* plain-text error from a foreign runtime */ }
  throw new KilnError('KILN_ERR_SPECIALIZE_FAILED', `function "${input.fn.metadata.name}" could not be loaded: ${message}`, { runtimeStatus: status })
}

/** `POST /v1/unload`: true when the runtime reports itself clean (safe to return to a generic pool). */
export async function unload(rec: InstanceRecord): Promise<boolean> {
  try {
    const res = await rec.client.request({ method: 'POST', path: '/v1/unload', headersTimeout: 5000, bodyTimeout: 5000 })
    const body = (await res.body.json()) as { clean?: boolean; state?: string }
    return res.statusCode === 200 && body.clean === true && body.state === 'generic'
  } catch {
    return false
  }
}
