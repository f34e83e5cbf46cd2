// The runtimes every Kiln knows. Stored like user runtimes on first start, so operators can resize
// their pools (`kiln pool set`) and the setting survives restarts.
//
// `python` is registered only when its interpreter (`$KILN_PYTHON`, default python3) is 3.11 or newer;
// otherwise it is skipped with one log line on stderr, and Node-only machines keep working.
import { spawnSync } from 'node:child_process'
import type { RuntimeResource } from '../core/types.js'

const NODE: RuntimeResource = {
  metadata: { name: 'node', labels: { 'kiln.dev/builtin': 'true' } },
  spec: { protocol: 'kiln', language: 'node', command: ['${NODE}', '${KILN_DIST}/runtimes/node.js'], image: 'kiln/runtime-node:dev' },
}

const PYTHON: RuntimeResource = {
  metadata: { name: 'python', labels: { 'kiln.dev/builtin': 'true' } },
  spec: { protocol: 'kiln', language: 'python', command: ['${PYTHON}', '${KILN_ROOT}/runtimes/python/server.py'], image: 'kiln/runtime-python:dev' },
}

/** Why the Python runtime cannot run here, or undefined when `python` (3.11+) is available. */
export function pythonUnavailable(python = process.env.KILN_PYTHON ?? 'python3'): string | undefined {
  const r = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(0 if sys.version_info >= (3, 11) else 3)'], {
    encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'],
  })
  if (r.error) return `${python} not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`
  if (r.status === 3) return `${python} is Python ${r.stdout.trim()}; the python runtime needs 3.11 or newer`
  if (r.status !== 0) return `${python} did not run (exit ${r.status ?? r.signal})`
  return undefined
}

function builtins(): RuntimeResource[] {
  const list = [NODE]
  const why = pythonUnavailable()
  if (why === undefined) list.push(PYTHON)
  else {
    // The platform's logger is not there yet when this module loads: one pino-shaped line on stderr.
    process.stderr.write(JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, name: 'kiln', reason: why, msg: 'builtin runtime "python" skipped' }) + '\n')
  }
  return list
}

export const BUILTIN_RUNTIMES: RuntimeResource[] = builtins()
