// sleep: waits for its default input (a Go duration string like "1h10m" or "300ms", or milliseconds;
// default 1 s) and outputs nothing. The wake time is persisted, so a resumed sleep waits what is left.
import { sleepUntil } from '../../abort.js'
import { inputError, typeName, type InternalFunction } from '../call.js'
import { parseGoDuration } from '../go-duration.js'

export function durationInput(fn: string, name: string, v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback
  if (typeof v === 'number' && Number.isFinite(v)) return Math.max(0, v)
  if (typeof v === 'string') {
    const ms = parseGoDuration(v)
    if (ms === undefined) throw inputError(fn, `input '${name}' is not a duration ("300ms", "1h10m"): ${JSON.stringify(v).slice(0, 60)}`)
    return Math.max(0, ms)
  }
  throw inputError(fn, `input '${name}' must be a duration string or milliseconds, got ${typeName(v)}`)
}

export const sleep: InternalFunction = async (call) => {
  const ms = durationInput('sleep', 'default', call.inputs.default, 1000)
  let wakeAt = call.state().wakeAt
  if (wakeAt === undefined) {
    wakeAt = new Date(Date.now() + ms).toISOString()
    await call.progress({ wakeAt })
  }
  await sleepUntil(Date.parse(wakeAt), call.signal)
  return null
}
