// The shapes shared by every cgroup driver (v2, v1, none). See docs/cgroups.md.
import type { InstanceSample } from '../../backend.js'

/** Limits for one group. A field that is absent is left as it is; `Infinity` removes the limit. */
export interface CgroupLimits {
  /** CPU cores, e.g. 0.5 → quota of half a period. */
  cpu?: number
  /** Hard memory limit: the kernel reclaims, then OOM-kills inside the group. Swap is not allowed past it. */
  memoryBytes?: number
  /** Soft memory limit: memory.high on v2 (throttle + reclaim), memory.soft_limit_in_bytes on v1 (reclaim target under host pressure). */
  memoryHighBytes?: number
  /** Maximum number of tasks (processes and threads). */
  pids?: number
  /** CPU list, e.g. "1" or "0-1,3" (needs the cpuset controller). */
  cpuset?: string
}

/** One instance's counters; the shape every cluster backend reports (cluster/backend.ts). */
export type CgroupSample = InstanceSample

export interface CgroupGroup {
  /** Relative to the kiln root, e.g. "nodes/general/i-abc". */
  readonly path: string
  /** Absolute files the wrapper writes its pid into (one per v1 hierarchy, one on v2, none for 'none'). */
  readonly procsFiles: string[]
  setLimits(l: CgroupLimits): Promise<void>
  /** Read back from the cgroup files: what the kernel enforces, not what was asked for. */
  readLimits(): Promise<CgroupLimits>
  sample(): Promise<CgroupSample>
  /** Every process in the group and its descendant groups. */
  pids(): Promise<number[]>
  /** Signal every process in the group and its descendant groups (default SIGKILL, repeated until empty). */
  killAll(signal?: NodeJS.Signals): Promise<void>
  /** Kill, wait until empty, rmdir (children first). */
  remove(): Promise<void>
}

export type CgroupMode = 'v2' | 'v1' | 'none'

export interface CgroupDriver {
  readonly mode: CgroupMode
  /** For 'none': why (print once at startup, show in `kiln node list`). */
  readonly reason?: string
  /** Human-readable root location(s). */
  readonly root: string
  /** Create (mkdir -p along the path) or open; when limits are given they are applied to this group only. */
  group(path: string, limits?: CgroupLimits): Promise<CgroupGroup>
  /** For 'none': numbers from /proc/<pid>/stat + status, descendants included. */
  sampleProcess?(pid: number): Promise<CgroupSample>
  /** The enter-then-exec wrapper (with rlimits when given); identity when there is nothing to do. */
  wrap(group: CgroupGroup | null, argv: string[], rlimits?: { openFiles?: number; fileSizeBytes?: number }): { command: string; args: string[] }
  /** At startup: kill processes a previous run left in this root's groups and remove the groups. Returns how many it killed. */
  sweep(): Promise<number>
  /** Remove the whole root tree (killing what is still in it). */
  close(): Promise<void>
}

/** The logger shape the drivers need (pino's Logger fits). */
export interface CgroupLogger {
  warn(o: object, msg: string): void
  info(o: object, msg: string): void
}

export const silentCgroupLogger: CgroupLogger = { warn() {}, info() {} }
