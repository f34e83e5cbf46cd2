// An instance whose accept queue is full (a real Unix socket listening with a backlog of 1 that never
// accepts, so a connect fails at once with EAGAIN) is alive, and the request never reached it: the proxy
// must not report a crash (the executor would retire the instance and fail everything in flight there,
// which is what a burst of 1000 connections did to a function before). It answers 503 KILN_ERR_QUEUE_FULL
// with Retry-After, or retries once when it may.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Outcome } from '../../../executor/executor.js'
import { InstanceRecord } from '../../../poolmgr/instance.js'
import { forward, type ProxyCallbacks } from '../../../router/proxy.js'

let dir: string
let holder: ChildProcess
let server: Server
let url: string
const held: Socket[] = []
let rec: InstanceRecord
const outcomes: Outcome[] = []
let retries = 0
let retryAllowed = false

/** Connects until the socket's accept queue is full (a connect fails with EAGAIN). */
async function fillBacklog(path: string): Promise<void> {
  for (let i = 0; i < 64; i++) {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = connect(path)
      s.once('connect', () => { held.push(s); resolve(undefined) })
      s.once('error', (e) => resolve(e))
    })
    if (err?.code === 'EAGAIN') return
    if (err) throw err
  }
  throw new Error('the accept queue never filled')
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-accept-'))
  const sock = join(dir, 'http.sock')
  // Python binds and listens with a backlog of 1 and never accepts (Node always accepts).
  holder = spawn('python3', ['-c', `import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.bind(${JSON.stringify(sock)})\ns.listen(1)\nprint('ready',flush=True)\ntime.sleep(600)`], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve())
    holder.once('exit', (code) => reject(new Error(`python exited ${code}`)))
  })
  await fillBacklog(sock)
  rec = new InstanceRecord({ id: 'node-full-1', runtime: 'node', node: 'local', url: 'http://localhost', socketPath: sock, pid: holder.pid!, startedAt: Date.now(), bootMs: 0, exited: new Promise(() => undefined) }, 'node')
  const cb: ProxyCallbacks = {
    release: (_r, outcome) => { outcomes.push(outcome) },
    exitReason: async () => undefined,
  }
  const withRetry: ProxyCallbacks = {
    ...cb,
    retry: (_req, res) => { retries++; res.writeHead(200).end('retried') },
  }
  server = createServer((req, res) => {
    forward(req, res, {
      rec, fnName: 'full', path: '/', params: undefined, timeoutMs: 5000, maxBodyBytes: 1 << 20,
      stats: { answered() {} }, startedAt: performance.now(), trace: undefined, fs: retryAllowed ? ({} as never) : undefined,
    }, retryAllowed ? withRetry : cb)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(async () => {
  for (const s of held) s.destroy()
  await rec?.client.destroy().catch(() => undefined)
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  holder?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

describe('an instance whose accept queue is full', () => {
  it('is not reported as crashed: 503 KILN_ERR_QUEUE_FULL with Retry-After, and the slot given back as aborted', async () => {
    const r = await request(`${url}/`)
    const body = await r.body.json() as { error: string }
    expect(r.statusCode).toBe(503)
    expect(body.error).toBe('KILN_ERR_QUEUE_FULL')
    expect(r.headers['retry-after']).toBe('1')
    expect(outcomes).toEqual(['aborted'])
  })

  it('a request that may be retried is sent once more, elsewhere, and the instance is not retired', async () => {
    retryAllowed = true
    outcomes.length = 0
    const r = await request(`${url}/`)
    expect([r.statusCode, await r.body.text()]).toEqual([200, 'retried'])
    expect(retries).toBe(1)
    expect(outcomes).toEqual(['aborted'])
  })
})
