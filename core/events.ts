// Platform events (isolations, releases, crashes, ...) kept in a bounded in-memory log, newest last,
// served by `/v1/events` and `kiln events`.
import { EventEmitter } from 'node:events'

export interface PlatformEvent {
  seq: number
  at: string
  type: string
  function?: string
  reason: string
  evidence?: Record<string, unknown>
}

export class EventLog extends EventEmitter<{ event: [PlatformEvent] }> {
  private readonly items: PlatformEvent[] = []
  private seq = 0

  constructor(private readonly capacity = 1000) {
    super()
  }

  add(e: Omit<PlatformEvent, 'seq' | 'at'>): PlatformEvent {
    const ev: PlatformEvent = { seq: ++this.seq, at: new Date().toISOString(), ...e }
    this.items.push(ev)
    if (this.items.length > this.capacity) this.items.shift()
    this.emit('event', ev)
    return ev
  }

  list(filter: { function?: string; type?: string; since?: number } = {}): PlatformEvent[] {
    return this.items.filter((e) =>
      (filter.function === undefined || e.function === filter.function) &&
      (filter.type === undefined || e.type === filter.type) &&
      (filter.since === undefined || e.seq > filter.since))
  }
}
