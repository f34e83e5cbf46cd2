// One error handler for the control API: catalogue errors keep their code and status; fastify's own
// errors (bad JSON, body limits) are mapped into the catalogue so clients see one shape.
import type { FastifyError, FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'

export function toKilnError(err: FastifyError | Error): KilnError {
  if (err instanceof KilnError) return err
  const fe = err as FastifyError
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new KilnError('KILN_ERR_BODY_TOO_LARGE', fe.message)
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new KilnError('KILN_ERR_BAD_REQUEST', fe.message)
  return new KilnError('KILN_ERR_INTERNAL', err.message)
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toKilnError(err as Error)
    if (e.status >= 500) request.log.error({ err }, 'control API error')
    void reply.status(e.status).send(e.toJSON())
  })
}
