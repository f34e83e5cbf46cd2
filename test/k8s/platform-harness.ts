// Kiln's Kubernetes mode on a real control plane, for the platform tests: apiserver, scheduler and
// controller manager; simulated nodes that run each pod's image as a local process; deploy/'s
// namespace, CRDs and RBAC; Redis for packages; the controller and the executor in-process under
// their own ServiceAccounts' tokens (`kubectl create token`); the router in front of the executor.
// `http` sends the first admin token (the Secret kiln-admin-token the controller made) with every `/v1`
// request, so tests act as the operator unless they pass their own Authorization.
// `stop()` stops every process it started and removes its temp dirs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig, type V1Pod } from '@kubernetes/client-node'
import { request } from 'undici'
import { startKubernetesPlatform, type KubePlatform } from '../../platform/kubernetes/platform.js'
import { startRouterProxy, type RouterProxy } from '../../router/entry-tier.js'
import { loadConfig, type KilnConfig } from '../../core/config.js'
import { silentLogger } from '../../core/logger.js'
import { buildPackage } from '../../runtimes/builder/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { KubeClient } from './node-sim/kube-client.js'
import { startNodeSimulator, type NodeSimulator } from './node-sim/simulator.js'
import { DEPLOY, NODE_RUNTIME, REPO, SIM_NODES } from './setup.js'
import { waitUntil } from './wait.js'

export const NS = 'kiln'

export interface HttpAnswer { status: number; text: string; json(): any }

