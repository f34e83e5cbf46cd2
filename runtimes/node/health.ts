// GET /healthz.
import type { ServerResponse } from 'node:http'
import { leftovers } from './clean.js'
import { sendJson } from './errors.js'
import { state } from './state.js'

export function health(res: ServerResponse): void {
  const c = state.current
  // Not ready while warming up: a readiness probe (Kubernetes) must not route to it yet.
  sendJson(res, state.warming || state.exhausted ? 503 : 200, {
    state: state.exhausted ? 'exhausted' : state.warming ? 'warming' : c ? 'specialized' : 'generic',
    runtime: state.runtime,
    function: c ? { name: c.info.name, version: c.info.version, sha256: c.sha256 } : null,
    pid: process.pid,
    uptimeMs: Math.round(performance.now() - state.startedAt),
    requests: state.requests,
    // whether an unload now would leave the instance clean
    clean: !state.tainted && (c === undefined || (state.pending === 0 && leftovers(c.baseline, state.connections).length === 0)),
  })
}
