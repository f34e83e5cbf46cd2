// Polling for the Kubernetes tests: controllers converge on their own schedule, so tests wait for
// a state, never for a time.
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`)
    await new Promise(r => setTimeout(r, everyMs))
  }
}
