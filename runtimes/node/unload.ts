// POST /v1/unload: drop the function, put the environment back, say honestly whether it left anything.
import type { ServerResponse } from 'node:http'
import { leftovers } from './clean.js'
import { restoreEnv } from './env.js'
import { sendJson } from './errors.js'
import { forget } from './loader.js'
import { state } from './state.js'

export function unload(res: ServerResponse): void {
  const c = state.current
  if (c === undefined) {
    sendJson(res, 200, { state: 'generic', clean: !state.tainted })
    return
  }
  state.current = undefined
  state.requests = 0
  forget(c.loaded)
  restoreEnv(c.env)
  const left = leftovers(c.baseline, state.connections)
  if (state.pending > 0) left.push(`${state.pending} invocation(s) still running`)
  if (state.tainted) left.push('an uncaught exception or unhandled rejection happened')
  const body: Record<string, unknown> = { state: 'generic', clean: left.length === 0 }
  if (left.length > 0) body.leftovers = left
  sendJson(res, 200, body)
}
