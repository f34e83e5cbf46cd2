// The pages' live data: one /v1/watch stream per page with the topics it shows, the latest state of
// each topic, and the platform events gathered since the page opened.
import { useEffect, useState } from 'preact/hooks'
import { nsQuery, stream, type ApiError } from './api'
import type { PlatformEvent } from './types'

export type Topic = 'functions' | 'series' | 'events' | 'pools' | 'nodes' | 'executions' | 'invocations'

export interface Live {
  /** The latest state of each topic received (absent until the first). */
  data: Partial<Record<Topic, unknown>>
  events: PlatformEvent[]
  connected: boolean
  /** Topics the token's role does not read. */
  refused: Topic[]
  error?: ApiError
  problem?: string
}

const KEEP_EVENTS = 500

export function useWatch(topics: Topic[], namespace: string): Live {
  const [live, setLive] = useState<Live>({ data: {}, events: [], connected: false, refused: [] })
  const key = topics.join(',')
  useEffect(() => {
    const abort = new AbortController()
    setLive({ data: {}, events: [], connected: false, refused: [] })
    void stream(`/watch${nsQuery(namespace, { topics: key })}`, {
      onConnected: (connected, error) => setLive((l) => ({ ...l, connected, error })),
      onEvent: (event, data) => setLive((l) => {
        if (event === 'hello') return { ...l, refused: (data as { refused: Topic[] }).refused, problem: undefined }
        if (event === 'problem') return { ...l, problem: (data as { message: string }).message }
        if (event === 'events') {
          // A reconnect sends the newest events again: keep each once.
          const seen = new Set(l.events.map((e) => e.seq))
          const more = (data as PlatformEvent[]).filter((e) => !seen.has(e.seq))
          return { ...l, events: [...l.events, ...more].slice(-KEEP_EVENTS) }
        }
        return { ...l, data: { ...l.data, [event]: data }, problem: undefined }
      }),
    }, abort.signal)
    return () => abort.abort()
  }, [key, namespace])
  return live
}
