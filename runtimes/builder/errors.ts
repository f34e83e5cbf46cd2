// The builder's one error: what failed, where (file:line:col), in the form esbuild reports it.

export interface BuildMessage {
  file: string
  line: number
  column: number
  text: string
}

export class BuildError extends Error {
  readonly code = 'KILN_ERR_BUILD_FAILED'
  readonly errors: BuildMessage[]
  constructor(errors: BuildMessage[], summary = 'build failed') {
    super(`${summary}:\n${errors.map(formatMessage).join('\n')}`)
    this.name = 'BuildError'
    this.errors = errors
  }
}

export function formatMessage(m: BuildMessage): string {
  return m.file ? `${m.file}:${m.line}:${m.column}: ${m.text}` : m.text
}
