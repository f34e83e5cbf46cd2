// `kiln fn ...`: deploy (build, upload, ready), invoke, list, get, logs, delete.
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { api, apiStream, CliError, EXIT, failure, send, withNamespace } from '../client.js'
import type { Connection } from '../contexts.js'
import { age, printData, printJson, structured, printTable, since } from '../output.js'
import { progress } from '../progress.js'
import type { Globals } from '../globals.js'
import { formatDuration, parseUserDuration } from '../../core/quantity.js'
import { asyncFunctionPath, functionPath, refOf } from '../../core/refs.js'
import type { FunctionResource } from '../../core/types.js'
import { readDataArg } from '../data-arg.js'
import { keptSettings, show, specFromFlags, UNSET_NAMES, type DeployFlags } from '../deploy-flags.js'

type FnView = FunctionResource & { status?: { instances?: Record<string, unknown>[]; requests?: number; specializations?: number; version?: string; latestVersion?: number; traffic?: { version: number; weight: number }[]; aliases?: Record<string, { version: number; weight: number }[]>; canary?: { to: number; weight: number } } }

/** What serves a function: `3`, or `3=90% 4=10%`. */
function serving(f: FnView): string | undefined {
  const t = f.status?.traffic?.filter((x) => x.weight > 0)
  if (!t?.length) return undefined
  return t.length === 1 ? String(t[0].version) : t.map((x) => `${x.version}=${x.weight}%`).join(' ')
}

const collect = (v: string, prev: string[] = []) => [...prev, v]

