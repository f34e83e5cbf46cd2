// The shapes the console reads from /v1 (docs/api.md), as far as it shows them.

export interface Whoami { id: string; role: 'admin' | 'developer' | 'viewer' | 'invoker'; namespaces: string[]; defaultNamespace?: string; name?: string }

export interface InstanceView {
  id: string; runtime: string; node: string; state: string; function?: string; version?: string; functionVersion?: number
  inflight: number; requests: number; ageMs: number; idleMs: number; cpuCores?: number; memoryBytes?: number
}

export interface VersionLive { version: number; weight: number; requests: number; coldStarts: number; instances: number; ready: number; warming: number }

export interface FunctionStatus {
  strategy?: string; reuse?: string; version?: string; functionVersion?: number; latestVersion?: number
  requests?: number; coldStarts?: number; specializations?: number; queued?: number
  instances?: InstanceView[]
  versions?: VersionLive[]
  traffic?: { version: number; weight: number }[]
  aliases?: Record<string, { version: number; weight: number }[]>
  canary?: { to: number; weight: number }
  isolation?: { reason: string; by: string; since: string; evidence?: Record<string, unknown> }
}

export interface FunctionView {
  metadata: { name: string; namespace?: string }
  spec: { runtime: string; strategy?: string; private?: boolean }
  status: FunctionStatus
}

export interface Series { intervalMs: number; end: number; rate: number[]; errors: number[]; p50: (number | null)[]; p99: (number | null)[] }

export interface PoolView { runtime: string; placement: string; target: number; ready: number; booting: number; specializing: number; inUse: number }

export interface NodeView {
  name: string; labels: Record<string, string>; taints: { key: string; value?: string; effect: string }[]
  capacity: { cpus?: number; memory?: string; cpuset?: string }
  usage: { instances: number; cpuCores: number; memoryBytes: number }
  instances: { id: string; function?: string; state: string }[]
}

export interface PlatformEvent { seq: number; at: string; type: string; function?: string; reason: string; evidence?: Record<string, unknown> }

export interface ExecutionSummary { id: string; workflow: string; status: string; createdAt: string; finishedAt?: string; parentId?: string }

export interface TaskState { status: string; startedAt: string; finishedAt?: string; attempts: number; durationMs?: number; error?: { code?: string; message?: string }; items?: number }

export interface Execution extends ExecutionSummary {
  durationMs?: number
  error?: { code?: string; message?: string }
  tasks: Record<string, TaskState>
  spec?: { tasks: Record<string, { requires?: string[]; function?: string }> }
}

export interface InvocationSummary { id: string; function: string; namespace: string; status: string; attempts: number; source: string; createdAt: string; finishedAt?: string }

export interface Invocation extends InvocationSummary {
  error?: { code: string; message: string; status?: number }
  result?: { status: number; body: string; encoding?: string }
  request?: { method: string; path: string; bodyBytes: number }
  nextAttemptAt?: string
}

export interface VersionView {
  metadata: { name: string; createdAt?: string }
  spec: { version: number; changed: string[]; createdBy: { id: string; name?: string }; note?: string; spec: { package: { sha256: string } } }
  status: { weight: number; aliases: string[] }
}
