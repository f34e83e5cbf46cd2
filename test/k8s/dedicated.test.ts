// The `dedicated` strategy on Kubernetes: a function's own Deployment (a function set), whose replicas
// the executor scales with the function's instances, on a real control plane (the ReplicaSet
// controller makes the pods, kube-scheduler places them, simulated nodes run them).
import type { V1Deployment } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NS, isReady, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

// Answers with the address of the pod it runs in (the simulator gives each pod its IP as HOST), after
// `?ms=` milliseconds, so concurrent requests hold their instances.
const WHERE = `export default async (req) => {
  await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 0)))
  return { status: 200, body: process.env.HOST }
}
`

describe('dedicated functions on Kubernetes: one Deployment per function', K8S_WITH_RUNTIME, () => {
  let h: Harness

  const sets = async (fn: string): Promise<V1Deployment[]> =>
    (await h.kube.get(`/apis/apps/v1/namespaces/${NS}/deployments?labelSelector=${encodeURIComponent(`kiln.dev/function=${fn}`)}`)).items
  const instances = (fn: string) => (h.executor.ctx.executor.describe(fn)?.instances ?? []) as { url: string; state: string; node: string }[]

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
    await h.nodeRuntime(1)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await h?.stop()
  })

  it('a dedicated function gets its own Deployment at minScale replicas; its pods carry the function label and its resources as requests and limits', { timeout: 180_000 }, async () => {
    await h.deploySource('ded', WHERE, { strategy: 'dedicated', minScale: 1, maxScale: 3, concurrency: 1, idleTimeoutMs: 3000, resources: { cpu: 0.25, memory: '96Mi' } })
    const [set] = await waitUntil('the function set at 1 replica', async () => {
      const ds = await sets('ded')
      return ds.length === 1 && ds[0]!.spec?.replicas === 1 ? ds : undefined
    }, 90_000)
    const name = set!.metadata!.name!
    expect(name).toMatch(/^kiln-fn-ded-[0-9a-f]{6}$/)
    expect(set!.spec!.selector.matchLabels).toEqual({ 'kiln.dev/pool': name })
    const [pod] = await waitUntil('its pod specialized with the function', async () => {
      const ps = (await h.pods(`kiln.dev/pool=${name}`)).filter((p) => isReady(p) && p.metadata?.labels?.['kiln.dev/state'] === 'specialized')
      return ps.length === 1 ? ps : undefined
    }, 90_000)
    expect(pod!.metadata!.labels!['kiln.dev/function']).toBe('ded')
    const res = pod!.spec!.containers[0]!.resources!
    expect(res.limits).toEqual({ cpu: '250m', memory: String(96 * 1024 * 1024) })
    expect(res.requests).toEqual(res.limits)
    // Still owned by its ReplicaSet: the pod was claimed in place, not taken out of the set.
    expect(pod!.metadata!.ownerReferences?.[0]?.kind).toBe('ReplicaSet')
    await waitUntil('the executor holds it', async () => instances('ded').some((i) => i.url === `http://${pod!.status!.podIP}:8888` && i.state === 'ready'))
    // The pool Deployment did not serve it.
    expect((await h.pods('kiln.dev/pool=kiln-pool-node,kiln.dev/function=ded')).length).toBe(0)
  })

  it('replicas follow the executor\'s scale: concurrent requests through the router reach new pods of the set, idle ones are scaled away', { timeout: 120_000 }, async () => {
    const name = (await sets('ded'))[0]!.metadata!.name!
    const answers = await Promise.all([1, 2, 3].map(() => h.http(`${h.router.url}/fn/ded?ms=1500`)))
    for (const a of answers) expect(a.status, a.text).toBe(200)
    const setPods = await h.pods(`kiln.dev/pool=${name}`)
    const ips = new Set(setPods.map((p) => p.status?.podIP))
    // One request per instance (concurrency 1): three pods of the function's own set answered.
    expect(new Set(answers.map((a) => a.text)).size).toBe(3)
    for (const a of answers) expect(ips.has(a.text)).toBe(true)
    const dep = await h.kube.get(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`)
    expect(dep.spec.replicas).toBe(3)
    // Idle past its idleTimeoutMs (3 s), the two beyond minScale are drained; the set shrinks with them.
    await waitUntil('back to minScale', async () => {
      const d = await h.kube.get(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`)
      const ps = await h.pods(`kiln.dev/pool=${name}`)
      return d.spec.replicas === 1 && ps.length === 1 && instances('ded').length === 1
    }, 60_000)
  })

  it('a function that stops being dedicated loses its Deployment once its instance drains', { timeout: 180_000 }, async () => {
    await h.deploySource('moving', WHERE, { strategy: 'dedicated', minScale: 1, idleTimeoutMs: 300 })
    await waitUntil('its set at 1 replica', async () => (await sets('moving'))[0]?.spec?.replicas === 1, 90_000)
    await waitUntil('its instance ready', async () => instances('moving').some((i) => i.state === 'ready'), 90_000)
    const fn = await h.http(`${h.controller.url}/v1/functions/moving`)
    // minScale goes with the strategy it belongs to (the API refuses it under pool: KILN_ERR_INEFFECTIVE_SETTING).
    const { minScale: _, ...spec } = fn.json().spec
    const put = await h.http(`${h.controller.url}/v1/functions/moving`, { method: 'PUT', body: { metadata: { name: 'moving' }, spec: { ...spec, strategy: 'pool' } } })
    expect(put.status, put.text).toBe(200)
    await waitUntil('its set deleted', async () => (await sets('moving')).length === 0, 60_000)
    const res = await h.http(`${h.router.url}/fn/moving`)
    expect(res.status, res.text).toBe(200)
    // Served from the pool now: no set came back for it.
    expect(await sets('moving')).toEqual([])
  })

  it('deleting the function deletes its Deployment and its pods', async () => {
    expect((await sets('ded')).length).toBe(1)
    expect((await h.http(`${h.controller.url}/v1/functions/ded`, { method: 'DELETE' })).status).toBe(200)
    await waitUntil('set and pods gone', async () => (await sets('ded')).length === 0 && (await h.pods('kiln.dev/function=ded')).length === 0, 60_000)
  })
})
