// Kiln's Kubernetes mode end to end on a real control plane (apiserver, scheduler, controller manager)
// with simulated nodes that run each pod's image as a local process: the controller and the executor
// run in-process under the deploy/ RBAC of their own ServiceAccounts (tokens from `kubectl create
// token`), the router in front of the executor, Redis for packages. Functions are custom resources,
// runtime instances are pods taken out of pool Deployments, the real scheduler places isolated ones.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig, type V1Pod } from '@kubernetes/client-node'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startKubernetesPlatform, type KubePlatform } from '../../cli/serve/platform.js'
import { startRouterProxy, type RouterProxy } from '../../cli/serve/router-proxy.js'
import { startNodeAgent } from '../../cli/serve/node-agent.js'
import { loadConfig } from '../../core/config.js'
import { silentLogger } from '../../core/logger.js'
import { buildPackage } from '../../runtimes/builder/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { KubeClient } from './node-sim/kube-client.js'
import { startNodeSimulator, type NodeSimulator } from './node-sim/simulator.js'
import { BUILD_TIMEOUT_MS, DEPLOY, NODE_RUNTIME, REPO, SIM_NODES as NODES, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

const NS = 'kiln'
const run = plan.run && existsSync(NODE_RUNTIME)
if (plan.run && !run) console.warn('[kiln k8s tests] platform.test.ts skipped: dist/runtimes/node.js missing (npm run build)')

describe.skipIf(!run)('Kiln in Kubernetes mode on a real control plane', () => {
  let cp: ControlPlane
  let sim: NodeSimulator
  let kube: KubeClient
  let redis: TestRedis
  let controller: KubePlatform
  let executor: KubePlatform
  let router: RouterProxy
  const dirs: string[] = []
  const simLog: string[] = []
  const kubectl = (...args: string[]) => kubectlOk(cp.kubeconfigPath, args)
  const pods = async (selector: string): Promise<V1Pod[]> =>
    (await kube.get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}`)).items.filter((p: V1Pod) => !p.metadata?.deletionTimestamp)
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

  /** A kubeconfig that authenticates as a ServiceAccount with a token from the TokenRequest API. */
  async function serviceAccount(name: string, namespace = NS): Promise<KubeConfig> {
    const token = (await kubectl('create', 'token', name, '-n', namespace, '--duration=1h')).trim()
    const admin = new KubeConfig()
    admin.loadFromFile(cp.kubeconfigPath)
    const cluster = admin.getCurrentCluster()!
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ ...cluster, name: 'test' }],
      users: [{ name, token }],
      contexts: [{ name, cluster: 'test', user: name, namespace }],
      currentContext: name,
    })
    return kc
  }

  async function tempDir(prefix: string): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix))
    dirs.push(d)
    return d
  }

  async function start(role: 'controller' | 'executor', kc: KubeConfig): Promise<KubePlatform> {
    const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir: await tempDir(`kiln-${role}-`), poolSize: 2, redisUrl: redis.url, logLevel: 'silent' }, {})
    return startKubernetesPlatform(config, { role, kubeconfig: kc, namespace: NS, identity: `${role}-test-0`, leaderLease: role === 'executor' ? 'kiln-executor' : undefined }, { logger: silentLogger })
  }

  async function http(url: string, init: { method?: string; body?: unknown } = {}) {
    const res = await request(url, {
      method: (init.method ?? 'GET') as 'GET',
      body: init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : JSON.stringify(init.body),
      headers: init.body === undefined ? {} : { 'content-type': Buffer.isBuffer(init.body) ? 'application/gzip' : 'application/json' },
    })
    const text = await res.body.text()
    return { status: res.statusCode, text, json: () => JSON.parse(text) }
  }

  async function deploy(name: string, body: string, spec: Record<string, unknown> = {}) {
    const src = await tempDir('kiln-fn-')
    await writeFile(join(src, 'index.mjs'), `export default async () => ({ status: 200, body: ${JSON.stringify(body)} })\n`)
    const built = await buildPackage({ source: join(src, 'index.mjs'), runtime: 'node' })
    expect((await http(`${controller.url}/v1/packages`, { method: 'POST', body: built.archive })).status).toBe(201)
    const res = await http(`${controller.url}/v1/functions/${name}`, {
      method: 'PUT', body: { metadata: { name }, spec: { runtime: 'node', package: { sha256: built.sha256 }, entrypoint: built.entrypoint, strategy: 'pool', ...spec } },
    })
    expect(res.status, res.text).toBe(201)
  }

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane()
    kube = new KubeClient(cp.kubeconfigPath)
    sim = await startNodeSimulator({ kubeconfigPath: cp.kubeconfigPath, nodes: NODES, images: { 'kiln/runtime-node:dev': ['node', NODE_RUNTIME] }, cwd: REPO, log: (m) => simLog.push(m) })
    await kubectl('apply', '-f', join(DEPLOY, 'namespace.yaml'), '-f', join(DEPLOY, 'crds'), '-f', join(DEPLOY, 'rbac'))
    await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', join(DEPLOY, 'crds'))
    await waitUntil('ServiceAccounts', async () => {
      const sas = await kube.get(`/api/v1/namespaces/${NS}/serviceaccounts`)
      return ['default', 'kiln-executor', 'kiln-controller'].every((n) => sas.items.some((s: any) => s.metadata.name === n))
    })
    await waitUntil('nodes without not-ready taints', async () => {
      const nodes = (await kube.get('/api/v1/nodes')).items
      return nodes.length === NODES.length && nodes.every((n: any) => !(n.spec.taints ?? []).some((t: any) => t.key.startsWith('node.kubernetes.io/')))
    })
    redis = await startRedis()
    controller = await start('controller', await serviceAccount('kiln-controller'))
    executor = await start('executor', await serviceAccount('kiln-executor'))
    router = await startRouterProxy({ executorUrl: executor.url, port: 0, host: '127.0.0.1', logger: silentLogger })
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await router?.close()
    await executor?.close()
    await controller?.close()
    await sim?.stop()
    await kube?.close()
    await cp?.stop()
    await redis?.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
    if (process.env.KILN_TEST_LOG && simLog.length) console.warn(`node simulator:\n${simLog.join('\n')}`)
  })

  it('the executor, under its ServiceAccount, holds the Lease kiln-executor', async () => {
    expect(executor.leader?.isLeader).toBe(true)
    const holder = await kubectl('get', 'lease', 'kiln-executor', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}')
    expect(holder).toBe('executor-test-0')
  })

  it('a runtime and a function created through the control API are custom resources with printer columns', async () => {
    const rt = await http(`${controller.url}/v1/runtimes`, { method: 'POST', body: { metadata: { name: 'node' }, spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', port: 8888, poolSize: 2 } } })
    expect(rt.status, rt.text).toBe(201)
    await deploy('hello', 'hello from a pod')
    expect(JSON.parse(await kubectl('get', 'function', 'hello', '-n', NS, '-o', 'json')).spec.runtime).toBe('node')
    await waitUntil('executor sees the function', async () => executor.ctx.functions.get('hello'))
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
    const dep = await kube.get(`/apis/apps/v1/namespaces/${NS}/deployments/kiln-pool-node`)
    expect(dep.spec.replicas).toBe(2)
  })

  it('requests through the router reach a specialized pod at its pod IP', async () => {
    const res = await http(`${router.url}/fn/hello`)
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('hello from a pod')
    const inst = (executor.ctx.executor.describe('hello')!.instances as { url: string }[])[0]!
    const [pod] = await waitUntil('pod labelled with its function', async () => {
      const ps = await pods('kiln.dev/function=hello,kiln.dev/state=specialized')
      return ps.length ? ps : undefined
    })
    expect(inst.url).toBe(`http://${pod!.status!.podIP}:8888`)
    // Pods share no file system with the executor: the code went to the pod as a URL to download.
    const sha = executor.ctx.functions.get('hello')!.spec.package.sha256
    expect(executor.ctx.fleet.backend.codeUrl?.(sha)).toMatch(new RegExp(`^http://.+/v1/packages/${sha}$`))
    expect((await http(`${router.url}/fn/nope`)).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  })

  it('an isolated function runs on pods that kube-scheduler put only on the tainted node', async () => {
    await deploy('noisy', 'isolated', { tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }], nodeSelector: { 'kiln.dev/pool': 'isolated' } })
    const res = await http(`${router.url}/fn/noisy`)
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('isolated')
    const inst = (executor.ctx.executor.describe('noisy')!.instances as { node: string }[])[0]!
    expect(inst.node).toBe('isolated-a')
    const isolatedPods = await pods('kiln.dev/pool=kiln-pool-node-isolated')
    expect(isolatedPods.length).toBeGreaterThan(0)
    for (const p of isolatedPods) if (p.spec?.nodeName) expect(p.spec.nodeName).toBe('isolated-a')
    for (const p of await pods('kiln.dev/pool=kiln-pool-node')) if (p.spec?.nodeName) expect(p.spec.nodeName).not.toBe('isolated-a')
  })

  it('the node agent reads runtime pods\' cgroup counters and reports them to the executor', async () => {
    const [pod] = await pods('kiln.dev/function=hello')
    const root = await tempDir('kiln-cgroupfs-')
    const dir = join(root, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${pod!.metadata!.uid!.replaceAll('-', '_')}.slice`)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'cpu.stat'), 'usage_usec 123456\nuser_usec 1\nsystem_usec 2\nnr_periods 10\nnr_throttled 4\nthrottled_usec 999\n')
    await writeFile(join(dir, 'memory.current'), '4096\n')
    await writeFile(join(dir, 'memory.max'), 'max\n')
    const agent = startNodeAgent({ kc: await serviceAccount('kiln-node-agent', 'kiln-node-agent'), namespace: NS, node: pod!.spec!.nodeName!, cgroupFs: root, executorUrl: executor.url, intervalMs: 60_000, logger: silentLogger })
    try {
      await agent.once()
    } finally {
      agent.stop()
    }
    const load = executor.nodeLoads.pod(pod!.metadata!.name!)
    expect(load?.function).toBe('hello')
    expect(load?.sample).toMatchObject({ cpuUsageUsec: 123456, nrThrottled: 4, memoryBytes: 4096 })
  })

  it('the executor cannot write Function specs under its RBAC; deleting a function through the controller deletes its pods', async () => {
    const denied = await http(`${executor.url}/v1/functions/hello`, { method: 'DELETE' })
    expect(denied.status).toBe(500)
    expect(denied.json().kubeStatus).toBe(403)
    const names = (await pods('kiln.dev/function=hello')).map((p) => p.metadata!.name!)
    expect((await http(`${controller.url}/v1/functions/hello`, { method: 'DELETE' })).status).toBe(200)
    await waitUntil('hello pods gone or back in the pool', async () => {
      const left = (await pods('kiln.dev/pool=kiln-pool-node')).filter((p) => names.includes(p.metadata!.name!) && p.metadata?.labels?.['kiln.dev/function'] === 'hello')
      return left.length === 0
    }, 30_000)
  })
})
