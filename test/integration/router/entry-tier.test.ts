// The router tier as the one endpoint (router/entry-tier.ts): `/fn/NAME` to the executor replica that
// owns the function, `/v1/` to the controller — a function's live status and isolation to its owner —
// everything else to the executor Service; bodies streamed, hop-by-hop headers dropped, the caller's
// address in x-forwarded-for. Real HTTP servers stand in for the controller and two executor replicas.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { silentLogger } from '../../../core/logger.js'
import { startRouterProxy, type RouterProxy } from '../../../router/entry-tier.js'

interface Seen { who: string; method: string; url: string; body: string; headers: IncomingMessage['headers'] }

async function upstream(who: string, seen: Seen[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      seen.push({ who, method: req.method!, url: req.url!, body, headers: req.headers })
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': who }).end(`${who} ${req.method} ${req.url}`)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
}

describe('the router tier: one endpoint', () => {
  const seen: Seen[] = []
  const servers: Server[] = []
  let router: RouterProxy
  let owners: Record<string, string>

  beforeAll(async () => {
    const [controller, exA, exB, service] = await Promise.all(['controller', 'executor-a', 'executor-b', 'service'].map((w) => upstream(w, seen)))
    servers.push(controller!.server, exA!.server, exB!.server, service!.server)
    owners = { alpha: exA!.url, beta: exB!.url, 'team/alpha': exB!.url }
    router = await startRouterProxy({
      executorUrl: service!.url, controllerUrl: controller!.url, port: 0, host: '127.0.0.1', logger: silentLogger,
      owners: { ownerUrl: (fn) => owners[fn] },
    })
  })
  afterAll(async () => {
    await router?.close()
    for (const s of servers) await new Promise((r) => s.close(r))
  })

  const call = async (method: string, path: string, body?: string) => {
    const r = await request(`${router.url}${path}`, { method: method as 'GET', body, headers: { connection: 'keep-alive', 'x-custom': 'kept', 'x-kiln-relayed': '1' } })
    return { status: r.statusCode, from: r.headers['x-upstream'], text: await r.body.text() }
  }

  it.each([
    ['GET', '/fn/alpha', 'executor-a'],
    ['POST', '/fn/beta/sub/path?q=1', 'executor-b'],
    ['GET', '/fn/gamma', 'service'],
    ['GET', '/v1/functions', 'controller'],
    ['PUT', '/v1/functions/alpha', 'controller'],
    ['DELETE', '/v1/functions/beta', 'controller'],
    ['GET', '/v1/functions/alpha', 'executor-a'],
    ['GET', '/v1/functions/beta?namespace=default', 'executor-b'],
    ['GET', '/v1/functions/alpha?namespace=team', 'executor-b'],
    ['GET', '/ns/team/fn/alpha/x', 'executor-b'],
    ['GET', '/v1/functions/alpha?namespace=elsewhere', 'controller'],
    ['POST', '/v1/functions/alpha/isolate', 'executor-a'],
    ['POST', '/v1/functions/beta/release', 'executor-b'],
    ['GET', '/v1/functions/alpha/logs?follow=true', 'controller'],
    ['GET', '/v1/functions/gamma', 'controller'],
    ['POST', '/v1/packages', 'controller'],
    ['GET', '/my/route', 'service'],
    ['POST', '/wf/flow', 'service'],
  ])('%s %s goes to the %s', async (method, path, who) => {
    const r = await call(method, path, method === 'GET' || method === 'DELETE' ? undefined : 'payload')
    expect(r.status).toBe(200)
    expect(r.from).toBe(who)
    expect(r.text).toBe(`${who} ${method} ${path}`)
  })

  it('passes the body and end-to-end headers, drops hop-by-hop ones, says who called', async () => {
    await call('POST', '/fn/alpha', 'x'.repeat(100_000))
    const s = seen.at(-1)!
    expect(s.body).toBe('x'.repeat(100_000))
    expect(s.headers['x-custom']).toBe('kept')
    // An executor-to-executor mark is not the caller's to set.
    expect(s.headers['x-kiln-relayed']).toBeUndefined()
    expect(s.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(s.headers['x-forwarded-host']).toBe(new URL(router.url).host)
  })

  it('its own /healthz names where it sends requests', async () => {
    const r = await request(`${router.url}/healthz`)
    expect(JSON.parse(await r.body.text())).toMatchObject({ ok: true, role: 'router' })
  })

  it('an owner that does not answer is KILN_ERR_NO_CAPACITY (503)', async () => {
    owners.alpha = 'http://127.0.0.1:9'
    const r = await call('GET', '/fn/alpha')
    expect(r.status).toBe(503)
    expect(JSON.parse(r.text).error).toBe('KILN_ERR_NO_CAPACITY')
  })
})