function int(name: string) {
  return (v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number, got "${v}"`, EXIT.USER)
    return n
  }
}

async function deploy(g: Globals, name: string, f: DeployFlags): Promise<void> {
  // A usage error is said before the server is asked anything (and whether it is up at all).
  if (f.code !== undefined && !existsSync(f.code)) throw new CliError(`--code ${f.code}: no such file or folder`, EXIT.USER)
  const { given } = specFromFlags(f, undefined, { checkEffect: false })
  if (f.code === undefined && given.size === 0) {
    throw new CliError('nothing to deploy: give --code PATH (required for a new function) or the settings to change', EXIT.USER, 'kiln fn deploy NAME --code PATH, or e.g. kiln fn deploy NAME --env KEY=VALUE')
  }
  const server = g.server()
  const existing = await api<FnView>(server, 'GET', `/functions/${encodeURIComponent(name)}`).catch((e: CliError) => {
    if (e.code === 'KILN_ERR_FUNCTION_NOT_FOUND') return undefined
    throw e
  })
  // Without --code the package stays: a configuration-only update, which needs a function to update.
  if (f.code === undefined) {
    if (!existing) throw new CliError(`function ${name} does not exist yet: a new function needs --code PATH`, EXIT.USER, undefined, 'KILN_ERR_FUNCTION_NOT_FOUND')
    if (f.entrypoint !== undefined) throw new CliError('--entrypoint goes with --code (the entry is found when the code is built)', EXIT.USER)
    if (f.runtime !== undefined && f.runtime !== existing.spec.runtime) throw new CliError(`--runtime ${f.runtime}: changing the runtime needs --code (the package is built for its runtime)`, EXIT.USER)
  }
  const change = specFromFlags(f, existing?.spec)
  const spec = change.spec
  const step = progress(g.quiet)
  let pkg = existing ? { sha256: existing.spec.package.sha256, entrypoint: existing.spec.entrypoint } : undefined

  if (f.code !== undefined) {
    step.start(`Building ${name} (${spec.runtime}) from ${f.code}`)
    const { buildPackage, BuildError, describeGuess } = await import('../../runtimes/builder/index.js')
    let built
    try {
      built = await buildPackage({ source: f.code, runtime: spec.runtime, entrypoint: f.entrypoint })
    } catch (e) {
      step.fail('Build failed')
      if (e instanceof BuildError) throw new CliError(e.message, EXIT.USER, 'fix the error at the file:line shown and deploy again; nothing was stored', 'KILN_ERR_BUILD_FAILED')
      throw e
    }
    step.succeed(`Built ${built.files.length} file(s) in ${built.buildMs} ms (sha256 ${built.sha256.slice(0, 12)})`)
    for (const w of built.warnings) step.info(w)
    // The shape: --shape chooses; a redeploy keeps the one stored; else a detected one, said out loud (never
    // a silent guess; two candidates are named, not picked).
    if (!f.shape && !existing?.spec.shape) {
      if (built.shape.shape) spec.shape = built.shape.shape
      const said = describeGuess(built.shape)
      if (said) step.info(said)
    }

    step.start(`Uploading ${(built.archive.length / 1024).toFixed(1)} KiB`)
    const up = await send(server, 'POST', withNamespace(server, `/v1/packages?sha256=${built.sha256}`, 'POST'), built.archive, { 'content-type': 'application/gzip' })
    if (up.status >= 400) { step.fail('Upload failed'); throw failure(up) }
    step.succeed(`Uploaded package ${built.sha256.slice(0, 12)}`)
    pkg = { sha256: built.sha256, entrypoint: built.entrypoint }
  }
  for (const d of change.dropped) step.info(`dropped ${d}`)
  const kept = keptSettings(existing?.spec, change)
  if (kept.length > 0) step.info(`kept from the current spec (a flag left out keeps its value; --unset FIELD resets one): ${kept.join(', ')}`)

  step.start(`Deploying ${name}`)
  const t0 = performance.now()
  const body = { metadata: { name, ...(existing?.metadata.labels ? { labels: existing.metadata.labels } : {}) }, spec: { ...spec, package: { sha256: pkg!.sha256 }, entrypoint: pkg!.entrypoint } }
  let fn: FnView
  try {
    fn = await api<FnView>(server, 'PUT', `/functions/${encodeURIComponent(name)}${f.promote === false ? '?promote=false' : ''}`, body)
  } catch (e) {
    step.fail('Deploy refused')
    throw e
  }
  const ns = fn.metadata.namespace
  const where = `${server.url}${functionPath(refOf(ns, name))}`
  const latest = fn.status?.latestVersion
  const recorded = latest !== undefined && latest !== existing?.status?.latestVersion
  if (f.promote === false && recorded && existing) {
    step.succeed(`${name}: version ${latest} recorded; ${serving(fn) ?? 'the versions before'} still serve${serving(fn)?.includes(' ') ? '' : 's'} — send it traffic with \`kiln fn canary ${name} --to ${latest}\`, \`kiln fn split\` or \`kiln fn rollback ${name} --to ${latest}\``)
    for (const w of (fn as FnView & { warnings?: string[] }).warnings ?? []) process.stderr.write(`warning: ${w}\n`)
  if (structured(g.output)) printData(g.output, fn)
    return
  }
  step.succeed(`${name} ready${ns && ns !== 'default' ? ` in namespace ${ns}` : ''}: version ${latest ?? fn.metadata.generation}${recorded || !existing ? '' : ' (unchanged)'}, strategy ${fn.spec.strategy ?? 'pool'}, shape ${fn.spec.shape ?? 'kiln'}${fn.spec.private ? ', private' : ''}, in ${Math.round(performance.now() - t0)} ms — invoke with \`kiln fn invoke ${name}${ns && ns !== 'default' ? ` -n ${ns}` : ''}\` or ${where}`)
  for (const w of (fn as FnView & { warnings?: string[] }).warnings ?? []) process.stderr.write(`warning: ${w}\n`)
  if (structured(g.output)) printData(g.output, fn)
}

interface InvokeFlags { data?: string; method?: string; path?: string; header?: string[]; include?: boolean; contentType?: string; async?: boolean; callback?: string; idempotencyKey?: string }

