// A cron trigger's schedule: when its runs are due. Standard 5-field cron, 6 fields with seconds,
// nicknames (@hourly, @daily, ...) through croner, in an IANA time zone (default UTC); and Fission's
// `@every DURATION` (core's duration parser), anchored at the trigger's creation so runs do not drift.
import { Cron } from 'croner'
import { KilnError } from '../../core/errors.js'
import { parseDuration } from '../../core/quantity.js'

export interface Schedule {
  /** The first run strictly after `after` (ms since the epoch); undefined when there is none. */
  next(after: number): number | undefined
}

const EVERY = /^@every\s+(\S+)$/i
const MIN_EVERY_MS = 1000

function invalid(message: string): KilnError {
  return new KilnError('KILN_ERR_VALIDATION', `spec.schedule: ${message}`)
}

export function checkTimezone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
  } catch {
    throw new KilnError('KILN_ERR_VALIDATION', `spec.timezone: "${tz}" is not an IANA time zone (e.g. Asia/Seoul, Europe/Berlin, UTC)`)
  }
}

/** Parses a schedule; KILN_ERR_VALIDATION naming what is wrong. `anchor`: the trigger's creation time (for @every). */
export function parseSchedule(spec: string, o: { timezone?: string; anchor: number }): Schedule {
  const text = spec.trim()
  const every = EVERY.exec(text)
  if (every) {
    let ms: number
    try {
      ms = parseDuration(every[1]!)
    } catch (e) {
      throw invalid(`@every ${(e as Error).message}`)
    }
    if (!(ms >= MIN_EVERY_MS)) throw invalid(`@every takes a duration of at least 1s, got "${every[1]}"`)
    return { next: (after) => o.anchor + (Math.floor((after - o.anchor) / ms) + 1) * ms }
  }
  if (o.timezone !== undefined) checkTimezone(o.timezone)
  let cron: Cron
  try {
    cron = new Cron(text, { paused: true, mode: '5-or-6-parts', timezone: o.timezone ?? 'UTC' })
  } catch (e) {
    throw invalid(`"${spec}": ${(e as Error).message.replace(/^CronPattern: /, '')} (5 fields: minute hour day month weekday; 6 with seconds first; or @hourly, @every 10s)`)
  }
  return { next: (after) => cron.nextRun(new Date(after))?.getTime() }
}
