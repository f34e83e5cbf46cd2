// The retry rule of the proxy path (router/proxy.ts), over real HTTP: a request that never reached its
// instance (nothing listens) is retried whatever its method, when it has no body; a GET or HEAD whose
// instance drops the connection before answering is retried; a POST that reached its instance, or any
// request with a body, never is; a retry is never retried again.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Outcome } from '../../../executor/executor.js'
import type { FunctionState } from '../../../executor/function-state.js'
import { InstanceRecord } from '../../../poolmgr/instance.js'
import { forward, type ForwardOptions, type ProxyCallbacks } from '../../../router/proxy.js'

let dropper: Server // an "instance" that reads the request and closes the connection without answering
let closedPort = 0 // nothing listens there
const servers: Server[] = []

function listen(s: Server): Promise<number> {
  servers.push(s)
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)))
}

beforeAll(async () => {
  dropper = createServer((req) => { req.resume(); req.on('end', () => req.socket.destroy()) })
  const dropPort = await listen(dropper)
  const tmp = createServer()
  closedPort = await listen(tmp)
  await new Promise<void>((r) => tmp.close(() => r()))
  urls.drop = `http://127.0.0.1:${dropPort}`
  urls.closed = `http://127.0.0.1:${closedPort}`
})
afterAll(async () => { for (const s of servers) s.close() })

const urls = { drop: '', closed: '' }

function record(url: string): InstanceRecord {
  return new InstanceRecord({ id: 'probe', runtime: 'node', node: 'n', url, pid: 0, startedAt: Date.now(), bootMs: 0, exited: new Promise(() => undefined) }, 'node')
}

/** A router of one request: forwards to `target`; a retry answers 200 'retried' (counted). */
async function through(target: string, method: string, body?: string, retried = false): Promise<{ status: number; body: string; retries: number; outcomes: Outcome[] }> {
  let retries = 0
  const outcomes: Outcome[] = []
  const rec = record(target)
  const cb: ProxyCallbacks = {
    release: (_r, outcome) => { outcomes.push(outcome) },
    exitReason: async () => undefined,
    retry: (_req, res) => { retries++; res.writeHead(200).end('retried') },
  }
  const router = createServer((req: IncomingMessage, res: ServerResponse) => {
    const o: ForwardOptions = { rec, fnName: 'f', path: '/', params: undefined, timeoutMs: 5000, maxBodyBytes: 1 << 20, stats: { answered: () => undefined }, startedAt: performance.now(), trace: undefined, fs: {} as FunctionState, retried }
    forward(req, res, o, cb)
  })
  const port = await listen(router)
  try {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: '/', agent: false, headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode!, body: text }))
      })
      req.on('error', reject)
      req.end(body)
    })
    return { ...answer, retries, outcomes }
  } finally {
    router.close()
    await rec.client.destroy()
  }
}

describe('router: which requests are retried on another instance', () => {
  it('never reached its instance: retried, whatever the method, when it has no body', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const r = await through(urls.closed, method)
      expect([method, r.status, r.body, r.retries]).toEqual([method, 200, 'retried', 1])
      expect(r.outcomes).toEqual(['crash'])
    }
  })

  it('a request with a body is never replayed, even one that never reached its instance', async () => {
    const r = await through(urls.closed, 'POST', 'payload')
    expect([r.status, r.retries]).toEqual([502, 0])
  })

  it('the instance dropped the connection before answering: GET and HEAD are retried, POST is not', async () => {
    expect((await through(urls.drop, 'GET')).retries).toBe(1)
    expect((await through(urls.drop, 'HEAD')).retries).toBe(1)
    const post = await through(urls.drop, 'POST')
    expect([post.status, post.retries]).toEqual([502, 0])
    expect(post.outcomes).toEqual(['crash'])
  })

  it('a retry is not retried again', async () => {
    const r = await through(urls.drop, 'GET', undefined, true)
    expect([r.status, r.retries]).toEqual([502, 0])
  })
})
