// A `pool` or `warm` function's resources reach the generic pool pod that serves it: the executor
// resizes the claimed pod in place (`pods/resize`) on a real kube-apiserver, whose validation (QoS class
// unchanged, no limit removed, pods/resize RBAC) decides; the node simulator stands in for the kubelet
// and reports the resize applied. The executor's instance budget (2, the pool's size) keeps the pool
// from refilling while a pod is specialized, so an idle `pool` instance deterministically goes back to it.
import { join } from 'node:path'
import type { V1Pod } from '@kubernetes/client-node'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseQuantity } from '../../cluster/kubernetes/resize.js'
import { kubectl } from './controlplane/kubectl.js'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, DEPLOY, ensureBinaries, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

const MiB = 2 ** 20
/** The simulated nodes' capacity (node-sim/nodes.ts): what a lifted limit is raised to. */
const NODE_CAPACITY = { cpu: 4, memory: 8 * 1024 * MiB }

interface Amounts { cpu?: number; memory?: number }
const amounts = (l: Record<string, string> | undefined): Amounts =>
  Object.fromEntries(Object.entries(l ?? {}).map(([k, v]) => [k, parseQuantity(v)]))

describe('function resources reach pool pods by in-place resize', K8S_WITH_RUNTIME, () => {
  let h: Harness

  const backend = () => h.executor.backend!
  const pod = async (name: string): Promise<V1Pod> => h.kube.get(`/api/v1/namespaces/${NS}/pods/${name}`)
  const spec = (p: V1Pod) => p.spec!.containers[0]!.resources!
  const applied = (p: V1Pod) => p.status!.containerStatuses![0]!.resources!
  /** GET through the router; returns the status and the instance that served it. */
  const invoke = async (fn: string) => {
    const res = await request(`${h.router.url}/fn/${fn}`)
    const text = await res.body.text()
    return { status: res.statusCode, text, instance: String(res.headers['x-kiln-instance'] ?? '') }
  }
  /** Deploys through the controller, which answers once the executor has applied the function. */
  const deploy = (fn: string, body: string, spec: Record<string, unknown>) => h.deploy(fn, body, spec)
  const fnState = (fn: string) => (h.executor.ctx.executor.describe(fn)?.instances ?? []) as { id: string; state: string }[]

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness({ executorConfig: { instanceBudget: 2 } })
    await h.nodeRuntime(2)
    await waitUntil('the executor holds its two generic pods', async () => backend().list().length === 2, 90_000)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await h?.stop()
  })

  it('generic pool pods request cpu and memory (Burstable), so a resize may give them limits', async () => {
    const pool = await h.pods('kiln.dev/pool=kiln-pool-node')
    expect(pool.length).toBeGreaterThan(0)
    for (const p of pool) {
      expect(spec(p).requests).toEqual({ cpu: '50m', memory: '64Mi' })
      expect(spec(p).limits).toBeUndefined()
      expect(p.status?.qosClass).toBe('Burstable')
    }
  })

  let served = ''
  let servedPod = ''

  it('a pool-strategy function with resources runs in a pod resized to them', { timeout: 120_000 }, async () => {
    await deploy('sized', 'sized', { strategy: 'pool', resources: { cpu: 0.5, memory: '128Mi' }, idleTimeoutMs: 1000 })
    const res = await invoke('sized')
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('sized')
    served = res.instance
    servedPod = backend().podOf(served)!
    expect(servedPod).toBeTruthy()
    const p = await pod(servedPod)
    expect(amounts(spec(p).limits)).toEqual({ cpu: 0.5, memory: 128 * MiB })
    // Requests stay the pool pod's: equal to the limits they would make it Guaranteed, a QoS change.
    expect(amounts(spec(p).requests)).toEqual({ cpu: 0.05, memory: 64 * MiB })
    expect(p.status?.qosClass).toBe('Burstable')
    expect(p.metadata?.generation).toBeGreaterThan(1)
    // What the (simulated) kubelet reports applied, which setLimits waited for before loading the code.
    expect(amounts(applied(p).limits)).toEqual({ cpu: 0.5, memory: 128 * MiB })
    expect(await backend().readLimits(served)).toEqual({ cpu: 0.5, memoryBytes: 128 * MiB })
  })

  it('idle, the instance goes back to the pool with its pod\'s requests restored and its limits lifted to the node\'s capacity', { timeout: 60_000 }, async () => {
    // Given back to the executor's generic pool (after the lift), not retired.
    await waitUntil('the instance back in the pool', async () => h.executor.ctx.pools.idleGeneric().some((r) => r.id === served), 30_000)
    expect(fnState('sized')).toEqual([])
    const p = await pod(servedPod)
    expect(p.metadata?.deletionTimestamp).toBeUndefined()
    expect(amounts(spec(p).requests)).toEqual({ cpu: 0.05, memory: 64 * MiB })
    expect(amounts(spec(p).limits)).toEqual(NODE_CAPACITY)
    expect(await backend().readLimits(served)).toEqual({ cpu: NODE_CAPACITY.cpu, memoryBytes: NODE_CAPACITY.memory })
  })

  it('the next function the pod serves does not inherit the limits', { timeout: 60_000 }, async () => {
    await deploy('plain', 'plain', { strategy: 'pool', idleTimeoutMs: 60_000 })
    const res = await invoke('plain')
    expect(res.status, res.text).toBe(200)
    // The pool hands out the instance given back last.
    expect(res.instance).toBe(served)
    expect(amounts(spec(await pod(servedPod)).limits)).toEqual(NODE_CAPACITY)
    expect((await h.http(`${h.controller.url}/v1/functions/plain`, { method: 'DELETE' })).status).toBe(200)
    await waitUntil('plain drained', async () => fnState('plain').length === 0, 30_000)
  })

  it('a warm-strategy function\'s warm instance is resized to its resources; deleting the function retires the pod', { timeout: 120_000 }, async () => {
    await deploy('warmsized', 'warm', { strategy: 'warm', minWarm: 1, resources: { cpu: 0.25, memory: '96Mi' } })
    await waitUntil('its warm instance ready', async () => fnState('warmsized').some((i) => i.state === 'ready'), 60_000)
    const res = await invoke('warmsized')
    expect(res.status, res.text).toBe(200)
    expect(fnState('warmsized').map((i) => i.id)).toContain(res.instance)
    const name = backend().podOf(res.instance)!
    const p = await pod(name)
    expect(amounts(spec(p).limits)).toEqual({ cpu: 0.25, memory: 96 * MiB })
    expect(amounts(applied(p).limits)).toEqual({ cpu: 0.25, memory: 96 * MiB })
    expect(p.status?.qosClass).toBe('Burstable')
    expect((await h.http(`${h.controller.url}/v1/functions/warmsized`, { method: 'DELETE' })).status).toBe(200)
    // A warm instance is not given back to the pool: its pod, limits and all, is deleted.
    await waitUntil('its pod deleted', async () => {
      const gone = await pod(name).then((x) => !!x.metadata?.deletionTimestamp, () => true)
      return gone && !backend().list().some((i) => i.id === res.instance)
    }, 60_000)
    expect(await h.pods('kiln.dev/function=warmsized')).toEqual([])
  })

  it('a resize the API refuses (no pods/resize permission) fails the request with its code; the pod is left unchanged', { timeout: 120_000 }, async () => {
    const role = JSON.parse(await h.kubectl('get', 'role', 'kiln-executor', '-n', NS, '-o', 'json'))
    const at = role.rules.findIndex((r: { resources: string[] }) => r.resources.includes('pods/resize'))
    expect(at).toBeGreaterThanOrEqual(0)
    const canResize = async () => (await kubectl(h.cp.kubeconfigPath, ['auth', 'can-i', 'patch', 'pods', '--subresource=resize', '-n', NS, '--as=system:serviceaccount:kiln:kiln-executor'])).stdout.trim()
    await h.kubectl('patch', 'role', 'kiln-executor', '-n', NS, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: `/rules/${at}` }]))
    try {
      await waitUntil('pods/resize forbidden', async () => (await canResize()) === 'no')
      await deploy('refused', 'refused', { strategy: 'pool', resources: { cpu: 0.5, memory: '128Mi' } })
      // The pods the executor holds now, one of which the refused resize is for.
      const before = backend().list().map((i) => backend().podOf(i.id)!)
      expect(before.length).toBeGreaterThan(0)
      const res = await invoke('refused')
      expect(res.status, res.text).toBe(403)
      expect(JSON.parse(res.text)).toMatchObject({
        error: 'KILN_ERR_CLUSTER_FORBIDDEN', kubeStatus: 403,
        permission: { user: 'system:serviceaccount:kiln:kiln-executor', verb: 'patch', resource: 'pods/resize', group: '', namespace: NS },
      })
      // Nothing changed on the pods: none that is still there has a limit the function asked for.
      const left = (await Promise.all(before.map((name) => pod(name).catch(() => undefined)))).filter((p) => p && !p.metadata?.deletionTimestamp) as V1Pod[]
      expect(left.length).toBeGreaterThan(0)
      for (const p of left) expect(amounts(spec(p).limits), p.metadata!.name).not.toEqual({ cpu: 0.5, memory: 128 * MiB })
    } finally {
      await h.kubectl('apply', '-f', join(DEPLOY, 'rbac', 'executor.yaml'))
    }
    await waitUntil('pods/resize allowed again', async () => (await canResize()) === 'yes')
    const res = await invoke('refused')
    expect(res.status, res.text).toBe(200)
    expect(amounts(spec(await pod(backend().podOf(res.instance)!)).limits)).toEqual({ cpu: 0.5, memory: 128 * MiB })
  })
})
