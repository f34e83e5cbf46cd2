// `GET /v1/functions/NAME/logs?follow=true`: the function's last lines, then each new one as it is
// written, as server-sent events (`lines`: an array of lines), until the client goes — the console's
// live tail, and `kubectl logs -f` for a function. Lines written while the tail is read are kept and
// sent after it, without the ones the tail already had.
import type { EventStream } from './event-stream.js'
import type { Logs } from './read-models.js'

/** How long new lines gather before they go out as one event. */
const BATCH_MS = 100

export async function followLogs(out: EventStream, logs: Logs, ref: string, tail: number): Promise<void> {
  let reading = true
  const pending: string[] = []
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    timer = undefined
    if (pending.length > 0) out.send('lines', pending.splice(0))
  }
  // Follow first, then read: a line written meanwhile is in the tail or in `pending`, never lost.
  const stop = logs.follow(ref, (line) => {
    pending.push(line)
    if (!reading) timer ??= setTimeout(flush, BATCH_MS)
  })
  out.onClose(() => { stop(); clearTimeout(timer) })
  const lines = await logs.read(ref, tail)
  const inTail = new Set(lines)
  out.send('lines', [...lines, ...pending.splice(0).filter((l) => !inTail.has(l))])
  reading = false
}
