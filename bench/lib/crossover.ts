// The crossover model of bench:routers: how many requests per second one router process and N router
// processes can serve on C cores, from the CPU each part spends per request (µs). A model, not a
// measurement: it counts CPU only (no cache, no wake-up latency) and lets the instances scale out.
//   one process   min(1e6/router, C·1e6/(router + instance))            its event loop, or the cores
//   N processes   min(1e6/primary, N·1e6/workers, C·1e6/(primary + workers + instance))

export interface Bound { rps: number; limit: string }
export interface OneCost { routerUs: number; instanceUs: number }
/** `workerUs`: the workers' CPU per request together (each request is served by one of them). */
export interface MultiCost { primaryUs: number; workerUs: number; instanceUs: number }
export interface CrossoverRow { cores: number; one: Bound; multi: Bound & { n: number }; ratio: number }

/** The least of a set of limits, and which one it is. */
function least(terms: Record<string, number>): Bound {
  const [limit, rps] = Object.entries(terms).reduce((a, b) => (b[1] < a[1] ? b : a))
  return { rps: Math.round(rps), limit }
}

export function oneProcess(cores: number, c: OneCost): Bound {
  return least({ router: 1e6 / c.routerUs, cores: (cores * 1e6) / (c.routerUs + c.instanceUs) })
}

export function nProcesses(n: number, cores: number, c: MultiCost): Bound {
  return least({ primary: 1e6 / c.primaryUs, workers: (n * 1e6) / c.workerUs, cores: (cores * 1e6) / (c.primaryUs + c.workerUs + c.instanceUs) })
}

/**
 * For C = 1..maxCores: one process against the best N ≤ C (at least 2: one router process is the
 * single-process mode; the fewest N on a tie), and the fewest cores on which N processes serve more.
 */
export function crossover(one: OneCost, multi: MultiCost, maxCores: number): { table: CrossoverRow[]; cores: number | undefined } {
  const table: CrossoverRow[] = []
  for (let cores = 1; cores <= maxCores; cores++) {
    const single = oneProcess(cores, one)
    let best = { ...nProcesses(2, cores, multi), n: 2 }
    for (let n = 3; n <= cores; n++) {
      const b = nProcesses(n, cores, multi)
      if (b.rps > best.rps) best = { ...b, n }
    }
    table.push({ cores, one: single, multi: best, ratio: Math.round((best.rps / single.rps) * 100) / 100 })
  }
  return { table, cores: table.find((t) => t.multi.rps > t.one.rps)?.cores }
}
