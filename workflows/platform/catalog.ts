// Deployed workflows as the engine and the control API see them: Workflow resources in the platform's
// resource store, checked at deploy time (structure, references, cycles, functions, nested workflows)
// and parsed once per stored version, so starting an execution does no parsing.
import { Ajv } from 'ajv'
import { KilnError } from '../../core/errors.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import { API_VERSION, WorkflowResource, type FunctionResource } from '../../core/types.js'
import { describeError } from '../../core/validate.js'
import { parseWorkflow, type StepSpec, type WorkflowSpec } from '../spec.js'
import { validateWorkflow } from '../validate.js'
import { EXECUTION_PREFIX, isExecutionId } from '../../core/execution-ids.js'

const checkEnvelope = new Ajv({ allErrors: false, strict: false, verbose: true }).compile(WorkflowResource)

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The workflows a step list refers to, nested steps included. */
function referencedWorkflows(step: StepSpec, out: Set<string>): Set<string> {
  if (step.workflow !== undefined) out.add(step.workflow)
  if (step.do) referencedWorkflows(step.do, out)
  if (step.catch) referencedWorkflows(step.catch, out)
  for (const c of step.switch ?? []) {
    if (c.then) referencedWorkflows(c.then, out)
    if (c.else) referencedWorkflows(c.else, out)
  }
  return out
}

export class WorkflowCatalog {
  private readonly parsed = new WeakMap<WorkflowResource, WorkflowSpec>()

  constructor(
    readonly store: ResourceStore<WorkflowResource>,
    private readonly functions: ResourceStore<FunctionResource>,
  ) {}

  /** The parsed spec of a deployed workflow (what the engine runs), or undefined. */
  spec(name: string): WorkflowSpec | undefined {
    const res = this.store.get(name)
    if (!res) return undefined
    let spec = this.parsed.get(res)
    if (!spec) {
      spec = parseWorkflow(res.spec)
      this.parsed.set(res, spec)
    }
    return spec
  }

  /**
   * Turns a request body into a checked Workflow resource. Takes either the resource
   * (`{metadata: {name}, spec: {...workflow}}`) or the workflow document itself (`{name, tasks, ...}`).
   * Throws KILN_ERR_VALIDATION naming the field (e.g. `tasks.price.function: unknown function "prise"`).
   */
  async check(body: unknown, urlName?: string): Promise<WorkflowResource> {
    if (!isObject(body)) throw new KilnError('KILN_ERR_VALIDATION', 'Workflow: the body must be a workflow (YAML as JSON) or a Workflow resource')
    let res: Record<string, unknown>
    if ('spec' in body || 'metadata' in body) {
      const meta = isObject(body.metadata) ? body.metadata : {}
      const spec = body.spec
      const name = (meta.name ?? (isObject(spec) ? spec.name : undefined) ?? urlName) as unknown
      res = { ...body, metadata: { ...meta, name }, spec: isObject(spec) ? { ...spec, name: spec.name ?? name } : spec }
    } else {
      res = { metadata: { name: body.name ?? urlName }, spec: body }
    }
    if (!checkEnvelope(res)) {
      const err = checkEnvelope.errors?.[0]
      throw new KilnError('KILN_ERR_VALIDATION', `Workflow: ${err ? describeError(err) : 'invalid'}`)
    }
    const wf = res as unknown as WorkflowResource
    const name = wf.metadata.name
    if (wf.spec.name !== name) throw new KilnError('KILN_ERR_VALIDATION', `name: "${String(wf.spec.name)}" does not match metadata.name "${name}"`)
    if (urlName !== undefined && name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `name: "${name}" does not match the URL's "${urlName}"`)
    if (isExecutionId(name)) throw new KilnError('KILN_ERR_VALIDATION', `name: "${name}" looks like an execution id (${EXECUTION_PREFIX}… or a UUID); choose another name`)
    await validateWorkflow(wf.spec, {
      functionExists: (fn) => this.functions.get(fn) !== undefined,
      // A workflow may start itself (the engine bounds the depth); others must be deployed first.
      workflowExists: (w) => w === name || this.store.get(w) !== undefined,
    })
    return { apiVersion: API_VERSION, kind: 'Workflow', metadata: wf.metadata, spec: wf.spec }
  }

  /** Names of the workflows whose steps start `name` (other than itself). */
  usedBy(name: string): string[] {
    const out: string[] = []
    for (const w of this.store.list()) {
      if (w.metadata.name === name) continue
      const spec = this.spec(w.metadata.name)
      if (spec && Object.values(spec.tasks).some((t) => referencedWorkflows(t, new Set()).has(name))) out.push(w.metadata.name)
    }
    return out
  }
}
