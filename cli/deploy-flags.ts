// `kiln fn deploy`'s flags → a function spec, by one documented rule (docs/declarative.md): in files,
// what you declare is what you get (`kiln apply`); in the flag form, a flag left out keeps its current
// value and the command says what it kept, `--env` adds or replaces keys, `--unset FIELD` resets a
// field to its default, and settings that a strategy change leaves without effect are dropped (and
// said). Quantities are read without guessing: durations are seconds unless they carry a unit, sizes
// are Kubernetes quantities, cpu is cores or millicores (core/quantity.ts).
import { CliError, EXIT } from './client.js'
import { ineffectiveSettings } from '../core/function-settings.js'
import { checkFunctionEnv, checkSecretEnvNames } from '../core/function-env.js'
import { formatDuration, parseCpuQuantity, parseSizeQuantity, parseUserDuration } from '../core/quantity.js'
import type { FunctionSpec } from '../core/types.js'

export interface DeployFlags {
  runtime?: string; code?: string; entrypoint?: string; env?: string[]; timeout?: string; concurrency?: number
  cpu?: string; memory?: string; pids?: number; strategy?: string; reuse?: string; maxRequests?: number; maxAge?: string
  minWarm?: string; warmup?: string; warmupRequests?: number; minScale?: number; maxScale?: number; idleTimeout?: string; shape?: string; maxBody?: string; queue?: number
  nodeSelector?: string[]; toleration?: string[]
  private?: boolean; secret?: string[]; secretEnv?: string[]
  retries?: number; retryBackoff?: string; asyncConcurrency?: number
  openFiles?: number; fileSize?: string; tmp?: string
  /** false with --no-promote: record the version without sending it traffic. */
  promote?: boolean
  unset?: string[]
}

type Spec = Record<string, unknown> & { runtime: string }

/** What `--unset` takes: a flag's name (or the spec field's), and the spec path it resets. */
const UNSETTABLE: Record<string, string> = {
  env: 'env', timeout: 'timeoutMs', concurrency: 'concurrency', cpu: 'resources.cpu', memory: 'resources.memory', pids: 'resources.pids',
  'open-files': 'resources.openFiles', 'file-size': 'resources.fileSize', tmp: 'resources.tmp', async: 'async',
  resources: 'resources', strategy: 'strategy', reuse: 'reuse', 'max-requests': 'maxRequests', 'max-age': 'maxAgeMs', 'min-warm': 'minWarm',
  warmup: 'warmup', 'min-scale': 'minScale', 'max-scale': 'maxScale', 'idle-timeout': 'idleTimeoutMs', shape: 'shape', 'max-body': 'maxBodyBytes',
  queue: 'queueSize', 'node-selector': 'nodeSelector', toleration: 'tolerations', tolerations: 'tolerations', private: 'private',
  secret: 'secrets', secrets: 'secrets', 'secret-env': 'secretEnv',
}
const BY_FIELD: Record<string, string> = Object.fromEntries(Object.values(UNSETTABLE).map((p) => [p.split('.').pop()!, p]))

export const UNSET_NAMES = Object.keys(UNSETTABLE)

function unsetPath(name: string): string | { env: string } {
  if (name.startsWith('env.') && name.length > 4) return { env: name.slice(4) }
  const p = UNSETTABLE[name] ?? BY_FIELD[name]
  if (!p) throw new CliError(`--unset ${name}: not a field that can be reset; use one of ${UNSET_NAMES.join(', ')}, or env.KEY`, EXIT.USER)
  return p
}

