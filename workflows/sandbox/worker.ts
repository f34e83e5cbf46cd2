// The sandbox worker (built to dist/expression-worker.js): evaluates JSONata templates and QuickJS
// scripts off the platform's event loop. It answers every job with a SandboxAnswer; the pool kills it
// when a job runs past its deadline or its heap limit.
import { parentPort } from 'node:worker_threads'
import { evaluateConditionHere, evaluateTemplateHere } from '../expressions.js'
import type { SandboxAnswer, SandboxJob } from './jobs.js'
import { compileScripts, runScripts } from './quickjs.js'

async function answer(job: SandboxJob): Promise<SandboxAnswer> {
  switch (job.kind) {
    case 'template':
      return { ok: true, value: await evaluateTemplateHere(job.template, job.context) }
    case 'condition':
      return { ok: true, value: await evaluateConditionHere(job.value, job.context) }
    case 'scripts':
      return runScripts(job)
    case 'compile':
      return compileScripts(job.sources)
  }
}

parentPort!.on('message', (msg: { id: number; payload: SandboxJob }) => {
  answer(msg.payload).then(
    (value) => parentPort!.postMessage({ id: msg.id, value }),
    (err: Error & { code?: string }) => {
      // JSONata errors arrive as KILN_ERR_EXPRESSION; a JS stack overflow as a RangeError
      const code = err?.code === 'KILN_ERR_EXPRESSION' ? 'KILN_ERR_EXPRESSION' : err instanceof RangeError ? 'KILN_ERR_EXPRESSION_LIMIT' : 'KILN_ERR_EXPRESSION'
      parentPort!.postMessage({ id: msg.id, value: { ok: false, code, message: String(err?.message ?? err) } satisfies SandboxAnswer })
    },
  )
})
