// Platform configuration. Precedence: flags > environment (KILN_*) > `kiln.yaml` in the data dir > defaults.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { KilnError } from './errors.js'
import { parseHostPattern } from './allowlist.js'
import { parseBytes, parseDuration } from './quantity.js'
import { checkTracingConfig, type TracingConfig } from './tracing.js'
import type { AutoscaleConfig, EjectionConfig, KilnConfig, LoadLimitsConfig, NodeConfig, SandboxConfig } from './config-types.js'

// The types live in config-types.ts; callers keep importing them from here.
export type { NodeConfig, LoadLimitsConfig, SandboxLimitsConfig, SandboxMount, SandboxConfig, KilnConfig, AutoscaleConfig, EjectionConfig } from './config-types.js'

export const DEFAULT_NODES: NodeConfig[] = [
  { name: 'general', labels: { 'kiln.dev/pool': 'general' } },
  { name: 'isolated', labels: { 'kiln.dev/pool': 'isolated' }, taints: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }] },
]

export function defaultConfig(): KilnConfig {
  return {
    port: 8080,
    host: '127.0.0.1',
    dataDir: './.kiln',
    poolSize: 3,
    idleTimeoutMs: 120_000,
    instanceBudget: 64,
    maxBodyBytes: 100 * 1024 * 1024,
    logLevel: 'info',
    accessLog: false,
    cgroups: 'auto',
    cgroupRoot: 'kiln',
    nodes: DEFAULT_NODES,
    loadLimits: { cpuShare: 0.9, cpuCores: 0.5, cpuMsPerRequest: 20, memoryShare: 0.9, throttleRatio: 0.5, window: 5, sampleMs: 1000, cooldownMs: 0 },
    callbackHosts: [],
    asyncMaxBodyBytes: 1024 * 1024,
    tracing: {},
    sandbox: defaultSandbox(),
    versionRetention: 10,
    queueLeaseMs: 30_000,
    autoscale: { stableWindowMs: 30_000, panicWindowMs: 3_000, panicThreshold: 2, targetUtilization: 0.7, cpuBoundCores: 0.1, idleCoresToGrow: 0.5, probeMs: 1000, sampleMs: 250, adaptiveConcurrency: true },
    ejection: { consecutive5xx: 5, probeTimeoutMs: 1000 },
    routerProcesses: 1,
  }
}

export function defaultSandbox(): SandboxConfig {
  return {
    enabled: true,
    network: 'egress',
    limits: {
      default: { memory: '512Mi', pids: 1024, openFiles: 4096, fileSize: '256Mi', tmp: '64Mi' },
      max: { memory: '8Gi', pids: 32768, openFiles: 65536, fileSize: '8Gi', tmp: '4Gi' },
    },
    mounts: [],
    programs: { bwrap: 'bwrap', setpriv: 'setpriv', slirp4netns: 'slirp4netns' },
  }
}

type Partial2<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] }

