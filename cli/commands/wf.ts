// `kiln wf ...`: deploy, run and inspect workflows and their executions.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { api, CliError, EXIT } from '../client.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import { parseJsonData } from '../json-data.js'
import type { WorkflowResource } from '../../core/types.js'
import { isExecutionId } from '../../core/execution-ids.js'
import { refOf, workflowPath } from '../../core/refs.js'

// The executions API's records as this command reads them (JSON from controller/executions.ts).
interface ErrorInfo { code: string; message: string; status?: number; task?: string; executionId?: string }
interface TaskState { status: string; startedAt: string; finishedAt?: string; attempts: number; inputs?: unknown; output?: unknown; error?: ErrorInfo; childExecutionId?: string; caught?: ErrorInfo }
interface ExecutionSummary { id: string; workflow: string; status: string; createdAt: string; finishedAt?: string; parentId?: string }

type WorkflowView = WorkflowResource & { status?: { tasks?: number } }
type TaskView = TaskState & { durationMs?: number }
interface ExecutionView {
  id: string; workflow: string; status: string; input: unknown; output?: unknown; error?: ErrorInfo
  createdAt: string; finishedAt?: string; durationMs?: number; parentId?: string; tasks: Record<string, TaskView>
}

const enc = encodeURIComponent

/** `order.wf.yaml` → `order`: a Fission Workflows file has no name of its own. */
function nameFromFile(file: string): string {
  return basename(file).replace(/(\.wf)?\.(ya?ml|json)$/i, '')
}

function readWorkflowFile(file: string, f: { name?: string; format?: string } = {}): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.USER)
  }
  let doc: unknown
  try {
    doc = parseYaml(text) // YAML is a superset of JSON
  } catch (e) {
    throw new CliError(`${file}: not valid YAML or JSON: ${(e as Error).message}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliError(`${file}: a workflow is a map with name and tasks`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
  const d = doc as Record<string, unknown>
  // A Workflow resource file (`metadata`, `spec`) is sent as it is; a plain workflow document is wrapped.
  if (d.spec !== undefined || d.metadata !== undefined) return d
  if (f.format !== undefined && f.format !== 'fission' && f.format !== 'kiln') throw new CliError(`--format: fission or kiln, not "${f.format}"`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
  if (f.format === 'fission') d.format = 'fission'
  if (f.name !== undefined) d.name = f.name
  // A Fission Workflows file has no name of its own; a Kiln one without a name is named the same way.
  else if (d.name === undefined) d.name = nameFromFile(file)
  if (typeof d.name !== 'string' || d.name === '') throw new CliError(`${file}: name: is required (the workflow's name comes from the file)`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
  return { metadata: { name: d.name }, spec: d }
}

function kindOf(t: Record<string, unknown> | null): string {
  if (t === null) return 'none'
  if (t.run !== undefined || t.inputs !== undefined) return `run ${t.run ?? 'noop'}`
  if (t.function !== undefined) return `function ${t.function}`
  if (t.workflow !== undefined) return `workflow ${t.workflow}`
  if (t.switch !== undefined) return `switch (${(t.switch as unknown[]).length} cases)`
  if (t.foreach !== undefined) return 'foreach'
  if (t.sleep !== undefined) return `sleep ${t.sleep}`
  return '?'
}

const short = (v: unknown, n = 60) => {
  if (v === undefined) return undefined
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s.length > n ? s.slice(0, n - 1) + '…' : s
}
const dur = (ms: number | undefined) => (ms === undefined ? undefined : ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(2)}s`)
const errText = (e: ErrorInfo) => `${e.code}${e.status !== undefined ? ` (${e.status})` : ''}: ${e.message}`

function failed(exec: ExecutionView): CliError {
  const e = exec.error ?? { code: 'KILN_ERR_TASK_FAILED', message: 'failed' }
  return new CliError(`execution ${exec.id} failed${e.task ? ` at task ${e.task}` : ''}: ${errText(e)}`, EXIT.USER, `see every task with \`kiln wf get ${exec.id}\``, e.code)
}

