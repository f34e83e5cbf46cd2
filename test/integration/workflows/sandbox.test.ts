// The expression sandbox (workflows/sandbox/): real worker threads running the built
// dist/expression-worker.js. Runaway expressions are stopped by their limits; the event loop that
// asked keeps running meanwhile; a queue behind a runaway does not eat into the next job's time.
import { afterEach, describe, expect, it } from 'vitest'
import { ExpressionSandbox } from '../../../workflows/sandbox/sandbox.js'

const sandboxes: ExpressionSandbox[] = []
afterEach(async () => {
  for (const s of sandboxes.splice(0)) await s.close()
})
function make(opts: ConstructorParameters<typeof ExpressionSandbox>[0]) {
  const s = new ExpressionSandbox(opts)
  sandboxes.push(s)
  return s
}
const settle = (p: Promise<unknown>) => p.then((value) => ({ value }), (err) => ({ code: (err as { code: string }).code }))

describe('expression sandbox', () => {
  it('a JSONata ReDoS is stopped at its time limit while this thread keeps running timers', async () => {
    const sb = make({ timeMs: 300, workers: 1 })
    let ticks = 0
    let settled = false
    const timer = setInterval(() => {
      if (!settled) ticks++
    }, 5)
    const r = await settle(sb.template("{{ $contains('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /^(a|aa)+$/) }}", {}))
    settled = true
    clearInterval(timer)
    expect(r).toEqual({ code: 'KILN_ERR_EXPRESSION_LIMIT' })
    expect(ticks).toBeGreaterThan(0)
    expect(await sb.template('{{ 1 + 1 }}', {})).toBe(2)
  })

  it('the time limit starts when a worker takes the job: jobs queued behind a runaway still succeed', async () => {
    const sb = make({ timeMs: 300, workers: 1 })
    const runaway = settle(sb.scripts({}, 't', [{ source: '{ while (true) {} }' }]))
    const queued = [1, 2, 3].map((n) => settle(sb.template('{{ $.n * 2 }}', { n })))
    expect(await runaway).toEqual({ code: 'KILN_ERR_EXPRESSION_LIMIT' })
    expect(await Promise.all(queued)).toEqual([{ value: 2 }, { value: 4 }, { value: 6 }])
  })

  it('memory: a JavaScript allocation loop hits QuickJS limit; a JSONata one the worker heap; the next job runs', async () => {
    const sb = make({ timeMs: 5000, workers: 1, heapMb: 64, scriptMemoryMb: 16 })
    expect(await settle(sb.scripts({}, 't', [{ source: '{ var a = []; while (true) a.push(new Array(100000).fill(a.length)) }' }]))).toEqual({ code: 'KILN_ERR_EXPRESSION_LIMIT' })
    expect(await settle(sb.template('{{ $map([1..9999999], function($v){ {"v": $v, "w": [$v, $v, $v]} }) }}', {}))).toEqual({ code: 'KILN_ERR_EXPRESSION_LIMIT' })
    expect(await sb.scripts({ Invocation: { Inputs: { default: 20 } } }, 't', [{ source: '{ param() + 1 }' }])).toEqual([21])
  })

  it('every JavaScript evaluation gets a fresh engine context: globals and prototypes do not carry over', async () => {
    const sb = make({ workers: 1 })
    await sb.scripts({}, 't', [{ source: '{ globalThis.leak = 1; Object.prototype.polluted = 1; Array.prototype.map = null; 0 }' }])
    expect(await sb.scripts({}, 't', [{ source: '{ [typeof leak, ({}).polluted, typeof [].map].join() }' }])).toEqual(['undefined,,function'])
  })

  it('deep recursion is an error of the expression, not a crash of the worker', async () => {
    const sb = make({ workers: 1 })
    expect(await settle(sb.scripts({}, 't', [{ source: '{ (function f() { return f() })() }' }]))).toEqual({ code: 'KILN_ERR_EXPRESSION' })
    expect(await sb.scripts({}, 't', [{ source: '{ 6 * 7 }' }])).toEqual([42])
  })
})
