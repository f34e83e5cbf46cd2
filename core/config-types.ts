// The shape of the platform's configuration (core/config.ts reads, checks and merges it). Kept apart from
// the reading so the many places that only name a setting's type do not depend on how it is loaded.
import type { TracingConfig } from './tracing.js'

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

/** Limits of one instance, as an operator writes them in kiln.yaml (sizes like 128Mi). */
export interface SandboxLimitsConfig { memory?: string; pids?: number; openFiles?: number; fileSize?: string; tmp?: string }

/** A host path the operator mounts into every instance (shared by every function; writable only when asked). */
export interface SandboxMount { source: string; target: string; writable?: boolean }

/** How instances are confined on the embedded platform (docs/sandbox.md). */
export interface SandboxConfig {
  /** false: instances run as plain child processes, and every protection is reported missing. */
  enabled: boolean
  /** egress: own network namespace with outbound access (slirp4netns); none: loopback only; host: the host's network. */
  network: 'egress' | 'none' | 'host'
  /** uids for instances, "FIRST-LAST" (one per live instance); default: 65536 uids derived from the data dir. */
  uids?: string
  /** `default`: what every function gets; `max`: the most a function may ask for. */
  limits: { default: SandboxLimitsConfig; max: SandboxLimitsConfig }
  mounts: SandboxMount[]
  /** The programs used (tests point one at a missing path to see the platform degrade). */
  programs: { bwrap: string; setpriv: string; slirp4netns: string }
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
  /** hosts that requests made on a workflow author's behalf may reach (core/allowlist.ts patterns); empty: none */
  callbackHosts: string[]
  /** largest request body an async invocation stores (kiln.yaml `asyncMaxBody`, KILN_ASYNC_MAX_BODY); also the stored result's */
  asyncMaxBodyBytes: number
  /** OpenTelemetry traces (core/tracing.ts): off unless an OTLP endpoint is set. */
  tracing: TracingConfig
  /** The control API (`/v1`, `/metrics`) on its own listener; unset: one listener serves all (docs/security.md). */
  apiHost?: string
  apiPort?: number
  sandbox: SandboxConfig
  /** Function versions kept per function beyond those an alias, a split, a route or a canary uses (docs/releases.md). */
  versionRetention: number
  /** Queue triggers: a message held this long by a stopped platform goes to another (Redis claim idle time, NATS ack wait). */
  queueLeaseMs: number
  /** How instance counts follow demand and CPU (executor/autoscale/, docs/router.md "Under overload"). */
  autoscale: AutoscaleConfig
  /** When an instance that keeps failing is taken out of rotation (executor/outliers.ts). */
  ejection: EjectionConfig
  /** Router processes of `kiln up` (router/workers/): 1 serves every request in the platform's own process. */
  routerProcesses: number
}

export interface AutoscaleConfig {
  /** The window whose average demand sets the instance count (and keeps instances through dips). */
  stableWindowMs: number
  /** The short window that detects a burst. */
  panicWindowMs: number
  /** Panic when the panic window asks for this many times the ready instances. */
  panicThreshold: number
  /** The share of an instance's slots (its concurrency) the count aims to fill. */
  targetUtilization: number
  /** Cores an instance uses on average before the node's idle CPU limits how many the function gets. */
  cpuBoundCores: number
  /** Idle cores the node needs for instances to be added without a throughput probe. */
  idleCoresToGrow: number
  /** How long a probe instance serves before its gain in throughput is judged. */
  probeMs: number
  /** How often demand and CPU are sampled and the decision made. */
  sampleMs: number
  /** Each instance gets fewer requests than its concurrency while more would only wait inside it (executor/autoscale/inflight-limit.ts). */
  adaptiveConcurrency: boolean
}

export interface EjectionConfig {
  /** 5xx answers in a row before an instance's health is checked (0: never eject). */
  consecutive5xx: number
  probeTimeoutMs: number
}
