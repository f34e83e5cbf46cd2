// Test double for the platform's Invoker: runs plain JS functions in-process (no router, no runtime),
// records every call with its start/finish order and the peak number of calls in flight.
import type { Invoker, InvokeOptions } from '../../../workflows/invoker.js'

export type TestFunction = (input: any, opts: InvokeOptions) => unknown | Promise<unknown>

export interface InvokeRecord {
  fn: string
  task: string
  input: unknown
  /** global sequence numbers: compare them to prove overlap without wall-clock thresholds */
  startSeq: number
  endSeq?: number
  outcome?: 'ok' | 'error'
}

export interface InProcessInvoker extends Invoker {
  calls: InvokeRecord[]
  /** peak calls in flight, per function and overall */
  maxInFlight: Map<string, number>
  peak: number
  callsOf(fn: string): InvokeRecord[]
  /** resolves when `fn` has been called `count` times */
  waitForCall(fn: string, count?: number): Promise<void>
}

export function inProcessInvoker(functions: Record<string, TestFunction>): InProcessInvoker {
  let seq = 0
  const inFlight = new Map<string, number>()
  let total = 0
  const waiters: Array<() => void> = []
  const inv: InProcessInvoker = {
    calls: [],
    maxInFlight: new Map(),
    peak: 0,
    callsOf: (fn) => inv.calls.filter((c) => c.fn === fn),
    waitForCall(fn, count = 1) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (inv.callsOf(fn).length >= count) {
            resolve()
            return true
          }
          return false
        }
        if (!check()) waiters.push(() => void check())
      })
    },
    async invoke(fn, input, opts) {
      const impl = functions[fn]
      if (!impl) throw new Error(`in-process invoker: no function ${fn}`)
      const rec: InvokeRecord = { fn, task: opts.task, input, startSeq: ++seq }
      inv.calls.push(rec)
      inFlight.set(fn, (inFlight.get(fn) ?? 0) + 1)
      total++
      inv.maxInFlight.set(fn, Math.max(inv.maxInFlight.get(fn) ?? 0, inFlight.get(fn)!))
      inv.peak = Math.max(inv.peak, total)
      waiters.forEach((w) => w())
      try {
        const out = await impl(input, opts)
        rec.outcome = 'ok'
        return out
      } catch (err) {
        rec.outcome = 'error'
        throw err
      } finally {
        rec.endSeq = ++seq
        inFlight.set(fn, inFlight.get(fn)! - 1)
        total--
      }
    },
  }
  return inv
}

/** A function that never answers until its signal aborts (then rejects with the reason). */
export const never: TestFunction = (_input, opts) =>
  new Promise((_resolve, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason), { once: true }))

/** A function that answers after `ticks` macrotasks (lets parallel calls overlap deterministically). */
export const after =
  <T>(ticks: number, value: (input: any) => T): TestFunction =>
  async (input) => {
    for (let i = 0; i < ticks; i++) await new Promise((r) => setTimeout(r, 1))
    return value(input)
  }
