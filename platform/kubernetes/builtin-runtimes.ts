// The runtimes an installation ships with on Kubernetes: the chart's `runtimes` values (images, pool
// sizes), passed to the controller as KILN_RUNTIMES and registered as Runtime resources when it starts,
// as `kiln up` registers its built-in ones (platform/builtin-runtimes.ts). The chart owns what it sets:
// a Runtime it lists is created when missing and has its image, pool size, protocol, language, port and
// environment set back to the chart's on every start (`helm upgrade` changes them; `kiln pool set` lasts
// until the next restart of the controller). Runtimes it does not list are left alone.
import type { Logger } from 'pino'
import { KilnError } from '../../core/errors.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { RuntimeResource, RuntimeSpec } from '../../core/types.js'
import { validateResource } from '../../core/validate.js'

export const BUILTIN_LABEL = 'kiln.dev/builtin'

/** KILN_RUNTIMES: `{"node": {"image": "...", "poolSize": 3, "language": "node"}, ...}` → Runtime resources. */
export function parseRuntimes(json: string): RuntimeResource[] {
  let doc: unknown
  try {
    doc = JSON.parse(json)
  } catch (e) {
    throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIMES: not JSON (${(e as Error).message})`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new KilnError('KILN_ERR_VALIDATION', 'KILN_RUNTIMES: must be an object of runtime name → spec')
  return Object.entries(doc as Record<string, unknown>).map(([name, spec]) => {
    try {
      return validateResource<RuntimeResource>('Runtime', { metadata: { name, labels: { [BUILTIN_LABEL]: 'true' } }, spec: { protocol: 'kiln', ...(spec as object) } })
    } catch (e) {
      throw new KilnError('KILN_ERR_VALIDATION', `KILN_RUNTIMES: ${(e as Error).message}`)
    }
  })
}

const OWNED: (keyof RuntimeSpec)[] = ['image', 'poolSize', 'protocol', 'language', 'port', 'env', 'command']

/** Creates the listed runtimes, or sets the fields the chart owns back to its values; returns those written. */
export async function registerRuntimes(store: ResourceStore<RuntimeResource>, list: RuntimeResource[], logger: Logger): Promise<string[]> {
  const written: string[] = []
  for (const want of list) {
    const have = store.get(want.metadata.name)
    let next: RuntimeResource
    if (!have) next = want
    else {
      const spec: RuntimeSpec = { ...have.spec }
      for (const k of OWNED) {
        if (want.spec[k] === undefined) delete spec[k]
        else (spec as Record<string, unknown>)[k] = want.spec[k]
      }
      const labels = { ...have.metadata.labels, ...want.metadata.labels }
      if (JSON.stringify(spec) === JSON.stringify(have.spec) && JSON.stringify(labels) === JSON.stringify(have.metadata.labels)) continue
      next = { ...have, metadata: { ...have.metadata, labels }, spec }
    }
    await store.put(next)
    written.push(want.metadata.name)
    logger.info({ runtime: want.metadata.name, image: want.spec.image, poolSize: want.spec.poolSize, created: !have }, 'built-in runtime registered')
  }
  return written
}
