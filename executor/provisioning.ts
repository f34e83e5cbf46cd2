// The executor's slow path: a request that found no free slot waits on a boot under way, starts one
// where the autoscaler's cap and the function's maximum allow, or waits in the version's FIFO queue
// (refused at once, 503 with Retry-After, when it is full). Boots that finish and slots that free up
// serve the queue in order.
import type { Logger } from 'pino'
import { KilnError } from '../core/errors.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { ScaleDecision } from './autoscale/decide.js'
import type { FunctionState, Provision, Waiter } from './function-state.js'
import { coldStartKind } from './stats.js'
import type { Strategy, StrategyContext } from './strategies/strategy.js'

/** Why a version has no more instances, for the queue-full message (autoscale/decide.ts limitedBy). */
const WHY_NO_MORE: Record<ScaleDecision['limitedBy'], string> = {
  max: 'its maximum', cpu: 'all the node\'s CPU can keep busy', first: 'its first is booting', measuring: 'more once measured',
  latency: 'more in flight only waits', router: 'the router is the bottleneck', probe: 'one more is being tried', throughput: 'more did not raise throughput',
}

/** What the slow path needs of the executor. */
export interface ProvisionHost {
  readonly ctx: StrategyContext
  readonly logger: Logger
  strategyOf(fs: FunctionState): Strategy
  closing(): boolean
  /** Stops an instance of an old version once its requests are done. */
  drain(rec: InstanceRecord, fs: FunctionState): void
  retire(rec: InstanceRecord): void
}

export class Provisioner {
  constructor(private readonly h: ProvisionHost) {}

  /** A slot for a request that found none free: on a boot under way, a new one, or from the queue. */
  wait(fs: FunctionState): Promise<InstanceRecord> {
    return new Promise<InstanceRecord>((resolve, reject) => {
      const w: Waiter = { resolve, reject }
      for (const p of fs.provisions) {
        if (p.version === fs.version && p.waiters.length < p.capacity) { p.waiters.push(w); return }
      }
      // Ready instances (a count FunctionState keeps: no scan per request) and boots under way.
      const live = fs.readyCount + fs.provisions.length
      // Another instance only where it helps (autoscale/): below the function's maximum and the cap the
      // autoscaler measured (CPU, instances not yet measured); else the request waits in the queue.
      if (live === 0 || (live < this.h.strategyOf(fs).maxInstances(fs) && live < fs.scale.cap)) {
        this.start(fs, false).waiters.push(w)
        return
      }
      // Requests the adaptive limit holds back (within the function's concurrency) do not count against its queue.
      if (fs.queue.length >= fs.queueSize + live * (fs.concurrency - fs.slots)) {
        fs.stats.rejected++ // [metrics]
        reject(new KilnError('KILN_ERR_QUEUE_FULL', `function "${fs.name}" has ${live} instance(s) busy (${WHY_NO_MORE[fs.scale.limitedBy]}) and its queue of ${fs.queueSize} is full`, { retryAfter: 1 }))
        return
      }
      fs.queue.push(w)
    })
  }

  /** Boots an instance for the version; `background`: nobody waits for it (warm sets, minimum scale). */
  start(fs: FunctionState, background: boolean): Provision {
    const p: Provision = { version: fs.version, capacity: fs.concurrency, waiters: [], done: Promise.resolve() }
    fs.provisions.push(p)
    if (!background) fs.coldStarts++
    const startedAt = Date.now() // [metrics] an instance started after this was booted for it
    const strategy = this.h.strategyOf(fs)
    p.done = strategy.provision(fs, this.h.ctx, background).then(
      (rec) => {
        fs.provisions.splice(fs.provisions.indexOf(p), 1)
        if (p.waiters.length > 0) fs.stats.coldStart(rec, coldStartKind(strategy.keepIdle(fs) > 0, rec, startedAt)) // [metrics]
        if (fs.deleted || this.h.closing()) {
          this.h.retire(rec)
          for (const w of p.waiters) w.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${fs.name}" was deleted`))
          return
        }
        fs.add(rec)
        rec.inflight += p.waiters.length
        for (const w of p.waiters) w.resolve(rec)
        if (rec.version !== fs.version) this.h.drain(rec, fs)
        else if (fs.queue.length > 0) this.serve(fs, rec)
      },
      (err: Error) => {
        fs.provisions.splice(fs.provisions.indexOf(p), 1)
        // No room for another instance (the budget is full of busy ones), but the version has instances:
        // its requests wait for their slots, as if it had not tried to grow.
        if (p.waiters.length > 0 && (err as KilnError).code === 'KILN_ERR_NO_CAPACITY' && fs.instances.some((r) => r.state === 'ready' && r.version === fs.version)) {
          fs.queue.unshift(...p.waiters)
          this.serveAll(fs)
          return
        }
        if (p.waiters.length === 0) this.h.logger.warn({ err, function: fs.name }, 'background specialization failed')
        for (const w of p.waiters) w.reject(err)
        // Queued requests waited for a slot that this provision would have made: let them fail alike
        // rather than hang, unless an instance remains to serve them.
        if (fs.instances.length === 0 && fs.provisions.length === 0) for (const w of fs.queue.splice(0)) w.reject(err)
      },
    )
    return p
  }

  /** Queued requests take the free slots of `rec`, oldest first. */
  serve(fs: FunctionState, rec: InstanceRecord): void {
    const slots = fs.slots
    while (fs.queue.length > 0 && rec.state === 'ready' && rec.version === fs.version && rec.inflight < slots && fs.policy.accepts(rec)) {
      rec.inflight++
      fs.queue.shift()!.resolve(rec)
    }
  }

  /** Queued requests take the free slots of every instance (a raised in-flight limit opened some). */
  serveAll(fs: FunctionState): void {
    for (const r of fs.instances) if (fs.queue.length > 0) this.serve(fs, r)
  }

  /**
   * After a scale decision: queued requests get the slots a raised in-flight limit opened, and another
   * instance as soon as the cap allows one.
   */
  grow(fs: FunctionState): void {
    if (fs.queue.length === 0 || fs.deleted || this.h.closing() || fs.retired) return
    this.serveAll(fs)
    if (fs.queue.length === 0) return
    const live = fs.ready().length + fs.provisions.filter((p) => p.version === fs.version).length
    if (live >= Math.min(fs.scale.cap, this.h.strategyOf(fs).maxInstances(fs))) return
    this.bootForQueue(fs)
  }

  /** Another instance for the queue: requests already waiting on a boot are served by it; the rest, from the front, wait on this one. */
  bootForQueue(fs: FunctionState): void {
    const p = this.start(fs, false)
    while (p.waiters.length < p.capacity && fs.queue.length > 0) p.waiters.push(fs.queue.shift()!)
  }
}
