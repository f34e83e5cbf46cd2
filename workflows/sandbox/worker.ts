// The sandbox worker process (built to dist/expression-worker.js, forked by sandbox/pool.ts): evaluates
// JSONata templates and QuickJS scripts off the platform's event loop. It answers every job with a
// SandboxAnswer; the pool kills it when a job runs past its deadline, V8 when it runs out of heap.
import { evaluateConditionHere, evaluateTemplateHere } from '../expressions.js'
import type { SandboxAnswer, SandboxJob } from './jobs.js'
import { compileScripts, prepare, runScripts } from './quickjs.js'

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

const send = (m: unknown) => process.send?.(m)
// the platform went away (even by SIGKILL): so does its sandbox
process.on('disconnect', () => process.exit(0))
process.on('message', (msg: { id: number; payload: SandboxJob }) => {
  answer(msg.payload).then(
    (value) => send({ id: msg.id, value }),
    (err: Error & { code?: string }) => {
      // JSONata errors arrive as KILN_ERR_EXPRESSION; a JS stack overflow as a RangeError
      const code = err?.code === 'KILN_ERR_EXPRESSION' ? 'KILN_ERR_EXPRESSION' : err instanceof RangeError ? 'KILN_ERR_EXPRESSION_LIMIT' : 'KILN_ERR_EXPRESSION'
      send({ id: msg.id, value: { ok: false, code, message: String(err?.message ?? err) } satisfies SandboxAnswer })
    },
  )
})

// Ready once QuickJS is compiled and a context is waiting: a job's time limit does not pay for the boot.
prepare().then(
  () => send({ ready: true }),
  (err: Error) => {
    process.stderr.write(`expression sandbox: ${err.message}\n`)
    process.exit(1)
  },
)
