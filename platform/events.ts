// The event sources put together for the assembly: async invocations (the data plane's entry, the
// acceptor, the dispatcher and its callbacks) and cron triggers, over the platform's state, calling
// functions through the one Invoker; with their read models for the control API, and the state
// store's health for /healthz, /readyz and `kiln_state_store_up`.
import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import { HostAllowlist } from '../core/allowlist.js'
import type { KilnConfig } from '../core/config.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { CronTriggerResource, FunctionResource } from '../core/types.js'
import type { CronTriggers, Invocations } from '../controller/read-models.js'
import type { AsyncEntry, CallerIdentity } from '../router/data-plane.js'
import { Acceptor } from '../triggers/async/accept.js'
import { CallbackSender } from '../triggers/async/callback.js'
import { AsyncDispatcher } from '../triggers/async/dispatcher.js'
import { asyncEntry } from '../triggers/async/http-entry.js'
import { CronSource } from '../triggers/cron/source.js'
import type { Invoker } from '../triggers/invoker.js'
import type { TriggerSource } from '../triggers/source.js'
import { cronView, invocationsView } from './events-read-models.js'
import type { PlatformState } from './state.js'

export interface EventsOptions {
  config: KilnConfig
  logger: Logger
  state: PlatformState
  functions: ResourceStore<FunctionResource>
  cronTriggers: ResourceStore<CronTriggerResource>
  invoker: Invoker
  /** checks the callers of private functions' async calls (as the data plane does their synchronous ones) */
  auth: CallerIdentity
  /** this process, as the holder of leases on invocations and schedules */
  owner: string
  /** the one platform of its data dir (kiln up): claims left by a previous run come back at start */
  recoverAll: boolean
  registry: Registry
}

export interface EventParts {
  readonly sources: TriggerSource[]
  readonly entry: AsyncEntry
  readonly dispatcher: AsyncDispatcher
  readonly cron: CronSource
  readonly read: { invocations: Invocations; cron: CronTriggers }
  /** The platform listens: dispatch may begin. */
  ready(): void
  close(): Promise<void>
}

export function assembleEvents(o: EventsOptions): EventParts {
  const { state, logger } = o
  const log = logger.child({ part: 'events' })
  let markReady!: () => void
  const ready = new Promise<void>((r) => { markReady = r })
  const allowlist = new HostAllowlist(o.config.callbackHosts)
  const callbacks = new CallbackSender({ store: state.invocations, allowlist, logger: log })
  let dispatcher: AsyncDispatcher | undefined
  const acceptor = new Acceptor({ store: state.invocations, functions: o.functions, health: state.health, allowlist, onAccepted: () => dispatcher?.poke() })
  dispatcher = new AsyncDispatcher({
    store: state.invocations, invoker: o.invoker, functions: o.functions, health: state.health, callbacks, logger: log,
    owner: o.owner, instanceBudget: o.config.instanceBudget, maxResultBytes: o.config.asyncMaxBodyBytes, recoverAll: o.recoverAll,
    ready, registry: o.registry,
  })
  const d = dispatcher
  const cron = new CronSource({
    triggers: o.cronTriggers, progress: state.cron, invocations: state.invocations, acceptor, health: state.health, logger: log,
    owner: o.owner, ready, cancel: (id, message) => d.cancel(id, message),
  })
  const health = state.health
  new Gauge({ name: 'kiln_state_store_up', help: '1 while the state store (SQLite or Redis) answers', labelNames: ['store'], registers: [o.registry], collect() { this.set({ store: health.store }, health.up ? 1 : 0) } })
  return {
    sources: [d, cron],
    entry: asyncEntry({ acceptor, functions: o.functions, auth: o.auth, maxBodyBytes: o.config.asyncMaxBodyBytes, platformMaxBodyBytes: o.config.maxBodyBytes }),
    dispatcher: d,
    cron,
    read: {
      invocations: invocationsView(state.invocations, d),
      cron: cronView({ store: o.cronTriggers, functions: o.functions, progress: state.cron, invocations: state.invocations }),
    },
    ready: markReady,
    close: () => callbacks.close(),
  }
}
