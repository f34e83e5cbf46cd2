// Identity, namespaces and secrets in Kubernetes mode on a real control plane: tokens and secrets are
// Kubernetes Secrets that every replica watches, Kiln namespaces are a label and an object name in
// Kiln's one Kubernetes namespace, and requests through the router meet the same rules as on the
// embedded platform.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

describe.skipIf(!plan.run)('tenancy in Kubernetes mode', () => {
  let h: Harness
  const api = (method: string, path: string, body?: unknown, token?: string) =>
    h.http(`${h.controller.url}/v1${path}`, { method, body, ...(token !== undefined ? { headers: { authorization: token ? `Bearer ${token}` : '' } } : {}) })

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
    await h.nodeRuntime(1)
    expect((await api('POST', '/namespaces', { metadata: { name: 'team-a' }, spec: {} })).status).toBe(201)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => { await h?.stop() })

  it('the first admin token is the Secret kiln-admin-token; tokens made through the controller are Secrets the executor honours, until revoked', async () => {
    const labelled = JSON.parse(await h.kubectl('get', 'secrets', '-n', NS, '-l', 'kiln.dev/token', '-o', 'json')).items
    expect(labelled.map((s: any) => s.metadata.name)).toContain('kiln-admin-token')
    expect((await api('GET', '/whoami', undefined, '')).status).toBe(401)
    const made = (await api('POST', '/tokens', { role: 'viewer', namespaces: ['team-a'] })).json()
    expect(JSON.parse(await h.kubectl('get', 'secret', `kiln-token-${made.id}`, '-n', NS, '-o', 'json')).data.token).toBeUndefined()
    const onExecutor = () => h.http(`${h.executor.url}/v1/whoami`, { headers: { authorization: `Bearer ${made.token}` } })
    await waitUntil('the executor sees the new token', async () => (await onExecutor()).status === 200)
    expect((await api('DELETE', `/tokens/${made.id}`)).status).toBe(200)
    await waitUntil('the executor sees the revocation', async () => (await onExecutor()).status === 401)
  })

  it('one name in two namespaces: two Function objects (hello, team-a.hello), both served through the router', async () => {
    await h.deploy('hello', 'from default')
    await h.deploySource('hello', 'export default async () => ({ status: 200, body: "from team-a" })\n', {}, 'team-a')
    const objs = JSON.parse(await h.kubectl('get', 'functions.kiln.dev', '-n', NS, '-o', 'json')).items
    expect(objs.map((o: any) => [o.metadata.name, o.metadata.labels?.['kiln.dev/namespace'] ?? null]).sort()).toEqual([['hello', null], ['team-a.hello', 'team-a']])
    expect((await h.http(`${h.router.url}/fn/hello`)).text).toBe('from default')
    expect((await h.http(`${h.router.url}/ns/team-a/fn/hello`)).text).toBe('from team-a')
    // Claimed pods are labelled with their function by the status loop (every 2 s): a label value has no '/'.
    await waitUntil('a pod labelled team-a.hello', async () => (await h.pods('kiln.dev/function=team-a.hello')).length > 0)
    // The status loop finds the namespaced object by its Kubernetes name.
    await waitUntil('team-a.hello has its status', async () => JSON.parse(await h.kubectl('get', 'function', 'team-a.hello', '-n', NS, '-o', 'json')).status?.observedGeneration === 1)
  })

  it('a private function needs an invoker token through the router; a secret reaches it as a variable, and is a Kubernetes Secret', async () => {
    expect((await api('POST', '/secrets?namespace=team-a', { metadata: { name: 'db' }, stringData: { password: 'k8s-pw-41' } })).status).toBe(201)
    const obj = JSON.parse(await h.kubectl('get', 'secret', 'kiln-secret-team-a.db', '-n', NS, '-o', 'json'))
    expect(obj.metadata.labels['kiln.dev/secret']).toBe('true')
    await waitUntil('the executor sees the secret', async () => h.executor.ctx.secrets.get('team-a/db') !== undefined)
    await h.deploySource('guarded', 'export default async (req) => ({ status: 200, body: `${process.env.DB_PASSWORD}|${req.headers.authorization ?? "none"}` })\n',
      { private: true, secretEnv: [{ secret: 'db', key: 'password', env: 'DB_PASSWORD' }] }, 'team-a')
    expect((await h.http(`${h.router.url}/ns/team-a/fn/guarded`)).status).toBe(401)
    const invoker = (await api('POST', '/tokens', { role: 'invoker', namespaces: ['team-a'] })).json().token
    await waitUntil('the executor sees the invoker token', async () => (await h.http(`${h.router.url}/ns/team-a/fn/guarded`, { headers: { authorization: `Bearer ${invoker}` } })).status === 200)
    expect((await h.http(`${h.router.url}/ns/team-a/fn/guarded`, { headers: { authorization: `Bearer ${invoker}` } })).text).toBe('k8s-pw-41|none')
    const fn = await api('GET', '/functions/guarded?namespace=team-a')
    expect(fn.text).not.toContain('k8s-pw-41')
  })
})
