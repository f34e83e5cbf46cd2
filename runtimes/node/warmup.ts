// Before it reports ready, the runtime runs its own cold paths once — ESM and CommonJS loading,
// specialize, an invocation with a parsed body, unload — against a throwaway function, over real HTTP
// to itself. The first specialization of a fresh process otherwise pays V8's lazy compilation and the
// ESM loader's initialization (measured here: ~18 ms vs ~7 ms); pools boot in the background, so the
// cost moves off the request path. KILN_WARMUP=0 turns it off.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { state } from './state.js'

function call(port: number, host: string, method: string, path: string, body?: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host, port, method, path, agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' } : { connection: 'close' } }, (res) => {
      res.resume()
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', () => resolve())
    req.end(body)
  })
}

export async function warmUp(port: number, host: string): Promise<void> {
  if (process.env.KILN_WARMUP === '0') return
  const dir = mkdtempSync(join(tmpdir(), 'kiln-warmup-'))
  state.warming = true
  try {
    writeFileSync(join(dir, 'index.mjs'), 'export default async (req) => ({ status: 200, headers: { "x-warm": "1" }, body: { q: req.query, b: req.body } })\n')
    writeFileSync(join(dir, 'index.cjs'), 'module.exports = async (context) => "ok " + context.request.method\n')
    for (const entrypoint of ['index.mjs', 'index.cjs']) {
      const spec = JSON.stringify({ function: { name: 'kiln-warmup', version: '0', entrypoint, env: {}, timeoutMs: 5000 }, code: { path: dir, sha256: entrypoint === 'index.mjs' ? '0'.repeat(64) : '1'.repeat(64) } })
      await call(port, host, 'POST', '/v1/specialize', spec)
      await call(port, host, 'POST', '/warm?x=1&x=2', '{"a":[1,2]}')
      await call(port, host, 'GET', '/warm')
      await call(port, host, 'POST', '/v1/unload')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    state.requests = 0
    state.warming = false
  }
}