export interface Harness {
  cp: ControlPlane
  kube: KubeClient
  controller: KubePlatform
  executor: KubePlatform
  router: RouterProxy
  kubectl(...args: string[]): Promise<string>
  /** A kubeconfig that authenticates as a ServiceAccount with a token from the TokenRequest API. */
  serviceAccount(name: string, namespace?: string): Promise<KubeConfig>
  tempDir(prefix: string): Promise<string>
  /** The first admin token (Secret kiln/kiln-admin-token). */
  adminToken: string
  http(url: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<HttpAnswer>
  /** Pods in the namespace matching a label selector, not being deleted. */
  pods(selector: string): Promise<V1Pod[]>
  /** Creates the `node` runtime (image kiln/runtime-node:dev) through the controller. */
  nodeRuntime(poolSize?: number): Promise<void>
  /** Builds a function answering `body`, uploads it and creates it through the controller. */
  deploy(name: string, body: string, spec?: Record<string, unknown>): Promise<void>
  /** The same with the function's own source (an index.mjs); `namespace`: a Kiln namespace other than default. */
  deploySource(name: string, source: string, spec?: Record<string, unknown>, namespace?: string): Promise<void>
  /** Another executor replica (same Lease, its own identity), stopped with the rest. */
  startExecutor(identity: string): Promise<KubePlatform>
  stop(): Promise<void>
}

export const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

export async function startHarness(o: { executorConfig?: Partial<KilnConfig> } = {}): Promise<Harness> {
  const dirs: string[] = []
  const simLog: string[] = []
  const h = { dirs } as unknown as Harness & { sim?: NodeSimulator; redis?: TestRedis }
  const extra: KubePlatform[] = []
  const stop = async () => {
    await h.router?.close()
    for (const e of extra) await e.close()
    await h.executor?.close()
    await h.controller?.close()
    await h.sim?.stop()
    await h.kube?.close()
    await h.cp?.stop()
    await h.redis?.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
    if (process.env.KILN_TEST_LOG && simLog.length) console.warn(`node simulator:\n${simLog.join('\n')}`)
  }
  h.stop = stop
  try {
    h.cp = await startControlPlane()
    h.kube = new KubeClient(h.cp.kubeconfigPath)
    h.kubectl = (...args) => kubectlOk(h.cp.kubeconfigPath, args)
    h.tempDir = async (prefix) => {
      const d = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(d)
      return d
    }
    h.serviceAccount = async (name, namespace = NS) => {
      const token = (await h.kubectl('create', 'token', name, '-n', namespace, '--duration=1h')).trim()
      const admin = new KubeConfig()
      admin.loadFromFile(h.cp.kubeconfigPath)
      const kc = new KubeConfig()
      kc.loadFromOptions({
        clusters: [{ ...admin.getCurrentCluster()!, name: 'test' }],
        users: [{ name, token }],
        contexts: [{ name, cluster: 'test', user: name, namespace }],
        currentContext: name,
      })
      return kc
    }
    h.http = async (url, init = {}) => {
      const api = new URL(url).pathname.startsWith('/v1/') && h.adminToken !== undefined
      const res = await request(url, {
        method: (init.method ?? 'GET') as 'GET',
        body: init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : JSON.stringify(init.body),
        headers: {
          ...(api ? { authorization: `Bearer ${h.adminToken}` } : {}),
          ...(init.body === undefined ? {} : { 'content-type': Buffer.isBuffer(init.body) ? 'application/gzip' : 'application/json' }),
          ...init.headers,
        },
      })
      const text = await res.body.text()
      return { status: res.statusCode, text, json: () => JSON.parse(text) }
    }
    h.pods = async (selector) =>
      (await h.kube.get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}`)).items.filter((p: V1Pod) => !p.metadata?.deletionTimestamp)
    h.nodeRuntime = async (poolSize = 2) => {
      const rt = await h.http(`${h.controller.url}/v1/runtimes`, { method: 'POST', body: { metadata: { name: 'node' }, spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', port: 8888, poolSize } } })
      if (rt.status !== 201) throw new Error(`runtime not created: ${rt.status} ${rt.text}`)
    }
    h.deploy = (name, body, spec) => h.deploySource(name, `export default async () => ({ status: 200, body: ${JSON.stringify(body)} })\n`, spec)
    h.deploySource = async (name, source, spec = {}, namespace) => {
      const src = await h.tempDir('kiln-fn-')
      await writeFile(join(src, 'index.mjs'), source)
      const built = await buildPackage({ source: join(src, 'index.mjs'), runtime: 'node' })
      const up = await h.http(`${h.controller.url}/v1/packages`, { method: 'POST', body: built.archive })
      if (up.status !== 201) throw new Error(`package not uploaded: ${up.status} ${up.text}`)
      const res = await h.http(`${h.controller.url}/v1/functions/${name}${namespace ? `?namespace=${namespace}` : ''}`, {
        method: 'PUT', body: { metadata: { name }, spec: { runtime: 'node', package: { sha256: built.sha256 }, entrypoint: built.entrypoint, strategy: 'pool', ...spec } },
      })
      if (res.status !== 201 && res.status !== 200) throw new Error(`function not deployed: ${res.status} ${res.text}`)
    }

    h.sim = await startNodeSimulator({ kubeconfigPath: h.cp.kubeconfigPath, nodes: SIM_NODES, images: { 'kiln/runtime-node:dev': ['node', NODE_RUNTIME] }, cwd: REPO, log: (m) => simLog.push(m) })
    await h.kubectl('apply', '-f', join(DEPLOY, 'namespace.yaml'), '-f', join(DEPLOY, 'crds'), '-f', join(DEPLOY, 'rbac'))
    await h.kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', join(DEPLOY, 'crds'))
    await waitUntil('ServiceAccounts', async () => {
      const sas = await h.kube.get(`/api/v1/namespaces/${NS}/serviceaccounts`)
      return ['default', 'kiln-executor', 'kiln-controller'].every((n) => sas.items.some((s: any) => s.metadata.name === n))
    })
    await waitUntil('nodes without not-ready taints', async () => {
      const nodes = (await h.kube.get('/api/v1/nodes')).items
      return nodes.length === SIM_NODES.length && nodes.every((n: any) => !(n.spec.taints ?? []).some((t: any) => t.key.startsWith('node.kubernetes.io/')))
    })
    h.redis = await startRedis()
    const start = async (role: 'controller' | 'executor', kc: KubeConfig, identity: string, more: Partial<KilnConfig> = {}) => {
      const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir: await h.tempDir(`kiln-${role}-`), poolSize: 2, redisUrl: h.redis!.url, logLevel: 'silent', ...more }, {})
      return startKubernetesPlatform(config, { role, kubeconfig: kc, namespace: NS, identity, leaderLease: role === 'executor' ? 'kiln-executor' : undefined, reconcileMs: 1000 }, { logger: silentLogger })
    }
    h.controller = await start('controller', await h.serviceAccount('kiln-controller'), 'controller-test-0')
    const adminSecret = await h.kube.get(`/api/v1/namespaces/${NS}/secrets/kiln-admin-token`)
    h.adminToken = Buffer.from(adminSecret.data.token, 'base64').toString('utf8')
    h.executor = await start('executor', await h.serviceAccount('kiln-executor'), 'executor-test-0', o.executorConfig)
    h.startExecutor = async (identity) => {
      const e = await start('executor', await h.serviceAccount('kiln-executor'), identity, o.executorConfig)
      extra.push(e)
      return e
    }
    h.router = await startRouterProxy({ executorUrl: h.executor.url, port: 0, host: '127.0.0.1', logger: silentLogger })
    return h
  } catch (e) {
    await stop()
    throw e
  }
}
