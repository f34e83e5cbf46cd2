// Progress for long CLI operations (ora spinners on a terminal, plain lines otherwise), on stderr so
// stdout stays for results.
import ora, { type Ora } from 'ora'

export interface Progress {
  start(text: string): void
  succeed(text: string): void
  fail(text: string): void
  info(text: string): void
}

export function progress(quiet: boolean): Progress {
  if (quiet) return { start() {}, succeed() {}, fail() {}, info() {} }
  let spinner: Ora | undefined
  const s = () => (spinner ??= ora({ stream: process.stderr }))
  return {
    start: (text) => { s().start(text) },
    succeed: (text) => { s().succeed(text) },
    fail: (text) => { s().fail(text) },
    info: (text) => { s().info(text) },
  }
}
