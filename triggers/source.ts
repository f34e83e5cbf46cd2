// What starts function calls other than a caller on `/fn`: HTTP routes today, async invocations, cron
// and queues next. Each kind is one folder under triggers/ with one TriggerSource; the platform starts
// and stops every registered source in one loop (platform/assemble.ts) and each calls functions
// through the one Invoker (invoker.ts).
export interface TriggerSource {
  /** The trigger type it serves, e.g. `http`, `cron`. */
  readonly kind: string
  /** Reads its store and begins serving (watching the store for changes). */
  start(): Promise<void>
  /** Stops serving; calls already started finish on their own. */
  stop(): Promise<void>
  /** Level-triggered: re-reads its store and acts on the difference (safe to call at any time). */
  reconcile(): Promise<void>
}
