import { describe, expect, it } from 'vitest'
import {
  formatCpuList,
  parseCpuList,
  parseCpuMax,
  parseCpuStat,
  parseFlatKeyed,
  parseLimitValue,
  parsePids,
  parsePressureSomeAvg10,
} from '../../../cluster/local/cgroups/file-parse.js'

describe('cpu.stat', () => {
  it('v2: usage, periods, throttling in microseconds', () => {
    const text = `usage_usec 5123456
user_usec 4000000
system_usec 1123456
core_sched.force_idle_usec 0
nr_periods 120
nr_throttled 87
throttled_usec 1500000
nr_bursts 0
burst_usec 0
`
    expect(parseCpuStat(text)).toEqual({ usageUsec: 5123456, nrPeriods: 120, nrThrottled: 87, throttledUsec: 1500000 })
  })

  it('v1: throttled_time in nanoseconds becomes microseconds; usage comes from cpuacct', () => {
    const text = 'nr_periods 50\nnr_throttled 40\nthrottled_time 3200000999\nnr_bursts 0\nburst_time 0\n'
    expect(parseCpuStat(text)).toEqual({ usageUsec: undefined, nrPeriods: 50, nrThrottled: 40, throttledUsec: 3200000 })
  })

  it('an empty file reads as zero counters', () => {
    expect(parseCpuStat('')).toEqual({ usageUsec: undefined, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 })
  })
})

describe('keyed files', () => {
  it('v1 memory.oom_control and v2 memory.events give oom_kill', () => {
    expect(parseFlatKeyed('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n').oom_kill).toBe(3)
    expect(parseFlatKeyed('low 0\nhigh 12\nmax 40\noom 2\noom_kill 2\noom_group_kill 0\n').oom_kill).toBe(2)
  })

  it('cpu.pressure gives the "some" avg10', () => {
    expect(parsePressureSomeAvg10('some avg10=2.05 avg60=1.35 avg300=1.40 total=8429558\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=0\n')).toBe(2.05)
    expect(parsePressureSomeAvg10('')).toBeUndefined()
  })

  it('cgroup.procs lists pids', () => {
    expect(parsePids('12\n345\n\n')).toEqual([12, 345])
  })
})

describe('limit values', () => {
  it('v2 cpu.max', () => {
    expect(parseCpuMax('50000 100000\n')).toEqual({ cores: 0.5, periodUsec: 100000 })
    expect(parseCpuMax('max 100000\n')).toEqual({ cores: undefined, periodUsec: 100000 })
    expect(parseCpuMax('20000 50000')).toEqual({ cores: 0.4, periodUsec: 50000 })
  })

  it('"max" and v1 unlimited numbers read as no limit', () => {
    expect(parseLimitValue('max\n')).toBeUndefined()
    expect(parseLimitValue('9223372036854771712\n')).toBeUndefined()
    expect(parseLimitValue('-1')).toBeUndefined()
    expect(parseLimitValue('67108864\n')).toBe(67108864)
  })

  it('cpu lists round-trip', () => {
    expect(parseCpuList('0-2,5\n')).toEqual([0, 1, 2, 5])
    expect(formatCpuList([5, 0, 1, 2])).toBe('0-2,5')
    expect(parseCpuList('')).toEqual([])
    expect(() => parseCpuList('3-1')).toThrow(/backwards/)
    expect(() => parseCpuList('a')).toThrow(/not a cpu list/)
  })
})
