// `kiln fn ...`: deploy (build, upload, ready), invoke, list, get, logs, delete.
import { existsSync, readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { api, CliError, EXIT, failure, send, withNamespace } from '../client.js'
import type { Connection } from '../contexts.js'
import { age, printJson, printTable, since } from '../output.js'
import { progress } from '../progress.js'
import type { Globals } from '../globals.js'
import { parseBytes, parseDuration } from '../../core/quantity.js'
import { asyncFunctionPath, functionPath, refOf } from '../../core/refs.js'
import type { FunctionResource, FunctionSpec } from '../../core/types.js'

type FnView = FunctionResource & { status?: { instances?: Record<string, unknown>[]; requests?: number; specializations?: number; version?: string } }

const collect = (v: string, prev: string[] = []) => [...prev, v]

function keyValues(list: string[] | undefined, what: string): Record<string, string> | undefined {
  if (!list) return undefined
  const out: Record<string, string> = {}
  for (const kv of list) {
    const i = kv.indexOf('=')
    if (i <= 0) throw new CliError(`${what} "${kv}" is not KEY=VALUE`, EXIT.USER)
    out[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return out
}

function int(name: string) {
  return (v: string) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number, got "${v}"`, EXIT.USER)
    return n
  }
}

function guard<T>(fn: () => T, flag: string): T {
  try { return fn() } catch (e) { throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.USER) }
}

interface DeployFlags {
  runtime?: string; code: string; entrypoint?: string; env?: string[]; timeout?: string; concurrency?: number
  cpu?: string; memory?: string; pids?: number; strategy?: string; reuse?: string; maxRequests?: number; maxAge?: string
  minWarm?: string; warmup?: string; warmupRequests?: number; minScale?: number; maxScale?: number; idleTimeout?: string; shape?: string; maxBody?: string; queue?: number
  nodeSelector?: string[]; toleration?: string[]
  private?: boolean; secret?: string[]; secretEnv?: string[]
  retries?: number; retryBackoff?: string; asyncConcurrency?: number
}

function specFromFlags(f: DeployFlags, prev: FunctionSpec | undefined): Omit<FunctionSpec, 'package' | 'entrypoint'> & { runtime: string } {
  const s: Record<string, unknown> = { ...(prev ?? {}), runtime: f.runtime ?? prev?.runtime ?? 'node' }
  delete s.package
  delete s.entrypoint
  const env = keyValues(f.env, '--env')
  if (env) s.env = env
  if (f.timeout) s.timeoutMs = guard(() => parseDuration(f.timeout!), '--timeout')
  if (f.concurrency !== undefined) s.concurrency = f.concurrency
  if (f.cpu || f.memory || f.pids !== undefined) {
    const r = { ...(prev?.resources ?? {}) } as Record<string, unknown>
    if (f.cpu) r.cpu = Number(f.cpu)
    if (f.memory) { guard(() => parseBytes(f.memory!), '--memory'); r.memory = f.memory }
    if (f.pids !== undefined) r.pids = f.pids
    s.resources = r
  }
  if (f.strategy) s.strategy = f.strategy
  if (f.reuse) s.reuse = f.reuse
  if (f.maxRequests !== undefined) s.maxRequests = f.maxRequests
  if (f.maxAge) s.maxAgeMs = guard(() => parseDuration(f.maxAge!), '--max-age')
  if (f.minWarm !== undefined) s.minWarm = f.minWarm === 'auto' ? 'auto' : int('--min-warm')(f.minWarm)
  if (f.warmup !== undefined) s.warmup = f.warmup === '' || f.warmup === 'none' ? undefined : { path: f.warmup, ...(f.warmupRequests !== undefined ? { requests: f.warmupRequests } : {}) }
  else if (f.warmupRequests !== undefined) throw new CliError('--warmup-requests needs --warmup PATH', EXIT.USER)
  if (f.minScale !== undefined) s.minScale = f.minScale
  if (f.maxScale !== undefined) s.maxScale = f.maxScale
  if (f.idleTimeout) s.idleTimeoutMs = guard(() => parseDuration(f.idleTimeout!), '--idle-timeout')
  if (f.shape) s.shape = f.shape
  if (f.maxBody) s.maxBodyBytes = guard(() => parseBytes(f.maxBody!), '--max-body')
  if (f.queue !== undefined) s.queueSize = f.queue
  if (f.private !== undefined) s.private = f.private || undefined
  if (f.secret) s.secrets = [...new Set(f.secret)]
  if (f.secretEnv) {
    s.secretEnv = f.secretEnv.map((m) => {
      const e = /^([^:=]+):([^=]+)=(.+)$/.exec(m)
      if (!e) throw new CliError(`--secret-env "${m}" is not NAME:KEY=VAR`, EXIT.USER)
      return { secret: e[1], key: e[2], env: e[3] }
    })
  }
  if (f.retries !== undefined || f.retryBackoff || f.asyncConcurrency !== undefined) {
    const a = { ...(prev?.async ?? {}) } as Record<string, unknown>
    if (f.retries !== undefined) a.retries = f.retries
    if (f.retryBackoff) a.retryBackoffMs = guard(() => parseDuration(f.retryBackoff!), '--retry-backoff')
    if (f.asyncConcurrency !== undefined) a.concurrency = f.asyncConcurrency
    s.async = a
  }
  const sel = keyValues(f.nodeSelector, '--node-selector')
  if (sel) s.nodeSelector = sel
  if (f.toleration) {
    s.tolerations = f.toleration.map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?(?::(NoSchedule|PreferNoSchedule|NoExecute))?$/.exec(t)
      if (!m) throw new CliError(`--toleration "${t}" is not KEY[=VALUE][:EFFECT]`, EXIT.USER)
      return { key: m[1], ...(m[2] !== undefined ? { value: m[2] } : {}), ...(m[3] ? { effect: m[3] } : {}) }
    })
  }
  return s as Omit<FunctionSpec, 'package' | 'entrypoint'> & { runtime: string }
}

async function deploy(g: Globals, name: string, f: DeployFlags): Promise<void> {
  // A usage error is said before the server is asked anything (and whether it is up at all).
  if (!existsSync(f.code)) throw new CliError(`--code ${f.code}: no such file or folder`, EXIT.USER)
  specFromFlags(f, undefined)
  const server = g.server()
  const existing = await api<FnView>(server, 'GET', `/functions/${encodeURIComponent(name)}`).catch((e: CliError) => {
    if (e.code === 'KILN_ERR_FUNCTION_NOT_FOUND') return undefined
    throw e
  })
  const spec = specFromFlags(f, existing?.spec)
  const step = progress(g.quiet)

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

  step.start(`Deploying ${name}`)
  const t0 = performance.now()
  const body = { metadata: { name, ...(existing?.metadata.labels ? { labels: existing.metadata.labels } : {}) }, spec: { ...spec, package: { sha256: built.sha256 }, entrypoint: built.entrypoint } }
  let fn: FnView
  try {
    fn = await api<FnView>(server, 'PUT', `/functions/${encodeURIComponent(name)}`, body)
  } catch (e) {
    step.fail('Deploy refused')
    throw e
  }
  const ns = fn.metadata.namespace
  const where = `${server.url}${functionPath(refOf(ns, name))}`
  step.succeed(`${name} ready${ns && ns !== 'default' ? ` in namespace ${ns}` : ''}: version ${fn.status?.version ?? fn.metadata.generation}, strategy ${fn.spec.strategy ?? 'pool'}, shape ${fn.spec.shape ?? 'kiln'}${fn.spec.private ? ', private' : ''}, in ${Math.round(performance.now() - t0)} ms — invoke with \`kiln fn invoke ${name}${ns && ns !== 'default' ? ` -n ${ns}` : ''}\` or ${where}`)
  if (g.output === 'json') printJson(fn)
}

interface InvokeFlags { data?: string; method?: string; path?: string; header?: string[]; include?: boolean; contentType?: string; async?: boolean; callback?: string; idempotencyKey?: string }

async function invoke(g: Globals, name: string, f: InvokeFlags): Promise<void> {
  let body: Buffer | undefined
  const headers: Record<string, string> = {}
  if (f.data !== undefined) {
    body = f.data.startsWith('@') ? readFileSync(f.data.slice(1)) : Buffer.from(f.data)
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
    .requiredOption('--code <path>', 'entry file or source folder')
    .option('--runtime <name>', 'runtime (default node when creating)')
    .option('--entrypoint <entry>', "entry file, 'file:export' or Fission-style 'file.export'")
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect)
    .option('--timeout <duration>', 'per-request timeout, e.g. 30s')
    .option('--concurrency <n>', 'in-flight requests per instance', int('--concurrency'))
    .option('--cpu <cores>', 'cpu limit per instance, e.g. 0.5')
    .option('--memory <size>', 'memory limit per instance, e.g. 128Mi')
    .option('--pids <n>', 'process/thread limit per instance', int('--pids'))
    .option('--strategy <s>', 'pool | warm | dedicated')
    .option('--reuse <policy>', 'reuse | recycle | fresh')
    .option('--max-requests <n>', 'recycle after this many requests', int('--max-requests'))
    .option('--max-age <duration>', 'recycle after this age')
    .option('--min-warm <n|auto>', 'warm strategy: instances kept specialized, or auto')
    .option('--warmup <path>', 'GET this path (e.g. /?warmup=1) on each instance readied ahead of requests, before it serves; none: off')
    .option('--warmup-requests <n>', 'how many warm-up requests (default 3)', int('--warmup-requests'))
    .option('--min-scale <n>', 'dedicated: minimum instances', int('--min-scale'))
    .option('--max-scale <n>', 'most instances', int('--max-scale'))
    .option('--idle-timeout <duration>', 'reap idle specialized instances after this long')
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
    .action((name: string, f: DeployFlags & { public?: boolean }) => {
      if (f.private && f.public) throw new CliError('give one of --private or --public', EXIT.USER)
      if (f.public) f.private = false
      return deploy(g, name, f)
    })

  fn.command('invoke <name>')
    .description('call the function through the router and print its answer')
    .option('-d, --data <data>', 'request body (JSON is sent as application/json; @file reads a file)')
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
    if (g.output === 'json') return printJson(list)
    const all = g.server().all === true
    printTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'RUNTIME', 'STRATEGY', 'REUSE', 'INSTANCES', 'REQUESTS', 'VERSION', 'AGE'], list.map((f) => [
      ...(all ? [f.metadata.namespace ?? 'default'] : []),
      f.metadata.name, f.spec.runtime, f.spec.strategy ?? 'pool', f.spec.reuse ?? 'reuse', f.status?.instances?.length ?? 0,
      f.status?.requests ?? 0, f.metadata.generation, since(f.metadata.createdAt),
    ]))
  })

  fn.command('get <name>').description('show a function, its settings and its instances').action(async (name: string) => {
    const f = await api<FnView>(g.server(), 'GET', `/functions/${encodeURIComponent(name)}`)
    if (g.output === 'json') return printJson(f)
    const s = f.spec
    const lines = [
      ['name', f.metadata.name], ['namespace', f.metadata.namespace ?? 'default'], ['runtime', s.runtime], ['entrypoint', s.entrypoint], ['shape', s.shape ?? 'kiln'],
      ['access', s.private ? 'private (callers need an invoker token)' : 'public'],
      ['secrets', [...(s.secrets ?? []).map((n) => `${n} (files)`), ...(s.secretEnv ?? []).map((e) => `${e.secret}:${e.key} → $${e.env}`)].join(', ') || undefined],
      ['package', s.package.sha256], ['strategy', s.strategy ?? 'pool'], ['reuse', s.reuse ?? 'reuse'],
      ['timeout', `${s.timeoutMs ?? 60000} ms`], ['concurrency', s.concurrency ?? 100], ['version', f.status?.version],
      ['requests', f.status?.requests], ['specializations', f.status?.specializations],
    ]
    for (const [k, v] of lines) process.stdout.write(`${String(k).padEnd(16)}${v ?? '-'}\n`)
    const inst = f.status?.instances ?? []
    if (inst.length) {
      process.stdout.write('\n')
      printTable(['INSTANCE', 'STATE', 'NODE', 'REQUESTS', 'IN-FLIGHT', 'AGE'], inst.map((i) => [
        i.id as string, i.state as string, i.node as string, i.requests as number, i.inflight as number, age(i.ageMs as number),
      ]))
    }
  })

  fn.command('logs <name>').description("print the function's captured stdout/stderr")
    .option('--tail <n>', 'lines', '200')
    .action(async (name: string, f: { tail: string }) => {
      const r = await api<{ lines: string[] }>(g.server(), 'GET', `/functions/${encodeURIComponent(name)}/logs?tail=${Number(f.tail) || 200}`)
      if (g.output === 'json') return printJson(r)
      for (const l of r.lines) process.stdout.write(l + '\n')
    })

  fn.command('delete <name>').description('delete a function and stop its instances').action(async (name: string) => {
    await api(g.server(), 'DELETE', `/functions/${encodeURIComponent(name)}`)
    if (!g.quiet) process.stderr.write(`deleted function ${name}\n`)
  })
}
