// Before it reports ready, the runtime runs its own cold paths once — ESM and CommonJS loading,
// specialize, an invocation with a parsed body, unload — against a throwaway function, over real HTTP
// to itself. The first specialization of a fresh process otherwise pays V8's lazy compilation and the
// ESM loader's initialization (measured here: ~18 ms vs ~7 ms); pools boot in the background, so the
// cost moves off the request path. KILN_WARMUP=0 turns it off.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { state } from './state.js'

// The router's headers, so the invocation path sees the shapes real requests have.
const ROUTED = { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'localhost', 'x-request-id': 'warmup' }
// V8 optimizes a path only after it has run several times: one pass leaves the first real requests
// running in the interpreter (measured on a bare node:http server: after one warm-up request the
// second real one took 3.1 ms, after twenty 1.1 ms, like the steady state).
const INVOCATIONS = 10

/** Where the server listens: a TCP port or a Unix socket. */
export type Target = { port: number; host: string } | { socketPath: string }

function call(agent: Agent, at: Target, method: string, path: string, body?: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ ...at, method, path, agent, headers: body ? { ...ROUTED, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : ROUTED }, (res) => {
      res.resume()
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', () => resolve())
    req.end(body)
  })
}

export async function warmUp(at: Target): Promise<void> {
  if (process.env.KILN_WARMUP === '0') return
  const dir = mkdtempSync(join(tmpdir(), 'kiln-warmup-'))
  state.warming = true
  // Keep-alive, like the platform's own connections: their reuse path is part of what gets warm.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    writeFileSync(join(dir, 'index.mjs'), 'export default async (req) => ({ status: 200, headers: { "x-warm": "1" }, body: { q: req.query, b: req.body } })\n')
    writeFileSync(join(dir, 'index.cjs'), 'module.exports = async (context) => "ok " + context.request.method\n')
    for (const entrypoint of ['index.mjs', 'index.cjs']) {
      const spec = JSON.stringify({ function: { name: 'kiln-warmup', version: '0', entrypoint, env: {}, timeoutMs: 5000 }, code: { path: dir, sha256: entrypoint === 'index.mjs' ? '0'.repeat(64) : '1'.repeat(64) } })
      await call(agent, at, 'POST', '/v1/specialize', spec)
      for (let i = 0; i < INVOCATIONS; i++) {
        await call(agent, at, 'POST', '/warm?x=1&x=2', '{"a":[1,2]}')
        await call(agent, at, 'GET', '/warm?name=w')
      }
      await call(agent, at, 'POST', '/v1/unload')
    }
  } finally {
    agent.destroy()
    rmSync(dir, { recursive: true, force: true })
    state.requests = 0
    state.warming = false
  }
}
