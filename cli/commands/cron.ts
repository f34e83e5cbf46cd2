// `kiln cron ...`: cron triggers: a schedule that starts a function of the trigger's own namespace (as
// an async invocation). `-n NS` says which namespace, `-A` lists across them.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printJson, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import { parseJsonData } from '../json-data.js'
import type { CronTriggerResource } from '../../core/types.js'

interface CronStatus { nextRun?: string; lastRun?: { at: string; outcome: string; invocation?: string; status?: string } }
type CronView = CronTriggerResource & { status: CronStatus }

const POLICIES = ['allow', 'forbid', 'replace']
const enc = encodeURIComponent

const lastRun = (s: CronStatus) => {
  const l = s.lastRun
  if (!l) return undefined
  return `${since(l.at)} ago: ${l.outcome === 'skipped' ? 'skipped' : (l.status ?? l.outcome)}`
}

export function registerCron(program: Command, g: Globals): void {
  const cron = program.command('cron').description('cron triggers: run a function on a schedule')

  cron.command('add <name>')
    .description('run a function on a schedule: 5-field cron, 6 fields with seconds, @hourly, or @every 10s')
    .requiredOption('--function <name>', 'the function to run (of the trigger\'s namespace)')
    .requiredOption('--schedule <spec>', "e.g. '*/5 * * * *', '*/10 * * * * *', '@every 30s'")
    .option('--tz <zone>', 'IANA time zone of the schedule, e.g. Asia/Seoul (default UTC)')
    .option('--concurrency <policy>', 'when the previous run is still going: allow | forbid | replace', 'allow')
    .option('--data <json>', 'JSON body of each run (@file reads a file)')
    .action(async (name: string, f: { function: string; schedule: string; tz?: string; concurrency: string; data?: string }) => {
      if (!POLICIES.includes(f.concurrency)) throw new CliError(`--concurrency must be one of ${POLICIES.join(', ')}`, EXIT.USER)
      const data = parseJsonData(f.data)
      const body = {
        metadata: { name },
        spec: { function: f.function, schedule: f.schedule, concurrency: f.concurrency, ...(f.tz ? { timezone: f.tz } : {}), ...(data !== undefined ? { data } : {}) },
      }
      const t = await api<CronView>(g.server(), 'POST', '/crontriggers', body)
      if (g.output === 'json') return printJson(t)
      const ns = t.metadata.namespace && t.metadata.namespace !== 'default' ? ` in namespace ${t.metadata.namespace}` : ''
      if (!g.quiet) process.stderr.write(`cron trigger ${t.metadata.name}${ns}: ${t.spec.schedule}${t.spec.timezone ? ` (${t.spec.timezone})` : ''} -> ${t.spec.function}; next run ${t.status.nextRun ?? '-'}\n`)
    })

  cron.command('list').description('list cron triggers with their next and last run').action(async () => {
    const conn = g.server()
    const list = await api<CronView[]>(conn, 'GET', '/crontriggers')
    if (g.output === 'json') return printJson(list)
    const all = conn.all === true
    printTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'SCHEDULE', 'FUNCTION', 'CONCURRENCY', 'NEXT RUN', 'LAST RUN', 'LAST INVOCATION'], list.map((t) => [
      ...(all ? [t.metadata.namespace ?? 'default'] : []), t.metadata.name, `${t.spec.schedule}${t.spec.timezone ? ` (${t.spec.timezone})` : ''}`, t.spec.function, t.spec.concurrency ?? 'allow',
      t.status.nextRun, lastRun(t.status), t.status.lastRun?.invocation,
    ]))
  })

  cron.command('get <name>').description('show a cron trigger').action(async (name: string) => {
    const t = await api<CronView>(g.server(), 'GET', `/crontriggers/${enc(name)}`)
    if (g.output === 'json') return printJson(t)
    const lines: [string, unknown][] = [
      ['name', t.metadata.name], ['namespace', t.metadata.namespace ?? 'default'], ['function', t.spec.function], ['schedule', t.spec.schedule], ['timezone', t.spec.timezone ?? 'UTC'],
      ['concurrency', t.spec.concurrency ?? 'allow'], ['data', t.spec.data === undefined ? undefined : JSON.stringify(t.spec.data)],
      ['next run', t.status.nextRun], ['last run', lastRun(t.status)], ['last invocation', t.status.lastRun?.invocation],
    ]
    for (const [k, v] of lines) process.stdout.write(`${k.padEnd(17)}${v ?? '-'}\n`)
  })

  cron.command('delete <name>').description('delete a cron trigger (runs already started go on)').action(async (name: string) => {
    await api(g.server(), 'DELETE', `/crontriggers/${enc(name)}`)
    if (!g.quiet) process.stderr.write(`deleted cron trigger ${name}\n`)
  })
}
