#!/usr/bin/env node
// A small Fission environment server, written from Fission's environment protocol (the Node env's
// behaviour), so Kiln's `protocol: fission` path is tested against something that is not Kiln:
//   - listens on `--port N`, else $PORT, else 8888 (Fission's default), on $HOST or 0.0.0.0
//   - GET /healthz                     → 200, empty body
//   - POST /specialize (v1)            → loads the module at `--codepath` (default /userfunc/user); no body
//   - POST /v2/specialize (v2)         → body {filepath, functionName, url}: `functionName` is
//                                        "module.export" (or "module", or ""); loads
//                                        path.join(filepath, module) and takes the export (or the module)
//   - success 202; a load failure 500 with the error as text; a second specialization 400
//   - every invocation on `/` (any method, query kept): calls fn(context, callback) with
//     context = {request, response}; the result {status, headers, body} or callback(status, body, headers)
//     is sent Express-style; anything else (`/other`) is Express' 404 "Cannot GET /other"
//   - before specialization an invocation is 500 "Generic container: no requests supported"
// Bodies are parsed like the Node env's body-parser stack: JSON, urlencoded (simple), text/*, raw bytes
// otherwise; an empty body is {} as in Express. Plain node:http, no dependencies.
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { parse as parseQuery } from 'node:querystring'
import { pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)

function arg(name) {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}

const port = Number(arg('port') ?? process.env.PORT ?? 8888)
const host = process.env.HOST || '0.0.0.0'
const codepath = arg('codepath') ?? '/userfunc/user'

let userFunction
let loading

async function loadModule(modulepath) {
  const full = resolve(modulepath)
  try {
    return require(full)
  } catch (err) {
    // ESM (Node 20 cannot require() an ES module that uses top-level await, or a .mjs): import it.
    if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE' || /\.mjs$/.test(full))) {
      const ns = await import(pathToFileURL(require.resolve(full)).href)
      return ns.default ?? ns
    }
    throw err
  }
}

async function loadFunction(modulepath, funcname) {
  const started = process.hrtime.bigint()
  const mod = await loadModule(modulepath)
  const fn = funcname ? mod[funcname] : (typeof mod === 'function' ? mod : mod.default)
  if (typeof fn !== 'function') throw new Error(`${modulepath}: ${funcname ? `export "${funcname}"` : 'the module'} is not a function`)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  console.log(`user code loaded in ${ms.toFixed(1)} ms`)
  return fn
}

function readBody(req) {
  return new Promise((res, rej) => {
    const parts = []
    req.on('data', (c) => parts.push(c))
    req.on('end', () => res(Buffer.concat(parts)))
    req.on('error', rej)
  })
}

function parseBody(raw, ctype) {
  if (raw.length === 0) return {}
  const type = (ctype ?? '').split(';')[0].trim().toLowerCase()
  if (type === 'application/json' || type.endsWith('+json')) return JSON.parse(raw.toString('utf8'))
  if (type === 'application/x-www-form-urlencoded') return { ...parseQuery(raw.toString('utf8')) }
  if (type.startsWith('text/')) return raw.toString('utf8')
  return raw
}

function send(res, status, headers, body) {
  if (res.headersSent) return
  const h = {}
  for (const [k, v] of Object.entries(headers ?? {})) h[k.toLowerCase()] = v
  let data
  if (body === undefined || body === null) data = Buffer.alloc(0)
  else if (Buffer.isBuffer(body)) { data = body; h['content-type'] ??= 'application/octet-stream' }
  else if (typeof body === 'string') { data = Buffer.from(body); h['content-type'] ??= 'text/html; charset=utf-8' }
  else { data = Buffer.from(JSON.stringify(body)); h['content-type'] ??= 'application/json; charset=utf-8' }
  h['content-length'] = data.length
  res.writeHead(status ?? 200, h)
  res.end(data)
}

async function specialize(req, res, v2) {
  const raw = await readBody(req)
  if (userFunction || loading) return send(res, 400, {}, 'Not a generic container')
  let modulepath = codepath
  let funcname
  if (v2) {
    let body
    try { body = JSON.parse(raw.toString('utf8')) } catch { return send(res, 400, {}, 'request body is not JSON') }
    const entry = body.functionName ? String(body.functionName).split('.') : []
    modulepath = join(String(body.filepath ?? ''), entry[0] || '')
    funcname = entry[1]
  }
  loading = loadFunction(modulepath, funcname)
  try {
    userFunction = await loading
    send(res, 202, {}, '')
  } catch (err) {
    console.error(`user code load error: ${err.stack ?? err}`)
    send(res, 500, {}, String(err.message ?? err))
  } finally {
    loading = undefined
  }
}

async function invoke(req, res, url) {
  if (!userFunction) return send(res, 500, {}, 'Generic container: no requests supported')
  const raw = await readBody(req)
  let body
  try { body = parseBody(raw, req.headers['content-type']) } catch { return send(res, 400, {}, 'Bad Request') }
  req.body = body
  req.query = { ...parseQuery(url.search.slice(1)) }
  req.path = url.pathname
  const context = { request: req, response: res }
  const callback = (status, b, headers) => send(res, status, headers, b)
  try {
    const r = await userFunction(context, callback)
    if (r !== undefined && !res.headersSent) send(res, r.status ?? 200, r.headers, r.body)
  } catch (err) {
    console.error(`user function error: ${err.stack ?? err}`)
    send(res, 500, {}, String(err.message ?? err))
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x')
  const p = url.pathname
  const fail = (err) => { console.error(err); send(res, 500, {}, String(err.message ?? err)) }
  if (p === '/healthz' && req.method === 'GET') return send(res, 200, {}, '')
  if (p === '/specialize' && req.method === 'POST') return specialize(req, res, false).catch(fail)
  if (p === '/v2/specialize' && req.method === 'POST') return specialize(req, res, true).catch(fail)
  if (p === '/') return invoke(req, res, url).catch(fail)
  req.resume()
  send(res, 404, {}, `Cannot ${req.method} ${p}`)
})

server.listen(port, host, () => console.log(`fission environment server listening on ${host}:${port}`))
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)))
// Kiln ties instances to its own life with a stdin pipe (KILN_WATCH_STDIN=1); a Fission server does not
// know it, so this one honours it only to keep test runs tidy.
if (process.env.KILN_WATCH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}
