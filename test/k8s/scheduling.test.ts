// Runtime pods on a real control plane: the real kube-scheduler places pods on simulated nodes
// (test/k8s/node-sim), which run each pod's program as a local process on its own loopback address.
// Proves what Kiln's Kubernetes backend relies on: pool Deployments come up Ready with answering
// pod IPs, isolation taints keep ordinary pods off isolated nodes, and a pod relabelled out of its
// ReplicaSet's selector keeps running while the ReplicaSet creates a replacement (how pools refill).
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { KubeClient, type KubeObject } from './node-sim/kube-client.js'
import { startNodeSimulator, type NodeSimulator } from './node-sim/simulator.js'
import { BUILD_TIMEOUT_MS, NODE_RUNTIME, REPO, SIM_NODES as NODES, ensureBinaries, K8S, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

const NS = 'kiln'
const IMAGES = {
  'kiln/echo:test': ['node', join(REPO, 'test', 'k8s', 'fixtures', 'echo-server.mjs')],
  'kiln/runtime-node:dev': ['node', NODE_RUNTIME],
}

const ISOLATION = {
  tolerations: [{ key: 'kiln.dev/isolated', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kiln.dev/pool', operator: 'In', values: ['isolated'] }] }] } } },
}

/** A pool Deployment the way Kiln's backend makes one: generic runtime pods labelled by pool and state. */
function poolDeployment(name: string, replicas: number, image = 'kiln/echo:test', podSpec: Record<string, unknown> = {}) {
  const labels = { 'kiln.dev/pool': name, 'kiln.dev/state': 'generic' }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{
            name: 'runtime',
            image,
            ports: [{ name: 'http', containerPort: 8888 }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            ],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
          }],
          ...podSpec,
        },
      },
    },
  }
}

async function httpGet(ip: string, path: string): Promise<{ status: number, body: any }> {
  const res = await request(`http://${ip}:8888${path}`, { headersTimeout: 2000, bodyTimeout: 2000 })
  const text = await res.body.text()
  return { status: res.statusCode, body: text.startsWith('{') ? JSON.parse(text) : text }
}

function isReady(p: KubeObject): boolean {
  return p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false
}

