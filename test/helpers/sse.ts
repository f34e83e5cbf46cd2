// A server-sent-events client for tests: opens a /v1 stream with a token, parses its events
// (eventsource-parser, as the console does), keeps them, and waits for one that matches.
import { createParser } from 'eventsource-parser'
import { request } from 'undici'
import { until } from './until.js'

export interface SseEvent { event: string; data: any }

export interface SseStream {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Every event received so far, oldest first. */
  readonly events: SseEvent[]
  /** The first event (received or to come) of this name for which `match` holds. */
  next(event: string, match?: (data: any) => unknown, timeoutMs?: number): Promise<any>
  close(): void
}

export async function openStream(url: string, token: string | undefined): Promise<SseStream> {
  const abort = new AbortController()
  const res = await request(url, { headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: abort.signal })
  const events: SseEvent[] = []
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: JSON.parse(e.data) }) })
    const utf8 = new TextDecoder()
    res.body.on('data', (chunk: Buffer) => parser.feed(utf8.decode(chunk, { stream: true })))
    res.body.on('error', () => undefined)
  } else {
    const text = await res.body.text()
    events.push({ event: 'body', data: text ? JSON.parse(text) : undefined })
  }
  return {
    status: res.statusCode,
    headers: res.headers,
    events,
    next: (event, match = () => true, timeoutMs = 30_000) =>
      until(`a "${event}" event`, async () => events.find((e) => e.event === event && match(e.data))?.data ?? undefined, timeoutMs),
    close: () => abort.abort(),
  }
}
