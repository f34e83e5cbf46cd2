import { describe, expect, it } from 'vitest'
import { parseProcStat, parseProcStatus } from '../../../cluster/local/cgroups/none.js'

describe('/proc parsing for the none driver', () => {
  it('reads ppid and cpu ticks even when the command name has spaces and parentheses', () => {
    const stat = '4242 (my (odd) proc) S 17 4242 4242 0 -1 4194560 900 0 0 0 250 30 7 3 20 0 4 0 123456 1000000 2500 18446744073709551615'
    expect(parseProcStat(stat)).toEqual({ pid: 4242, ppid: 17, cpuTicks: 280, childTicks: 10 })
  })

  it('reads VmRSS and Threads from status', () => {
    const status = 'Name:\tnode\nState:\tS (sleeping)\nVmRSS:\t   45312 kB\nThreads:\t7\n'
    expect(parseProcStatus(status)).toEqual({ rssBytes: 45312 * 1024, threads: 7 })
  })
})
