// `kiln inv ...`: async invocations: get (status, attempts, result, error, callback), list, retry a
// dead or failed one, cancel a queued or running one. An invocation belongs to its function's
// namespace: `-n NS` says which (for a token of several namespaces), `-A` lists across them.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printJson, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'

// The invocations API's records as this command reads them (JSON from controller/invocations.ts).
interface InvocationSummary { id: string; function: string; namespace?: string; status: string; attempts: number; source: string; createdAt: string; finishedAt?: string }
interface InvocationView extends InvocationSummary {
  startedAt?: string; nextAttemptAt?: string
  request: { method: string; path: string; bodyBytes: number }
  result?: { status: number; headers: Record<string, string | string[]>; body: string; encoding?: 'base64'; truncated?: boolean }
  error?: { code: string; message: string; status?: number }
  callback?: { url: string; state: string; attempts: number; error?: string; deliveredAt?: string }
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead']
const enc = encodeURIComponent
const took = (a?: string, b?: string) => (a && b ? `${Date.parse(b) - Date.parse(a)}ms` : undefined)

function printInvocation(x: InvocationView): void {
  const lines: [string, unknown][] = [
    ['invocation', x.id], ['function', x.function], ['namespace', x.namespace ?? 'default'], ['status', x.status], ['attempts', x.attempts], ['source', x.source],
    ['created', x.createdAt], ['finished', x.finishedAt], ['duration', took(x.startedAt ?? x.createdAt, x.finishedAt)],
    ['request', `${x.request.method} ${x.request.path} (${x.request.bodyBytes} bytes)`],
  ]
  if (x.nextAttemptAt) lines.push(['next attempt', x.nextAttemptAt])
  if (x.error) lines.push(['error', `${x.error.code}${x.error.status !== undefined ? ` (${x.error.status})` : ''}: ${x.error.message}`])
  if (x.callback) lines.push(['callback', `${x.callback.state} after ${x.callback.attempts} attempt(s) → ${x.callback.url}${x.callback.error ? ` (${x.callback.error})` : ''}`])
  if (x.result) lines.push(['result', `${x.result.status}${x.result.truncated ? ' (body truncated)' : ''}`])
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(13)}${v ?? '-'}\n`)
  if (x.result && x.result.body.length > 0) {
    process.stdout.write(`\n${x.result.encoding === 'base64' ? `(base64) ${x.result.body}` : x.result.body}\n`)
  }
}

export function registerInv(program: Command, g: Globals): void {
  const inv = program.command('inv').description('async invocations: status, results, retries')

  inv.command('get <id>').description('show an invocation: status, attempts, result, error, callback').action(async (id: string) => {
    const x = await api<InvocationView>(g.server(), 'GET', `/invocations/${enc(id)}`)
    if (g.output === 'json') return printJson(x)
    printInvocation(x)
  })

  inv.command('list').description('list invocations, newest first')
    .option('--function <name>', 'only this function\'s')
    .option('--status <status>', STATUSES.join(' | '))
    .option('--source <source>', 'only those from this source, e.g. cron/NAME')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (f: { function?: string; status?: string; source?: string; limit: string }) => {
      if (f.status !== undefined && !STATUSES.includes(f.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, EXIT.USER)
      const q = new URLSearchParams({ limit: String(Number(f.limit) || 100) })
      if (f.function) q.set('function', f.function)
      if (f.status) q.set('status', f.status)
      if (f.source) q.set('source', f.source)
      const conn = g.server()
      const list = await api<InvocationSummary[]>(conn, 'GET', `/invocations?${q}`)
      if (g.output === 'json') return printJson(list)
      const all = conn.all === true
      printTable([...(all ? ['NAMESPACE'] : []), 'INVOCATION', 'FUNCTION', 'STATUS', 'ATTEMPTS', 'SOURCE', 'AGE'], list.map((i) => [
        ...(all ? [i.namespace ?? 'default'] : []), i.id, i.function, i.status, i.attempts, i.source, since(i.createdAt),
      ]))
    })

  inv.command('retry <id>').description('queue a dead or failed invocation again, with a fresh count of attempts').action(async (id: string) => {
    const x = await api<InvocationView>(g.server(), 'POST', `/invocations/${enc(id)}/retry`)
    if (g.output === 'json') return printJson(x)
    if (!g.quiet) process.stderr.write(`invocation ${x.id} queued again\n`)
  })

  inv.command('cancel <id>').description('fail a queued or running invocation (KILN_ERR_CANCELLED)').action(async (id: string) => {
    const x = await api<InvocationView>(g.server(), 'POST', `/invocations/${enc(id)}/cancel`)
    if (g.output === 'json') return printJson(x)
    if (!g.quiet) process.stderr.write(`invocation ${x.id} cancelled\n`)
  })
}
