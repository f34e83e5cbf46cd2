// Fission Workflows documents run by the engine, on both execution stores (memory and a real
// redis-server): each internal function with the cases fission/fission-workflows' own Go tests cover
// (pkg/fnenv/native/builtin/*_test.go, pkg/controller/expr/*_test.go), a workflow mixing them with
// user functions, and runaway expressions. Functions are in-process doubles; the platform path
// (POST /wf/NAME, content types) is in test/integration/workflows-platform/fission.test.ts.
import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { HostAllowlist } from '../../../core/allowlist.js'
import { WorkflowEngine } from '../../../workflows/engine.js'
import { registerFissionServices } from '../../../workflows/fission/services.js'
import { InvokeError } from '../../../workflows/invoker.js'
import { parseWorkflow, type WorkflowSpec } from '../../../workflows/spec.js'
import type { Execution } from '../../../workflows/state/execution.js'
import { useRedis } from '../../helpers/redis.js'
import { inProcessInvoker, type TestFunction } from './in-process-invoker.js'
import { storeKinds } from './stores.js'

const redis = useRedis()

// A real HTTP server for the `http` function (their http_test.go uses httptest.NewServer).
let server: Server
let port = 0
const seen: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = []
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      if (req.url?.startsWith('/fail')) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('expected error\n')
        return
      }
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'text/plain' })
      res.end(body || JSON.stringify({ method: req.method, url: req.url }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as { port: number }).port
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe.each(storeKinds(redis))('Fission Workflows on the $name store', (kind) => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn()
  })

  function setup(functions: Record<string, TestFunction>, docs: Array<string | object>, callbackHosts: string[] = []) {
    const { store } = kind.create()
    const workflows = new Map<string, WorkflowSpec>(docs.map((d) => parseWorkflow(d)).map((w) => [w.name, w]))
    const invoker = inProcessInvoker(functions)
    registerFissionServices(invoker, { allowlist: new HostAllowlist(callbackHosts) })
    const engine = new WorkflowEngine({ store, invoker, getWorkflow: (n) => workflows.get(n) })
    cleanup.push(async () => {
      await engine.close()
      await store.close()
    })
    return { engine, invoker, store }
  }

  /** Runs a one-task workflow `t` with these inputs (YAML) and returns the execution. */
  async function task(run: string, inputs: string, input: unknown = null, functions: Record<string, TestFunction> = {}, callbackHosts: string[] = []): Promise<Execution> {
    const t: Record<string, unknown> = { run }
    if (inputs !== '') t.inputs = parseYaml(inputs)
    const { engine } = setup(functions, [{ name: 'one', apiVersion: 1, output: 't', tasks: { t } }], callbackHosts)
    return (await engine.start('one', input)).done
  }
  const ok = (x: Execution) => {
    expect(x.error).toBeUndefined()
    expect(x.status).toBe('succeeded')
    return x.output
  }
  const failed = (x: Execution) => {
    expect(x.status).toBe('failed')
    return x.error!
  }

  describe('noop', () => {
    it('passes its default input on; nothing without one; only the default of several', async () => {
      expect(ok(await task('noop', 'noopnoop'))).toBe('noopnoop')
      expect(ok(await task('noop', ''))).toBeNull()
      expect(ok(await task('nop', '{foo: true, bar: false, default: hello}'))).toBe('hello')
    })
  })

  describe('compose', () => {
    it('a single default input is its output; none is nothing; several are merged into one map', async () => {
      expect(ok(await task('compose', 'ComposeCompose'))).toBe('ComposeCompose')
      expect(ok(await task('compose', ''))).toBeNull()
      expect(ok(await task('compose', '{foo: true, bar: false, default: hello}'))).toEqual({ foo: true, bar: false, default: 'hello' })
    })
  })

  describe('if', () => {
    it('true runs the then-task, false the else-task (nested tasks, persisted under the task path)', async () => {
      const fns = { DoThisTask: () => 'this', DoThisOtherTask: () => 'other' }
      const yes = await task('if', '{if: true, then: {run: DoThisTask}, else: {run: DoThisOtherTask}}', null, fns)
      expect(ok(yes)).toBe('this')
      expect(yes.tasks['t.then']).toMatchObject({ status: 'succeeded', output: 'this' })
      const no = await task('if', '{if: false, then: {run: DoThisTask}, else: {run: DoThisOtherTask}}', null, fns)
      expect(ok(no)).toBe('other')
      expect(no.tasks['t.then']).toBeUndefined()
    })

    it('literal branches are the output; a missing alternative is nothing; the condition must be a boolean', async () => {
      expect(ok(await task('if', '{if: true, then: foo, else: bar}'))).toBe('foo')
      expect(ok(await task('if', '{if: false, then: then}'))).toBeNull()
      expect(failed(await task('if', '{if: "yes", then: a}')).code).toBe('KILN_ERR_TASK_INPUT')
      expect(failed(await task('if', '{then: a}')).code).toBe('KILN_ERR_TASK_INPUT')
    })

    it('the condition may be an expression over the invocation', async () => {
      expect(ok(await task('if', '{if: "{ param() > 42 }", then: big, else: {run: noop, inputs: small}}', 43))).toBe('big')
      expect(ok(await task('if', '{if: "{ param() > 42 }", then: big, else: {run: noop, inputs: small}}', 1))).toBe('small')
    })
  })

  describe('switch', () => {
    it('the matching case, else the default, else nothing; without `switch` it fails', async () => {
      expect(ok(await task('switch', '{switch: case1, cases: [{case: case1, action: case1Val}], default: default}'))).toBe('case1Val')
      expect(ok(await task('switch', '{switch: case1, cases: [{case: case2, action: case2}], default: default}'))).toBe('default')
      expect(ok(await task('switch', '{switch: case1, case2: case2}'))).toBeNull()
      expect(failed(await task('switch', '{case2: case2}')).code).toBe('KILN_ERR_TASK_INPUT')
      expect(failed(await task('switch', '{switch: a, cases: [{action: x}]}')).code).toBe('KILN_ERR_TASK_INPUT')
    })

    it('an action may be a task; the switch value an expression', async () => {
      const x = await task('switch', '{switch: "{ param() }", cases: [{case: hello, action: {run: noop, inputs: world!}}, {case: foo, action: bar}], default: right...}', 'hello')
      expect(ok(x)).toBe('world!')
      expect(x.tasks['t.cases[0]']).toMatchObject({ status: 'succeeded' })
      expect(ok(await task('switch', '{switch: "{ param() }", cases: [{case: foo, action: bar}], default: right...}', 'acme'))).toBe('right...')
    })
  })

  describe('foreach', () => {
    it('runs `do` once per element (the element is its input `element`), collecting the outputs in order', async () => {
      const x = await task('foreach', '{foreach: [1, 2, 3, 4, foo], do: {run: noop, inputs: "{ task().Inputs.element }"}}')
      expect(ok(x)).toEqual([1, 2, 3, 4, 'foo'])
      for (let i = 0; i < 5; i++) expect(x.tasks[`t[${i}]`]).toMatchObject({ status: 'succeeded' })
      expect(x.tasks['t[0]']!.inputs).toMatchObject({ element: 1, _item: 1 })
    })

    it('`_item` (their foreachwhale example) also holds the element; collect: false outputs nothing', async () => {
      expect(ok(await task('foreach', '{foreach: [1, 2, 3], do: {run: noop, inputs: "{ task().Inputs._item * 10 }"}}'))).toEqual([10, 20, 30])
      expect(ok(await task('foreach', '{foreach: [1, 2], collect: false, do: {run: noop}}'))).toBeNull()
    })

    it('runs elements in parallel, or one after another with sequential: true', async () => {
      const calls: number[] = []
      let inFlight = 0
      let peak = 0
      const slow: TestFunction = async (n) => {
        calls.push(n)
        peak = Math.max(peak, ++inFlight)
        await new Promise((r) => setTimeout(r, 5))
        inFlight--
        return n * 2
      }
      expect(ok(await task('foreach', '{foreach: [1, 2, 3, 4], do: {run: double, inputs: "{ task().Inputs.element }"}}', null, { double: slow }))).toEqual([2, 4, 6, 8])
      expect(peak).toBeGreaterThan(1)
      peak = 0
      calls.length = 0
      expect(ok(await task('foreach', '{foreach: [1, 2, 3, 4], sequential: true, do: {run: double, inputs: "{ task().Inputs.element }"}}', null, { double: slow }))).toEqual([2, 4, 6, 8])
      expect(peak).toBe(1)
      expect(calls).toEqual([1, 2, 3, 4])
    })

    it('fails with the first element that fails; `foreach` must be a list and `do` a task', async () => {
      const bad = await task('foreach', '{foreach: [1, 2, 3], do: {run: picky, inputs: "{ task().Inputs.element }"}}', null, { picky: (n) => (n === 2 ? Promise.reject(new InvokeError(400, 'KILN_ERR_FUNCTION_ERROR', 'two')) : n) })
      expect(failed(bad)).toMatchObject({ code: 'KILN_ERR_FUNCTION_ERROR', task: 't[1]' })
      expect(failed(await task('foreach', '{foreach: 3, do: {run: noop}}')).code).toBe('KILN_ERR_TASK_INPUT')
      expect(failed(await task('foreach', '{foreach: [1], do: noop}')).code).toBe('KILN_ERR_TASK_INPUT')
    })
  })

  describe('repeat', () => {
    it('runs `do` `times` times, one after another (their test: 10 tasks)', async () => {
      const x = await task('repeat', '{times: 10, do: {run: noop, inputs: foo}}')
      expect(ok(x)).toBe('foo')
      expect(Object.keys(x.tasks).filter((p) => /^t\[\d+\]$/.test(p))).toHaveLength(10)
    })

    it('carries state: each run gets the previous output as `prev`', async () => {
      const x = await task('repeat', '{times: 5, do: {run: noop, inputs: "{ (task().Inputs.prev || 0) + 1 }"}}')
      expect(ok(x)).toBe(5)
      expect(x.tasks['t[3]']!.inputs).toMatchObject({ prev: 3 })
    })

    it('times 0 outputs nothing; a numeric string counts; no times fails', async () => {
      expect(ok(await task('repeat', '{times: 0, do: {run: noop, inputs: x}}'))).toBeNull()
      expect(ok(await task('repeat', '{times: "3", do: {run: noop, inputs: "{ (task().Inputs.prev || 0) + 2 }"}}'))).toBe(6)
      expect(failed(await task('repeat', '{do: {run: noop}}')).code).toBe('KILN_ERR_TASK_INPUT')
    })
  })

  describe('while', () => {
    it('runs `do` while `expr` holds, re-evaluated with the previous output (their whilewhale)', async () => {
      const x = await task('while', '{expr: "{ !task().Inputs._prev || task().Inputs._prev < 5 }", limit: 10, do: {run: noop, inputs: "{ (task().Inputs._prev || 0) + 1 }"}}')
      expect(ok(x)).toBe(5)
      expect(Object.keys(x.tasks).filter((p) => /^t\[\d+\]$/.test(p))).toHaveLength(5)
    })

    it('a condition false at once outputs nothing; past `limit` it fails', async () => {
      expect(ok(await task('while', '{expr: false, limit: 10, do: {run: noop}}'))).toBeNull()
      const over = await task('while', '{expr: "{ true }", limit: 3, do: {run: noop, inputs: x}}')
      expect(failed(over)).toMatchObject({ code: 'KILN_ERR_TASK_FAILED' })
      expect(Object.keys(over.tasks).filter((p) => /^t\[\d+\]$/.test(p))).toHaveLength(3)
      expect(failed(await task('while', '{expr: "{ 42 }", do: {run: noop}}')).code).toBe('KILN_ERR_TASK_INPUT')
    })

    it('waits `delay` before each run', async () => {
      const x = await task('while', '{expr: "{ task().Inputs._count < 2 }", delay: 20ms, do: {run: noop, inputs: "{ task().Inputs._count }"}}')
      expect(ok(x)).toBe(1)
      expect(Date.parse(x.tasks['t[1]']!.startedAt) - Date.parse(x.tasks['t[0]']!.finishedAt!)).toBeGreaterThanOrEqual(15) // 20 ms, less timer rounding
    })
  })

  describe('sleep', () => {
    it('sleeps a Go duration string or milliseconds, outputs nothing, and persists when it wakes', async () => {
      for (const input of ['"150ms"', '150']) {
        const x = await task('sleep', input)
        expect(ok(x)).toBeNull()
        const t = x.tasks.t!
        expect(Date.parse(t.wakeAt!) - Date.parse(t.startedAt)).toBeGreaterThanOrEqual(150)
        expect(Date.parse(t.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(t.wakeAt!))
      }
      expect(failed(await task('sleep', 'soon')).code).toBe('KILN_ERR_TASK_INPUT')
    })
  })

  describe('javascript', () => {
    it('evaluates expr with a map of args as variables, or a single arg as `arg`', async () => {
      expect(ok(await task('javascript', '{expr: "left * right", args: {left: 2, right: 5}}'))).toBe(10)
      expect(ok(await task('javascript', '{expr: "arg * 2", args: 10}'))).toBe(20)
      expect(ok(await task('javascript', '{expr: "a ^ b", args: {a: 42, b: 10}}'))).toBe(42 ^ 10)
      expect(failed(await task('javascript', '{args: 1}')).code).toBe('KILN_ERR_TASK_INPUT')
      expect(failed(await task('javascript', '{expr: "nope(", args: 1}')).code).toBe('KILN_ERR_EXPRESSION')
    })

    it('has no way to the platform: no process, require, fetch or timers', async () => {
      expect(ok(await task('javascript', '{expr: "[typeof process, typeof require, typeof fetch, typeof setTimeout].join()", args: 1}'))).toBe('undefined,undefined,undefined,undefined')
    })
  })

  describe('fail', () => {
    it('always fails, with the default message or its input', async () => {
      expect(failed(await task('fail', ''))).toMatchObject({ code: 'KILN_ERR_TASK_FAILED', message: 'fail function triggered', task: 't' })
      expect(failed(await task('fail', 'custom error message'))).toMatchObject({ code: 'KILN_ERR_TASK_FAILED', message: 'custom error message' })
    })
  })

  describe('http', () => {
    it('sends method, headers and body to an allowed host and outputs the answer (their TestFunctionHttp_Invoke)', async () => {
      const url = `http://127.0.0.1:${port}/echo`
      const x = await task('http', `{method: POST, url: "${url}", default: body, headers: {Foo: Bar}}`, null, {}, [`127.0.0.1:${port}`])
      expect(ok(x)).toBe('body')
      const req = seen.at(-1)!
      expect(req).toMatchObject({ method: 'POST', url: '/echo', body: 'body' })
      expect(req.headers.foo).toBe('Bar')
      expect(req.headers['content-type']).toBe('text/plain')
    })

    it('a JSON body (a map) is sent as JSON and the JSON answer is parsed; query is added; GET without a body', async () => {
      const hosts = [`127.0.0.1:${port}`]
      expect(ok(await task('http', `{url: "127.0.0.1:${port}/j", body: {a: 1}, query: {q: x}}`, null, {}, hosts))).toEqual({ a: 1 })
      expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/j?q=x', body: '{"a":1}' })
      expect(seen.at(-1)!.headers['content-type']).toBe('application/json')
      expect(ok(await task('http', `"http://127.0.0.1:${port}/plain"`, null, {}, hosts))).toBe('{"method":"GET","url":"/plain"}')
    })

    it('a non-2xx answer fails the task with its status (their TestFunctionHttp_Invoke_Invalid)', async () => {
      const x = await task('http', `{method: DELETE, url: "http://127.0.0.1:${port}/fail", default: body, headers: {Foo: Bar}}`, null, {}, [`127.0.0.1:${port}`])
      expect(failed(x)).toMatchObject({ code: 'KILN_ERR_HTTP_REQUEST_FAILED', status: 500 })
    })

    it('reaches only hosts in callbackHosts; a loopback address needs an exact entry, not a wildcard', async () => {
      const before = seen.length
      expect(failed(await task('http', `"http://127.0.0.1:${port}/x"`)).code).toBe('KILN_ERR_HOST_NOT_ALLOWED')
      expect(failed(await task('http', `"http://127.0.0.1:${port}/x"`, null, {}, ['*'])).code).toBe('KILN_ERR_HOST_NOT_ALLOWED')
      expect(failed(await task('http', `"http://localhost:${port}/x"`, null, {}, ['*'])).code).toBe('KILN_ERR_HOST_NOT_ALLOWED')
      expect(failed(await task('http', `"http://169.254.169.254/latest/meta-data/"`, null, {}, ['*'])).code).toBe('KILN_ERR_HOST_NOT_ALLOWED')
      expect(failed(await task('http', `"file:///etc/passwd"`, null, {}, ['*'])).code).toBe('KILN_ERR_HOST_NOT_ALLOWED')
      expect(seen.length).toBe(before)
      expect(ok(await task('http', `"http://localhost:${port}/x"`, null, {}, [`localhost:${port}`]))).toBe('{"method":"GET","url":"/x"}')
    })
  })

  describe('expressions', () => {
    const scopeDoc = `name: expr
apiVersion: 1
output: Out
tasks:
  TaskA:
    run: noop
    inputs: {default: input-default, otherInput: input-otherInput}
  Out:
    run: compose
    requires: [TaskA]
    inputs:
      output: "{ output('TaskA') }"
      outputTasks: "{ $.Tasks.TaskA.Output }"
      input: "{ input('TaskA') }"
      inputOther: "{ input('TaskA', 'otherInput') }"
      param: "{ param() }"
      header: "{ param('headers').Foo }"
      uid: "{ uid() }"
      task: "{ task('TaskA').Status }"
      self: "{ taskId + ':' + task().Name }"
      workflow: "{ $.Workflow.Id + '/' + $.Invocation.Id.length }"
      upper: "{ $.Invocation.Inputs.default.toUpperCase() }"
`
    it('the helpers and $ read as their functions_test.go/expr_test.go expect', async () => {
      const { engine } = setup({}, [scopeDoc])
      const x = await (await engine.start('expr', { body: 'body', headers: { Foo: 'http-headers' }, query: {}, method: 'POST' })).done
      const out = ok(x) as Record<string, unknown>
      expect(out).toMatchObject({
        output: 'input-default', outputTasks: 'input-default', input: 'input-default', inputOther: 'input-otherInput',
        param: 'body', header: 'http-headers', task: 'SUCCEEDED', self: 'Out:compose', upper: 'BODY',
      })
      expect(out.uid).toMatch(/^[0-9a-f-]{36}$/)
      expect(out.workflow).toMatch(/^expr\/\d+$/)
      // the resolved inputs are recorded on the task (what $.Tasks.ID.Inputs reads)
      expect(x.tasks.Out!.inputs).toMatchObject({ param: 'body' })
    })

    it('a plain input (not an invocation) is the body; an expression that throws fails the task with KILN_ERR_EXPRESSION naming the input', async () => {
      expect(ok(await task('noop', '"{ param() + 1 }"', 41))).toBe(42)
      const x = await task('noop', '{default: "{ nothing.here }"}')
      expect(failed(x)).toMatchObject({ code: 'KILN_ERR_EXPRESSION' })
      expect(x.error!.message).toContain('t.inputs.default')
    })

    it('data shaped like a task is data: a caller cannot make the workflow run a function', async () => {
      const x = await task('noop', '"{ param() }"', { run: 'secret', inputs: {} }, { secret: () => 'ran' })
      expect(ok(x)).toEqual({ run: 'secret', inputs: {} })
      expect(x.tasks['t.default']).toBeUndefined()
    })
  })

  it('a workflow mixing user functions, if with a nested task, repeat carrying state, foreach fan-out and compose', async () => {
    const { engine, invoker } = setup(
      {
        parse: (body) => ({ words: String(body).split(' ') }),
        shout: (w) => String(w).toUpperCase(),
        count: (n) => ({ n }),
      },
      [`name: mixed
apiVersion: 1
output: Summary
tasks:
  Parse:
    run: parse
    inputs: "{ param() }"
  Shout:
    run: foreach
    requires: [Parse]
    inputs:
      foreach: "{ output('Parse').words }"
      do: {run: shout, inputs: "{ task().Inputs.element }"}
  Count:
    run: repeat
    requires: [Parse]
    inputs:
      times: "{ output('Parse').words.length }"
      do: {run: noop, inputs: "{ (task().Inputs.prev || 0) + 1 }"}
  Check:
    run: if
    requires: [Count]
    inputs:
      if: "{ output('Count') > 2 }"
      then: {run: count, inputs: "{ output('Count') }"}
      else: few
  Summary:
    run: compose
    requires: [Shout, Check]
    inputs:
      shouted: "{ output('Shout').join(' ') }"
      check: "{ output('Check') }"
      words: "{ output('Count') }"
`],
    )
    const many = await (await engine.start('mixed', 'the quick fox')).done
    expect(ok(many)).toEqual({ shouted: 'THE QUICK FOX', check: { n: 3 }, words: 3 })
    expect(invoker.callsOf('shout').map((c) => c.task).sort()).toEqual(['Shout[0]', 'Shout[1]', 'Shout[2]'])
    expect(invoker.callsOf('count')).toHaveLength(1)
    expect(invoker.callsOf('count')[0]!.task).toBe('Check.then')
    // the function calls are shaped as Fission does: POST, the body's media type inferred
    expect(invoker.calls.find((c) => c.fn === 'parse')!.input).toBe('the quick fox')
    const few = await (await engine.start('mixed', 'hi you')).done
    expect(ok(few)).toEqual({ shouted: 'HI YOU', check: 'few', words: 2 })
    expect(invoker.callsOf('count')).toHaveLength(1)
  })

  it('runaway expressions fail their task with KILN_ERR_EXPRESSION_LIMIT while other executions finish', async () => {
    const { engine } = setup({}, [
      `name: loop\napiVersion: 1\noutput: t\ntasks:\n  t: {run: noop, inputs: "{ while (true) {} }"}`,
      `name: alloc\napiVersion: 1\noutput: t\ntasks:\n  t: {run: noop, inputs: "{ var a = []; while (true) a.push(new Array(100000).fill(a.length)) }"}`,
      `name: redos\ntasks:\n  t: {function: none, input: "{{ $contains('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', /^(a|aa)+$/) }}"}`,
      `name: fine\napiVersion: 1\noutput: t\ntasks:\n  t: {run: noop, inputs: "{ param() * 2 }"}`,
    ])
    const runaway = await Promise.all(['loop', 'alloc', 'redos'].map(async (w) => (await engine.start(w, null, { async: true })).done))
    const fine = await Promise.all([1, 2, 3].map(async (n) => (await engine.start('fine', n)).done))
    expect(fine.map(ok)).toEqual([2, 4, 6])
    for (const x of await Promise.all(runaway)) expect(failed(x)).toMatchObject({ code: 'KILN_ERR_EXPRESSION_LIMIT', task: 't' })
  })

  it('`run` may name a deployed workflow (workflows are functions in Fission): it runs as a child execution; fission:// never does', async () => {
    const notFound: TestFunction = () => Promise.reject(new InvokeError(404, 'KILN_ERR_FUNCTION_NOT_FOUND', 'no such function'))
    const { engine } = setup({ sub: notFound }, [
      { name: 'sub', apiVersion: 1, output: 'D', tasks: { D: { run: 'noop', inputs: '{ param() * 2 }' } } },
      { name: 'parent', apiVersion: 1, output: 'P', tasks: { P: { run: 'sub', inputs: '{ param() + 1 }' } } },
      { name: 'strict', apiVersion: 1, output: 'P', tasks: { P: { run: 'fission://sub', inputs: 1 } } },
    ])
    const x = await (await engine.start('parent', 20)).done
    expect(ok(x)).toBe(42)
    const child = await engine.get(x.tasks.P!.childExecutionId!)
    expect(child).toMatchObject({ workflow: 'sub', status: 'succeeded', input: 21, parentId: x.id })
    expect(failed(await (await engine.start('strict', null)).done).code).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  })

  it('a restarted engine resumes a Fission workflow: finished nested tasks are not run again', async () => {
    const { store, reopen } = kind.create()
    const doc = { name: 'resume', apiVersion: 1, output: 'Each', tasks: { Each: { run: 'foreach', inputs: { foreach: [1, 2, 3], sequential: true, do: { run: 'work', inputs: '{ task().Inputs.element }' } } } } }
    const spec = parseWorkflow(doc)
    const first = inProcessInvoker({ work: (n, opts) => (n === 3 ? new Promise((_r, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason))) : n * 10) })
    const engine1 = new WorkflowEngine({ store, invoker: first, getWorkflow: () => spec })
    const { executionId } = await engine1.start('resume', null, { async: true })
    await first.waitForCall('work', 3)
    await engine1.close()

    const store2 = reopen()
    const second = inProcessInvoker({ work: (n) => n * 10 })
    const engine2 = new WorkflowEngine({ store: store2, invoker: second, getWorkflow: () => spec })
    cleanup.push(async () => {
      await engine2.close()
      await store.close()
      if (store2 !== store) await store2.close()
    })
    const [resumed] = await engine2.resume()
    expect(resumed!.executionId).toBe(executionId)
    expect(ok(await resumed!.done)).toEqual([10, 20, 30])
    expect(second.callsOf('work').map((c) => c.input)).toEqual([3])
  })

  it('a nested workflow in the inputs runs its tasks by requires; its output task is the output', async () => {
    const x = await task('if', `{if: true, then: {output: b, tasks: {a: {run: noop, inputs: 20}, b: {run: javascript, requires: [a], inputs: {expr: "x + 1", args: {x: "{ output('a') }"}}}}}}`)
    expect(ok(x)).toBe(21)
    expect(x.tasks['t.then.a']).toMatchObject({ status: 'succeeded', output: 20 })
  })
})
