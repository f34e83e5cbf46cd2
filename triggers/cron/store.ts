// The durable progress of cron triggers: the schedule slot each trigger handled last (so a restarted
// platform catches up a missed run at most once) and which invocation it started; and, with several
// platform processes sharing Redis, a lease per trigger so one process runs each schedule. One
// interface, two implementations (sqlite-store.ts, redis-store.ts), one test suite.

export type CronOutcome = 'started' | 'skipped'

export interface CronProgress {
  /** the trigger's ref (core/refs.ts): `name` in `default`, `ns/name` elsewhere */
  trigger: string
  /** the schedule slot (ms since the epoch) handled last, by starting a run or by skipping it */
  lastSlot: number
  /** when it was handled (ms since the epoch) */
  lastRunAt: number
  lastOutcome: CronOutcome
  /** the invocation of the last run started (kept when a later slot is skipped) */
  lastInvocationId?: string
}

export interface CronStore {
  get(trigger: string): Promise<CronProgress | undefined>
  list(): Promise<CronProgress[]>
  record(p: CronProgress): Promise<void>
  /** Takes or keeps `owner`'s lease on the trigger's schedule until `until`; false while another owner's lease runs. */
  lease(trigger: string, owner: string, now: number, until: number): Promise<boolean>
  /** Forgets the trigger's progress and lease (the trigger was deleted). */
  delete(trigger: string): Promise<void>
}
