// A sliding window of demand samples (requests in flight plus queued, one sample per autoscaler tick):
// the averages over the stable and the panic window are what the scale decision reads.

export class DemandWindow {
  private readonly at: number[] = []
  private readonly value: number[] = []

  /** Records `v` at `now` and forgets samples older than `spanMs` (the longest window read). */
  add(now: number, v: number, spanMs: number): void {
    this.at.push(now)
    this.value.push(v)
    let drop = 0
    while (drop < this.at.length && now - this.at[drop] > spanMs) drop++
    if (drop > 0) { this.at.splice(0, drop); this.value.splice(0, drop) }
  }

  /** The mean of the samples taken in the last `ms` (0 when there are none). */
  average(now: number, ms: number): number {
    let sum = 0
    let n = 0
    for (let i = this.at.length - 1; i >= 0 && now - this.at[i] <= ms; i--) { sum += this.value[i]; n++ }
    return n === 0 ? 0 : sum / n
  }
}
