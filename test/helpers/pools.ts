import type { TestPlatform } from './platform.js'
import { until } from './until.js'

/** Waits until the runtime's generic pool holds its target (so the next cold start takes from it). */
export async function poolFull(p: TestPlatform, runtime = 'node'): Promise<void> {
  await until(`the ${runtime} pool to be full`, async () => {
    const pools = (await p.call('/v1/pools')).json() as { runtime: string; target: number; ready: number }[]
    return pools.find((x) => x.runtime === runtime && x.ready >= x.target)
  })
}
