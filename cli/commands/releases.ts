// Releases (docs/releases.md): `kiln fn versions|rollback|split|canary` and `kiln alias set|list|delete`.
import type { Command } from 'commander'
import { api, CliError, EXIT } from '../client.js'
import { printJson, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'
import { parseDuration } from '../../core/quantity.js'
import type { Canary, FunctionTrafficResource, FunctionVersionResource, Split } from '../../core/types.js'

type VersionView = FunctionVersionResource & { status?: { weight: number; aliases: string[] } }
type TrafficView = FunctionTrafficResource & { status?: { latestVersion: number } }

const path = (name: string, rest = '') => `/functions/${encodeURIComponent(name)}${rest}`

function wholeNumber(flag: string) {
  return (v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number of at least 1, got "${v}"`, EXIT.USER)
    return n
  }
}

/** `3=90 4=10` → targets; the weights must add up to 100 (the server says so too). */
export function parseWeights(args: string[]): Split['targets'] {
  if (args.length === 0) throw new CliError('name at least one VERSION=WEIGHT, e.g. 3=90 4=10', EXIT.USER)
  return args.map((a) => {
    const m = /^([0-9]+)=([0-9]+)%?$/.exec(a)
    if (!m) throw new CliError(`"${a}" is not VERSION=WEIGHT (e.g. 4=10)`, EXIT.USER)
    return { version: Number(m[1]), weight: Number(m[2]) }
  })
}

/** `1%` → 0.01; a fraction (`0.01`) as it is. */
export function parseRate(v: string, flag: string): number {
  const pct = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(v.trim())
  const n = pct ? Number(pct[1]) / 100 : Number(v)
  if (!Number.isFinite(n) || n < 0 || n > 1 || (!pct && v.trim() === '')) throw new CliError(`${flag}: "${v}" is not a rate (use e.g. 1% or 0.01)`, EXIT.USER)
  return n
}

function duration(v: string, flag: string): number {
  try { return parseDuration(v) } catch (e) { throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.USER) }
}

const weights = (s: Split) => s.targets.filter((t) => t.weight > 0).map((t) => `${t.version}=${t.weight}%`).join(' ')
const pct = (x: number) => `${Math.round(x * 10_000) / 100}%`

function printCanary(c: Canary): void {
  const lines: [string, unknown][] = [
    ['state', c.state], ['from', `version ${c.from}`], ['to', `version ${c.to}`], ['weight', `${c.weight}% to ${c.to}`],
    ['step', `${c.step}% every ${c.intervalMs / 1000}s`], ['bounds', `error rate ${pct(c.maxErrorRate)}${c.maxP99Ms !== undefined ? `, p99 ${c.maxP99Ms} ms` : ''}`],
    ['started', `${since(c.startedAt)} ago`], ['reason', c.reason],
    ['last check', c.lastEvaluation ? `${since(c.lastEvaluation.at)} ago at ${c.lastEvaluation.weight}%: ${c.lastEvaluation.requests} requests, error rate ${pct(c.lastEvaluation.errorRate)}${c.lastEvaluation.p99Ms !== undefined ? `, p99 ${c.lastEvaluation.p99Ms} ms` : ''} — ${c.lastEvaluation.verdict}` : undefined],
  ]
  for (const [k, v] of lines) if (v !== undefined) process.stdout.write(`${k.padEnd(12)}${String(v)}\n`)
}

export function registerReleases(program: Command, g: Globals): void {
  const fn = program.commands.find((c) => c.name() === 'fn')!

  fn.command('versions <name>').description('list the function\'s versions: who made each, when, what changed, and where it serves')
    .action(async (name: string) => {
      const list = await api<VersionView[]>(g.server(), 'GET', path(name, '/versions'))
      if (g.output === 'json') return printJson(list)
      printTable(['VERSION', 'PACKAGE', 'CHANGED', 'BY', 'AGE', 'TRAFFIC', 'ALIASES'], [...list].reverse().map((v) => [
        v.spec.version, v.spec.spec.package.sha256.slice(0, 12),
        v.spec.changed.length ? v.spec.changed.join(',') : (v.spec.version === 1 ? '(first)' : v.spec.note ?? '-'),
        v.spec.createdBy.name ? `${v.spec.createdBy.name} (${v.spec.createdBy.id})` : v.spec.createdBy.id,
        since(v.metadata.createdAt), v.status?.weight ? `${v.status.weight}%` : '-', v.status?.aliases.join(',') || '-',
      ]))
    })

  fn.command('rollback <name>').description('send all traffic to the previous version (or --to N); returns once it serves, warm')
    .option('--to <n>', 'the version to serve', wholeNumber('--to'))
    .action(async (name: string, f: { to?: number }) => {
      const r = await api<{ from: number; to: number }>(g.server(), 'POST', path(name, '/rollback'), f.to === undefined ? {} : { to: f.to })
      if (g.output === 'json') return printJson(r)
      if (!g.quiet) process.stderr.write(`${name}: version ${r.to} serves all traffic (was version ${r.from})\n`)
    })

  fn.command('split <name> <weights...>').description('split the function\'s traffic between versions, e.g. `kiln fn split hello 3=90 4=10`')
    .option('--alias <alias>', 'split this alias\'s traffic instead of /fn/NAME\'s')
    .option('--sticky-header <header>', 'keep each caller on one version by this header\'s value (e.g. X-User)')
    .option('--sticky-cookie <cookie>', 'keep each caller on one version by this cookie\'s value')
    .action(async (name: string, args: string[], f: { alias?: string; stickyHeader?: string; stickyCookie?: string }) => {
      if (f.stickyHeader && f.stickyCookie) throw new CliError('give one of --sticky-header or --sticky-cookie', EXIT.USER)
      const body: Split = { targets: parseWeights(args), ...(f.stickyHeader ? { stickyHeader: f.stickyHeader } : {}), ...(f.stickyCookie ? { stickyCookie: f.stickyCookie } : {}) }
      const t = await api<TrafficView>(g.server(), 'PUT', f.alias ? path(name, `/aliases/${encodeURIComponent(f.alias)}`) : path(name, '/traffic'), body)
      if (g.output === 'json') return printJson(t)
      const s = f.alias ? t.spec.aliases![f.alias] : t.spec.traffic
      if (!g.quiet) process.stderr.write(`${name}${f.alias ? `@${f.alias}` : ''}: ${weights(s)}${s.stickyHeader ? ` (sticky by header ${s.stickyHeader})` : s.stickyCookie ? ` (sticky by cookie ${s.stickyCookie})` : ''}\n`)
    })

  const canary = fn.command('canary').description('move traffic to a version in steps while its error rate and p99 stay within bounds; roll back when they do not')
    .argument('[name]', 'the function')
    .option('--to <n>', 'the version to move traffic to', wholeNumber('--to'))
    .option('--step <percent>', 'percent added after each healthy interval', wholeNumber('--step'), 10)
    .option('--interval <duration>', 'how long each step is measured', '60s')
    .option('--max-error-rate <rate>', 'roll back above this share of 5xx answers, e.g. 1%', '1%')
    .option('--max-p99 <duration>', 'roll back above this p99 latency, e.g. 200ms')
    .option('--min-requests <n>', 'requests a step needs before it is judged', wholeNumber('--min-requests'))
    .action(async (name: string | undefined, f: { to?: number; step: number; interval: string; maxErrorRate: string; maxP99?: string; minRequests?: number }) => {
      if (!name) { canary.help(); return }
      if (f.to === undefined) throw new CliError('--to N: the version to move traffic to', EXIT.USER)
      if (f.step > 100) throw new CliError('--step is a percentage (1 to 100)', EXIT.USER)
      const body = {
        to: f.to, step: f.step, intervalMs: duration(f.interval, '--interval'), maxErrorRate: parseRate(f.maxErrorRate, '--max-error-rate'),
        ...(f.maxP99 ? { maxP99Ms: duration(f.maxP99, '--max-p99') } : {}), ...(f.minRequests !== undefined ? { minRequests: f.minRequests } : {}),
      }
      const c = await api<Canary>(g.server(), 'POST', path(name, '/canary'), body)
      if (g.output === 'json') return printJson(c)
      if (!g.quiet) process.stderr.write(`${name}: canary to version ${c.to} started at ${c.weight}% (from version ${c.from}); follow it with \`kiln fn canary status ${name}\`\n`)
    })
  canary.command('status <name>').description('the canary\'s state, weight and last evaluation')
    .action(async (name: string) => {
      const c = await api<Canary>(g.server(), 'GET', path(name, '/canary'))
      if (g.output === 'json') return printJson(c)
      printCanary(c)
    })
  canary.command('abort <name>').description('stop the canary: all traffic back to the version it started from')
    .action(async (name: string) => {
      const c = await api<Canary>(g.server(), 'DELETE', path(name, '/canary'))
      if (g.output === 'json') return printJson(c)
      if (!g.quiet) process.stderr.write(`${name}: canary aborted; version ${c.from} serves all traffic\n`)
    })

  const alias = program.command('alias').description('named versions of a function, reached at /fn/NAME@ALIAS')
  alias.command('set <name> <alias>').description('point an alias at a version (for a split: `kiln fn split NAME 3=90 4=10 --alias ALIAS`)')
    .requiredOption('--version <n>', 'the version', wholeNumber('--version'))
    .action(async (name: string, a: string, f: { version: number }) => {
      const t = await api<TrafficView>(g.server(), 'PUT', path(name, `/aliases/${encodeURIComponent(a)}`), { targets: [{ version: f.version, weight: 100 }] })
      if (g.output === 'json') return printJson(t)
      if (!g.quiet) process.stderr.write(`${name}@${a} → version ${f.version}\n`)
    })
  alias.command('list <name>').description('the function\'s aliases and the versions they serve')
    .action(async (name: string) => {
      const t = await api<TrafficView>(g.server(), 'GET', path(name, '/traffic'))
      if (g.output === 'json') return printJson(t.spec.aliases ?? {})
      printTable(['ALIAS', 'VERSIONS', 'STICKY'], Object.entries(t.spec.aliases ?? {}).map(([a, s]) => [
        a, weights(s), s.stickyHeader ? `header ${s.stickyHeader}` : s.stickyCookie ? `cookie ${s.stickyCookie}` : '-',
      ]))
    })
  alias.command('delete <name> <alias>').description('delete an alias no route uses')
    .action(async (name: string, a: string) => {
      await api(g.server(), 'DELETE', path(name, `/aliases/${encodeURIComponent(a)}`))
      if (!g.quiet) process.stderr.write(`deleted alias ${name}@${a}\n`)
    })
}
