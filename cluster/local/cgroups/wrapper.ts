// The enter-then-exec wrapper: a tiny shell writes its own pid into the group's procs file(s) and
// then execs the runtime with the same pid, so the runtime runs no code outside its limits.
//
//   /bin/sh -c SCRIPT kiln-cgroup-enter <n> <procs file 1> ... <procs file n> <argv 0> <argv 1> ...
//
// With rlimits it also sets the open files and file size limits (soft and hard, so the runtime cannot
// raise them) before the exec; `-` leaves one as it is:
//
//   /bin/sh -c SCRIPT kiln-cgroup-enter <n> <procs files>... <open files> <file size in 512-byte blocks> <argv>...
//
// Files and argv travel as positional parameters, never spliced into the script, so no quoting of
// user arguments is ever needed.

import type { CgroupGroup } from './types.js'

export const ENTER_SCRIPT =
  'n=$1; shift; ' +
  'while [ "$n" -gt 0 ]; do ' +
  'echo $$ > "$1" || { echo "kiln: cannot enter cgroup ($1)" >&2; exit 125; }; ' +
  'shift; n=$((n-1)); ' +
  'done; ' +
  'exec "$@"'

export const ENTER_LIMITS_SCRIPT =
  'n=$1; shift; ' +
  'while [ "$n" -gt 0 ]; do ' +
  'echo $$ > "$1" || { echo "kiln: cannot enter cgroup ($1)" >&2; exit 125; }; ' +
  'shift; n=$((n-1)); ' +
  'done; ' +
  '[ "$1" = - ] || ulimit -n "$1" || { echo "kiln: cannot set the open files limit" >&2; exit 125; }; ' +
  '[ "$2" = - ] || ulimit -f "$2" || { echo "kiln: cannot set the file size limit" >&2; exit 125; }; ' +
  'shift 2; ' +
  'exec "$@"'

/** Exit status of the wrapper when it could not join the cgroup (the runtime never started). */
export const ENTER_FAILED_EXIT = 125

/** Per-process limits set before the runtime starts (inherited by everything it starts). */
export interface Rlimits { openFiles?: number; fileSizeBytes?: number }

export function wrapArgv(group: CgroupGroup | null, argv: string[], rlimits?: Rlimits): { command: string; args: string[] } {
  if (argv.length === 0) throw new Error('wrap: empty argv')
  const files = group?.procsFiles ?? []
  if (rlimits && (rlimits.openFiles !== undefined || rlimits.fileSizeBytes !== undefined)) {
    const nofile = rlimits.openFiles === undefined ? '-' : String(Math.floor(rlimits.openFiles))
    // POSIX sh counts `ulimit -f` in 512-byte blocks.
    const fsize = rlimits.fileSizeBytes === undefined ? '-' : String(Math.max(1, Math.floor(rlimits.fileSizeBytes / 512)))
    return { command: '/bin/sh', args: ['-c', ENTER_LIMITS_SCRIPT, 'kiln-cgroup-enter', String(files.length), ...files, nofile, fsize, ...argv] }
  }
  if (files.length === 0) return { command: argv[0], args: argv.slice(1) }
  return { command: '/bin/sh', args: ['-c', ENTER_SCRIPT, 'kiln-cgroup-enter', String(files.length), ...files, ...argv] }
}