async function invoke(g: Globals, name: string, f: InvokeFlags): Promise<void> {
  let body: Buffer | undefined
  const headers: Record<string, string> = {}
  if (f.data !== undefined) {
    body = readDataArg(f.data)
    let json = false
    try { JSON.parse(body.toString('utf8')); json = true } catch { /* not JSON */ }
    headers['content-type'] = f.contentType ?? (json ? 'application/json' : 'text/plain; charset=utf-8')
  }
  for (const h of f.header ?? []) {
    const i = h.indexOf(':')
    if (i <= 0) throw new CliError(`--header "${h}" is not NAME: VALUE`, EXIT.USER)
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim()
  }
  const method = (f.method ?? (body || f.async ? 'POST' : 'GET')).toUpperCase()
  const path = f.path ? (f.path.startsWith('/') ? f.path : `/${f.path}`) : ''
  if (f.callback !== undefined || f.idempotencyKey !== undefined) {
    if (!f.async) throw new CliError('--callback and --idempotency-key go with --async', EXIT.USER)
    if (f.callback !== undefined) headers['x-callback-url'] = f.callback
    if (f.idempotencyKey !== undefined) headers['idempotency-key'] = f.idempotencyKey
  }
  const conn = g.server()
  const ref = refOf(await invokeNamespace(conn), name)
  const url = `${f.async ? asyncFunctionPath(ref) : functionPath(ref)}${path}`
  // The token goes only to a function that asks for one (private): a public function would receive it.
  // An async call of a private function is checked when it is accepted, the same way.
  let res = await send(conn, method, url, body, headers, false)
  if (res.status === 401 && conn.token && res.body.toString('utf8').includes('"KILN_ERR_UNAUTHENTICATED"')) res = await send(conn, method, url, body, headers, true)
  if (f.async) {
    // Stored now, run by the platform: print the invocation id (`kiln inv get ID` shows the result).
    if (res.status !== 202) throw failure(res)
    const a = JSON.parse(res.body.toString('utf8')) as { id: string }
    if (g.output === 'json') return printJson(a)
    process.stdout.write(`${a.id}\n`)
    return
  }
  if (f.include) {
    process.stderr.write(`HTTP ${res.status}\n`)
    for (const [k, v] of Object.entries(res.headers)) process.stderr.write(`${k}: ${Array.isArray(v) ? v.join(', ') : v}\n`)
    process.stderr.write('\n')
  }
  if (res.status >= 400) {
    const ctype = String(res.headers['content-type'] ?? '')
    // The platform's own errors carry a catalogue code; a function's own 4xx/5xx is its answer.
    if (ctype.includes('json') && res.body.toString('utf8').includes('"KILN_ERR_')) throw failure(res)
    process.stdout.write(res.body)
    process.exitCode = EXIT.USER
    return
  }
  process.stdout.write(res.body)
  if (res.body.length > 0 && res.body[res.body.length - 1] !== 10 && process.stdout.isTTY) process.stdout.write('\n')
}

/** The namespace `fn invoke` calls in: the client's choice, else the token's own (as the API's is), else default. */
async function invokeNamespace(conn: Connection): Promise<string | undefined> {
  if (conn.namespace !== undefined || !conn.token) return conn.namespace
  const me = await api<{ defaultNamespace?: string }>(conn, 'GET', '/whoami').catch(() => undefined)
  return me?.defaultNamespace
}

