// Calls of the control API (/v1) with the session's token, and its live stream (/v1/watch, logs with
// follow) read over fetch: EventSource cannot send an Authorization header, and a token in its URL
// would land in the server's and proxies' logs.
import { createParser } from 'eventsource-parser'
import { token } from './session'

/** A /v1 answer that was not 2xx: the catalogue code and message (core/errors.ts). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** Called when the server says the token is not (or no longer) valid. */
let onUnauthenticated: () => void = () => undefined
export function whenUnauthenticated(fn: () => void): void {
  onUnauthenticated = fn
}

function headers(json: boolean, t = token()): Record<string, string> {
  return { ...(t ? { authorization: `Bearer ${t}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}) }
}

async function failure(res: Response): Promise<ApiError> {
  const body = await res.json().catch(() => ({})) as { error?: string; message?: string }
  if (res.status === 401) onUnauthenticated()
  return new ApiError(res.status, body.error ?? `HTTP_${res.status}`, body.message ?? res.statusText)
}

export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const res = await fetch(`/v1${path}`, {
    method: init.method ?? 'GET',
    headers: headers(init.body !== undefined, init.token ?? token()),
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    cache: 'no-store',
  })
  if (!res.ok) throw await failure(res)
  return await res.json() as T
}

/** `?namespace=` for a namespace picked in the header (`*`: every namespace of the token). */
export function nsQuery(ns: string, more: Record<string, string> = {}): string {
  const q = new URLSearchParams({ namespace: ns, ...more })
  return `?${q.toString()}`
}

export interface StreamHandlers {
  onEvent(event: string, data: unknown): void
  /** true once connected, false while waiting to connect again */
  onConnected?(connected: boolean, error?: ApiError): void
}

/**
 * Reads an answer of /v1 that stays open until `signal` aborts, handing each piece of text to `feed`,
 * and connects again after a drop (3 s, or what the server's `retry` says). A 4xx answer ends it (the
 * caller shows the error).
 */
async function follow(path: string, accept: string, feed: (text: string) => void, onConnected: StreamHandlers['onConnected'], signal: AbortSignal, retry = { ms: 3000 }): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(`/v1${path}`, { headers: { ...headers(false), accept }, signal, cache: 'no-store' })
      if (!res.ok || !res.body) {
        const err = await failure(res)
        onConnected?.(false, err)
        if (res.status < 500) return
      } else {
        onConnected?.(true)
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          feed(value)
        }
      }
    } catch {
      if (signal.aborted) return
    }
    onConnected?.(false)
    await new Promise((r) => setTimeout(r, retry.ms))
  }
}

/** A stream of server-sent events (`GET /v1/watch`). */
export function stream(path: string, h: StreamHandlers, signal: AbortSignal): Promise<void> {
  const retry = { ms: 3000 }
  let parser = createParser({ onEvent: () => undefined })
  return follow(path, 'text/event-stream', (text) => parser.feed(text), (connected, err) => {
    // Each connection starts a new stream of events.
    if (connected) parser = createParser({ onEvent: (e) => h.onEvent(e.event ?? 'message', JSON.parse(e.data)), onRetry: (ms) => { retry.ms = ms } })
    h.onConnected?.(connected, err)
  }, signal, retry)
}

/** A plain-text answer read line by line as it comes (`GET /v1/functions/NAME/logs?follow=true`). */
export function lines(path: string, h: { onLines(lines: string[]): void; onConnected?: StreamHandlers['onConnected'] }, signal: AbortSignal): Promise<void> {
  let partial = ''
  return follow(path, 'text/plain', (text) => {
    const parts = (partial + text).split('\n')
    partial = parts.pop() ?? ''
    if (parts.length > 0) h.onLines(parts)
  }, (connected, err) => {
    partial = ''
    h.onConnected?.(connected, err)
  }, signal)
}
