// Deployed workflows as the engine and the control API see them: Workflow resources in the platform's
// resource store, checked at deploy time (structure, references, cycles, functions, nested workflows)
// and parsed once per stored version, so starting an execution does no parsing. A workflow lives in a
// namespace and calls only that namespace's functions and workflows: the parsed spec the engine runs
// names them by ref (core/refs.ts), resolved here once.
import { Ajv } from 'ajv'
import { KilnError } from '../../core/errors.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import { API_VERSION, WorkflowResource, type FunctionResource } from '../../core/types.js'
import { describeError } from '../../core/validate.js'
import { parseWorkflow, type StepSpec, type WorkflowSpec } from '../spec.js'
import { validateWorkflow } from '../validate.js'
import { externalReferences } from '../fission/run-task.js'
import { EXECUTION_PREFIX, isExecutionId } from '../../core/execution-ids.js'
import { isName, namespaceOf, refOf, refOfMeta } from '../../core/refs.js'

const checkEnvelope = new Ajv({ allErrors: false, strict: false, verbose: true }).compile(WorkflowResource)

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The workflows a step list refers to, nested steps included. */
function referencedWorkflows(step: StepSpec, out: Set<string>): Set<string> {
  if (step.workflow !== undefined) out.add(step.workflow)
  // a Fission Workflows task's `run` may name a workflow (without fission://)
  if (step.fission) for (const r of externalReferences(step.fission, '')) if (!r.strict) out.add(r.name)
  if (step.do) referencedWorkflows(step.do, out)
  if (step.catch) referencedWorkflows(step.catch, out)
  for (const c of step.switch ?? []) {
    if (c.then) referencedWorkflows(c.then, out)
    if (c.else) referencedWorkflows(c.else, out)
  }
  return out
}

/** The functions a step list calls (names in the workflow's namespace), nested steps included. */
function calledFunctions(step: StepSpec, out: Set<string>): Set<string> {
  if (step.function !== undefined) out.add(step.function)
  // a Fission Workflows task's `run` names a function (or a workflow: both are checked by name)
  if (step.fission) for (const r of externalReferences(step.fission, '')) out.add(r.name)
  if (step.do) calledFunctions(step.do, out)
  if (step.catch) calledFunctions(step.catch, out)
  for (const c of step.switch ?? []) {
    if (c.then) calledFunctions(c.then, out)
    if (c.else) calledFunctions(c.else, out)
  }
  return out
}

/** The step with its function and workflow names resolved to refs in `ns` (a copy; nested steps too). */
function resolveStep<S extends StepSpec>(step: S, ns: string): S {
  const out: S = { ...step }
  if (step.function !== undefined) out.function = refOf(ns, step.function)
  if (step.workflow !== undefined) out.workflow = refOf(ns, step.workflow)
  if (step.do) out.do = resolveStep(step.do, ns)
  if (step.catch) out.catch = resolveStep(step.catch, ns)
  if (step.switch) out.switch = step.switch.map((c) => ({ ...c, ...(c.then ? { then: resolveStep(c.then, ns) } : {}), ...(c.else ? { else: resolveStep(c.else, ns) } : {}) }))
  return out
}

export class WorkflowCatalog {
  private readonly parsed = new WeakMap<WorkflowResource, WorkflowSpec>()

  constructor(
    readonly store: ResourceStore<WorkflowResource>,
    private readonly functions: ResourceStore<FunctionResource>,
  ) {}

  /** The parsed spec of a deployed workflow (what the engine runs; functions and workflows by ref), or undefined. */
  spec(ref: string): WorkflowSpec | undefined {
    const res = this.store.get(ref)
    if (!res) return undefined
    let spec = this.parsed.get(res)
    if (!spec) {
      const parsed = parseWorkflow(res.spec)
      const ns = namespaceOf(ref)
      const tasks: WorkflowSpec['tasks'] = {}
      for (const [name, t] of Object.entries(parsed.tasks)) tasks[name] = resolveStep(t, ns)
      spec = { ...parsed, tasks }
      this.parsed.set(res, spec)
    }
    return spec
  }