function printExecution(x: ExecutionView): void {
  const lines: [string, unknown][] = [
    ['execution', x.id], ['workflow', x.workflow], ['status', x.status], ['started', x.createdAt],
    ['duration', dur(x.durationMs) ?? (x.status === 'running' ? `running for ${since(x.createdAt)}` : undefined)],
  ]
  if (x.parentId) lines.push(['parent', x.parentId])
  if (x.error) lines.push(['error', `${x.error.task ? `${x.error.task}: ` : ''}${errText(x.error)}`])
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(12)}${v ?? '-'}\n`)
  const tasks = Object.entries(x.tasks).sort((a, b) => a[1].startedAt.localeCompare(b[1].startedAt) || a[0].localeCompare(b[0]))
  if (tasks.length) {
    process.stdout.write('\n')
    printTable(['TASK', 'STATUS', 'ATTEMPTS', 'DURATION', 'OUTPUT / ERROR'], tasks.map(([path, t]) => [
      path, t.caught ? `${t.status} (caught)` : t.status, t.attempts, dur(t.durationMs),
      t.error && t.status !== 'succeeded' ? short(errText(t.error), 80) : t.childExecutionId && t.status !== 'succeeded' ? `child ${t.childExecutionId}` : short(t.output),
    ]))
  }
  if (x.status === 'succeeded') process.stdout.write(`\noutput\n${JSON.stringify(x.output, null, 2)}\n`)
}

export function registerWf(program: Command, g: Globals): void {
  const wf = program.command('wf').description('deploy, run and inspect workflows')

  wf.command('deploy <file>')
    .description("deploy (create or update) a workflow from a YAML or JSON file, Kiln's format or Fission Workflows' (*.wf.yaml)")
    .option('--name <name>', "the workflow's name (default: the file's `name`, or for a Fission Workflows file its file name)")
    .option('--format <format>', 'fission or kiln (default: detected from the shape)')
    .action(async (file: string, f: { name?: string; format?: string }) => {
      const body = readWorkflowFile(file, f)
      const name = String((body.metadata as { name?: unknown })?.name ?? (body.spec as { name?: unknown })?.name ?? '')
      // A file that names its namespace deploys there unless -n says otherwise (the server checks they agree).
      const fileNs = (body.metadata as { namespace?: unknown } | undefined)?.namespace
      const conn = g.server()
      const target = typeof fileNs === 'string' && conn.namespace === undefined ? { ...conn, namespace: fileNs } : conn
      const w = await api<WorkflowView>(target, 'PUT', `/workflows/${enc(name)}`, body)
      if (structured(g.output)) return printData(g.output, w)
      if (!g.quiet) process.stderr.write(`workflow ${w.metadata.name} deployed: version ${w.metadata.generation}, ${w.status?.tasks ?? '?'} task(s) — run it with \`kiln wf run ${w.metadata.name} --data JSON\` or POST ${conn.url}${workflowPath(refOf(w.metadata.namespace, w.metadata.name))}\n`)
    })

  wf.command('list').description('list workflows').action(async () => {
    const list = await api<WorkflowView[]>(g.server(), 'GET', '/workflows')
    if (structured(g.output)) return printData(g.output, list)
    printTable(['NAME', 'TASKS', 'VERSION', 'AGE', 'DESCRIPTION'], list.map((w) => [
      w.metadata.name, w.status?.tasks, w.metadata.generation, since(w.metadata.createdAt), short(w.spec.description, 50),
    ]))
  })

  wf.command('get <name-or-execution>')
    .description('show a workflow, or an execution (status, per-task timing, outputs, errors) given its id')
    .action(async (target: string) => {
      if (isExecutionId(target)) {
        const x = await api<ExecutionView>(g.server(), 'GET', `/executions/${enc(target)}`)
        if (structured(g.output)) return printData(g.output, x)
        return printExecution(x)
      }
      const w = await api<WorkflowView>(g.server(), 'GET', `/workflows/${enc(target)}`)
      const recent = await api<ExecutionSummary[]>(g.server(), 'GET', `/executions?workflow=${enc(target)}&limit=5`)
      if (structured(g.output)) return printData(g.output, w)
      const s = w.spec as Record<string, unknown>
      for (const [k, v] of [['name', w.metadata.name], ['description', s.description], ['version', w.metadata.generation], ['updated', w.metadata.updatedAt]] as const) {
        process.stdout.write(`${k.padEnd(13)}${v ?? '-'}\n`)
      }
      process.stdout.write('\n')
      const tasks = (s.tasks ?? {}) as Record<string, Record<string, unknown> | null>
      printTable(['TASK', 'KIND', 'REQUIRES'], Object.entries(tasks).map(([n, t]) => [n, kindOf(t), (t?.requires as string[] | undefined)?.join(', ')]))
      if (recent.length) {
        process.stdout.write('\n')
        printTable(['EXECUTION', 'STATUS', 'AGE'], recent.map((e) => [e.id, e.status, since(e.createdAt)]))
      }
    })

  wf.command('run <name>')
    .description('run a workflow and print its output (or, with --async, the execution id)')
    .option('-d, --data <json>', 'the input as JSON (@file reads a file, @- standard input)')
    .option('--async', 'do not wait: print the execution id')
    .action(async (name: string, f: { data?: string; async?: boolean }) => {
      const input = parseJsonData(f.data)
      if (f.async) {
        const r = await api<{ executionId: string }>(g.server(), 'POST', `/workflows/${enc(name)}/executions?async=1`, input ?? null)
        if (structured(g.output)) return printData(g.output, r)
        process.stdout.write(`${r.executionId}\n`)
        return
      }
      const x = await api<ExecutionView>(g.server(), 'POST', `/workflows/${enc(name)}/executions`, input ?? null)
      if (structured(g.output)) {
        printData(g.output, x)
        if (x.status !== 'succeeded') process.exitCode = EXIT.USER
        return
      }
      if (x.status !== 'succeeded') throw failed(x)
      process.stdout.write(JSON.stringify(x.output, null, 2) + '\n')
    })

  wf.command('executions [workflow]')
    .description('list recent executions, newest first')
    .option('--status <status>', 'running | succeeded | failed')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (workflow: string | undefined, f: { status?: string; limit: string }) => {
      const q = new URLSearchParams({ limit: String(Number(f.limit) || 20) })
      if (workflow) q.set('workflow', workflow)
      if (f.status) q.set('status', f.status)
      const list = await api<ExecutionSummary[]>(g.server(), 'GET', `/executions?${q}`)
      if (structured(g.output)) return printData(g.output, list)
      printTable(['EXECUTION', 'WORKFLOW', 'STATUS', 'AGE', 'PARENT'], list.map((e) => [e.id, e.workflow, e.status, since(e.createdAt), e.parentId]))
    })

  wf.command('events <execution>').description("print an execution's history").action(async (id: string) => {
    const events = await api<Array<{ type: string; at: string; task?: string; state?: TaskState; error?: ErrorInfo }>>(g.server(), 'GET', `/executions/${enc(id)}/events`)
    if (structured(g.output)) return printData(g.output, events)
    printTable(['AT', 'EVENT', 'TASK', 'DETAIL'], events.map((e) => [
      e.at, e.type, e.task, e.state?.error && e.type !== 'task.succeeded' ? short(errText(e.state.error), 70) : e.error ? short(errText(e.error), 70) : e.state ? `attempt ${e.state.attempts}` : undefined,
    ]))
  })

  wf.command('cancel <execution>').description('cancel a running execution').action(async (id: string) => {
    const x = await api<ExecutionView>(g.server(), 'POST', `/executions/${enc(id)}/cancel`)
    if (structured(g.output)) return printData(g.output, x)
    if (!g.quiet) process.stderr.write(`cancelled execution ${x.id}\n`)
  })

  wf.command('delete <name>').description('delete a workflow (running executions finish)').action(async (name: string) => {
    await api(g.server(), 'DELETE', `/workflows/${enc(name)}`)
    if (!g.quiet) process.stderr.write(`deleted workflow ${name}\n`)
  })
}
