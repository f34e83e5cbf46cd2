// POST /v1/specialize: load one function's code, once.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BodyTooLarge, readBody } from './body.js'
import { takeBaseline } from './clean.js'
import { applyEnv, restoreEnv, snapshotEnv } from './env.js'
import { sendError, sendJson } from './errors.js'
import { describeLoadError, locateSyntaxError } from './load-error.js'
import { fetchCode } from './fetch-code.js'
import { LoadError, load, parseEntrypoint, resolveFile } from './loader.js'
import { SHAPES } from './shapes/index.js'
import { type Specialized, state } from './state.js'

const noop = () => {}

interface SpecializeRequest {
  function: { name: string; version?: string | number; entrypoint?: string; env?: Record<string, unknown>; timeoutMs?: number; shape?: string }
  code: { path?: string; url?: string; sha256: string }
}

function validate(v: unknown): string | SpecializeRequest {
  const r = v as SpecializeRequest
  if (r === null || typeof r !== 'object') return 'body must be a JSON object'
  const f = r.function
  if (f === null || typeof f !== 'object' || typeof f.name !== 'string' || f.name === '') return 'function.name is required'
  if (f.entrypoint !== undefined && typeof f.entrypoint !== 'string') return 'function.entrypoint must be a string'
  if (f.env !== undefined && (f.env === null || typeof f.env !== 'object')) return 'function.env must be an object'
  if (f.timeoutMs !== undefined && (typeof f.timeoutMs !== 'number' || f.timeoutMs < 0)) return 'function.timeoutMs must be a number >= 0'
  if (f.shape !== undefined && !(f.shape in SHAPES)) return `function.shape must be one of ${Object.keys(SHAPES).join(', ')}`
  const c = r.code
  if (c === null || typeof c !== 'object' || typeof c.sha256 !== 'string' || c.sha256 === '') return 'code.sha256 is required'
  if ((typeof c.path !== 'string' || c.path === '') && (typeof c.url !== 'string' || c.url === '')) return 'code.path or code.url is required'
  return r
}

function describe(c: Specialized) {
  return { state: 'specialized', function: { name: c.info.name, version: c.info.version, sha256: c.sha256, entrypoint: c.entrypoint }, loadMs: c.loadMs }
}

async function doLoad(r: SpecializeRequest): Promise<Specialized> {
  const started = performance.now()
  const f = r.function
  const baseline = takeBaseline(state.connections)
  const env = snapshotEnv()
  applyEnv(f.env)
  try {
    const [file, exportName] = resolveFile(r.code.path!, ...parseEntrypoint(f.entrypoint))
    const loaded = await load(file, exportName)
    return {
      info: { name: f.name, version: f.version === undefined ? '' : String(f.version), timeoutMs: f.timeoutMs ?? 0 },
      sha256: r.code.sha256,
      entrypoint: f.entrypoint ?? '',
      shape: SHAPES[f.shape ?? 'kiln'],
      loaded,
      loadMs: Math.round((performance.now() - started) * 100) / 100,
      env,
      baseline,
    }
  } catch (err) {
    restoreEnv(env)
    throw err
  }
}

export async function specialize(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let r: SpecializeRequest
  try {
    const v = validate(JSON.parse((await readBody(req, 1 << 20)).toString('utf8')))
    if (typeof v === 'string') return sendError(res, 'KILN_ERR_BAD_SPECIALIZE', v)
    r = v
  } catch (err) {
    return sendError(res, 'KILN_ERR_BAD_SPECIALIZE', err instanceof BodyTooLarge ? 'body over 1 MiB' : `body is not JSON: ${(err as Error).message}`)
  }
  const name = r.function.name
  const sha256 = r.code.sha256
  const same = (x: { sha256: string; name: string } | undefined) => x !== undefined && x.sha256 === sha256 && x.name === name
  if (state.loading !== undefined) {
    if (!same(state.loading)) return sendError(res, 'KILN_ERR_ALREADY_SPECIALIZED', `specializing ${state.loading.name} (${state.loading.sha256})`)
    await state.loading.done // never rejects: the first caller reports a load error
  }
  const c = state.current
  if (c !== undefined) {
    if (c.sha256 === sha256 && c.info.name === name) return sendJson(res, 200, describe(c))
    return sendError(res, 'KILN_ERR_ALREADY_SPECIALIZED', `already specialized with ${c.info.name} (${c.sha256}); unload it first`)
  }
  // code.url: download, verify and unpack first (the platform shares no file system with this instance).
  const fetched = r.code.path ? Promise.resolve() : fetchCode(r.code.url!, sha256).then((dir) => { r.code.path = dir })
  const loading = fetched.then(() => doLoad(r)).then((s) => {
    state.current = s
    state.requests = 0
    return s
  })
  state.loading = { name, sha256, done: loading.then(noop, noop) }
  try {
    sendJson(res, 200, describe(await loading))
  } catch (err) {
    let message = err instanceof LoadError ? err.message : describeLoadError(err, r.code.path!)
    if (err instanceof SyntaxError && message.startsWith('SyntaxError')) {
      // an ESM syntax error carries no location: ask `node --check` for it
      const file = (() => {
        try {
          return resolveFile(r.code.path!, ...parseEntrypoint(r.function.entrypoint))[0]
        } catch {
          return undefined
        }
      })()
      const where = file && (await locateSyntaxError(file))
      if (where) message = `${describeLoadError(Object.assign(new SyntaxError(err.message), { stack: `${where}\n` }), r.code.path!)}`
    }
    process.stderr.write(`kiln: loading ${name} failed: ${err instanceof Error && !(err instanceof LoadError) ? err.stack : message}\n`)
    sendError(res, 'KILN_ERR_LOAD_FAILED', message)
  } finally {
    state.loading = undefined
  }
}
