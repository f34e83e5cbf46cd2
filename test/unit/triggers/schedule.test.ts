// Cron schedules: croner's 5- and 6-field specs and nicknames in a time zone, and `@every DURATION`
// anchored at the trigger's creation; bad specs are refused naming the field.
import { describe, expect, it } from 'vitest'
import { parseSchedule } from '../../../triggers/cron/schedule.js'

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

describe('parseSchedule', () => {
  it('5-field cron in UTC by default', () => {
    const s = parseSchedule('*/15 * * * *', { anchor: 0 })
    expect(iso(s.next(at('2026-03-01T10:07:30Z')))).toBe('2026-03-01T10:15:00.000Z')
    expect(iso(s.next(at('2026-03-01T10:15:00Z')))).toBe('2026-03-01T10:30:00.000Z')
  })
  it('6-field cron with seconds', () => {
    const s = parseSchedule('*/10 * * * * *', { anchor: 0 })
    expect(iso(s.next(at('2026-03-01T10:00:01Z')))).toBe('2026-03-01T10:00:10.000Z')
  })
  it('a time zone moves the wall clock', () => {
    const s = parseSchedule('0 9 * * *', { timezone: 'Asia/Seoul', anchor: 0 })
    expect(iso(s.next(at('2026-03-01T00:30:00Z')))).toBe('2026-03-02T00:00:00.000Z')
  })
  it('nicknames', () => {
    expect(iso(parseSchedule('@hourly', { anchor: 0 }).next(at('2026-03-01T10:07:00Z')))).toBe('2026-03-01T11:00:00.000Z')
  })
  it('@every counts from the anchor, so runs do not drift', () => {
    const anchor = at('2026-03-01T10:00:00.250Z')
    const s = parseSchedule('@every 10s', { anchor })
    expect(iso(s.next(anchor))).toBe('2026-03-01T10:00:10.250Z')
    expect(iso(s.next(at('2026-03-01T10:00:10.251Z')))).toBe('2026-03-01T10:00:20.250Z')
    expect(iso(s.next(at('2026-03-01T10:07:03Z')))).toBe('2026-03-01T10:07:10.250Z')
    expect(iso(parseSchedule('@every 1m30s', { anchor: 0 }).next(0))).toBe('1970-01-01T00:01:30.000Z')
  })
  it.each([
    ['61 * * * *', /spec\.schedule: "61 \* \* \* \*": Invalid value for minute/],
    ['* * *', /spec\.schedule/],
    ['* * * * * * *', /spec\.schedule/],
    ['@every 0s', /spec\.schedule: @every takes a duration of at least 1s/],
    ['@every soon', /spec\.schedule: @every not a duration/],
  ])('refuses %s', (spec, message) => {
    expect(() => parseSchedule(spec, { anchor: 0 })).toThrow(message)
    try { parseSchedule(spec, { anchor: 0 }) } catch (e) { expect((e as { code: string }).code).toBe('KILN_ERR_VALIDATION') }
  })
  it('refuses a time zone that is not IANA', () => {
    expect(() => parseSchedule('* * * * *', { timezone: 'Europe/Seoul', anchor: 0 })).toThrow(/spec\.timezone: "Europe\/Seoul" is not an IANA time zone/)
  })
})
