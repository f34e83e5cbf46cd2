// The engine's behaviour, run against both execution stores (memory and a real redis-server).
// Functions are in-process test doubles (inProcessInvoker); end-to-end runs through the platform live in test/e2e.
import { afterEach, describe, expect, it } from 'vitest'
import { WorkflowEngine } from '../../../workflows/engine.js'
import { InvokeError } from '../../../workflows/invoker.js'
import { parseWorkflow, type WorkflowSpec } from '../../../workflows/spec.js'
import type { ExecutionStore } from '../../../workflows/state/store.js'
import { useRedis } from '../../helpers/redis.js'
import { after, inProcessInvoker, never, type TestFunction } from './in-process-invoker.js'
import { storeKinds } from './stores.js'

const redis = useRedis()

const ORDER = `
name: order
input: {type: object, required: [items], properties: {items: {type: array}}}
tasks:
  validate: {function: validate-order, input: "{{ $.input }}"}
  price:    {function: price, input: "{{ $.tasks.validate.output }}", requires: [validate]}
  stock:    {function: stock, input: "{{ $.tasks.validate.output.items }}", requires: [validate]}
  route:
    requires: [price, stock]
    switch:
      - if: "{{ $.tasks.price.output.total > 100 }}"
        then: {function: manual-review, input: {total: "{{ $.tasks.price.output.total }}"}}
      - else: {function: auto-approve, input: {total: "{{ $.tasks.price.output.total }}"}}
  notify:  {foreach: "{{ $.tasks.validate.output.items }}", concurrency: 2, do: {function: notify, input: {sku: "{{ $.item.sku }}", n: "{{ $.index }}"}}}
output: {decision: "{{ $.tasks.route.output }}", notified: "{{ $count($.tasks.notify.output) }}"}
`

const orderFunctions = (): Record<string, TestFunction> => ({
  'validate-order': (input) => ({ items: input.items }),
  price: after(3, (v) => ({ total: v.items.reduce((s: number, i: any) => s + i.price * i.qty, 0) })),
  stock: after(3, (items) => ({ ok: items.length })),
  'manual-review': (i) => ({ decision: 'review', total: i.total }),
  'auto-approve': (i) => ({ decision: 'approved', total: i.total }),
  notify: after(2, (i) => `sent ${i.sku}`),
})

