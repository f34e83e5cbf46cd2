// Package uploads are buffered whole (up to the package body limit) and inspected before they are
// stored, so each one in flight can cost that much memory. A few slots bound it: an upload waits for a
// slot before its body is read (the socket is left paused, so the waiting ones cost almost nothing),
// and many concurrent uploads from one caller cannot grow `kiln up` by many times the body limit.
import type { FastifyReply, FastifyRequest } from 'fastify'

export class UploadSlots {
  private busy = 0
  private readonly waiting: (() => void)[] = []

  constructor(readonly size: number) {}

  get inUse(): number { return this.busy }
  get queued(): number { return this.waiting.length }

  /**
   * onRequest hook: resolves once the request holds a slot. The slot is given back when the response
   * closes, sent or not (a client that went away while it waited or uploaded frees it too).
   */
  readonly acquire = async (_req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.busy++
    const res = reply.raw
    if (res.destroyed || res.writableFinished) return this.release()
    res.once('close', this.release)
  }

  private readonly release = (): void => {
    const next = this.waiting.shift()
    if (next) next() // the slot passes on: busy stays the same
    else this.busy--
  }
}
