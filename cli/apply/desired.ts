// What a folder declares, once read and converted from its format (Kiln's own kinds, a Fission spec
// folder, an OpenFaaS stack file): Kiln resources, each with where it came from and, for a function,
// the code to build at apply time.
import type { Resource } from '../../core/types.js'

/** Code to build into a package: a file or folder (possibly staged from archive globs), by language. */
export interface CodeRef {
  /** Returns the path to build and a cleanup for anything staged. */
  prepare(): Promise<{ source: string; cleanup(): Promise<void> }>
  /** What the messages call it: `./hello`, `archive://hello-zip`. */
  label: string
  entrypoint?: string
  /** The builder's language when the runtime's name does not say (`node`, `python`); `raw`: packed as it is. */
  language?: string
}

export interface Desired {
  /** The canonical kind (HTTPTrigger for a Route). */
  kind: string
  name: string
  /** The namespace the document names (else the connection's). */
  namespace?: string
  /** What is written; a Function with `code` gets `package` and `entrypoint` once built. */
  body: Resource
  /** `file` or `file#N`. */
  where: string
  code?: CodeRef
  /** A Package's bytes (a Kiln tar.gz), uploaded when the server lacks them. */
  archive?: Buffer
  /** Use the shape the builder detects when the document names none (as `kiln fn deploy` does). */
  detectShape?: boolean
}

export interface Conversion {
  items: Desired[]
  /** The apply set a format names (a Fission DeploymentConfig's uid). */
  setName?: string
  /** Mapping notes worth saying once (what a foreign field became, or that it has no Kiln meaning). */
  notes: string[]
}

export function key(d: { kind: string; namespace?: string; name: string }): string {
  return `${d.kind}/${d.namespace ?? ''}/${d.name}`
}
