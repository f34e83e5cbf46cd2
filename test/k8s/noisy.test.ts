// Node-agent reports feed the executor's load monitor on Kubernetes: `KubernetesBackend.sample(id)`
// reads the latest report for the instance's pod, and a function whose reported counters stay out of
// range is isolated — its new pods land, by kube-scheduler, on the tainted node.
//
// The reports here are synthetic, posted to the executor's `/internal/node-load` as a node agent
// posts them: the node simulator runs pods as plain processes without a kubelet, so there are no
// per-pod cgroups whose counters could climb. (How the agent reads real pod cgroups is covered in
// platform.test.ts against a cgroup file tree laid out as the kubelet lays it out.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeLoadReport } from '../../cluster/kubernetes/pod-loads.js'
import { defaultConfig } from '../../core/config.js'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

describe('noisy functions on Kubernetes: node-agent samples drive isolation', K8S_WITH_RUNTIME, () => {
  let h: Harness
  const instances = (fn: string) => (h.executor.ctx.executor.describe(fn)?.instances ?? []) as { id: string; node: string; state: string }[]
  const report = async (r: NodeLoadReport) => {
    const res = await h.http(`${h.executor.url}/internal/node-load`, { method: 'POST', body: r })
    expect(res.status, res.text).toBe(204)
  }
  /** The node a pod runs on and its name, for the executor's instance `id`. */
  const podOf = async (id: string) => {
    const name = h.executor.backend!.podOf(id)!
    const pod = await h.kube.get(`/api/v1/namespaces/${NS}/pods/${name}`)
    return { name, uid: pod.metadata.uid as string, node: pod.spec.nodeName as string }
  }

  beforeAll(async () => {
    await ensureBinaries()
    // Sample often and isolate after three out-of-range samples, so the test does not wait on defaults.
    h = await startHarness({ executorConfig: { loadLimits: { ...defaultConfig().loadLimits, sampleMs: 200, window: 3 } } })
    await h.nodeRuntime(1)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await h?.stop()
  })

  it('a report for a pod is what sample() returns for its instance; none for an unreported or stale pod', { timeout: 120_000 }, async () => {
    await h.deploy('calm', 'calm', { strategy: 'dedicated', minScale: 1 })
    const [inst] = await waitUntil('an instance', async () => { const i = instances('calm').filter((x) => x.state === 'ready'); return i.length ? i : undefined }, 90_000)
    const pod = await podOf(inst!.id)
    expect(await h.executor.backend!.sample(inst!.id)).toBeUndefined()
    const at = Date.now()
    await report({ node: pod.node, at, pods: [{ pod: pod.name, uid: pod.uid, function: 'calm', instance: inst!.id, sample: { cpuUsageUsec: 5000, nrPeriods: 10, nrThrottled: 1, throttledUsec: 40, memoryBytes: 1 << 20, memoryLimitBytes: undefined, pids: 7, oomKills: 0 } }] })
    expect(await h.executor.backend!.sample(inst!.id)).toEqual({
      at, cpuUsageUsec: 5000, throttledUsec: 40, nrPeriods: 10, nrThrottled: 1, memoryBytes: 1 << 20,
      memoryLimitBytes: undefined, pids: 7, cpuPressureSomeAvg10: undefined, oomKills: 0,
    })
    expect(await h.executor.backend!.sample('no-such-instance')).toBeUndefined()
    // A report nobody renewed for longer than four agent intervals says nothing about now.
    expect(h.executor.nodeLoads.sample(pod.name, Date.now() + 60_000)).toBeUndefined()
  })

  it('a function whose reported cpu stays out of range is isolated: its new pods run on the tainted node', { timeout: 180_000 }, async () => {
    await h.deploy('hog', 'hog', { strategy: 'dedicated', minScale: 1 })
    const [inst] = await waitUntil('an instance', async () => { const i = instances('hog').filter((x) => x.state === 'ready'); return i.length ? i : undefined }, 90_000)
    const pod = await podOf(inst!.id)
    expect(pod.node).not.toBe('isolated-a')
    // 1.5 cores used between reports, no request completed, no cpu limit: over loadLimits.cpuCores (0.5).
    let i = 0
    await waitUntil('the function isolated', async () => {
      i++
      await report({ node: pod.node, at: 1_000_000 + i * 1000, pods: [{ pod: pod.name, uid: pod.uid, function: 'hog', instance: inst!.id, sample: { cpuUsageUsec: i * 1_500_000, nrPeriods: i * 10, nrThrottled: 0, memoryBytes: 1 << 20, pids: 7 } }] })
      return h.executor.ctx.executor.state('hog')?.isolation
    }, 60_000, 300)
    // Visible in the API, with the monitor's evidence.
    const [ev] = (await h.http(`${h.executor.url}/v1/events?function=hog&type=FunctionIsolated`)).json()
    expect(ev.evidence).toMatchObject({ by: 'monitor', instance: inst!.id })
    const moved = await waitUntil('served by an isolated pod only', async () => {
      const is = instances('hog')
      return is.length > 0 && is.every((x) => x.state === 'ready' && x.node === 'isolated-a') ? is : undefined
    }, 90_000)
    for (const x of moved) expect((await podOf(x.id)).node).toBe('isolated-a')
    const isolatedPods = await waitUntil('the isolated pod labelled specialized', async () => {
      const ps = (await h.pods('kiln.dev/function=hog,kiln.dev/state=specialized')).filter((p) => moved.some((x) => h.executor.backend!.podOf(x.id) === p.metadata?.name))
      return ps.length === moved.length ? ps : undefined
    })
    for (const p of isolatedPods) {
      expect(p.spec?.nodeName).toBe('isolated-a')
      expect(p.metadata?.labels?.['kiln.dev/pool']).toMatch(/^kiln-fn-hog-isolated-/)
      expect(p.spec?.tolerations).toContainEqual(expect.objectContaining({ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }))
    }
    const res = await h.http(`${h.router.url}/fn/hog`)
    expect(res.status, res.text).toBe(200)
    expect(res.text).toBe('hog')
    // The old pod drained and its set went to zero.
    await waitUntil('old pod gone', async () => (await h.pods(`kiln.dev/function=hog`)).every((p) => p.spec?.nodeName === 'isolated-a'), 60_000)
  })
})
