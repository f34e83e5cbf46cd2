// The one pool-size policy (poolmgr/pool-size.ts), as the local pools and the Kubernetes pool
// Deployments apply it.
import { KubeConfig } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { PoolDeployments } from '../../../cluster/kubernetes/pools.js'
import { DEFAULT_NODES } from '../../../core/config.js'
import { silentLogger } from '../../../core/logger.js'
import type { RuntimeResource } from '../../../core/types.js'
import { poolTarget } from '../../../poolmgr/pool-size.js'

const rt = (poolSize?: number): RuntimeResource => ({ metadata: { name: 'node' }, spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', ...(poolSize === undefined ? {} : { poolSize }) } }) as RuntimeResource

describe('pool size policy', () => {
  it("keeps the runtime's poolSize, else the default, and at most one on a special placement", () => {
    expect(poolTarget(rt(5), 3)).toBe(5)
    expect(poolTarget(rt(), 3)).toBe(3)
    expect(poolTarget(rt(0), 3)).toBe(0)
    expect(poolTarget(rt(5), 3, true)).toBe(1)
    expect(poolTarget(rt(0), 3, true)).toBe(0)
  })

  it('Kubernetes pool Deployments follow it, with at least one replica (pods are only ever claimed from a pool)', async () => {
    const kc = new KubeConfig()
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' })
    const pools = new PoolDeployments(kc, {
      namespace: 'kiln', logger: silentLogger, isLeader: () => false, runtimes: () => [], runtime: () => undefined,
      poolSize: (r, special) => poolTarget(r, 3, special),
    })
    const isolated = DEFAULT_NODES.find((n) => n.name === 'isolated')
    expect(pools.replicas({ runtime: rt(5) })).toBe(5)
    expect(pools.replicas({ runtime: rt() })).toBe(3)
    expect(pools.replicas({ runtime: rt(0) })).toBe(1)
    expect(pools.replicas({ runtime: rt(5), node: isolated })).toBe(1)
    expect(pools.replicas({ runtime: rt(5), limits: { memoryBytes: 64 << 20 } })).toBe(1)
    await pools.close()
  })
})
