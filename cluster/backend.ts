// Where instances really run. The local backend starts child processes (in cgroups, on virtual nodes);
// the Kubernetes backend starts pods. Everything above sees only this narrow interface.

export interface InstanceLimits {
  cpu?: number
  memoryBytes?: number
  pids?: number
  /** Fixed when the instance boots on the embedded platform (rlimits, the /tmp mount): see ClusterBackend.fitsPooled. */
  openFiles?: number
  fileSizeBytes?: number
  tmpBytes?: number
  /** What the instance is guaranteed, where the backend has such a notion (Kubernetes requests of a function's own pods). */
  requests?: { cpu?: number; memoryBytes?: number }
}

/** One protection an instance gets (or does not get) on this backend; docs/sandbox.md names them. */
export interface Protection {
  name: 'uid' | 'filesystem' | 'processes' | 'network' | 'limits' | 'tmp' | 'transport' | 'code'
  active: boolean
  /** What it gives, or why it is missing. */
  detail: string
}

/** Files placed for an instance before its code loads: `/var/kiln/secrets/<name>/<key>` inside it. */
export interface SecretFile { name: string; key: string; value: Buffer }

export interface InstanceSpec {
  id: string
  runtime: string
  protocol: 'kiln' | 'fission'
  /** The runtime program (local backend). */
  command: string[]
  /** Fixed port for runtimes that cannot report an ephemeral one (Fission environments). */
  port?: number
  env: Record<string, string>
  /** Node chosen by placement; the backend may refuse a node without room. */
  node: string
  limits?: InstanceLimits
  /** Let the runtime warm its own code paths before it reports ready (background boots only). */
  warmup?: boolean
  /**
   * The function a `dedicated` instance is booted for. A backend that keeps per-function sets starts
   * it in the function's own (Kubernetes: its Deployment); others ignore it.
   */
  function?: string
}

export interface ExitInfo { code: number | null; signal: string | null; oomKilled: boolean; reason: string }

export interface Instance {
  readonly id: string
  readonly runtime: string
  readonly node: string
  readonly url: string
  /** A Unix socket the instance listens on (the platform connects there; `url` then only names the origin). */
  readonly socketPath?: string
  readonly pid: number
  readonly startedAt: number
  /** Spawn to ready, in ms. */
  readonly bootMs: number
  /** Settles when the instance is gone, whoever stopped it. */
  readonly exited: Promise<ExitInfo>
}

export type LogStream = 'stdout' | 'stderr'
export type LogSink = (instanceId: string, stream: LogStream, line: string) => void

/** Counters of one instance, from its cgroup (or /proc where cgroups are not writable). */
export interface InstanceSample {
  /** Date.now() when the sample was taken. */
  at: number
  cpuUsageUsec: number
  throttledUsec: number
  nrPeriods: number
  nrThrottled: number
  memoryBytes: number
  memoryLimitBytes?: number
  /** Tasks (processes and threads) in the group, descendants included. */
  pids: number
  /** cpu.pressure "some avg10" (percent), where the kernel has PSI for this group. */
  cpuPressureSomeAvg10?: number
  oomKills: number
}

export interface ClusterBackend {
  readonly name: string
  start(spec: InstanceSpec): Promise<Instance>
  stop(id: string, graceMs?: number): Promise<void>
  list(): Instance[]
  close(): Promise<void>
  /** Applies a function's limits to a running instance (null: back to unlimited, for a generic pool). */
  setLimits?(id: string, limits: InstanceLimits | null): Promise<void>
  /** The instance's current counters; undefined when it is gone. */
  sample?(id: string): Promise<InstanceSample | undefined>
  /** The limits the kernel enforces for the instance, read back from its cgroup. */
  readLimits?(id: string): Promise<InstanceLimits | undefined>
  /**
   * Where instances download a code package from, when they share no file system with the platform
   * (pods on other nodes); undefined: they read the unpacked package from a local path.
   */
  codeUrl?(sha256: string): string | undefined
  /**
   * Puts a function's code where the instance reads it (verified against its sha256 first) and returns
   * `code.path` as the instance sees it; undefined: no such step, the caller passes its own unpacked folder.
   */
  stageCode?(id: string, sha256: string): Promise<string>
  /** Starts verifying a package ahead of its first instance (a deploy), so a first request does not wait. */
  prepareCode?(sha256: string): Promise<void>
  /**
   * Replaces the instance's secret files (readable by that instance alone; an empty list removes them),
   * before its code loads; returns their folder as the instance sees it (`KILN_SECRETS_DIR`).
   */
  placeSecrets?(id: string, files: SecretFile[]): Promise<string>
  /** Removes what stageCode and placeSecrets put there (the instance goes back to a pool). */
  unstage?(id: string): Promise<void>
  /** False when an instance booted for a generic pool cannot take these limits (they are fixed at boot). */
  fitsPooled?(limits: InstanceLimits | null): boolean
  /** What confines an instance here, and what is missing (the log, /healthz and /v1/nodes show it). */
  protections?(): Protection[]
}
