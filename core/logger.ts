import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(opts: { level?: string; name?: string; destination?: number | string } = {}): Logger {
  const dest = pino.destination({ dest: opts.destination ?? 1, sync: false })
  return pino({ level: opts.level ?? process.env.KILN_LOG_LEVEL ?? 'info', name: opts.name ?? 'kiln', base: { pid: process.pid } }, dest)
}

export const silentLogger: Logger = pino({ level: 'silent' })
