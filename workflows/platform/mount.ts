// Mounts the workflow engine in the platform: the deployed workflows (a resource store), the execution
// store (the platform's state: SQLite, or Redis with --redis), the engine calling functions through the platform's Invoker,
// and the data plane's entry (`/wf/NAME`, routes to workflows). `start()` once the platform listens
// (resumes unfinished executions); `close()` before the router and executor stop.
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { FunctionResource, WorkflowResource } from '../../core/types.js'
import type { WorkflowEntry } from '../../router/plugin.js'
import type { Invoker } from '../../triggers/invoker.js'
import { WorkflowEngine } from '../engine.js'
import { WorkflowCatalog } from './catalog.js'
import type { OpenedExecutionStore } from './execution-store.js'
import { httpEntry, workflowDataPlane } from './http-entry.js'
import { FunctionInvoker } from './invoker.js'
import { HostAllowlist } from '../../core/allowlist.js'
import { fissionHttp } from '../fission/http-io.js'
import { registerFissionServices } from '../fission/services.js'
import { holdSandbox } from '../sandbox/sandbox.js'

export interface MountOptions {
  /** where executions live (platform/state.ts opens it) */
  executions: OpenedExecutionStore
  functions: ResourceStore<FunctionResource>
  workflows: ResourceStore<WorkflowResource>
  logger: Logger
  /** largest workflow input over HTTP, in bytes */
  maxBodyBytes: number
  /** how tasks call functions: the platform's one Invoker (it answers once the platform listens) */
  invoker: Invoker
  /** hosts the `http` task of Fission Workflows may reach (kiln.yaml callbackHosts) */
  callbackHosts?: string[]
}

export interface WorkflowsMount {
  readonly catalog: WorkflowCatalog
  readonly engine: WorkflowEngine
  readonly executions: OpenedExecutionStore
  /** for the router: routes whose target is a workflow */
  readonly entry: WorkflowEntry
  /** registers `/wf/:name` (call inside its own plugin scope) */
  dataPlane(app: FastifyInstance): Promise<void>
  /** once the platform listens: resume unfinished executions */
  start(): Promise<void>
  close(): Promise<void>
}

/** Input bodies are held in memory and stored with the execution; 16 MiB at most. */
const MAX_INPUT_BYTES = 16 * 1024 * 1024

export async function mountWorkflows(o: MountOptions): Promise<WorkflowsMount> {
  const log = o.logger.child({ part: 'workflows' })
  const executions = o.executions
  const catalog = new WorkflowCatalog(o.workflows, o.functions)
  const invoker = new FunctionInvoker(o.invoker)
  registerFissionServices(invoker, { allowlist: new HostAllowlist(o.callbackHosts ?? []) })
  const releaseSandbox = holdSandbox()
  const engine = new WorkflowEngine({ store: executions.store, invoker, getWorkflow: (name) => catalog.spec(name), logger: log })
  const adapterFor = (name: string) => (catalog.spec(name)?.format === 'fission' ? fissionHttp : undefined)
  const entry = httpEntry({ engine, maxBodyBytes: Math.min(o.maxBodyBytes, MAX_INPUT_BYTES), adapterFor })
  log.info({ store: executions.kind }, 'workflow engine mounted')

  let closing: Promise<void> | undefined
  return {
    catalog,
    engine,
    executions,
    entry,
    dataPlane: (app) => workflowDataPlane(app, entry),
    async start() {
      const resumed = await engine.resume()
      if (resumed.length > 0) log.warn({ executions: resumed.map((r) => r.executionId) }, 'resuming workflow executions left unfinished by the last run')
    },
    close() {
      closing ??= (async () => {
        await engine.close()
        await releaseSandbox()
        await executions.close()
      })()
      return closing
    },
  }
}
