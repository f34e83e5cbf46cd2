// Platform configuration. Precedence: flags > environment (KILN_*) > `kiln.yaml` in the data dir > defaults.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { KilnError } from './errors.js'
import { parseBytes, parseDuration } from './quantity.js'

export interface NodeConfig {
  name: string
  labels?: Record<string, string>
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[]
  cpus?: number
  memory?: string
  cpuset?: string
}

export interface LoadLimitsConfig {
  cpuShare: number        // fraction of the instance's cpu limit considered normal
  cpuCores: number        // cores considered normal for a function without a cpu limit
  cpuMsPerRequest: number // cpu rules apply only above this much cpu time per completed request: busy is not noisy
  memoryShare: number     // fraction of the memory limit considered normal
  throttleRatio: number   // nr_throttled / nr_periods above which a sample is abnormal
  window: number          // consecutive abnormal samples before a function is marked noisy
  sampleMs: number
  cooldownMs: number      // 0: isolated functions stay isolated until released by hand
}

export interface KilnConfig {
  port: number
  host: string
  dataDir: string
  poolSize: number
  idleTimeoutMs: number
  instanceBudget: number
  maxBodyBytes: number
  logLevel: string
  accessLog: boolean
  cgroups: 'auto' | 'v2' | 'v1' | 'none'
  cgroupRoot: string
  redisUrl?: string
  nodes: NodeConfig[]
  loadLimits: LoadLimitsConfig
  /** Queue triggers: a message held this long by a stopped platform goes to another (Redis claim idle time, NATS ack wait). */
  queueLeaseMs: number
}

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
    queueLeaseMs: 30_000,
  }
}

type Partial2<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] }

function fromEnv(env: NodeJS.ProcessEnv): Partial2<KilnConfig> {
  const out: Partial2<KilnConfig> = {}
  if (env.KILN_PORT) out.port = Number(env.KILN_PORT)
  if (env.KILN_HOST) out.host = env.KILN_HOST
  if (env.KILN_DATA) out.dataDir = env.KILN_DATA
  if (env.KILN_POOL_SIZE) out.poolSize = Number(env.KILN_POOL_SIZE)
  if (env.KILN_IDLE_TIMEOUT) out.idleTimeoutMs = parseDuration(env.KILN_IDLE_TIMEOUT)
  if (env.KILN_INSTANCE_BUDGET) out.instanceBudget = Number(env.KILN_INSTANCE_BUDGET)
  if (env.KILN_MAX_BODY) out.maxBodyBytes = parseBytes(env.KILN_MAX_BODY)
  if (env.KILN_LOG_LEVEL) out.logLevel = env.KILN_LOG_LEVEL
  if (env.KILN_ACCESS_LOG) out.accessLog = env.KILN_ACCESS_LOG === '1' || env.KILN_ACCESS_LOG === 'true'
  if (env.KILN_CGROUPS) out.cgroups = env.KILN_CGROUPS as KilnConfig['cgroups']
  if (env.KILN_CGROUP_ROOT) out.cgroupRoot = env.KILN_CGROUP_ROOT
  if (env.KILN_REDIS_URL) out.redisUrl = env.KILN_REDIS_URL
  if (env.KILN_QUEUE_LEASE) out.queueLeaseMs = parseDuration(env.KILN_QUEUE_LEASE)
  return out
}

function fromFile(dataDir: string): Partial2<KilnConfig> {
  const file = join(dataDir, 'kiln.yaml')
  if (!existsSync(file)) return {}
  let doc: Record<string, unknown>
  try {
    doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>
  } catch (e) {
    throw new KilnError('KILN_ERR_VALIDATION', `${file}: ${(e as Error).message}`)
  }
  const out: Partial2<KilnConfig> = { ...(doc as Partial2<KilnConfig>) }
  if (typeof doc.idleTimeout === 'string') out.idleTimeoutMs = parseDuration(doc.idleTimeout)
  if (doc.maxBody !== undefined) out.maxBodyBytes = parseBytes(doc.maxBody as string)
  delete (out as Record<string, unknown>).idleTimeout
  delete (out as Record<string, unknown>).maxBody
  if (doc.queueLease !== undefined) out.queueLeaseMs = parseDuration(doc.queueLease as string)
  delete (out as Record<string, unknown>).queueLease
  return out
}

/** Resolves the configuration; `flags` holds only what the user actually passed. */
export function loadConfig(flags: Partial2<KilnConfig> = {}, env: NodeJS.ProcessEnv = process.env): KilnConfig {
  const base = defaultConfig()
  const envPart = fromEnv(env)
  const dataDir = resolve(flags.dataDir ?? envPart.dataDir ?? base.dataDir)
  const filePart = fromFile(dataDir)
  const merged = { ...base, ...filePart, ...envPart, ...flags, dataDir } as KilnConfig
  merged.loadLimits = { ...base.loadLimits, ...filePart.loadLimits, ...envPart.loadLimits, ...flags.loadLimits }
  for (const [k, v] of Object.entries({ port: merged.port, poolSize: merged.poolSize, instanceBudget: merged.instanceBudget })) {
    if (!Number.isInteger(v) || v < 0) throw new KilnError('KILN_ERR_VALIDATION', `config ${k}: must be a non-negative integer, got ${v}`)
  }
  if (!Number.isFinite(merged.queueLeaseMs) || merged.queueLeaseMs < 1000) throw new KilnError('KILN_ERR_VALIDATION', `config queueLease: must be at least 1s, got ${merged.queueLeaseMs} ms`)
  return merged
}