  /**
   * Turns a request body into a checked Workflow resource. Takes either the resource
   * (`{metadata: {name}, spec: {...workflow}}`) or the workflow document itself (`{name, tasks, ...}`).
   * Throws KILN_ERR_VALIDATION naming the field (e.g. `tasks.price.function: unknown function "prise"`).
   */
  async check(body: unknown, urlName: string | undefined, namespace: string): Promise<WorkflowResource> {
    if (!isObject(body)) throw new KilnError('KILN_ERR_VALIDATION', 'Workflow: the body must be a workflow (YAML as JSON) or a Workflow resource')
    let res: Record<string, unknown>
    if ('spec' in body || 'metadata' in body) {
      const meta = isObject(body.metadata) ? body.metadata : {}
      const spec = body.spec
      const name = (meta.name ?? (isObject(spec) ? spec.name : undefined) ?? urlName) as unknown
      res = { ...body, metadata: { ...meta, name }, spec: isObject(spec) ? { ...spec, name: spec.name ?? name } : spec }
    } else {
      res = { metadata: { name: body.name ?? urlName }, spec: body.name === undefined && urlName !== undefined ? { ...body, name: urlName } : body }
    }
    if (!checkEnvelope(res)) {
      const err = checkEnvelope.errors?.[0]
      throw new KilnError('KILN_ERR_VALIDATION', `Workflow: ${err ? describeError(err) : 'invalid'}`)
    }
    const wf = res as unknown as WorkflowResource
    const name = wf.metadata.name
    if (wf.metadata.namespace !== undefined && wf.metadata.namespace !== namespace) {
      throw new KilnError('KILN_ERR_VALIDATION', `metadata.namespace: "${wf.metadata.namespace}" is not the request's namespace "${namespace}" (send it with -n ${wf.metadata.namespace})`)
    }
    if (wf.spec.name !== name) throw new KilnError('KILN_ERR_VALIDATION', `name: "${String(wf.spec.name)}" does not match metadata.name "${name}"`)
    if (urlName !== undefined && name !== urlName) throw new KilnError('KILN_ERR_VALIDATION', `name: "${name}" does not match the URL's "${urlName}"`)
    if (isExecutionId(name)) throw new KilnError('KILN_ERR_VALIDATION', `name: "${name}" looks like an execution id (${EXECUTION_PREFIX}… or a UUID); choose another name`)
    // Names only: a workflow calls the functions and workflows of its own namespace.
    await validateWorkflow(wf.spec, {
      functionExists: (fn) => isName(fn) && this.functions.get(refOf(namespace, fn)) !== undefined,
      // A workflow may start itself (the engine bounds the depth); others must be deployed first.
      workflowExists: (w) => w === name || (isName(w) && this.store.get(refOf(namespace, w)) !== undefined),
    })
    return { apiVersion: API_VERSION, kind: 'Workflow', metadata: { ...wf.metadata, namespace }, spec: wf.spec }
  }

  /** Refs of the workflows (of the function's namespace) whose steps call the function `ref`. */
  callers(ref: string): string[] {
    const ns = namespaceOf(ref)
    const name = ref.slice(ref.indexOf('/') + 1)
    return this.store.list().filter((w) => (w.metadata.namespace ?? 'default') === ns)
      .filter((w) => Object.values(this.spec(refOfMeta(w.metadata))?.tasks ?? {}).some((t) => calledFunctions(t, new Set()).has(name) || calledFunctions(t, new Set()).has(ref)))
      .map((w) => refOfMeta(w.metadata))
  }

  /** Refs of the workflows whose steps start the workflow `ref` (other than itself). */
  usedBy(ref: string): string[] {
    const out: string[] = []
    for (const w of this.store.list()) {
      const r = refOfMeta(w.metadata)
      if (r === ref) continue
      const spec = this.spec(r)
      if (spec && Object.values(spec.tasks).some((t) => referencedWorkflows(t, new Set()).has(ref))) out.push(r)
    }
    return out
  }
}