export function registerFn(program: Command, g: Globals): void {
  const fn = program.command('fn').description('deploy, invoke and inspect functions')

  fn.command('deploy <name>')
    .description('build the code, upload it and deploy (create or update) the function')
    .option('--code <path>', 'entry file or source folder (without it: a configuration-only update of an existing function)')
    .option('--runtime <name>', 'runtime (default node when creating)')
    .option('--entrypoint <entry>', "entry file, 'file:export' or Fission-style 'file.export'")
    .option('--env <KEY=VALUE>', 'environment variable, added to those it has (repeatable; --unset env.KEY removes one)', collect)
    .option('--timeout <duration>', 'per-request timeout: seconds, or with a unit (500ms, 30s, 5m)')
    .option('--concurrency <n>', 'in-flight requests per instance', int('--concurrency'))
    .option('--cpu <cores>', 'cpu limit per instance: cores (0.5) or millicores (500m)')
    .option('--memory <size>', 'memory limit per instance, a Kubernetes quantity: 128Mi, 1Gi, 512M')
    .option('--pids <n>', 'process/thread limit per instance', int('--pids'))
    .option('--strategy <s>', 'pool | warm | dedicated')
    .option('--reuse <policy>', 'reuse | recycle | fresh')
    .option('--max-requests <n>', 'recycle after this many requests', int('--max-requests'))
    .option('--max-age <duration>', 'recycle after this age (seconds, or 10m, 1h)')
    .option('--min-warm <n|auto>', 'warm strategy: instances kept specialized, or auto')
    .option('--warmup <path>', 'GET this path (e.g. /?warmup=1) on each instance readied ahead of requests, before it serves; none: off')
    .option('--warmup-requests <n>', 'how many warm-up requests (default 3)', int('--warmup-requests'))
    .option('--min-scale <n>', 'dedicated: minimum instances', int('--min-scale'))
    .option('--max-scale <n>', 'most instances', int('--max-scale'))
    .option('--idle-timeout <duration>', 'reap idle specialized instances after this long (seconds, or 2m)')
    .option('--shape <shape>', 'kiln | fission | openfaas | lambda')
    .option('--max-body <size>', 'largest request body, e.g. 10Mi')
    .option('--queue <n>', 'requests that may wait for a slot', int('--queue'))
    .option('--node-selector <KEY=VALUE>', 'only nodes with this label (repeatable)', collect)
    .option('--toleration <KEY[=VALUE][:EFFECT]>', 'tolerate a node taint (repeatable)', collect)
    .option('--private', 'callers need a token that may invoke in its namespace')
    .option('--public', 'anyone who reaches the data plane may call it (the default)')
    .option('--secret <name>', 'secret whose keys it reads as files NAME/KEY (repeatable)', collect)
    .option('--secret-env <NAME:KEY=VAR>', 'a secret key as an environment variable (repeatable)', collect)
    .option('--retries <n>', 'async invocations: attempts after the first on a crash, timeout or 5xx (default 2)', int('--retries'))
    .option('--retry-backoff <duration>', 'async invocations: first wait before a retry, doubling, with jitter (default 1s)')
    .option('--async-concurrency <n>', 'async invocations of this function running at once (default: half its capacity, at most 100)', int('--async-concurrency'))
    .option('--open-files <n>', 'open file descriptors per process (embedded sandbox)', int('--open-files'))
    .option('--file-size <size>', 'largest file a process may write, e.g. 64Mi (embedded sandbox)')
    .option('--tmp <size>', 'size of the private /tmp, e.g. 64Mi (embedded sandbox)')
    .option('--no-promote', 'record the new version without sending it traffic (then `kiln fn canary` or `kiln fn split`)')
    .option('--unset <field>', `reset a field to its default (repeatable): ${UNSET_NAMES.join(', ')}, or env.KEY`, collect)
    .action((name: string, f: DeployFlags & { public?: boolean }) => {
      if (f.private && f.public) throw new CliError('give one of --private or --public', EXIT.USER)
      if (f.public) f.private = false
      return deploy(g, name, f)
    })

  fn.command('invoke <name>')
    .description('call the function through the router and print its answer')
    .option('-d, --data <data>', 'request body (JSON is sent as application/json; @file reads a file, @- standard input)')
    .option('-X, --method <method>', 'HTTP method (default GET, POST with --data)')
    .option('--path <path>', 'sub-path after /fn/<name>')
    .option('-H, --header <header>', "'Name: value' (repeatable)", collect)
    .option('--content-type <type>', 'content type of --data')
    .option('-i, --include', 'print status and headers to stderr')
    .option('--async', 'store the call and return its invocation id at once (the platform runs it, with retries)')
    .option('--callback <url>', 'with --async: POST the result here (a host in callbackHosts)')
    .option('--idempotency-key <key>', 'with --async: a repeat with the same key within 24 h returns the first invocation')
    .action((name: string, f: InvokeFlags) => invoke(g, name, f))

  fn.command('list').description('list functions').action(async () => {
    const list = await api<FnView[]>(g.server(), 'GET', '/functions')
    if (structured(g.output)) return printData(g.output, list)
    const all = g.server().all === true
    const wide = g.output === 'wide'
    printTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'RUNTIME', 'STRATEGY', 'REUSE', 'INSTANCES', 'REQUESTS', 'VERSION', 'SERVING', 'AGE', ...(wide ? ['SHAPE', 'CPU', 'MEMORY', 'TIMEOUT', 'ENV'] : [])], list.map((f) => [
      ...(all ? [f.metadata.namespace ?? 'default'] : []),
      f.metadata.name, f.spec.runtime, f.spec.strategy ?? 'pool', f.spec.reuse ?? 'reuse', f.status?.instances?.length ?? 0,
      f.status?.requests ?? 0, f.status?.latestVersion ?? f.metadata.generation, serving(f), since(f.metadata.createdAt),
      ...(wide ? [f.spec.shape ?? 'kiln', f.spec.resources?.cpu, f.spec.resources?.memory, formatDuration(f.spec.timeoutMs ?? 60_000), Object.keys(f.spec.env ?? {}).join(',') || undefined] : []),
    ]))
  })

  fn.command('get <name>').description('show a function, its settings and its instances').action(async (name: string) => {
    const f = await api<FnView>(g.server(), 'GET', `/functions/${encodeURIComponent(name)}`)
    if (structured(g.output)) return printData(g.output, f)
    for (const [k, v] of describeFunction(f)) process.stdout.write(`${k.padEnd(16)}${v ?? '-'}\n`)
    const inst = f.status?.instances ?? []
    if (inst.length) {
      process.stdout.write('\n')
      printTable(['INSTANCE', 'VERSION', 'STATE', 'NODE', 'REQUESTS', 'IN-FLIGHT', 'AGE'], inst.map((i) => [
        i.id as string, i.functionVersion as number | undefined, i.state as string, i.node as string, i.requests as number, i.inflight as number, age(i.ageMs as number),
      ]))
    }
  })

  fn.command('logs <name>').description("print the function's captured stdout/stderr (on Kubernetes: its pods' logs)")
    .option('--tail <n>', 'lines', '200')
    .option('--since <duration>', 'only lines of the last DURATION (seconds, or 10m, 1h)')
    .option('-f, --follow', 'keep printing new lines as the instances write them (Ctrl-C stops)')
    .action(async (name: string, f: { tail: string; since?: string; follow?: boolean }) => {
      const conn = g.server()
      const path = `/functions/${encodeURIComponent(name)}/logs`
      let since: string | undefined
      if (f.since !== undefined) {
        let ms: number
        try { ms = parseUserDuration(f.since) } catch (e) { throw new CliError(`--since: ${(e as Error).message}`, EXIT.USER) }
        since = new Date(Date.now() - ms).toISOString()
      }
      const q = `${path}?tail=${since ? 10_000 : Number(f.tail) || 200}${since ? `&since=${encodeURIComponent(since)}` : ''}`
      // Followed: the server streams the old lines and then the new ones as they are written.
      if (f.follow) return apiStream(conn, `${q}&follow=true`, (chunk) => { process.stdout.write(chunk) })
      const r = await api<{ lines: string[] }>(conn, 'GET', q)
      if (structured(g.output)) return printData(g.output, r)
      for (const l of r.lines) process.stdout.write(l + '\n')
    })

  fn.command('delete <name>').description('delete a function and stop its instances; refused while routes, triggers or workflows use it')
    .option('--cascade', 'delete the routes, triggers and workflows that use it first')
    .action(async (name: string, f: { cascade?: boolean }) => {
      const r = await api<{ cascaded?: { kind: string; name: string }[] }>(g.server(), 'DELETE', `/functions/${encodeURIComponent(name)}${f.cascade ? '?cascade=1' : ''}`)
      if (structured(g.output)) return printData(g.output, r)
      if (!g.quiet) process.stderr.write(`deleted function ${name}${r.cascaded ? ` and ${r.cascaded.map((d) => `${d.kind} ${d.name}`).join(', ')}` : ''}\n`)
    })
}

