// The enter-then-exec wrapper: a tiny shell writes its own pid into the group's procs file(s) and
// then execs the runtime with the same pid, so the runtime runs no code outside its limits.
//
//   /bin/sh -c SCRIPT kiln-cgroup-enter <n> <procs file 1> ... <procs file n> <argv 0> <argv 1> ...
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

/** Exit status of the wrapper when it could not join the cgroup (the runtime never started). */
export const ENTER_FAILED_EXIT = 125

export function wrapArgv(group: CgroupGroup | null, argv: string[]): { command: string; args: string[] } {
  if (argv.length === 0) throw new Error('wrap: empty argv')
  const files = group?.procsFiles ?? []
  if (files.length === 0) return { command: argv[0], args: argv.slice(1) }
  return { command: '/bin/sh', args: ['-c', ENTER_SCRIPT, 'kiln-cgroup-enter', String(files.length), ...files, ...argv] }
}
