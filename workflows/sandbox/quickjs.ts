// JavaScript expressions in QuickJS compiled to WebAssembly (quickjs-emscripten): a separate engine
// with its own heap, so an expression sees only the data given to it: no `process`, `require`, file
// system, network or timers of the platform. Each evaluation gets a fresh context (nothing leaks from one
// workflow to the next), a memory limit and an interrupt deadline. Runs inside the sandbox worker.
import { newQuickJSWASMModuleFromVariant, type QuickJSContext, type QuickJSRuntime, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core'
import variant from '@jitl/quickjs-wasmfile-release-sync'
import { randomUUID } from 'node:crypto'
import type { SandboxAnswer, ScriptJob } from './jobs.js'

// The helpers Fission Workflows documents (Docs/expressions.md), over the scope `$` and `taskId`.
// `$` is built lazily: each property is copied into the engine the first time the expression reads it
// (three levels deep: $.Tasks.NAME, $.Invocation.Inputs.KEY), so an expression pays for the data it
// reads, not for every output of the execution (copying 100 KB into QuickJS costs ~10 ms).
const HELPERS = `
var $, taskId;
function __node(path, depth) {
  var info = JSON.parse(__load(JSON.stringify(path), depth));
  if (info.keys === undefined) return info.value;
  var o = {};
  info.keys.forEach(function (k) {
    var v, done = false;
    Object.defineProperty(o, k, { enumerable: true, configurable: true,
      get: function () { if (!done) { v = __node(path.concat([k]), depth + 1); done = true } return v },
      set: function (x) { v = x; done = true } });
  });
  return o;
}
function task(id) { return $.Tasks ? $.Tasks[id === undefined ? taskId : id] : undefined }
function current() { return task() }
function output(id) { var t = task(id); return t === undefined ? undefined : t.Output }
function input(id, key) { var t = task(id); return t === undefined || t.Inputs === undefined ? undefined : t.Inputs[key === undefined ? 'default' : key] }
function param(key) { var i = $.Invocation ? $.Invocation.Inputs : undefined; return i === undefined ? undefined : i[key === undefined ? 'default' : key] }
`
const LAZY_DEPTH = 3

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What __load answers for a path of the scope: the keys of an object near the top, else the value. */
function loadPath(scope: unknown, pathJson: string, depth: number): string {
  let v: unknown = scope
  for (const k of JSON.parse(pathJson) as string[]) v = isPlainObject(v) ? v[k] : undefined
  if (depth < LAZY_DEPTH && isPlainObject(v)) return JSON.stringify({ keys: Object.keys(v) })
  return JSON.stringify(v === undefined ? {} : { value: v })
}

let module: QuickJSWASMModule | undefined
let runtime: QuickJSRuntime | undefined
/** A context with the helpers already defined, made while the worker is idle (it costs ~1 ms). */
let spare: QuickJSContext | undefined

async function getRuntime(): Promise<QuickJSRuntime> {
  module ??= await newQuickJSWASMModuleFromVariant(variant as unknown as QuickJSSyncVariant)
  if (!runtime) {
    runtime = module.newRuntime()
    // Below the thread's own stack: deep recursion is QuickJS's "stack overflow", not a host crash.
    runtime.setMaxStackSize(256 * 1024)
  }
  return runtime
}

function limitError(message: string): boolean {
  return /interrupted|out of memory/.test(message)
}

function errorText(ctx: QuickJSContext, handle: Parameters<QuickJSContext['dump']>[0]): string {
  const e = ctx.dump(handle) as { name?: string; message?: string } | string
  if (typeof e === 'object' && e !== null) return `${e.name ?? 'Error'}: ${e.message ?? ''}`
  return String(e)
}

/** The scope the current evaluation reads through __load (one evaluation at a time per worker). */
let current: unknown = {}

function newContext(rt: QuickJSRuntime): QuickJSContext {
  const ctx = rt.newContext()
  const uid = ctx.newFunction('uid', () => ctx.newString(randomUUID()))
  ctx.setProp(ctx.global, 'uid', uid)
  uid.dispose()
  const load = ctx.newFunction('__load', (path, depth) => ctx.newString(loadPath(current, ctx.getString(path), ctx.getNumber(depth))))
  ctx.setProp(ctx.global, '__load', load)
  load.dispose()
  const r = ctx.evalCode(HELPERS, 'helpers.js')
  if (r.error) {
    r.error.dispose()
    throw new Error('the expression helpers do not load')
  }
  r.value.dispose()
  return ctx
}

/** A fresh context per evaluation: nothing one workflow's expression does reaches another's. */
function takeContext(rt: QuickJSRuntime): QuickJSContext {
  const ctx = spare ?? newContext(rt)
  spare = undefined
  setImmediate(() => {
    if (!spare) spare = newContext(rt)
  })
  return ctx
}

const VALID_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** Loads the engine and makes the first context (what a worker does before it says it is ready). */
export async function prepare(): Promise<void> {
  const rt = await getRuntime()
  spare ??= newContext(rt)
}

export async function runScripts(job: ScriptJob): Promise<SandboxAnswer> {
  const rt = await getRuntime()
  current = job.scope ?? {}
  rt.setMemoryLimit(-1)
  const ctx = takeContext(rt)
  // What an expression may allocate, on top of room for the data it reads (copied in as it reads it).
  const memoryBytes = job.memoryBytes + 4 * Math.min(JSON.stringify(current).length, 256 * 1024 * 1024)
  rt.setMemoryLimit(memoryBytes)
  try {
    const set = (name: string, value: string) => {
      const h = ctx.newString(value)
      ctx.setProp(ctx.global, name, h)
      h.dispose()
    }
    set('__taskId', job.taskId)
    const names = Object.keys(job.globals ?? {}).filter((n) => VALID_NAME.test(n))
    for (const name of names) set(`__g_${name}`, JSON.stringify(job.globals![name] ?? null))
    const globals = names.map((n) => `var ${n} = JSON.parse(__g_${n});`).join('\n')
    const setup = ctx.evalCode(`$ = __node([], 0); taskId = __taskId;\n${globals}`, 'data.js')
    if (setup.error) {
      const message = errorText(ctx, setup.error)
      setup.error.dispose()
      return { ok: false, code: limitError(message) ? 'KILN_ERR_EXPRESSION_LIMIT' : 'KILN_ERR_EXPRESSION', message: `the expression's data could not be loaded: ${message}` }
    }
    setup.value.dispose()

    const values: unknown[] = []
    for (let i = 0; i < job.scripts.length; i++) {
      const { source, key } = job.scripts[i]!
      const started = Date.now()
      rt.setInterruptHandler(() => Date.now() - started > job.timeMs)
      const r = ctx.evalCode(source, 'expression.js')
      rt.removeInterruptHandler()
      if (r.error) {
        const message = errorText(ctx, r.error)
        r.error.dispose()
        const limited = limitError(message)
        return {
          ok: false,
          code: limited ? 'KILN_ERR_EXPRESSION_LIMIT' : 'KILN_ERR_EXPRESSION',
          message: limited ? `${message.includes('memory') ? `ran out of its memory limit of ${Math.round(memoryBytes / 1048576)} MiB` : `ran past its time limit of ${job.timeMs} ms`}` : message,
          index: i,
        }
      }
      // JSON in the VM, so only data leaves it (functions and undefined become null/absent).
      const json = ctx.getProp(ctx.global, 'JSON')
      const stringify = ctx.getProp(json, 'stringify')
      const s = ctx.callFunction(stringify, json, r.value)
      stringify.dispose()
      json.dispose()
      let value: unknown
      if (s.error) {
        const message = errorText(ctx, s.error)
        s.error.dispose()
        r.value.dispose()
        return { ok: false, code: limitError(message) ? 'KILN_ERR_EXPRESSION_LIMIT' : 'KILN_ERR_EXPRESSION', message: `the result is not JSON: ${message}`, index: i }
      }
      const text = ctx.typeof(s.value) === 'string' ? ctx.getString(s.value) : undefined
      s.value.dispose()
      value = text === undefined ? undefined : JSON.parse(text)
      if (key !== undefined) {
        // later expressions of the same task see this input
        const assign = ctx.evalCode(`(function (k, v) { var t = task(); if (t) { if (!t.Inputs) t.Inputs = {}; t.Inputs[k] = v } })`)
        if (!assign.error) {
          const k = ctx.newString(key)
          const called = ctx.callFunction(assign.value, ctx.undefined, k, r.value)
          k.dispose()
          if (called.error) called.error.dispose()
          else called.value.dispose()
          assign.value.dispose()
        } else assign.error.dispose()
      }
      r.value.dispose()
      values.push(value === undefined ? null : value)
    }
    return { ok: true, value: values }
  } finally {
    ctx.dispose()
  }
}

/** Syntax check only: the first source that does not parse, with the parser's message. */
export async function compileScripts(sources: string[]): Promise<SandboxAnswer> {
  const rt = await getRuntime()
  rt.setMemoryLimit(32 * 1024 * 1024)
  const ctx = takeContext(rt)
  try {
    for (let i = 0; i < sources.length; i++) {
      const r = ctx.evalCode(sources[i]!, 'expression.js', { compileOnly: true })
      if (r.error) {
        const message = errorText(ctx, r.error)
        r.error.dispose()
        return { ok: false, code: 'KILN_ERR_EXPRESSION', message, index: i }
      }
      r.value.dispose()
    }
    return { ok: true, value: null }
  } finally {
    ctx.dispose()
  }
}
