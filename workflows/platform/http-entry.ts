// The data plane's way into workflows: `POST /wf/NAME` and user routes that target a workflow.
// The request's JSON body is the input (read here, with a size limit: the router leaves bodies
// unparsed). Synchronous by default: the answer is the execution's output, or its error with the
// catalogue's status and the execution id. `Prefer: respond-async` answers 202 at once.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, KilnError, type ErrorCode } from '../../core/errors.js'
import { errorOf, sendError } from '../../router/send-error.js'
import type { WorkflowEntry } from '../../router/plugin.js'
import type { WorkflowEngine } from '../engine.js'
import type { Execution } from '../state/execution.js'
import { newExecutionId } from '../../core/execution-ids.js'

export interface HttpEntryOptions {
  engine: WorkflowEngine
  /** largest input body in bytes (413 above) */
  maxBodyBytes: number
}

const JSON_TYPE = 'application/json; charset=utf-8'

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return
  const body = JSON.stringify(value === undefined ? null : value)
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

/** Reads the whole body up to `limit` bytes; undefined when it already answered (413). */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | undefined> {
  const tooLarge = (size: string) => new KilnError('KILN_ERR_BODY_TOO_LARGE', `workflow input of ${size} is over the limit of ${limit} bytes`)
  const len = req.headers['content-length']
  if (len !== undefined && Number(len) > limit) {
    sendError(res, tooLarge(`${len} bytes`))
    req.resume()
    return Promise.resolve(undefined)
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (v: Buffer | undefined) => {
      if (done) return
      done = true
      resolve(v)
    }
    req.on('data', (c: Buffer) => {
      if (done) return
      size += c.length
      if (size > limit) {
        sendError(res, tooLarge(`more than ${limit} bytes`))
        req.resume()
        finish(undefined)
        return
      }
      chunks.push(c)
    })
    req.on('end', () => finish(Buffer.concat(chunks, size)))
    req.on('error', () => finish(undefined))
    req.on('aborted', () => finish(undefined))
  })
}

/** The answer for a failed execution: its error's code and catalogue status, with the execution id. */
export function failureOf(exec: Execution): KilnError {
  const e = exec.error ?? { code: 'KILN_ERR_TASK_FAILED', message: 'the execution failed' }
  const code = (e.code in ERRORS ? e.code : 'KILN_ERR_TASK_FAILED') as ErrorCode
  const details: Record<string, unknown> = { executionId: exec.id, workflow: exec.workflow }
  if (e.task !== undefined) details.task = e.task
  if (e.status !== undefined) details.taskStatus = e.status
  if (code !== e.code) details.cause = e.code
  return new KilnError(code, e.task !== undefined ? `task ${e.task} failed: ${e.message}` : e.message, details)
}

export function httpEntry(o: HttpEntryOptions): WorkflowEntry {
  const run = async (name: string, req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req, res, o.maxBodyBytes)
    if (raw === undefined) return
    let input: unknown = null
    if (raw.length > 0) {
      try {
        input = JSON.parse(raw.toString('utf8'))
      } catch (err) {
        sendError(res, new KilnError('KILN_ERR_BAD_REQUEST', `the workflow input must be JSON: ${(err as Error).message}`))
        return
      }
    }
    const respondAsync = /\brespond-async\b/i.test(String(req.headers.prefer ?? ''))
    const started = await o.engine.start(name, input, { async: true, executionId: newExecutionId() })
    const id = started.executionId
    if (respondAsync) {
      started.done.catch(() => {})
      sendJson(res, 202, { executionId: id, workflow: name, status: 'running' }, { location: `/v1/executions/${id}`, 'preference-applied': 'respond-async', 'x-kiln-execution': id })
      return
    }
    let final: Execution
    try {
      final = await started.done
    } catch (err) {
      const e = errorOf(err)
      sendError(res, new KilnError(e.code, e.message, { ...e.details, executionId: id }))
      return
    }
    if (res.destroyed) return
    res.setHeader('x-kiln-execution', id)
    if (final.status === 'succeeded') sendJson(res, 200, final.output)
    else sendError(res, failureOf(final))
  }

  return {
    handle(name, req, res) {
      run(name, req, res).catch((err) => {
        sendError(res, errorOf(err))
        req.resume()
      })
    },
  }
}

/** `POST /wf/:name` in its own plugin scope: bodies stay unparsed (no content-type parsers), as in the router. */
export async function workflowDataPlane(app: FastifyInstance, entry: WorkflowEntry): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => done(null))
  app.all<{ Params: { name: string } }>('/wf/:name', (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    reply.hijack()
    const { raw } = request
    if (raw.method !== 'POST' && raw.method !== 'PUT') {
      sendError(reply.raw, new KilnError('KILN_ERR_BAD_REQUEST', `${raw.method} /wf/${request.params.name}: run a workflow with POST`))
      raw.resume()
      return
    }
    entry.handle(request.params.name, raw, reply.raw)
  })
}