// Every setting is checked where it came from, so the message names what to fix: the flag, the
// KILN_* variable, or the key in kiln.yaml (a typo there is an unknown key, not a silent default).
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const CGROUP_MODES = ['auto', 'v2', 'v1', 'none']
const FLAGS: Record<string, string> = {
  port: '--port', host: '--host', dataDir: '--data', poolSize: '--pool-size', idleTimeoutMs: '--idle-timeout', instanceBudget: '--budget',
  cgroups: '--cgroups', redisUrl: '--redis', accessLog: '--access-log', logLevel: '--log-level', apiHost: '--api-host', apiPort: '--api-port',
  routerProcesses: '--router-processes',
}
const ENV: Record<string, string> = {
  KILN_PORT: 'port', KILN_HOST: 'host', KILN_DATA: 'dataDir', KILN_POOL_SIZE: 'poolSize', KILN_IDLE_TIMEOUT: 'idleTimeoutMs',
  KILN_INSTANCE_BUDGET: 'instanceBudget', KILN_MAX_BODY: 'maxBodyBytes', KILN_LOG_LEVEL: 'logLevel', KILN_ACCESS_LOG: 'accessLog',
  KILN_CGROUPS: 'cgroups', KILN_CGROUP_ROOT: 'cgroupRoot', KILN_REDIS_URL: 'redisUrl',
  KILN_API_HOST: 'apiHost', KILN_API_PORT: 'apiPort', KILN_CALLBACK_HOSTS: 'callbackHosts', KILN_OTLP_ENDPOINT: 'tracing',
  KILN_ASYNC_MAX_BODY: 'asyncMaxBodyBytes',
  KILN_VERSION_RETENTION: 'versionRetention',
  KILN_QUEUE_LEASE: 'queueLeaseMs',
  KILN_AUTOSCALE_STABLE_WINDOW: 'autoscale.stableWindowMs', KILN_AUTOSCALE_PANIC_WINDOW: 'autoscale.panicWindowMs',
  KILN_ADAPTIVE_CONCURRENCY: 'autoscale.adaptiveConcurrency',
  KILN_EJECT_AFTER_5XX: 'ejection.consecutive5xx',
  KILN_ROUTER_PROCESSES: 'routerProcesses',
  // One key of a map each: fromEnv puts them under `sandbox`.
  KILN_SANDBOX: 'sandbox.enabled', KILN_SANDBOX_NETWORK: 'sandbox.network',
}
/** kiln.yaml keys: the settings, with `idleTimeout`, `maxBody`, `asyncMaxBody` and `queueLease` as the quantities users type. */
const FILE_KEYS = new Set(['port', 'host', 'poolSize', 'idleTimeout', 'idleTimeoutMs', 'instanceBudget', 'maxBody', 'maxBodyBytes', 'logLevel', 'accessLog', 'cgroups', 'cgroupRoot', 'redisUrl', 'nodes', 'loadLimits', 'apiHost', 'apiPort', 'callbackHosts', 'tracing', 'asyncMaxBody', 'asyncMaxBodyBytes', 'sandbox', 'versionRetention', 'queueLease', 'queueLeaseMs', 'autoscale', 'ejection', 'routerProcesses'])
const SANDBOX_KEYS = ['enabled', 'network', 'uids', 'limits', 'mounts', 'programs']
const SANDBOX_NETWORKS = ['egress', 'none', 'host']
/** sandbox.limits.default|max keys: sizes (128Mi) or counts. */
const SANDBOX_LIMITS: Record<string, 'size' | 'count'> = { memory: 'size', pids: 'count', openFiles: 'count', fileSize: 'size', tmp: 'size' }

function invalid(where: string, what: string, got: unknown): KilnError {
  return new KilnError('KILN_ERR_VALIDATION', `${where}: must be ${what}, got ${JSON.stringify(got)}`)
}

const nonNegativeInt = (where: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number => {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v.trim()) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw invalid(where, max < Number.MAX_SAFE_INTEGER ? `an integer from 0 to ${max}` : 'a non-negative integer', v)
  return n
}

