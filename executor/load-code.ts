// Readies an instance for one version of a function, the step every strategy ends with
// (StrategyContext.load): the function's limits on the instance (cgroup or pod), its code where the
// instance sees it, its secrets, the runtime's specialize call (specialize.ts), and the warm-up
// requests when nobody waits. Resolves with the instance ready for the version; when it fails before
// the runtime took the code, the instance is generic again.
import type { Logger } from 'pino'
import type { ClusterBackend } from '../cluster/backend.js'
import { KilnError } from '../core/errors.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { RuntimeResource } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { instanceLimits, type FunctionState } from './function-state.js'
import { codeOwner } from './reuse-boundary.js'
import { deliverSecrets, type DeliveryTarget, type FunctionSecrets } from './secret-delivery.js'
import { specialize } from './specialize.js'
import { warmUp } from './warm-up.js'

export interface LoadDeps {
  backend: Pick<ClusterBackend, 'setLimits' | 'codeUrl' | 'stageCode'>
  packages: Pick<PackageStore, 'unpacked'>
  secrets: FunctionSecrets | undefined
  delivery: DeliveryTarget
  logger: Logger
  /** The version's runtime; throws when it is gone. */
  runtime(fs: FunctionState): RuntimeResource
}

export async function loadCode(rec: InstanceRecord, fs: FunctionState, background: boolean, d: LoadDeps): Promise<void> {
  const version = fs.version
  const fn = fs.fn
  rec.state = 'specializing'
  rec.fn = fs.name
  // From here on the instance may have run this function's code (reuse-boundary.ts).
  rec.ranFor ??= codeOwner(fn)
  rec.fnVersion = fs.fnVersion
  fs.loading.add(rec)
  const loadStartedAt = performance.now() // [metrics]
  try {
    // The function's limits hold from the moment its code loads (no cgroup writes when there are none).
    const limits = instanceLimits(fn)
    if (limits || rec.limited) {
      await d.backend.setLimits?.(rec.id, limits)
      rec.limited = limits !== null
    }
    const sha = fn.spec.package.sha256
    const url = d.backend.codeUrl?.(sha)
    // The backend hands the code over verified, where the instance sees it (the sandbox's code path).
    const code = url ? { url } : { path: d.backend.stageCode ? await d.backend.stageCode(rec.id, sha) : await d.packages.unpacked(sha) }
    const env = await deliverSecrets(rec, fn, d.secrets, d.delivery)
    await specialize({ rec, fn, version, runtime: d.runtime(fs), code, env })
    // Before anyone is served: the first real request then runs JIT-warm code, not the interpreter.
    if (background && fn.spec.warmup) await warmUp(rec, fs, fn.spec.warmup, d.logger)
  } catch (e) {
    if (rec.state === 'specializing') { rec.state = 'generic'; rec.fn = undefined }
    throw e
  } finally {
    fs.loading.delete(rec)
  }
  if (rec.state !== 'specializing') throw new KilnError('KILN_ERR_FUNCTION_CRASHED', `instance ${rec.id} died while loading "${fs.name}"`)
  rec.state = 'ready'
  rec.version = version
  rec.specializedAt = Date.now()
  rec.lastUsed = rec.specializedAt
  fs.specializations++
  fs.stats.loaded(rec, loadStartedAt, performance.now()) // [metrics]
}
