// The controller's read models of the event sources (controller/read-models.ts: Invocations,
// CronTriggers) over the invocation store, the dispatcher and the cron source.
import { KilnError } from '../core/errors.js'
import { refOfMeta } from '../core/refs.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { CronTriggerResource, FunctionResource } from '../core/types.js'
import type { CronTriggers, Invocations } from '../controller/read-models.js'
import type { InvocationStatus, InvocationStore } from '../triggers/async/store.js'
import { FINAL_STATUSES } from '../triggers/async/store.js'
import { invocationView, summaryView } from '../triggers/async/view.js'
import { checkCronTrigger } from '../triggers/cron/check.js'
import { parseSchedule } from '../triggers/cron/schedule.js'
import type { CronStore } from '../triggers/cron/store.js'

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

export function invocationsView(store: InvocationStore, dispatch: { poke(): void; cancel(id: string, message: string): Promise<boolean> }): Invocations {
  const find = async (id: string) => {
    const inv = await store.get(id)
    if (!inv) throw new KilnError('KILN_ERR_INVOCATION_NOT_FOUND', `invocation ${id} not found`)
    return inv
  }
  return {
    async get(id) {
      const inv = await store.get(id)
      return inv && invocationView(inv)
    },
    async list(filter) {
      return (await store.list({ ...filter, status: filter.status as InvocationStatus | undefined })).map(summaryView)
    },
    async retry(id) {
      const inv = await find(id)
      if (inv.status !== 'dead' && inv.status !== 'failed') throw new KilnError('KILN_ERR_CONFLICT', `invocation ${id} is ${inv.status}: only a dead or failed invocation is retried`)
      const again = await store.redrive(id, Date.now())
      dispatch.poke()
      return invocationView(again!)
    },
    async cancel(id) {
      const inv = await find(id)
      if (FINAL_STATUSES.has(inv.status)) throw new KilnError('KILN_ERR_CONFLICT', `invocation ${id} already ${inv.status}`)
      await dispatch.cancel(id, 'cancelled by request')
      return invocationView(await find(id))
    },
  }
}

export function cronView(o: {
  store: ResourceStore<CronTriggerResource>
  functions: ResourceStore<FunctionResource>
  progress: CronStore
  invocations: InvocationStore
}): CronTriggers {
  return {
    store: o.store,
    check: (body, namespace, urlName) => checkCronTrigger(body, o.functions, namespace, urlName),
    async status(t) {
      const p = await o.progress.get(refOfMeta(t.metadata))
      const anchor = Date.parse(t.metadata.createdAt ?? '') || Date.now()
      let nextRun: string | undefined
      try {
        nextRun = iso(parseSchedule(t.spec.schedule, { timezone: t.spec.timezone, anchor }).next(Math.max(p?.lastSlot ?? anchor, Date.now() - 1)))
      } catch { /* a stored schedule no longer valid: no next run */ }
      const out: Record<string, unknown> = { nextRun }
      if (p) {
        const inv = p.lastInvocationId !== undefined ? await o.invocations.get(p.lastInvocationId) : undefined
        out.lastRun = {
          at: iso(p.lastRunAt), outcome: p.lastOutcome,
          ...(p.lastInvocationId !== undefined ? { invocation: p.lastInvocationId } : {}),
          ...(inv ? { status: inv.status } : {}),
        }
      }
      return out
    },
  }
}