/** The `fn get` view: what it runs, where, with which limits, environment names and strategy settings. */
export function describeFunction(f: FnView): [string, unknown][] {
  const s = f.spec
  const r = s.resources ?? {}
  const strategy = s.strategy ?? 'pool'
  const strategySettings = strategy === 'warm'
    ? [`minWarm ${s.minWarm ?? 1}`, ...(s.warmup ? [`warmup ${s.warmup.path} x${s.warmup.requests ?? 3}`] : [])]
    : strategy === 'dedicated' ? [`minScale ${s.minScale ?? 0}`, `maxScale ${s.maxScale ?? 10}`, ...(s.warmup ? [`warmup ${s.warmup.path}`] : [])] : []
  if (strategy !== 'dedicated' && s.maxScale !== undefined) strategySettings.push(`maxScale ${s.maxScale}`)
  const reuse = s.reuse ?? 'reuse'
  const reuseSettings = reuse === 'recycle' ? [s.maxRequests !== undefined ? `after ${s.maxRequests} requests` : '', s.maxAgeMs !== undefined ? `after ${formatDuration(s.maxAgeMs)}` : ''].filter(Boolean) : []
  return [
    ['name', f.metadata.name], ['namespace', f.metadata.namespace ?? 'default'], ['runtime', s.runtime], ['entrypoint', s.entrypoint], ['shape', s.shape ?? 'kiln'],
    ['access', s.private ? 'private (callers need an invoker token)' : 'public'],
    ['secrets', [...(s.secrets ?? []).map((n) => `${n} (files)`), ...(s.secretEnv ?? []).map((e) => `${e.secret}:${e.key} → $${e.env}`)].join(', ') || undefined],
    ['env', s.env ? Object.keys(s.env).join(', ') : undefined],
    ['package', s.package.sha256],
    ['strategy', [strategy, ...strategySettings].join(', ')],
    ['reuse', [reuse, ...reuseSettings].join(', ')],
    ['limits', [`cpu ${r.cpu ?? 'none'}`, `memory ${r.memory ?? 'none'}`, `pids ${r.pids ?? 'none'}`].join(', ')],
    ['timeout', formatDuration(s.timeoutMs ?? 60000)], ['concurrency', s.concurrency ?? 100],
    ['idle timeout', s.idleTimeoutMs !== undefined ? formatDuration(s.idleTimeoutMs) : 'platform default'],
    ['max body', s.maxBodyBytes !== undefined ? show('maxBodyBytes', s.maxBodyBytes) : undefined], ['queue', s.queueSize],
    ['sandbox', r.openFiles !== undefined || r.fileSize !== undefined || r.tmp !== undefined ? [`open files ${r.openFiles ?? 'default'}`, `file size ${r.fileSize ?? 'default'}`, `tmp ${r.tmp ?? 'default'}`].join(', ') : undefined],
    ['async', s.async ? [`retries ${s.async.retries ?? 2}`, `backoff ${formatDuration(s.async.retryBackoffMs ?? 1000)}`, ...(s.async.concurrency !== undefined ? [`concurrency ${s.async.concurrency}`] : [])].join(', ') : undefined],
    ['version', f.status?.latestVersion ?? f.status?.version],
    ['serving', serving(f)], ['aliases', Object.entries(f.status?.aliases ?? {}).map(([a, t]) => `${a}=${t.filter((x) => x.weight > 0).map((x) => x.version).join('+')}`).join(', ') || undefined],
    ['canary', f.status?.canary ? `${f.status.canary.weight}% to version ${f.status.canary.to}` : undefined],
    ['requests', f.status?.requests], ['specializations', f.status?.specializations],
  ]
}
