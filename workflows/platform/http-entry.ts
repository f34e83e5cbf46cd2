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
import { isName, refOf, workflowPath } from '../../core/refs.js'

export interface HttpEntryOptions {
  engine: WorkflowEngine
  /** largest input body in bytes (413 above) */
  maxBodyBytes: number
  /** how a workflow reads its request and answers, when not as JSON (Fission Workflows' content types) */
  adapterFor?(workflow: string): HttpAdapter | undefined
}

/** A workflow format's own HTTP: the request as its input; its output as the answer. */
export interface HttpAdapter {
  /** throws a KilnError (e.g. KILN_ERR_BAD_REQUEST) for a body it cannot read */
  input(req: IncomingMessage, body: Buffer): unknown
  answer(res: ServerResponse, output: unknown, headers: Record<string, string>): void
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

export function httpEntry(o: HttpEntryOptions): WorkflowEntry & { acceptsMethod(name: string, method: string): boolean } {
  const run = async (name: string, req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req, res, o.maxBodyBytes)
    if (raw === undefined) return
    const adapter = o.adapterFor?.(name)
    let input: unknown = null
    if (adapter) {
      try {
        input = adapter.input(req, raw)
      } catch (err) {
        sendError(res, errorOf(err))
        return
      }
    } else if (raw.length > 0) {
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
    if (final.status === 'succeeded' && adapter) adapter.answer(res, final.output, { 'x-kiln-execution': id })
    else if (final.status === 'succeeded') sendJson(res, 200, final.output)
    else sendError(res, failureOf(final))
  }

  return {
    /** Fission Workflows' workflows are invoked like functions: with any method (it is in param('method')) */
    acceptsMethod: (name: string, method: string) => method === 'POST' || method === 'PUT' || o.adapterFor?.(name) !== undefined,
    handle(name, req, res) {
      run(name, req, res).catch((err) => {
        sendError(res, errorOf(err))
        req.resume()
      })
    },
  }
}

/** `POST /wf/:name` and `POST /ns/:namespace/wf/:name` in their own plugin scope: bodies stay unparsed (no content-type parsers), as in the router. */
export async function workflowDataPlane(app: FastifyInstance, entry: WorkflowEntry): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => done(null))
  const run = (ref: string, request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    const { raw } = request
    const accepts = (entry as WorkflowEntry & { acceptsMethod?(name: string, method: string): boolean }).acceptsMethod
    if (accepts ? !accepts(ref, raw.method ?? 'GET') : raw.method !== 'POST' && raw.method !== 'PUT') {
      sendError(reply.raw, new KilnError('KILN_ERR_BAD_REQUEST', `${raw.method} ${workflowPath(ref)}: run a workflow with POST`))
      raw.resume()
      return
    }
    entry.handle(ref, raw, reply.raw)
  }
  app.all<{ Params: { name: string } }>('/wf/:name', (request, reply) => run(request.params.name, request, reply))
  app.all<{ Params: { namespace: string; name: string } }>('/ns/:namespace/wf/:name', (request, reply) => {
    const { namespace, name } = request.params
    if (!isName(namespace) || !isName(name)) {
      reply.hijack()
      sendError(reply.raw, new KilnError('KILN_ERR_WORKFLOW_NOT_FOUND', `no workflow "${name}" in namespace "${namespace}"`))
      request.raw.resume()
      return
    }
    run(refOf(namespace, name), request, reply)
  })
}
