// What every calling convention implements: call the user's function with one request, resolve to
// the value to write (a Reply, or a kiln-shape value the responder interprets).
import type { KilnRequest } from '../request.js'

export type UserFunction = (...args: any[]) => unknown

export interface FunctionInfo {
  name: string
  version: string
  timeoutMs: number
}

export interface Shape {
  call(fn: UserFunction, req: KilnRequest, info: FunctionInfo): unknown
}