export function keyValues(list: string[] | undefined, what: string): Record<string, string> | undefined {
  if (!list) return undefined
  const out: Record<string, string> = {}
  for (const kv of list) {
    const i = kv.indexOf('=')
    if (i <= 0) throw new CliError(`${what} "${kv}" is not KEY=VALUE`, EXIT.USER)
    out[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return out
}

function guard<T>(fn: () => T, flag: string): T {
  try { return fn() } catch (e) { throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.USER) }
}

const int = (flag: string, v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a whole number, got "${v}"`, EXIT.USER)
  return n
}

const CHOICES: Record<string, readonly string[]> = {
  strategy: ['pool', 'warm', 'dedicated'], reuse: ['reuse', 'recycle', 'fresh'], shape: ['kiln', 'fission', 'openfaas', 'lambda'],
}
function choice(flag: keyof typeof CHOICES, v: string): string {
  if (!CHOICES[flag].includes(v)) throw new CliError(`--${flag} ${v}: must be one of ${CHOICES[flag].join(', ')}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
  return v
}

export interface SpecChange {
  spec: Spec
  /** Top-level spec fields the flags set or reset. */
  given: Set<string>
  /** Settings kept from the previous spec that the new strategy or reuse policy would ignore: dropped. */
  dropped: string[]
}

/**
 * The spec the flags ask for, on top of the previous one (without package and entrypoint). With
 * `checkEffect: false` it only reads the values (a usage error is said before the server is asked).
 */
export function specFromFlags(f: DeployFlags, prev: FunctionSpec | undefined, o: { checkEffect?: boolean } = {}): SpecChange {
  const s: Spec = { ...(structuredClone(prev ?? {}) as Record<string, unknown>), runtime: f.runtime ?? prev?.runtime ?? 'node' }
  delete s.package
  delete s.entrypoint
  const given = new Set<string>()
  const set = (field: string, v: unknown) => { given.add(field); if (v === undefined) delete s[field]; else s[field] = v }
  if (f.runtime) given.add('runtime')

  for (const name of f.unset ?? []) {
    const p = unsetPath(name)
    if (typeof p === 'object') {
      const env = { ...(s.env as Record<string, string> | undefined) }
      delete env[p.env]
      set('env', Object.keys(env).length ? env : undefined)
    } else if (p.startsWith('resources.')) {
      const r = { ...(s.resources as Record<string, unknown> | undefined) }
      delete r[p.slice(10)]
      set('resources', Object.keys(r).length ? r : undefined)
    } else set(p, undefined)
  }

  const env = keyValues(f.env, '--env')
  if (env) set('env', { ...(s.env as Record<string, string> | undefined), ...env })
  // Checked here too, so a refused env costs no build and leaves no uploaded package.
  if (env) guard(() => checkFunctionEnv(s.env as Record<string, string> | undefined), '--env')
  if (f.timeout !== undefined) set('timeoutMs', guard(() => parseUserDuration(f.timeout!), '--timeout'))
  if (f.concurrency !== undefined) set('concurrency', f.concurrency)
  if (f.cpu !== undefined || f.memory !== undefined || f.pids !== undefined || f.openFiles !== undefined || f.fileSize !== undefined || f.tmp !== undefined) {
    const r = { ...(s.resources as Record<string, unknown> | undefined) }
    if (f.cpu !== undefined) r.cpu = guard(() => parseCpuQuantity(f.cpu!), '--cpu')
    if (f.memory !== undefined) { guard(() => parseSizeQuantity(f.memory!), '--memory'); r.memory = f.memory.trim() }
    if (f.pids !== undefined) r.pids = f.pids
    // Sandbox limits (embedded): open files, largest file, private /tmp.
    if (f.openFiles !== undefined) r.openFiles = f.openFiles
    if (f.fileSize !== undefined) { guard(() => parseSizeQuantity(f.fileSize!), '--file-size'); r.fileSize = f.fileSize.trim() }
    if (f.tmp !== undefined) { guard(() => parseSizeQuantity(f.tmp!), '--tmp'); r.tmp = f.tmp.trim() }
    set('resources', r)
  }
  if (f.strategy !== undefined) set('strategy', choice('strategy', f.strategy))
  if (f.reuse !== undefined) set('reuse', choice('reuse', f.reuse))
  if (f.maxRequests !== undefined) set('maxRequests', f.maxRequests)
  if (f.maxAge !== undefined) set('maxAgeMs', guard(() => parseUserDuration(f.maxAge!), '--max-age'))
  if (f.minWarm !== undefined) set('minWarm', f.minWarm === 'auto' ? 'auto' : int('--min-warm', f.minWarm))
  if (f.warmup !== undefined) set('warmup', f.warmup === '' || f.warmup === 'none' ? undefined : { path: f.warmup, ...(f.warmupRequests !== undefined ? { requests: f.warmupRequests } : {}) })
  else if (f.warmupRequests !== undefined) throw new CliError('--warmup-requests needs --warmup PATH', EXIT.USER)
  if (f.minScale !== undefined) set('minScale', f.minScale)
  if (f.maxScale !== undefined) set('maxScale', f.maxScale)
  if (f.idleTimeout !== undefined) set('idleTimeoutMs', guard(() => parseUserDuration(f.idleTimeout!), '--idle-timeout'))
  if (f.shape !== undefined) set('shape', choice('shape', f.shape))
  if (f.maxBody !== undefined) set('maxBodyBytes', guard(() => parseSizeQuantity(f.maxBody!), '--max-body'))
  if (f.queue !== undefined) set('queueSize', f.queue)
  if (f.private !== undefined) set('private', f.private || undefined)
  if (f.secret) set('secrets', [...new Set(f.secret)])
  if (f.secretEnv) {
    set('secretEnv', f.secretEnv.map((m) => {
      const e = /^([^:=]+):([^=]+)=(.+)$/.exec(m)
      if (!e) throw new CliError(`--secret-env "${m}" is not NAME:KEY=VAR`, EXIT.USER)
      return { secret: e[1], key: e[2], env: e[3] }
    }))
    guard(() => checkSecretEnvNames(s.secretEnv as { env: string }[]), '--secret-env')
  }
  if (f.retries !== undefined || f.retryBackoff !== undefined || f.asyncConcurrency !== undefined) {
    const a = { ...(s.async as Record<string, unknown> | undefined) }
    if (f.retries !== undefined) a.retries = f.retries
    if (f.retryBackoff !== undefined) a.retryBackoffMs = guard(() => parseUserDuration(f.retryBackoff!), '--retry-backoff')
    if (f.asyncConcurrency !== undefined) a.concurrency = f.asyncConcurrency
    set('async', a)
  }
  const sel = keyValues(f.nodeSelector, '--node-selector')
  if (sel) set('nodeSelector', sel)
  if (f.toleration) {
    set('tolerations', f.toleration.map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?(?::(NoSchedule|PreferNoSchedule|NoExecute))?$/.exec(t)
      if (!m) throw new CliError(`--toleration "${t}" is not KEY[=VALUE][:EFFECT]`, EXIT.USER)
      return { key: m[1], ...(m[2] !== undefined ? { value: m[2] } : {}), ...(m[3] ? { effect: m[3] } : {}) }
    }))
  }

  // A setting given now that the strategy or policy ignores is refused; one only kept is dropped.
  const dropped: string[] = []
  for (const r of o.checkEffect === false ? [] : ineffectiveSettings(s as Partial<FunctionSpec>)) {
    if (given.has(r.field)) {
      throw new CliError(`--${flagOf(r.field)}: has no effect with strategy ${String(s.strategy ?? 'pool')}, reuse ${String(s.reuse ?? 'reuse')}; it applies to ${r.belongs}`,
        EXIT.USER, `add the flag for ${r.belongs}, or leave --${flagOf(r.field)} out`, 'KILN_ERR_INEFFECTIVE_SETTING')
    }
    dropped.push(`${r.field} ${show(r.field, s[r.field])} (applies to ${r.belongs})`)
    delete s[r.field]
  }
  return { spec: s, given, dropped }
}

