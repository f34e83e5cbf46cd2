// Kiln's Kubernetes mode end to end on a real control plane (apiserver, scheduler, controller manager)
// with simulated nodes that run each pod's image as a local process: the controller and the executor
// run in-process under the deploy/ RBAC of their own ServiceAccounts (tokens from `kubectl create
// token`), the router in front of the executor, Redis for packages. Functions are custom resources,
// runtime instances are pods taken out of pool Deployments, the real scheduler places isolated ones.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNodeAgent } from '../../cluster/kubernetes/node-agent.js'
import { silentLogger } from '../../core/logger.js'
import { redisBroker } from '../helpers/queue-brokers.js'
import { NS, isReady as ready, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

describe('Kiln in Kubernetes mode on a real control plane', K8S_WITH_RUNTIME, () => {
  let h: Harness
  const kubectl = (...args: string[]) => h.kubectl(...args)
  const pods = (selector: string) => h.pods(selector)
  const http = (url: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }) => h.http(url, init)
  const deploy = (name: string, body: string, spec?: Record<string, unknown>) => h.deploy(name, body, spec)

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await h?.stop()
  })

  it('the executor, under its ServiceAccount, holds the Lease kiln-executor', async () => {
    expect(h.executor.leader?.isLeader).toBe(true)
    const holder = await kubectl('get', 'lease', 'kiln-executor', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}')
    expect(holder).toBe('executor-test-0')
  })

  it('a runtime and a function created through the control API are custom resources with printer columns', async () => {
    const rt = await http(`${h.controller.url}/v1/runtimes`, { method: 'POST', body: { metadata: { name: 'node' }, spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', port: 8888, poolSize: 2 } } })
    expect(rt.status, rt.text).toBe(201)
    await deploy('hello', 'hello from a pod')
    expect(JSON.parse(await kubectl('get', 'function', 'hello', '-n', NS, '-o', 'json')).spec.runtime).toBe('node')
    // The deploy returned once the executor had applied it (the controller waited for its status).
    expect(h.executor.ctx.functions.get('hello')?.metadata.generation).toBe(1)
    let last = ''
    const table = await waitUntil('Ready column', async () => {
      last = await kubectl('get', 'functions', '-n', NS)
      return /hello\s+node\s+pool\s+True\s+\d+/.test(last) ? last : undefined
    }, 30_000).catch((e: Error) => { throw new Error(`${e.message}\n${last}`) })
    expect(table.split('\n')[0]).toMatch(/^NAME\s+RUNTIME\s+STRATEGY\s+READY\s+INSTANCES\s+AGE/)
    expect(await kubectl('get', 'runtimes', '-n', NS)).toMatch(/node\s+kiln\s+kiln\/runtime-node:dev\s+2/)
  })

  it('the pool Deployment refills: pods taken by the executor leave its selector and the ReplicaSet replaces them', async () => {
    const generic = await waitUntil('2 ready generic pods', async () => {
      const ps = (await pods('kiln.dev/pool=kiln-pool-node,kiln.dev/state=generic')).filter(ready)
      return ps.length === 2 ? ps : undefined
    }, 90_000)
    const claimed = await waitUntil('2 claimed pods', async () => {
      const ps = await pods('kiln.dev/pool=kiln-pool-node,kiln.dev/executor=executor-test-0')
      return ps.length >= 2 ? ps : undefined
    }, 90_000)
    for (const p of claimed) {
      expect(p.metadata?.ownerReferences ?? []).toEqual([])
      expect(generic.map((g) => g.metadata!.name)).not.toContain(p.metadata!.name)
    }
    const dep = await h.kube.get(`/apis/apps/v1/namespaces/${NS}/deployments/kiln-pool-node`)
    expect(dep.spec.replicas).toBe(2)
  })

  it('a deploy through the controller returns only once the function can be invoked, and a redeploy once its new code serves', async () => {
    // No waiting here for the executor's informer: the controller's answer is the guarantee.
    await deploy('ready', 'version 1')
    const first = await http(`${h.router.url}/fn/ready`)
    expect([first.status, first.text]).toEqual([200, 'version 1'])
    await deploy('ready', 'version 2')
    const second = await http(`${h.router.url}/fn/ready`)
    expect([second.status, second.text]).toEqual([200, 'version 2'])
    const fn = JSON.parse(await kubectl('get', 'function', 'ready', '-n', NS, '-o', 'json'))
    expect([fn.metadata.generation, fn.status.observedGeneration]).toEqual([2, 2])
    expect((await http(`${h.controller.url}/v1/functions/ready`, { method: 'DELETE' })).status).toBe(200)
  })

  it('requests through the router reach a specialized pod at its pod IP', async () => {
    const res = await http(`${h.router.url}/fn/hello`)
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('hello from a pod')
    const inst = (h.executor.ctx.executor.describe('hello')!.instances as { url: string }[])[0]!
    const [pod] = await waitUntil('pod labelled with its function', async () => {
      const ps = await pods('kiln.dev/function=hello,kiln.dev/state=specialized')
      return ps.length ? ps : undefined
    })
    expect(inst.url).toBe(`http://${pod!.status!.podIP}:8888`)
    // Pods share no file system with the executor: the code went to the pod as a URL to download,
    // signed for that package (a pod holds no token); without the signature, or for another package, it is refused.
    const sha = h.executor.ctx.functions.get('hello')!.spec.package.sha256
    const codeUrl = h.executor.ctx.fleet.backend.codeUrl?.(sha) ?? ''
    expect(codeUrl).toMatch(new RegExp(`^http://.+/v1/packages/${sha}\\?sig=[A-Za-z0-9_-]+$`))
    const noAuth = { authorization: '' }
    expect((await request(codeUrl)).statusCode).toBe(200)
    expect((await http(codeUrl.replace(/\?sig=.*$/, ''), { headers: noAuth })).status).toBe(401)
    expect((await http(codeUrl.replace(/\?sig=/, '?sig=x'), { headers: noAuth })).json().error).toBe('KILN_ERR_FORBIDDEN')
    expect((await http(`${h.router.url}/fn/nope`)).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  })

  it('an isolated function runs on pods that kube-scheduler put only on the tainted node', async () => {
    await deploy('noisy', 'isolated', { tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }], nodeSelector: { 'kiln.dev/pool': 'isolated' } })
    const res = await http(`${h.router.url}/fn/noisy`)
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('isolated')
    const inst = (h.executor.ctx.executor.describe('noisy')!.instances as { node: string }[])[0]!
    expect(inst.node).toBe('isolated-a')
    // Every pod of both pools, once the scheduler has placed it (a pod not yet placed is waited for, not skipped).
    const placed = async (selector: string) => waitUntil(`every ${selector} pod placed`, async () => {
      const ps = await pods(selector)
      return ps.length > 0 && ps.every((p) => p.spec?.nodeName) ? ps : undefined
    })
    expect((await placed('kiln.dev/pool=kiln-pool-node-isolated')).map((p) => p.spec!.nodeName)).toEqual(expect.arrayContaining(['isolated-a']))
    for (const p of await placed('kiln.dev/pool=kiln-pool-node-isolated')) expect(p.spec!.nodeName).toBe('isolated-a')
    for (const p of await placed('kiln.dev/pool=kiln-pool-node')) expect(p.spec!.nodeName).not.toBe('isolated-a')
  })

  it('the node agent reads runtime pods\' cgroup counters and reports them to the executor', async () => {
    const [pod] = await pods('kiln.dev/function=hello')
    const root = await h.tempDir('kiln-cgroupfs-')
    const dir = join(root, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${pod!.metadata!.uid!.replaceAll('-', '_')}.slice`)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'cpu.stat'), 'usage_usec 123456\nuser_usec 1\nsystem_usec 2\nnr_periods 10\nnr_throttled 4\nthrottled_usec 999\n')
    await writeFile(join(dir, 'memory.current'), '4096\n')
    await writeFile(join(dir, 'memory.max'), 'max\n')
    const agent = startNodeAgent({ kc: await h.serviceAccount('kiln-node-agent', 'kiln-node-agent'), namespace: NS, node: pod!.spec!.nodeName!, cgroupFs: root, executorUrl: h.executor.url, intervalMs: 60_000, logger: silentLogger })
    try {
      await agent.once()
    } finally {
      agent.stop()
    }
    const load = h.executor.nodeLoads.pod(pod!.metadata!.name!)
    expect(load?.function).toBe('hello')
    expect(load?.sample).toMatchObject({ cpuUsageUsec: 123456, nrThrottled: 4, memoryBytes: 4096 })
  })

  it('a queue trigger created through the controller is a QueueTrigger resource that the executor consumes', async () => {
    const redisUrl = (h as unknown as { redis: { url: string } }).redis.url
    const b = redisBroker(redisUrl)
    try {
      const spec = { kind: 'redis-stream', url: redisUrl, topic: 'k8s:in', function: 'hello', responseTopic: 'k8s:out' }
      const made = await http(`${h.controller.url}/v1/mqtriggers`, { method: 'POST', body: { metadata: { name: 'greeter' }, spec } })
      expect(made.status, made.text).toBe(201)
      expect(JSON.parse(await kubectl('get', 'queuetrigger', 'greeter', '-n', NS, '-o', 'json')).spec).toEqual(spec)
      // The controller runs no consumers; the executor, which reads QueueTriggers under its RBAC, does.
      expect(made.json().status).toBeUndefined()
      await waitUntil('the executor consuming', async () => h.executor.ctx.queues?.status('greeter')?.connected)
      const id = await b.publish('k8s:in', '{"greeting":"hi"}')
      const [answer] = await waitUntil('the answer', async () => { const got = await b.read('k8s:out'); return got.length ? got : undefined }, 30_000).catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(h.executor.ctx.queues?.status('greeter'))}`) })
      expect(answer).toMatchObject({ body: 'hello from a pod', headers: { 'x-kiln-message-id': id, 'x-kiln-status': '200' } })
      expect((await http(`${h.controller.url}/v1/mqtriggers/greeter`, { method: 'DELETE' })).status).toBe(200)
      await waitUntil('the executor stopped consuming', async () => h.executor.ctx.queues?.status('greeter') === undefined)
    } finally {
      await b.close()
    }
  })

  it('the executor cannot write Function specs under its RBAC; deleting a function through the controller deletes its pods', async () => {
    const denied = await http(`${h.executor.url}/v1/functions/hello`, { method: 'DELETE' })
    expect(denied.status).toBe(403)
    expect(denied.json()).toMatchObject({
      error: 'KILN_ERR_CLUSTER_FORBIDDEN', kubeStatus: 403,
      permission: { user: 'system:serviceaccount:kiln:kiln-executor', verb: 'delete', resource: 'functions', group: 'kiln.dev', namespace: NS },
    })
    expect(denied.json().message).toBe(`Function "hello": system:serviceaccount:kiln:kiln-executor may not delete functions.kiln.dev in namespace ${NS}`)
    const names = (await pods('kiln.dev/function=hello')).map((p) => p.metadata!.name!)
    expect((await http(`${h.controller.url}/v1/functions/hello`, { method: 'DELETE' })).status).toBe(200)
    await waitUntil('hello pods gone or back in the pool', async () => {
      const left = (await pods('kiln.dev/pool=kiln-pool-node')).filter((p) => names.includes(p.metadata!.name!) && p.metadata?.labels?.['kiln.dev/function'] === 'hello')
      return left.length === 0
    }, 30_000)
  })
})
