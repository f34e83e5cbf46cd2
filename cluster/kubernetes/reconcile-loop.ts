// A level-triggered loop: one pass, then the next `everyMs` after it settles, never two at once. Stopping
// waits for a pass under way and keeps it from arming another.
export class ReconcileLoop {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(private readonly pass: () => Promise<void>, private readonly everyMs: number) {}

  start(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { this.running = this.pass().finally(() => this.start()) }, this.everyMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }
}