/** Converts one setting from what a user typed (strings from the environment, YAML values) and checks it. */
function setting(key: string, v: unknown, where: string): unknown {
  switch (key) {
    case 'port': case 'apiPort': return nonNegativeInt(where, v, 65535)
    case 'apiHost':
      if (typeof v !== 'string' || v.trim() === '') throw invalid(where, 'a non-empty string', v)
      return v
    // KILN_CALLBACK_HOSTS is comma-separated; kiln.yaml has a list.
    case 'callbackHosts': return checkHostPatterns(typeof v === 'string' ? v.split(',').map((h) => h.trim()).filter(Boolean) : v, where)
    // KILN_OTLP_ENDPOINT is the endpoint alone; kiln.yaml has the whole map.
    case 'tracing': return checkTracingConfig(typeof v === 'string' ? { otlpEndpoint: v } : v)
    case 'poolSize': case 'instanceBudget': return nonNegativeInt(where, v)
    case 'versionRetention': {
      const n = nonNegativeInt(where, v, 10_000)
      if (n < 1) throw invalid(where, 'an integer from 1 to 10000', v)
      return n
    }
    case 'idleTimeoutMs': case 'idleTimeout':
      try { return nonNegativeInt(where, typeof v === 'string' ? parseDuration(v) : v) } catch { throw invalid(where, 'a duration (500ms, 30s, 5m, 1h30m)', v) }
    // Queue triggers' lease: a message held by a stopped process waits this long; under 1 s a slow call would be redelivered.
    case 'queueLeaseMs': case 'queueLease': {
      let ms: number
      try { ms = nonNegativeInt(where, typeof v === 'string' ? parseDuration(v) : v) } catch { throw invalid(where, 'a duration of at least 1s', v) }
      if (ms < 1000) throw invalid(where, 'a duration of at least 1s', v)
      return ms
    }
    case 'maxBodyBytes': case 'maxBody': case 'asyncMaxBodyBytes': case 'asyncMaxBody':
      try { return nonNegativeInt(where, typeof v === 'string' ? parseBytes(v) : v) } catch { throw invalid(where, 'a size (65536, 128Mi, 1G)', v) }
    case 'host': case 'dataDir':
      if (typeof v !== 'string' || v.trim() === '') throw invalid(where, 'a non-empty string', v)
      return v
    case 'cgroupRoot':
      if (typeof v !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(v)) throw invalid(where, 'a cgroup name (letters, digits, . _ -)', v)
      return v
    case 'redisUrl':
      if (typeof v !== 'string' || !/^rediss?:\/\/./.test(v)) throw invalid(where, 'a redis:// or rediss:// URL', v)
      return v
    case 'logLevel':
      if (typeof v !== 'string' || !LOG_LEVELS.includes(v)) throw invalid(where, `one of ${LOG_LEVELS.join(', ')}`, v)
      return v
    case 'cgroups':
      if (typeof v !== 'string' || !CGROUP_MODES.includes(v)) throw invalid(where, `one of ${CGROUP_MODES.join(', ')}`, v)
      return v
    case 'accessLog':
      if (v === true || v === 'true' || v === '1') return true
      if (v === false || v === 'false' || v === '0') return false
      throw invalid(where, 'true or false (1 or 0)', v)
    case 'nodes':
      if (!Array.isArray(v) || v.some((n) => typeof n !== 'object' || n === null || typeof (n as NodeConfig).name !== 'string')) throw invalid(where, 'a list of nodes, each with a name', v)
      return v
    case 'loadLimits': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(where, 'a map of the monitor\'s limits', v)
      const known = Object.keys(defaultConfig().loadLimits)
      for (const [k, x] of Object.entries(v)) {
        if (!known.includes(k)) throw invalid(`${where}.${k}`, `one of ${known.join(', ')} (unknown key)`, x)
        if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw invalid(`${where}.${k}`, 'a non-negative number', x)
      }
      return v
    }
    case 'autoscale': case 'ejection':
      return mapOf(v, where, Object.keys(defaultConfig()[key]), (k, x, at) => setting(`${key}.${k}`, x, at))
    case 'autoscale.stableWindowMs': case 'autoscale.panicWindowMs': case 'autoscale.sampleMs': case 'autoscale.probeMs': case 'ejection.probeTimeoutMs': {
      let n: number
      try { n = nonNegativeInt(where, typeof v === 'string' ? parseDuration(v) : v) } catch { throw invalid(where, 'a duration (500ms, 30s, 5m)', v) }
      if (n < 1) throw invalid(where, 'a duration above 0', v)
      return n
    }
    case 'ejection.consecutive5xx': return nonNegativeInt(where, v, 1_000_000)
    case 'routerProcesses': {
      const n = nonNegativeInt(where, v, 64)
      if (n < 1) throw invalid(where, 'an integer from 1 to 64', v)
      return n
    }
    case 'autoscale.panicThreshold': case 'autoscale.targetUtilization': case 'autoscale.cpuBoundCores': case 'autoscale.idleCoresToGrow': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
      if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw invalid(where, 'a number above 0', v)
      if (key === 'autoscale.targetUtilization' && n > 1) throw invalid(where, 'a share from 0 to 1', v)
      return n
    }
    case 'sandbox': return mapOf(v, where, SANDBOX_KEYS, (k, x, at) => setting(`sandbox.${k}`, x, at))
    case 'sandbox.enabled': case 'autoscale.adaptiveConcurrency':
      if (v === true || ['true', '1', 'on'].includes(v as string)) return true
      if (v === false || ['false', '0', 'off'].includes(v as string)) return false
      throw invalid(where, 'true or false (on or off, 1 or 0)', v)
    case 'sandbox.network':
      if (typeof v !== 'string' || !SANDBOX_NETWORKS.includes(v)) throw invalid(where, `one of ${SANDBOX_NETWORKS.join(', ')}`, v)
      return v
    case 'sandbox.uids': {
      const m = typeof v === 'string' ? /^([0-9]+)-([0-9]+)$/.exec(v) : null
      if (!m || Number(m[1]) < 1000 || Number(m[2]) < Number(m[1])) throw invalid(where, '"FIRST-LAST", unprivileged uids (1000 or above)', v)
      return v
    }
    case 'sandbox.limits':
      return mapOf(v, where, ['default', 'max'], (_, x, at) => mapOf(x, at, Object.keys(SANDBOX_LIMITS), (k, y, at2) => {
        if (SANDBOX_LIMITS[k] === 'count') {
          if (typeof y !== 'number' || !Number.isInteger(y) || y <= 0) throw invalid(at2, 'a positive integer', y)
          return y
        }
        try { if (parseBytes(String(y)) > 0) return y } catch { /* said below */ }
        throw invalid(at2, 'a size (64Mi, 1Gi)', y)
      }))
    case 'sandbox.mounts':
      if (!Array.isArray(v)) throw invalid(where, 'a list of { source, target, writable? }', v)
      v.forEach((m, i) => mapOf(m, `${where}[${i}]`, ['source', 'target', 'writable'], (k, x, at) => {
        if (k === 'writable') { if (typeof x !== 'boolean') throw invalid(at, 'true or false', x) } else if (typeof x !== 'string' || !x.startsWith('/')) throw invalid(at, 'an absolute path', x)
        return x
      }, ['source', 'target']))
      return v
    case 'sandbox.programs':
      return mapOf(v, where, ['bwrap', 'setpriv', 'slirp4netns'], (_, x, at) => {
        if (typeof x !== 'string' || x.trim() === '') throw invalid(at, 'a program name or path', x)
        return x
      })
    default: return v
  }
}