/** Polls until `cond` holds; the generous deadline only bounds a hang on a busy machine. */
async function until(cond: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition never held')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const items = (n: number, price = 10) => Array.from({ length: n }, (_, i) => ({ sku: `s${i}`, price, qty: 1 }))

describe.each(storeKinds(redis))('workflow engine on the $name store', (kind) => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  function setup(functions: Record<string, TestFunction>, yamls: string[], store?: ExecutionStore) {
    const created = store ? undefined : kind.create()
    const s = store ?? created!.store
    const workflows = new Map<string, WorkflowSpec>(yamls.map((y) => parseWorkflow(y)).map((w) => [w.name, w]))
    const invoker = inProcessInvoker(functions)
    const engine = new WorkflowEngine({ store: s, invoker, getWorkflow: (n) => workflows.get(n) })
    cleanup.push(async () => {
      await engine.close()
      if (created) await s.close()
    })
    return { engine, invoker, store: s, reopen: created?.reopen, workflows }
  }

  it('runs the DAG: independent tasks overlap, dependents start after their requirements finished', async () => {
    // price and stock each wait until the other was called: they finish only if both run at once
    // (a condition, not a number of ticks: input templates are evaluated in the sandbox's worker threads)
    const fns = orderFunctions()
    let arrived = 0
    let bothIn!: () => void
    const both = new Promise<void>((r) => (bothIn = r))
    const meet = (fn: TestFunction): TestFunction => async (input, opts) => {
      if (++arrived === 2) bothIn()
      await both
      return fn(input, opts)
    }
    const { engine, invoker } = setup({ ...fns, price: meet(fns.price!), stock: meet(fns.stock!) }, [ORDER])
    const { done } = await engine.start('order', { items: items(3, 50) })
    const exec = await done
    expect(exec.status).toBe('succeeded')
    expect(exec.output).toEqual({ decision: { decision: 'review', total: 150 }, notified: 3 })
    const [validate] = invoker.callsOf('validate-order')
    const [price] = invoker.callsOf('price')
    const [stock] = invoker.callsOf('stock')
    const [review] = invoker.callsOf('manual-review')
    // price and stock both started before either finished
    expect(price!.startSeq).toBeLessThan(stock!.endSeq!)
    expect(stock!.startSeq).toBeLessThan(price!.endSeq!)
    expect(price!.startSeq).toBeGreaterThan(validate!.endSeq!)
    expect(review!.startSeq).toBeGreaterThan(Math.max(price!.endSeq!, stock!.endSeq!))
    expect(invoker.callsOf('auto-approve')).toHaveLength(0)
    expect(exec.tasks.route!.branch).toBe(0)
    expect(exec.tasks['route.then[0]']!.status).toBe('succeeded')
  })

  it('a $.tasks reference alone orders tasks (notify has no requires but waits for validate)', async () => {
    const { engine, invoker } = setup(orderFunctions(), [ORDER])
    await (await engine.start('order', { items: items(2) })).done
    const validateEnd = invoker.callsOf('validate-order')[0]!.endSeq!
    for (const n of invoker.callsOf('notify')) expect(n.startSeq).toBeGreaterThan(validateEnd)
  })

  it('switch takes the else branch when no condition holds', async () => {
    const { engine } = setup(orderFunctions(), [ORDER])
    const exec = await (await engine.start('order', { items: items(2, 10) })).done
    expect(exec.output).toMatchObject({ decision: { decision: 'approved', total: 20 } })
    expect(exec.tasks.route!.branch).toBe(1)
    expect(exec.tasks['route.else']!.status).toBe('succeeded')
  })

  it('foreach keeps at most `concurrency` items in flight and returns outputs in item order', async () => {
    const { engine, invoker } = setup(orderFunctions(), [ORDER])
    const exec = await (await engine.start('order', { items: items(9) })).done
    expect(invoker.callsOf('notify')).toHaveLength(9)
    expect(invoker.maxInFlight.get('notify')).toBe(2)
    expect(exec.tasks.notify!.output).toEqual(items(9).map((i) => `sent ${i.sku}`))
    expect(invoker.callsOf('notify').map((c) => (c.input as any).n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('rejects input that does not match the workflow schema, before storing anything', async () => {
    const { engine } = setup(orderFunctions(), [ORDER])
    await expect(engine.start('order', { nope: 1 })).rejects.toMatchObject({ code: 'KILN_ERR_WORKFLOW_INPUT' })
    await expect(engine.start('missing', {})).rejects.toMatchObject({ code: 'KILN_ERR_WORKFLOW_NOT_FOUND' })
    expect(await engine.list()).toEqual([])
  })

  it('retries matching errors with backoff, and records each attempt', async () => {
    let calls = 0
    const { engine, invoker } = setup({ flaky: () => (++calls < 3 ? Promise.reject(new InvokeError(503, 'KILN_ERR_FUNCTION_ERROR')) : 'ok') }, [
      `name: r
tasks:
  a: {function: flaky, retry: {attempts: 3, backoff: {initial: 1ms, factor: 2, max: 5ms}, on: [503]}}`,
    ])
    const { executionId, done } = await engine.start('r', null)
    const exec = await done
    expect(exec.status).toBe('succeeded')
    expect(exec.tasks.a).toMatchObject({ status: 'succeeded', attempts: 3, output: 'ok' })
    expect(invoker.callsOf('flaky')).toHaveLength(3)
    const types = (await engine.events(executionId)).filter((e) => 'task' in e && e.task === 'a').map((e) => e.type)
    expect(types).toEqual(['task.started', 'task.retrying', 'task.started', 'task.retrying', 'task.started', 'task.succeeded'])
  })

  it('does not retry errors outside `on`, and fails the execution naming the task', async () => {
    const { engine, invoker } = setup({ bad: () => Promise.reject(new InvokeError(400, 'KILN_ERR_FUNCTION_ERROR', 'bad request')), later: () => 1 }, [
      `name: r
tasks:
  a: {function: bad, retry: {attempts: 5, backoff: {initial: 1ms}, on: [503, "KILN_ERR_FUNCTION_TIMEOUT"]}}
  b: {function: later, requires: [a]}`,
    ])
    const exec = await (await engine.start('r', null)).done
    expect(exec.status).toBe('failed')
    expect(exec.error).toMatchObject({ code: 'KILN_ERR_FUNCTION_ERROR', status: 400, task: 'a' })
    expect(exec.tasks.a).toMatchObject({ status: 'failed', attempts: 1 })
    expect(invoker.callsOf('bad')).toHaveLength(1)
    expect(invoker.callsOf('later')).toHaveLength(0)
  })

  it('a failing task cancels its siblings in flight', async () => {
    const { engine, invoker } = setup({ slow: never, boom: after(2, () => Promise.reject(new InvokeError(500, 'KILN_ERR_FUNCTION_ERROR'))) }, [
      `name: f
tasks:
  slow: {function: slow}
  boom: {function: boom}`,
    ])
    const exec = await (await engine.start('f', null)).done
    expect(exec.status).toBe('failed')
    expect(exec.error).toMatchObject({ task: 'boom', code: 'KILN_ERR_FUNCTION_ERROR' })
    expect(exec.tasks.slow).toMatchObject({ status: 'cancelled', error: { code: 'KILN_ERR_CANCELLED' } })
    expect(invoker.callsOf('slow')[0]!.outcome).toBe('error')
  })

  it('enforces a per-attempt timeout (the invoker sees it and its signal aborts) and retries timeouts when asked', async () => {
    const seen: Array<number | undefined> = []
    const { engine, invoker } = setup({ hang: (_i, o) => (seen.push(o.timeoutMs), never(_i, o)) }, [
      `name: t
tasks:
  a: {function: hang, timeout: 30ms, retry: {attempts: 2, backoff: {initial: 1ms}, on: [KILN_ERR_TASK_TIMEOUT]}}`,
    ])
    const exec = await (await engine.start('t', null)).done
    expect(exec.status).toBe('failed')
    expect(exec.error).toMatchObject({ code: 'KILN_ERR_TASK_TIMEOUT', task: 'a' })
    expect(exec.tasks.a!.attempts).toBe(2)
    expect(seen).toEqual([30, 30])
    expect(invoker.callsOf('hang').every((c) => c.outcome === 'error')).toBe(true)
  })

  it('catch runs the fallback with $.error and the task succeeds with its output', async () => {
    const { engine, invoker } = setup(
      { bad: () => Promise.reject(new InvokeError(502, 'KILN_ERR_FUNCTION_ERROR', 'upstream down')), fallback: (i) => ({ fell: i }) },
      [
        `name: c
tasks:
  a:
    function: bad
    catch: {function: fallback, input: {code: "{{ $.error.code }}", status: "{{ $.error.status }}"}}
  b: {function: fallback, input: "{{ $.tasks.a.output }}"}`,
      ],
    )
    const exec = await (await engine.start('c', null)).done
    expect(exec.status).toBe('succeeded')
    expect(exec.tasks.a).toMatchObject({ status: 'succeeded', output: { fell: { code: 'KILN_ERR_FUNCTION_ERROR', status: 502 } }, caught: { status: 502 } })
    expect(exec.tasks['a.catch']!.status).toBe('succeeded')
    expect(invoker.callsOf('fallback')).toHaveLength(2)
  })

  it('sleep is a task: the next task starts after it', async () => {
    const { engine } = setup({ stamp: () => Date.now() }, [
      `name: s
tasks:
  nap: {sleep: 40ms}
  after: {function: stamp, requires: [nap]}`,
    ])
    const exec = await (await engine.start('s', null)).done
    expect(exec.status).toBe('succeeded')
    expect(exec.tasks.nap!.wakeAt).toBeDefined()
    expect(exec.tasks.after!.output as number).toBeGreaterThanOrEqual(Date.parse(exec.tasks.nap!.wakeAt!))
  })

  it('nested workflows run as child executions; their output and their failure reach the parent', async () => {
    const { engine, invoker } = setup({ double: (x) => x * 2, fail: () => Promise.reject(new InvokeError(500, 'KILN_ERR_FUNCTION_ERROR', 'nope')) }, [
      `name: child
tasks:
  d: {function: double, input: "{{ $.input.n }}"}
output: "{{ $.tasks.d.output }}"`,
      `name: parent
tasks:
  each: {foreach: [1, 2, 3], do: {workflow: child, input: {n: "{{ $.item }}"}}}
output: "{{ $sum($.tasks.each.output) }}"`,
      `name: failing-child
tasks:
  f: {function: fail}`,
      `name: parent2
tasks:
  c: {workflow: failing-child}`,
    ])
    const exec = await (await engine.start('parent', null)).done
    expect(exec.output).toBe(12)
    expect(invoker.callsOf('double')).toHaveLength(3)
    const children = await engine.list({ workflow: 'child' })
    expect(children).toHaveLength(3)
    expect(children.every((c) => c.parentId === exec.id && c.status === 'succeeded')).toBe(true)
    expect(exec.tasks['each[0]']!.childExecutionId).toBeDefined()

    const failed = await (await engine.start('parent2', null)).done
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatchObject({ code: 'KILN_ERR_FUNCTION_ERROR', task: 'c', executionId: failed.tasks.c!.childExecutionId })
  })

  it('an expression that fails at run time fails the task with KILN_ERR_EXPRESSION naming the field', async () => {
    const { engine } = setup({ id: (x) => x }, [
      `name: e
tasks:
  a: {function: id, input: "{{ $number('abc') }}"}`,
    ])
    const exec = await (await engine.start('e', null)).done
    expect(exec.status).toBe('failed')
    expect(exec.error!.code).toBe('KILN_ERR_EXPRESSION')
    expect(exec.error!.message).toContain('a.input')
  })

  it('start({async: true}) returns once the execution is stored; get and list see it', async () => {
    const { engine } = setup(orderFunctions(), [ORDER])
    const { executionId, done } = await engine.start('order', { items: items(1) }, { async: true })
    expect((await engine.get(executionId))!.status).toBe('running')
    await done
    expect((await engine.get(executionId))!.status).toBe('succeeded')
    expect((await engine.list({ workflow: 'order' })).map((e) => e.id)).toEqual([executionId])
    expect(await engine.list({ workflow: 'other' })).toEqual([])
  })

  it('resume: an execution abandoned mid-way is finished by a new engine; completed tasks are not called again', async () => {
    const first = setup({ ...orderFunctions(), stock: never }, [ORDER])
    const { executionId, done } = await first.engine.start('order', { items: items(2, 60) }, { async: true })
    await first.invoker.waitForCall('stock')
    await first.invoker.waitForCall('notify', 2)
    // price runs beside notify (neither waits for the other): wait for both, not for one and assume the other.
    await until(async () => {
      const t = (await first.store.get(executionId))!.tasks
      return t.notify?.status === 'succeeded' && t.price?.status === 'succeeded'
    })
    await first.engine.close()
    await expect(done).rejects.toMatchObject({ code: 'KILN_ERR_ENGINE_CLOSED' })
    const abandoned = (await first.store.get(executionId))!
    expect(abandoned.status).toBe('running')
    expect(abandoned.tasks.stock!.status).toBe('running')
    expect(abandoned.tasks.price!.status).toBe('succeeded')

    const store2 = first.reopen!()
    if (store2 !== first.store) cleanup.push(() => store2.close())
    const second = setup(orderFunctions(), [ORDER], store2)
    const resumed = await second.engine.resume()
    expect(resumed.map((r) => r.executionId)).toEqual([executionId])
    const exec = await resumed[0]!.done
    expect(exec.status).toBe('succeeded')
    expect(exec.output).toEqual({ decision: { decision: 'review', total: 120 }, notified: 2 })
    expect(second.invoker.callsOf('validate-order')).toHaveLength(0)
    expect(second.invoker.callsOf('price')).toHaveLength(0)
    expect(second.invoker.callsOf('notify')).toHaveLength(0)
    expect(second.invoker.callsOf('stock')).toHaveLength(1) // in flight when abandoned: run again (at-least-once)
    expect(exec.tasks.stock!.attempts).toBe(1)
    expect(await store2.unfinished()).toEqual([])
  })

  it('resume: finished foreach items are not run again, the interrupted one is', async () => {
    let hang = true
    const fns = (): Record<string, TestFunction> => ({ step: (i, o) => (i === 2 && hang ? never(i, o) : i * 10) })
    const wf = `name: loop
tasks:
  each: {foreach: "{{ $.input }}", concurrency: 1, do: {function: step}}`
    const first = setup(fns(), [wf])
    const { executionId } = await first.engine.start('loop', [0, 1, 2, 3], { async: true })
    await first.invoker.waitForCall('step', 3)
    await first.engine.close()

    hang = false
    const store2 = first.reopen!()
    if (store2 !== first.store) cleanup.push(() => store2.close())
    const second = setup(fns(), [wf], store2)
    const [r] = await second.engine.resume()
    const exec = await r!.done
    expect(exec.id).toBe(executionId)
    expect(exec.output).toEqual({ each: [0, 10, 20, 30] })
    expect(second.invoker.callsOf('step').map((c) => c.input)).toEqual([2, 3])
  })

  it('resume: a nested workflow abandoned mid-way is re-attached, not started twice', async () => {
    let hang = true
    const fns = (): Record<string, TestFunction> => ({ slow: (i, o) => (hang ? never(i, o) : 'child done'), tail: (x) => `tail:${x}` })
    const yamls = [
      `name: inner
tasks:
  s: {function: slow}
output: "{{ $.tasks.s.output }}"`,
      `name: outer
tasks:
  c: {workflow: inner}
  t: {function: tail, input: "{{ $.tasks.c.output }}"}
output: "{{ $.tasks.t.output }}"`,
    ]
    const first = setup(fns(), yamls)
    const { executionId } = await first.engine.start('outer', null, { async: true })
    await first.invoker.waitForCall('slow')
    await first.engine.close()
    expect(await first.store.unfinished()).toHaveLength(2)

    hang = false
    const store2 = first.reopen!()
    if (store2 !== first.store) cleanup.push(() => store2.close())
    const second = setup(fns(), yamls, store2)
    const resumed = await second.engine.resume()
    expect(resumed).toHaveLength(2)
    const results = await Promise.all(resumed.map((r) => r.done))
    const outer = results.find((e) => e.id === executionId)!
    expect(outer.output).toBe('tail:child done')
    expect(second.invoker.callsOf('slow')).toHaveLength(1)
    expect(await second.engine.list({ workflow: 'inner' })).toHaveLength(1)
  })

  it('resume: a retry that was waiting waits out its stored backoff; cancel then fails the execution', async () => {
    let calls = 0
    const wf = `name: rw
tasks:
  a: {function: flaky, retry: {attempts: 3, backoff: {initial: 60s, max: 120s}}}`
    const first = setup({ flaky: () => Promise.reject(new InvokeError(503, 'KILN_ERR_FUNCTION_ERROR')) }, [wf])
    const { executionId } = await first.engine.start('rw', null, { async: true })
    await first.invoker.waitForCall('flaky')
    await until(async () => (await first.store.get(executionId))!.tasks.a?.status === 'retrying')
    await first.engine.close()
    const stored = (await first.store.get(executionId))!
    expect(stored.tasks.a).toMatchObject({ status: 'retrying', attempts: 1 })
    expect(Date.parse(stored.tasks.a!.nextAttemptAt!)).toBeGreaterThan(Date.now() + 50_000)

    const store2 = first.reopen!()
    if (store2 !== first.store) cleanup.push(() => store2.close())
    const second = setup({ flaky: () => (++calls, 'ok') }, [wf], store2)
    await second.engine.resume()
    await new Promise((r) => setTimeout(r, 30))
    expect(calls).toBe(0) // still waiting out the stored backoff
    const cancelled = await second.engine.cancel(executionId)
    expect(cancelled.status).toBe('failed')
    expect(cancelled.error!.code).toBe('KILN_ERR_CANCELLED')
    expect(cancelled.tasks.a!.status).toBe('cancelled')
  })
})