describe('runtime pods on a real control plane with simulated nodes', K8S, () => {
  let cp: ControlPlane
  let sim: NodeSimulator
  let kube: KubeClient
  const simLog: string[] = []
  const apply = (obj: unknown) => kubectlOk(cp.kubeconfigPath, ['apply', '-f', '-'], { input: JSON.stringify(obj) })
  const pods = async (selector: string): Promise<KubeObject[]> =>
    (await kube.get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}`)).items
  const readyPods = (selector: string, n: number) => waitUntil(`${n} ready pods for ${selector}`, async () => {
    const ps = (await pods(selector)).filter(p => !p.metadata.deletionTimestamp)
    return ps.length === n && ps.every(isReady) ? ps : undefined
  }, 90_000)

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane()
    kube = new KubeClient(cp.kubeconfigPath)
    sim = await startNodeSimulator({ kubeconfigPath: cp.kubeconfigPath, nodes: NODES, images: IMAGES, cwd: REPO, log: m => simLog.push(m) })
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', NS])
    // Pods are admitted once the controller manager has made the namespace's default ServiceAccount.
    await waitUntil('default ServiceAccount', () => kube.get(`/api/v1/namespaces/${NS}/serviceaccounts/default`), 60_000)
    // The node lifecycle controller removes the not-ready taint once it sees the nodes Ready.
    await waitUntil('nodes without not-ready taints', async () => {
      const nodes: KubeObject[] = (await kube.get('/api/v1/nodes')).items
      return nodes.length === NODES.length && nodes.every(n => !(n.spec.taints ?? []).some((t: any) => t.key.startsWith('node.kubernetes.io/')))
    }, 60_000)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await sim?.stop()
    await kube?.close()
    await cp?.stop()
    if (simLog.length) console.warn(`node simulator:\n${simLog.join('\n')}`)
  })

  it('a pool Deployment is scheduled by kube-scheduler and its pods become Ready with pod IPs that answer', async () => {
    await apply(poolDeployment('pool-echo', 3))
    const ready = await readyPods('kiln.dev/pool=pool-echo', 3)
    const ips = ready.map(p => p.status.podIP as string)
    expect(new Set(ips).size).toBe(3)
    for (const p of ready) {
      expect(p.status.podIP).toMatch(/^127\.\d+\.\d+\.\d+$/)
      expect(p.spec.nodeName).toMatch(/^general-/)
      expect(p.status.phase).toBe('Running')
      const { status, body } = await httpGet(p.status.podIP, '/healthz')
      expect(status).toBe(200)
      expect(body.pod).toBe(p.metadata.name)
      expect(body.node).toBe(p.spec.nodeName)
    }
    await waitUntil('deployment available', async () => {
      const d = await kube.get(`/apis/apps/v1/namespaces/${NS}/deployments/pool-echo`)
      return d.status?.availableReplicas === 3
    })
  })

  it('pods with the isolation toleration and affinity land only on the tainted node; pods without never do', async () => {
    await apply(poolDeployment('pool-isolated', 2, 'kiln/echo:test', ISOLATION))
    await apply(poolDeployment('pool-plain', 6))
    const isolated = await readyPods('kiln.dev/pool=pool-isolated', 2)
    const plain = await readyPods('kiln.dev/pool=pool-plain', 6)
    expect(isolated.map(p => p.spec.nodeName)).toEqual(['isolated-a', 'isolated-a'])
    expect(plain.filter(p => p.spec.nodeName === 'isolated-a')).toEqual([])
    for (const p of isolated) expect((await httpGet(p.status.podIP, '/')).body.node).toBe('isolated-a')
  })

  it('an isolated pod that no isolated node can take stays Pending, Unschedulable', async () => {
    await apply({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'needs-isolation', namespace: NS },
      spec: { containers: [{ name: 'runtime', image: 'kiln/echo:test' }], ...ISOLATION, nodeSelector: { 'kiln.dev/pool': 'isolated', 'kubernetes.io/hostname': 'general-a' } },
    })
    const pod = await waitUntil('Unschedulable condition', async () => {
      const p = await kube.get(`/api/v1/namespaces/${NS}/pods/needs-isolation`)
      return p.status?.conditions?.some((c: any) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ? p : undefined
    })
    expect(pod.spec.nodeName).toBeUndefined()
  })

  it('a pod whose image the simulator cannot map stays Pending with ErrImagePull', async () => {
    await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unknown-image', namespace: NS }, spec: { containers: [{ name: 'runtime', image: 'kiln/nope:1' }] } })
    const pod = await waitUntil('ErrImagePull', async () => {
      const p = await kube.get(`/api/v1/namespaces/${NS}/pods/unknown-image`)
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined
    })
    expect(pod.status.phase).toBe('Pending')
    expect(isReady(pod)).toBe(false)
  })

  it('a pod relabelled out of its ReplicaSet keeps running while the ReplicaSet creates a replacement', async () => {
    await apply(poolDeployment('pool-refill', 2))
    const before = await readyPods('kiln.dev/pool=pool-refill', 2)
    const taken = before[0]!
    await kubectlOk(cp.kubeconfigPath, ['label', 'pod', taken.metadata.name, '-n', NS, 'kiln.dev/state=specialized', 'kiln.dev/function=hello', '--overwrite'])
    const after = await readyPods('kiln.dev/pool=pool-refill,kiln.dev/state=generic', 2)
    expect(after.map(p => p.metadata.name)).not.toContain(taken.metadata.name)
    const released = await waitUntil('ownerReferences removed', async () => {
      const p = await kube.get(`/api/v1/namespaces/${NS}/pods/${taken.metadata.name}`)
      return (p.metadata.ownerReferences ?? []).length === 0 ? p : undefined
    })
    expect(released.metadata.uid).toBe(taken.metadata.uid)
    expect(isReady(released)).toBe(true)
    expect((await httpGet(taken.status.podIP, '/healthz')).body.pod).toBe(taken.metadata.name)
  })

  it('deleting a pod kills its process and completes the deletion', async () => {
    const [victim] = await pods('kiln.dev/function=hello')
    expect(victim).toBeDefined()
    const ip = victim!.status.podIP
    const pid = (await httpGet(ip, '/healthz')).body.pid as number
    await kubectlOk(cp.kubeconfigPath, ['delete', 'pod', victim!.metadata.name, '-n', NS, '--wait=true', '--timeout=30s'])
    expect(() => process.kill(pid, 0)).toThrow()
    await expect(httpGet(ip, '/healthz')).rejects.toThrow()
  })

  it('the Node runtime (dist/runtimes/node.js) serves as a pool pod', K8S_WITH_RUNTIME, async () => {
    await apply(poolDeployment('pool-node', 1, 'kiln/runtime-node:dev'))
    const [p] = await readyPods('kiln.dev/pool=pool-node', 1)
    const { status, body } = await httpGet(p!.status.podIP, '/healthz')
    expect(status).toBe(200)
    expect(body.state).toBe('generic')
  })

  it('stopping the simulator kills every pod process it started', async () => {
    const running = (await pods('kiln.dev/pool')).filter(p => p.status?.podIP)
    const pids: number[] = []
    for (const p of running) {
      try { pids.push((await httpGet(p.status.podIP, '/healthz')).body.pid) } catch { /* not an echo pod */ }
    }
    expect(pids.length).toBeGreaterThan(5)
    await sim.stop()
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
  })
})