/** A map of known keys, each checked by `check` under `where.key`; `required` keys must be there. */
function mapOf(v: unknown, where: string, keys: string[], check: (key: string, x: unknown, where: string) => unknown, required: string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(where, `a map of ${keys.join(', ')}`, v)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (!keys.includes(k)) throw invalid(`${where}.${k}`, `one of ${keys.join(', ')} (unknown key)`, x)
    out[k] = check(k, x, `${where}.${k}`)
  }
  for (const k of required) if (!(k in out)) throw invalid(`${where}.${k}`, 'set', undefined)
  return out
}

function fromEnv(env: NodeJS.ProcessEnv): Partial2<KilnConfig> {
  const out: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(ENV)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const [top, sub] = key.split('.')
    if (sub === undefined) out[key] = setting(key, raw, name)
    else out[top] = { ...(out[top] as object | undefined), [sub]: setting(key, raw, name) }
  }
  return out as Partial2<KilnConfig>
}

function fromFile(dataDir: string): Partial2<KilnConfig> {
  const file = join(dataDir, 'kiln.yaml')
  if (!existsSync(file)) return {}
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8')) ?? {}
  } catch (e) {
    throw new KilnError('KILN_ERR_VALIDATION', `${file}: ${(e as Error).message}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(file, 'a map of settings', doc)
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(doc)) {
    if (!FILE_KEYS.has(key)) throw invalid(`${file}: ${key}`, `one of ${[...FILE_KEYS].join(', ')} (unknown key)`, v)
    const name = key === 'idleTimeout' ? 'idleTimeoutMs' : key === 'maxBody' ? 'maxBodyBytes' : key === 'asyncMaxBody' ? 'asyncMaxBodyBytes' : key === 'queueLease' ? 'queueLeaseMs' : key
    out[name] = setting(key, v, `${file}: ${key}`)
  }
  return out as Partial2<KilnConfig>
}

/** Resolves the configuration; `flags` holds only what the user actually passed. */
export function loadConfig(flags: Partial2<KilnConfig> = {}, env: NodeJS.ProcessEnv = process.env): KilnConfig {
  const base = defaultConfig()
  const flagPart: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(flags)) if (v !== undefined) flagPart[key] = setting(key, v, FLAGS[key] ?? `config ${key}`)
  const envPart = fromEnv(env)
  const dataDir = resolve((flagPart.dataDir as string | undefined) ?? envPart.dataDir ?? base.dataDir)
  const filePart = fromFile(dataDir)
  const merged = { ...base, ...filePart, ...envPart, ...flagPart, dataDir } as KilnConfig
  merged.loadLimits = { ...base.loadLimits, ...filePart.loadLimits, ...envPart.loadLimits, ...(flagPart.loadLimits as Partial<LoadLimitsConfig> | undefined) }
  merged.autoscale = { ...base.autoscale, ...filePart.autoscale, ...envPart.autoscale, ...(flagPart.autoscale as Partial<AutoscaleConfig> | undefined) }
  merged.ejection = { ...base.ejection, ...filePart.ejection, ...envPart.ejection, ...(flagPart.ejection as Partial<EjectionConfig> | undefined) }
  // KILN_OTLP_ENDPOINT sets the endpoint and keeps the rest of kiln.yaml's tracing map.
  merged.tracing = checkTracingConfig({ ...base.tracing, ...filePart.tracing, ...envPart.tracing, ...(flagPart.tracing as Partial<TracingConfig> | undefined) })
  merged.callbackHosts = checkHostPatterns(merged.callbackHosts)
  merged.sandbox = mergeSandbox(base.sandbox, filePart.sandbox, envPart.sandbox, flagPart.sandbox as Partial<SandboxConfig> | undefined)
  return merged
}

/** callbackHosts must be a list of host patterns; each is parsed once here so a typo stops `kiln up`. */
function checkHostPatterns(value: unknown, where = 'config callbackHosts'): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((h) => typeof h !== 'string')) throw new KilnError('KILN_ERR_VALIDATION', `${where}: must be a list of hosts ("api.example.com", "*.example.com", "10.0.0.5:8080")`)
  for (const h of value as string[]) {
    try {
      parseHostPattern(h)
    } catch (e) {
      throw new KilnError('KILN_ERR_VALIDATION', `${where}: ${(e as Error).message}`)
    }
  }
  return value as string[]
}

/** The sandbox's settings merge key by key across layers (limits and programs field by field). */
function mergeSandbox(base: SandboxConfig, ...parts: (Partial<SandboxConfig> | undefined)[]): SandboxConfig {
  const out: SandboxConfig = { ...base, limits: { default: { ...base.limits.default }, max: { ...base.limits.max } }, programs: { ...base.programs } }
  for (const p of parts) {
    if (!p) continue
    const { limits, programs, ...rest } = p
    Object.assign(out, rest)
    if (limits?.default) Object.assign(out.limits.default, limits.default)
    if (limits?.max) Object.assign(out.limits.max, limits.max)
    if (programs) Object.assign(out.programs, programs)
  }
  return out
}
