// Several executor replicas on one cluster (the chart runs two): one leads; they share the functions out
// by their member Leases, so a function's warm set is kept once, by its owner, and a request reaching
// another replica is relayed there; the owner's Function status counts the pods; a node agent sends
// each pod's sample to the replica that claimed it.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KubePlatform } from '../../platform/kubernetes/platform.js'
import { startNodeAgent } from '../../cluster/kubernetes/node-agent.js'
import { silentLogger } from '../../core/logger.js'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, ensureBinaries, K8S_WITH_RUNTIME } from './setup.js'
import { waitUntil } from './wait.js'

describe('several executor replicas', K8S_WITH_RUNTIME, () => {
  let h: Harness
  let second: KubePlatform

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
    second = await h.startExecutor('executor-test-1')
    await h.nodeRuntime(1)
  }, BUILD_TIMEOUT_MS)

  afterAll(async () => {
    await h?.stop()
  })

  it('one replica leads; the warm set is kept once, by the replica that owns the function; its Function status (written by the owner) counts it', { timeout: 180_000 }, async () => {
    expect([h.executor.leader?.isLeader, second.leader?.isLeader].filter(Boolean)).toHaveLength(1)
    await waitUntil('both replicas are members', async () => h.executor.members!.members().length === 2 && second.members!.members().length === 2, 30_000)
    await h.deploy('warmfn', 'warm', { strategy: 'warm', minWarm: 2 })
    const pods = await waitUntil('two specialized pods', async () => {
      const ps = await h.pods('kiln.dev/function=warmfn,kiln.dev/state=specialized')
      return ps.length === 2 ? ps : undefined
    }, 90_000)
    const owner = h.executor.members!.ownerOf('warmfn')!.identity
    expect(second.members!.ownerOf('warmfn')!.identity).toBe(owner)
    expect(pods.map((p) => p.metadata?.labels?.['kiln.dev/executor'])).toEqual([owner, owner])
    const [mine, other] = owner === 'executor-test-0' ? [h.executor, second] : [second, h.executor]
    expect(mine.ctx.executor.describe('warmfn')!.instances).toHaveLength(2)
    expect(other.ctx.executor.describe('warmfn')!.instances).toHaveLength(0)
    await waitUntil('status counts them', async () => (await h.kubectl('get', 'function', 'warmfn', '-n', NS, '-o', 'jsonpath={.status.readyInstances}')) === '2', 30_000)
  })

  it('a request sent to the replica that does not own the function is relayed to the one that does', { timeout: 120_000 }, async () => {
    const owner = h.executor.members!.ownerOf('warmfn')!.identity
    const other = owner === 'executor-test-0' ? second : h.executor
    const mine = owner === 'executor-test-0' ? h.executor : second
    const before = mine.ctx.executor.describe('warmfn')!.requests as number
    const r = await h.http(`${other.url}/fn/warmfn`)
    expect(r.status).toBe(200)
    expect(r.text).toBe('warm')
    expect(mine.ctx.executor.describe('warmfn')!.requests).toBe(before + 1)
    expect(other.ctx.executor.describe('warmfn')!.instances).toHaveLength(0)
  })

  it('a node agent sends each pod\'s sample to the replica that claimed it', { timeout: 120_000 }, async () => {
    // The second replica as a pod (here it runs in the test process): a Pod named after its identity,
    // on a node no kubelet serves, whose status carries the replica's address, as a kubelet would report it.
    const port = Number(new URL(second.url).port)
    await h.kube.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'parked' }, spec: { unschedulable: true, taints: [{ key: 'kiln.dev/parked', value: 'true', effect: 'NoSchedule' }] } })
    await h.kube.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'executor-test-1', namespace: NS },
      // As the chart runs it: the namespace enforces the restricted Pod Security Standard.
      spec: {
        nodeName: 'parked',
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'executor', image: 'kiln/platform', ports: [{ name: 'http', containerPort: port }], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
      },
    })
    await h.kubectl('patch', 'pod', 'executor-test-1', '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] } }))

    const pods = await h.pods('kiln.dev/function=warmfn,kiln.dev/state=specialized')
    const root = await h.tempDir('kiln-cgroupfs-')
    for (const p of pods) {
      const dir = join(root, 'kubepods.slice', `kubepods-pod${p.metadata!.uid!.replaceAll('-', '_')}.slice`)
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, 'cpu.stat'), 'usage_usec 1000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n')
      await writeFile(join(dir, 'memory.current'), '4096\n')
    }
    const kc = await h.serviceAccount('kiln-node-agent', 'kiln-node-agent')
    // The Service URL the agent falls back on is the first replica's.
    for (const node of new Set(pods.map((p) => p.spec!.nodeName!))) {
      const agent = startNodeAgent({ kc, namespace: NS, node, cgroupFs: root, executorUrl: h.executor.url, intervalMs: 60_000, logger: silentLogger })
      try { await agent.once() } finally { agent.stop() }
    }
    for (const p of pods) {
      const name = p.metadata!.name!
      const owner = p.metadata!.labels!['kiln.dev/executor'] === 'executor-test-1' ? second : h.executor
      const other = owner === second ? h.executor : second
      expect(owner.nodeLoads.pod(name)?.sample).toMatchObject({ cpuUsageUsec: 1000, memoryBytes: 4096 })
      expect(other.nodeLoads.pod(name)).toBeUndefined()
    }
  })
})
