// `GET /v1/functions/NAME/logs?follow=true` (`kiln fn logs -f`): the last lines, then each new line as
// an instance writes it, as plain text, until the client goes away. Where lines come from is the Logs
// read model's business (a local file, or the pods' logs through the Kubernetes API).
import type { IncomingMessage } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { Logs } from './read-models.js'

/**
 * The last `tail` lines (those written at or after `since`, an ISO time, when given), then each new one
 * as it is written, as a stream that ends when `req` closes.
 */
export function followLogs(logs: Logs, fn: string, tail: number, req: IncomingMessage, since?: string): Readable {
  const ac = new AbortController()
  const out = new PassThrough()
  const stop = () => { ac.abort(); out.end() }
  req.once('close', stop)
  out.once('close', () => ac.abort())
  // Lines written while the tail is read are kept and sent after it.
  const early: string[] = []
  let live = false
  const onLine = (line: string) => { if (live) out.write(line + '\n'); else early.push(line) }
  void logs.follow(fn, onLine, ac.signal).catch((err: Error) => { out.write(`kiln: following the logs failed: ${err.message}\n`); stop() })
  void logs.read(fn, tail).then((all) => {
    // Each line starts with its ISO time: comparing the prefix keeps those at or after `since`.
    const lines = since === undefined ? all : all.filter((l) => l.slice(0, since.length) >= since)
    const seen = new Set(lines)
    for (const l of lines) out.write(l + '\n')
    for (const l of early) if (!seen.has(l)) out.write(l + '\n')
    live = true
  }, (err: Error) => { out.write(`kiln: reading the logs failed: ${err.message}\n`); live = true })
  return out
}
