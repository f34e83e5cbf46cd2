// Out of file descriptors (EMFILE, or ENFILE for the whole system): an instance in that state answers
// every request with an error and cannot recover by itself (the function leaked them, or holds them).
// It says so on /healthz (503, state "exhausted"), stops accepting connections, and exits with status 70
// once what is in flight has finished (at most 2 s), so the platform replaces it.
import { state } from './state.js'

export const EXHAUSTED_EXIT = 70
const GRACE_MS = 2000

let stopServer: (() => void) | undefined

export function onExhausted(stop: () => void): void {
  stopServer = stop
}

/** True when `err` (or its cause) is running out of file descriptors. */
export function isFdExhaustion(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (code === 'EMFILE' || code === 'ENFILE') return true
  }
  return false
}

export function exhausted(where: string): void {
  if (state.exhausted) return
  state.exhausted = true
  process.stderr.write(`kiln: out of file descriptors (${where}): this instance stops and exits so the platform replaces it\n`)
  stopServer?.()
  const check = setInterval(() => { if (state.pending === 0) process.exit(EXHAUSTED_EXIT) }, 20)
  check.unref()
  setTimeout(() => process.exit(EXHAUSTED_EXIT), GRACE_MS).unref()
}
