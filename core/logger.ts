import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

export type LogFormat = 'json' | 'pretty'

/**
 * How logs are written: KILN_LOG_FORMAT (`json` or `pretty`) when set, else human-readable lines
 * (pino-pretty) when the destination is a terminal and JSON lines otherwise (files, pipes, collectors).
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTTY: boolean = process.stdout.isTTY === true): LogFormat {
  const f = env.KILN_LOG_FORMAT
  if (f === 'json' || f === 'pretty') return f
  return isTTY ? 'pretty' : 'json'
}

export function createLogger(opts: { level?: string; name?: string; destination?: number | string; format?: LogFormat } = {}): Logger {
  const options = { level: opts.level ?? process.env.KILN_LOG_LEVEL ?? 'info', name: opts.name ?? 'kiln', base: { pid: process.pid } }
  const dest = opts.destination ?? 1
  const format = opts.format ?? (dest === 1 ? logFormat() : 'json')
  // In-process and synchronous (no transport worker): a terminal is read by a person, not a collector.
  if (format === 'pretty') return pino(options, pretty({ destination: dest, sync: true, colorize: dest === 1 && process.stdout.isTTY === true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }))
  return pino(options, pino.destination({ dest, sync: false }))
}

export const silentLogger: Logger = pino({ level: 'silent' })
