// Releases in Kubernetes mode: the releases suite over FunctionVersion and FunctionTraffic custom
// resources on a real kube-apiserver, and the platform on a real control plane — versions made through
// the controller are objects (`kubectl get functionversions`), and a split survives an executor restart.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { crdStore } from '../../core/store/crd-store.js'
import type { FunctionTrafficResource, FunctionVersionResource } from '../../core/types.js'
import { releasesSuite } from '../helpers/releases-suite.js'
import { startControlPlane, type ControlPlane } from './controlplane/controlplane.js'
import { kubectlOk } from './controlplane/kubectl.js'
import { NS, startHarness, type Harness } from './platform-harness.js'
import { BUILD_TIMEOUT_MS, DEPLOY, NODE_RUNTIME, ensureBinaries, plan } from './setup.js'
import { waitUntil } from './wait.js'

describe.skipIf(!plan.run)('releases over custom resources on a real kube-apiserver', () => {
  let cp: ControlPlane
  let kc: KubeConfig
  let seq = 0

  beforeAll(async () => {
    await ensureBinaries()
    cp = await startControlPlane({ controllerManager: false, scheduler: false })
    kc = new KubeConfig()
    kc.loadFromFile(cp.kubeconfigPath)
    await kubectlOk(cp.kubeconfigPath, ['apply', '-f', join(DEPLOY, 'crds')])
    await kubectlOk(cp.kubeconfigPath, ['wait', '--for=condition=Established', '--timeout=60s', '-f', join(DEPLOY, 'crds')])
  }, BUILD_TIMEOUT_MS)
  afterAll(async () => { await cp?.stop() })

  releasesSuite(async () => {
    const namespace = `rel-${++seq}`
    await kubectlOk(cp.kubeconfigPath, ['create', 'namespace', namespace])
    const versions = await crdStore<FunctionVersionResource>(kc, 'FunctionVersion', { namespace })
    const traffic = await crdStore<FunctionTrafficResource>(kc, 'FunctionTraffic', { namespace })
    return { stores: { versions, traffic }, close: async () => { await versions.close(); await traffic.close() } }
  })
})

const run = plan.run && existsSync(NODE_RUNTIME)

describe.skipIf(!run)('releases of Kiln in Kubernetes mode', () => {
  let h: Harness

  beforeAll(async () => {
    await ensureBinaries()
    h = await startHarness()
    await h.nodeRuntime(2)
  }, BUILD_TIMEOUT_MS)
  afterAll(async () => { await h?.stop() })

  const answer = (v: string) => `export default async () => ({ version: '${v}' })\n`
  const versionsSeen = async (url: string, n: number) => {
    const seen = new Set<string>()
    for (let i = 0; i < n; i++) {
      const r = await h.http(`${url}/fn/rel`)
      if (r.status === 200) seen.add(r.json().version)
    }
    return seen
  }

  it('versions made through the controller are FunctionVersion objects; a split is a FunctionTraffic object the executor serves', async () => {
    await h.deploySource('rel', answer('one'))
    const v2 = await h.http(`${h.controller.url}/v1/functions/rel`, { method: 'PUT', body: { metadata: { name: 'rel' }, spec: { ...(await h.http(`${h.controller.url}/v1/functions/rel`)).json().spec, env: { X: '2' } } } })
    expect(v2.status, v2.text).toBe(200)
    // Version 2 has the same code with another env; version 3 other code, recorded without traffic.
    await h.deploySource('rel-code', answer('three'))
    const code3 = (await h.http(`${h.controller.url}/v1/functions/rel-code`)).json().spec.package
    const v3 = await h.http(`${h.controller.url}/v1/functions/rel?promote=false`, { method: 'PUT', body: { metadata: { name: 'rel' }, spec: { ...v2.json().spec, package: code3 } } })
    expect(v3.status, v3.text).toBe(200)
    const objects = JSON.parse(await h.kubectl('get', 'functionversions', '-n', NS, '-l', 'kiln.dev/function=rel', '-o', 'json')).items
    expect(objects.map((o: any) => [o.metadata.name, o.spec.version]).sort()).toEqual([['rel-v1', 1], ['rel-v2', 2], ['rel-v3', 3]])
    expect(objects.find((o: any) => o.spec.version === 2).spec.changed).toEqual(['env'])

    const split = await h.http(`${h.controller.url}/v1/functions/rel/traffic`, { method: 'PUT', body: { targets: [{ version: 2, weight: 50 }, { version: 3, weight: 50 }] } })
    expect(split.status, split.text).toBe(200)
    const t = JSON.parse(await h.kubectl('get', 'functiontraffic', 'rel', '-n', NS, '-o', 'json'))
    expect(t.spec.traffic.targets).toEqual([{ version: 2, weight: 50 }, { version: 3, weight: 50 }])
    await waitUntil('the executor to serve both versions', async () => {
      const seen = await versionsSeen(h.executor.url, 10)
      return seen.has('one') && seen.has('three')
    }, 60_000)
  })

  it('the split survives an executor restart: a new executor serves it as it was', async () => {
    await h.executor.close()
    const next = await h.startExecutor('executor-test-1')
    await waitUntil('the new executor to lead', async () => next.leader?.isLeader, 60_000)
    await waitUntil('the new executor to serve both versions of the split', async () => {
      const seen = await versionsSeen(next.url, 10)
      return seen.has('one') && seen.has('three')
    }, 90_000)
    const status = (await h.http(`${next.url}/v1/functions/rel`)).json().status
    expect(status.traffic).toEqual([{ version: 2, weight: 50 }, { version: 3, weight: 50 }])
    expect((await h.http(`${next.url}/fn/rel@3`)).json().version).toBe('three')
    // Rollback through the controller; the executor follows the FunctionTraffic object.
    expect((await h.http(`${h.controller.url}/v1/functions/rel/rollback`, { method: 'POST', body: { to: 1 } })).status).toBe(200)
    await waitUntil('version 1 alone to serve', async () => {
      const seen = await versionsSeen(next.url, 6)
      return seen.size === 1 && seen.has('one')
    }, 60_000)
  })
})
