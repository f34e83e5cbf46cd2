// Names Kiln gives its cgroups: the root name and the slash-separated group paths below it.

import { KilnError } from '../../../core/errors.js'

// No dots: cgroupfs interface files are "<controller>.<name>", so a dot-free directory never collides.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/

export function checkRootName(name: string): string {
  if (!SEGMENT.test(name)) {
    throw new KilnError('KILN_ERR_VALIDATION', `cgroup root name "${name}" is invalid: use letters, digits, "-" and "_" (no "/" or ".")`, {
      field: 'rootName',
    })
  }
  return name
}

/** "nodes/general/i-abc" → ["nodes", "general", "i-abc"]; rejects empty, "..", dots and absolute paths. */
export function splitGroupPath(p: string): string[] {
  const parts = p.split('/')
  if (p === '' || parts.some((s) => !SEGMENT.test(s))) {
    throw new KilnError('KILN_ERR_VALIDATION', `cgroup path "${p}" is invalid: use segments of letters, digits, "-" and "_" joined by "/"`, {
      field: 'path',
    })
  }
  return parts
}
