// The platform's Invoker: tasks reach functions through the platform's own router, like HTTP clients.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvokeError } from '../../../workflows/invoker.js'
import { HttpInvoker } from '../../../workflows/platform/invoker.js'
import { sharedDir } from '../../helpers/shared-dir.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

const F = join(import.meta.dirname, 'fixtures')

describe('HttpInvoker through the router', () => {
  let p: TestPlatform
  let counterDir: string
  const invoker = new HttpInvoker()
  const opts = (task = 't', signal = new AbortController().signal) => ({ signal, executionId: 'ex-test', task })

  beforeAll(async () => {
    const shared = await sharedDir('kiln-wf-invoker-')
    counterDir = shared.dir
    p = await startTestPlatform({ sandbox: { mounts: [shared.mount] } })
    invoker.setOrigin(p.url)
    await p.deploy('counter', join(F, 'counter.mjs'), { env: { COUNTER_DIR: counterDir } })
    await p.deploy('text', join(F, 'text.mjs'))
    await p.deploy('throws', join(F, 'throws.mjs'))
  })

  afterAll(async () => {
    await invoker.close()
    await p?.stop()
    await rm(counterDir, { recursive: true, force: true })
  })

  it('sends the input as JSON with the execution and task, and parses a JSON answer', async () => {
    const out = await invoker.invoke('counter', { key: 'a', value: { n: 1 } }, opts('price'))
    expect(out).toEqual({ key: 'a', count: 1, value: { n: 1 }, execution: 'ex-test', task: 'price' })
  })

  it('returns a text answer as a string', async () => {
    expect(await invoker.invoke('text', { name: 'Ada' }, opts())).toBe('hello Ada')
  })

  it('maps a platform error to its catalogue code and status', async () => {
    const err = await invoker.invoke('no-such-fn', {}, opts()).catch((e) => e)
    expect(err).toBeInstanceOf(InvokeError)
    expect(err).toMatchObject({ status: 404, code: 'KILN_ERR_FUNCTION_NOT_FOUND' })
    const thrown = await invoker.invoke('throws', {}, opts()).catch((e) => e)
    expect(thrown).toMatchObject({ status: 500, code: 'KILN_ERR_FUNCTION_ERROR' })
  })

  it("keeps a function's own error status and body", async () => {
    const err = await invoker.invoke('counter', { key: 'b', status: 503 }, opts()).catch((e) => e)
    expect(err).toMatchObject({ status: 503, code: 'KILN_ERR_FUNCTION_ERROR', body: { error: 'asked to fail', count: 1 } })
  })

  it('rejects with the signal reason when the task is aborted', async () => {
    const ac = new AbortController()
    const call = invoker.invoke('counter', { key: 'c', sleepMs: 2000 }, opts('t', ac.signal))
    const reason = new Error('stop')
    setTimeout(() => ac.abort(reason), 50)
    await expect(call).rejects.toBe(reason)
  })

  it('gives up after timeoutMs with KILN_ERR_TASK_TIMEOUT', async () => {
    const err = await invoker.invoke('counter', { key: 'd', sleepMs: 2000 }, { ...opts(), timeoutMs: 100 }).catch((e) => e)
    expect(err).toMatchObject({ status: 504, code: 'KILN_ERR_TASK_TIMEOUT' })
  })
})
