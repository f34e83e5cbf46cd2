// `npm run bench:sandbox`: what moving workflow expressions into the sandbox costs per expression.
// One expression at a time (the latency a task pays) and 100 at once (throughput), for:
//   jsonata-here     a Kiln template evaluated on this thread (what the engine did before the sandbox)
//   jsonata-sandbox  the same template through the sandbox's worker process
//   js-sandbox       a Fission Workflows `{ }` expression in QuickJS in the worker (a fresh context each;
//                    the scope is copied in as the expression reads it: `100KB-unread` reads none of it)
// with a small context and with a ~100 KB one (the scope is copied to the worker on every evaluation).
// Ratios are against jsonata-here from the same run. Reported, never asserted.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { evaluateTemplateHere } from '../workflows/expressions.js'
import { ExpressionSandbox } from '../workflows/sandbox/sandbox.js'
import { findRoot } from './lib/kiln-process.js'
import { ratio, summarize, type Summary } from './lib/percentiles.js'

const N = Number(process.env.BENCH_SAMPLES ?? 2000)
const sandbox = new ExpressionSandbox({})

const small = { input: { n: 1, name: 'kiln' }, tasks: { a: { output: { total: 42 } } } }
const large = { input: { items: Array.from({ length: 1000 }, (_, i) => ({ sku: `sku-${i}`, qty: i, price: i * 1.5, note: 'x'.repeat(50) })) }, tasks: {} }
const fissionScope = (ctx: unknown) => ({ Invocation: { Inputs: { default: ctx } }, Tasks: { A: { Output: 42 } } })

async function sequential(fn: () => Promise<unknown>): Promise<Summary> {
  for (let i = 0; i < 50; i++) await fn()
  const ms: number[] = []
  for (let i = 0; i < N; i++) {
    const t = performance.now()
    await fn()
    ms.push(performance.now() - t)
  }
  return summarize(ms)
}

async function parallel(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  for (let r = 0; r < 10; r++) await Promise.all(Array.from({ length: 100 }, fn))
  return Math.round(((performance.now() - t) / 1000) * 1000) / 1000 // ms per expression
}

const cases: Record<string, () => Promise<unknown>> = {
  'jsonata-here small': () => evaluateTemplateHere('{{ $.tasks.a.output.total + $.input.n }}', small),
  'jsonata-sandbox small': () => sandbox.template('{{ $.tasks.a.output.total + $.input.n }}', small),
  'js-sandbox small': () => sandbox.scripts(fissionScope(small.input), 'B', [{ source: "{ output('A') + param().n }" }]),
  'jsonata-here 100KB': () => evaluateTemplateHere('{{ $count($.input.items) }}', large),
  'jsonata-sandbox 100KB': () => sandbox.template('{{ $count($.input.items) }}', large),
  'js-sandbox 100KB': () => sandbox.scripts(fissionScope(large.input), 'B', [{ source: '{ param().items.length }' }]),
  // the same 100 KB body in the scope, but the expression reads another task's output: the body is never copied in
  'js-sandbox 100KB-unread': () => sandbox.scripts(fissionScope(large.input), 'B', [{ source: "{ output('A') + 1 }" }]),
}

const results: Record<string, { one: Summary; perExprAt100: number }> = {}
for (const [name, fn] of Object.entries(cases)) {
  results[name] = { one: await sequential(fn), perExprAt100: await parallel(fn) }
}
await sandbox.close()

console.log(`case                     one-at-a-time p50   p99      ×here   100-at-once ms/expr`)
for (const [name, r] of Object.entries(results)) {
  const base = results[`jsonata-here ${name.split(' ')[1]!.split('-')[0]}`]!
  console.log(`${name.padEnd(24)} ${r.one.p50.toFixed(3).padStart(10)} ${r.one.p99.toFixed(3).padStart(9)} ${String(ratio(r.one.p50, base.one.p50)).padStart(8)} ${r.perExprAt100.toFixed(3).padStart(12)}`)
}
const out = join(findRoot(), 'bench', 'results')
mkdirSync(out, { recursive: true })
const file = join(out, `sandbox-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ samples: N, node: process.version, results }, null, 2) + '\n')
console.log(`wrote ${file}`)
