// examples/workflows/order.yaml runs with its example functions (loaded in-process, not through the platform).
import { readFileSync, readdirSync } from 'node:fs'
import { basename } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WorkflowEngine } from '../../../workflows/engine.js'
import { InvokeError } from '../../../workflows/invoker.js'
import { MemoryExecutionStore } from '../../../workflows/state/memory-store.js'
import { validateWorkflow } from '../../../workflows/validate.js'
import { inProcessInvoker, type TestFunction } from './in-process-invoker.js'

const dir = new URL('../../../examples/workflows/', import.meta.url)

async function exampleFunctions(): Promise<Record<string, TestFunction>> {
  const fns: Record<string, TestFunction> = {}
  for (const file of readdirSync(new URL('functions/', dir)).filter((f) => f.endsWith('.mjs'))) {
    const mod = (await import(new URL(`functions/${file}`, dir).href)) as { default: (req: unknown) => Promise<any> }
    // the runtime contract's shorthand: {status, body} is a response, anything else is the body
    fns[basename(file, '.mjs')] = async (body) => {
      const res = await mod.default({ method: 'POST', body, request: { body } })
      if (res && typeof res.status === 'number' && 'body' in res) {
        if (res.status >= 400) throw new InvokeError(res.status, 'KILN_ERR_FUNCTION_ERROR', JSON.stringify(res.body), res.body)
        return res.body
      }
      return res
    }
  }
  return fns
}

describe('example order workflow', () => {
  it('validates against its functions and routes a large order to review', async () => {
    const fns = await exampleFunctions()
    const spec = await validateWorkflow(readFileSync(new URL('order.yaml', dir), 'utf8'), {
      functionExists: (n) => n in fns,
      workflowExists: () => false,
    })
    const store = new MemoryExecutionStore()
    const invoker = inProcessInvoker(fns)
    const engine = new WorkflowEngine({ store, invoker, getWorkflow: (n) => (n === 'order' ? spec : undefined) })
    try {
      const big = await (await engine.start('order', { customer: 'ada', items: [{ sku: 'kiln', qty: 1 }, { sku: 'glaze', qty: 2 }] })).done
      expect(big.status).toBe('succeeded')
      expect(big.output).toEqual({ decision: { decision: 'review', customer: 'ada', total: 156 }, total: 156, inStock: true })
      expect(invoker.callsOf('notify')).toHaveLength(2)

      const small = await (await engine.start('order', { items: [{ sku: 'apple', qty: 2 }] })).done
      expect(small.output).toMatchObject({ decision: { decision: 'approved', total: 3 } })
      await expect(engine.start('order', { items: [] })).rejects.toMatchObject({ code: 'KILN_ERR_WORKFLOW_INPUT' })
    } finally {
      await engine.close()
    }
  })
})
