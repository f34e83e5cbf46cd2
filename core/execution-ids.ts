// Execution ids: `ex-<uuid>` for executions started from outside (the API, /wf/NAME, a route); child
// executions of `workflow:` tasks get a bare UUID from the engine. Recognizable, so `kiln wf get X`
// can tell an execution from a workflow (a workflow may not be named like one).
import { randomUUID } from 'node:crypto'

export const EXECUTION_PREFIX = 'ex-'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function newExecutionId(): string {
  return EXECUTION_PREFIX + randomUUID()
}

export function isExecutionId(s: string): boolean {
  return s.startsWith(EXECUTION_PREFIX) || UUID.test(s)
}