const FLAG_OF: Record<string, string> = Object.fromEntries(Object.entries(UNSETTABLE).filter(([, p]) => !p.includes('.')).map(([flag, p]) => [p, flag]))
const flagOf = (field: string) => FLAG_OF[field] ?? field

/** A spec value as the flags would write it: `30s`, `128Mi`, `FOO, BAR` (env names only). */
export function show(field: string, v: unknown): string {
  if (v === undefined) return '-'
  if (field.endsWith('Ms') && typeof v === 'number') return formatDuration(v)
  if (field === 'env') return `(${Object.keys(v as object).join(', ')})`
  if (field === 'resources') return Object.entries(v as object).map(([k, x]) => `${k} ${String(x)}`).join(' ')
  if (field === 'warmup') return (v as { path: string }).path
  if (field === 'secretEnv') return (v as { secret: string; key: string; env: string }[]).map((e) => `${e.secret}:${e.key}=${e.env}`).join(', ')
  if (field === 'tolerations') return (v as { key: string }[]).map((t) => t.key).join(', ')
  if (typeof v === 'object') return Array.isArray(v) ? v.join(', ') : Object.entries(v as object).map(([k, x]) => `${k}=${String(x)}`).join(', ')
  return String(v)
}

/** The settings kept from `prev` that no flag named: what the flag form says it kept. */
export function keptSettings(prev: FunctionSpec | undefined, change: SpecChange): string[] {
  if (!prev) return []
  const out: string[] = []
  for (const [k, v] of Object.entries(prev)) {
    if (k === 'package' || k === 'entrypoint' || k === 'runtime' || change.given.has(k) || change.spec[k] === undefined) continue
    out.push(`${k} ${show(k, v)}`)
  }
  return out
}
