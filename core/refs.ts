// A resource's ref: the one key by which stores, the executor, logs, events and metrics know a
// namespaced resource. `name` in the `default` namespace (so every data dir, CRD object and test from
// before namespaces means the same), `ns/name` elsewhere. This is the only place that builds or takes
// refs apart; nothing else concatenates namespace and name.
export const DEFAULT_NAMESPACE = 'default'

/** Kiln names: lower-case letters, digits and dashes (never a dot or a slash, which refs rely on). */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

export interface Ref { namespace: string; name: string }

export function isName(s: string): boolean {
  return s.length > 0 && s.length <= 63 && NAME_PATTERN.test(s)
}

/** The ref of `name` in `namespace` (default when omitted). */
export function refOf(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`
}

/** The ref of a resource from its metadata. */
export function refOfMeta(m: { name: string; namespace?: string }): string {
  return refOf(m.namespace, m.name)
}

/** `ns/name` → {ns, name}; `name` → {default, name}. */
export function parseRef(ref: string): Ref {
  const i = ref.indexOf('/')
  return i < 0 ? { namespace: DEFAULT_NAMESPACE, name: ref } : { namespace: ref.slice(0, i), name: ref.slice(i + 1) }
}

export function namespaceOf(ref: string): string {
  const i = ref.indexOf('/')
  return i < 0 ? DEFAULT_NAMESPACE : ref.slice(0, i)
}

export function nameOf(ref: string): string {
  const i = ref.indexOf('/')
  return i < 0 ? ref : ref.slice(i + 1)
}

/**
 * A ref as a Kubernetes object name or label value (no `/` allowed there): `name`, or `ns.name`. A dot
 * is legal in those and illegal in Kiln names, so two refs never map to one object name.
 */
export function kubeName(ref: string): string {
  const i = ref.indexOf('/')
  return i < 0 ? ref : `${ref.slice(0, i)}.${ref.slice(i + 1)}`
}

/** The inverse of kubeName. */
export function refOfKubeName(objectName: string): string {
  const i = objectName.indexOf('.')
  return i < 0 ? objectName : `${objectName.slice(0, i)}/${objectName.slice(i + 1)}`
}

/** The data-plane path of a function: `/fn/NAME` in `default`, `/ns/NS/fn/NAME` elsewhere (each part URL-encoded). */
export function functionPath(ref: string): string {
  const { namespace, name } = parseRef(ref)
  const n = encodeURIComponent(name)
  return namespace === DEFAULT_NAMESPACE ? `/fn/${n}` : `/ns/${encodeURIComponent(namespace)}/fn/${n}`
}

/** The data-plane path of a function's async calls: `/async/fn/NAME` in `default`, `/ns/NS/async/fn/NAME` elsewhere. */
export function asyncFunctionPath(ref: string): string {
  const { namespace, name } = parseRef(ref)
  const n = encodeURIComponent(name)
  return namespace === DEFAULT_NAMESPACE ? `/async/fn/${n}` : `/ns/${encodeURIComponent(namespace)}/async/fn/${n}`
}

/** The data-plane path of a workflow: `/wf/NAME` in `default`, `/ns/NS/wf/NAME` elsewhere. */
export function workflowPath(ref: string): string {
  const { namespace, name } = parseRef(ref)
  const n = encodeURIComponent(name)
  return namespace === DEFAULT_NAMESPACE ? `/wf/${n}` : `/ns/${encodeURIComponent(namespace)}/wf/${n}`
}

// ---- Function versions (docs/releases.md) ----
// A call may name a version of a function: `NAME@3` (version 3) or `NAME@prod` (what the alias `prod`
// serves), in a URL (`/fn/NAME@prod`) or a ref handed to the invoker (`team-a/NAME@3`). Never a ref
// itself: stores, logs and metrics know the function by its ref; the selector only picks the version.

export interface Target { ref: string; alias: string | undefined; version: number }

/** `ref@selector` → the ref and the version (a number, 0 when none) or alias; undefined when the selector is malformed. */
export function parseTarget(s: string): Target | undefined {
  const at = s.indexOf('@')
  if (at < 0) return { ref: s, alias: undefined, version: 0 }
  const sel = s.slice(at + 1)
  const ref = s.slice(0, at)
  if (sel === '' || ref === '') return undefined
  if (/^[0-9]+$/.test(sel)) {
    const n = Number(sel)
    return Number.isSafeInteger(n) && n > 0 ? { ref, alias: undefined, version: n } : undefined
  }
  return /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sel) && sel.length <= 63 ? { ref, alias: sel, version: 0 } : undefined
}

/** The function's ref of a target (`team-a/NAME@prod` → `team-a/NAME`). */
export function refOfTarget(s: string): string {
  const at = s.indexOf('@')
  return at < 0 ? s : s.slice(0, at)
}

/** `ref@N` / `ref@alias` (for messages and the invoker); the ref alone when neither is given. */
export function targetOf(ref: string, o: { version?: number; alias?: string }): string {
  return o.alias !== undefined ? `${ref}@${o.alias}` : o.version ? `${ref}@${o.version}` : ref
}

/** The executor's key of one version of a function (`ref@N`): never shown to users as a ref. */
export function versionKey(ref: string, version: number): string {
  return `${ref}@${version}`
}

/** The stored name of a function's version N: `NAME-vN` (unique: N is digits, and a Kiln name never ends in a dash). */
export function versionObjectName(name: string, version: number): string {
  return `${name}-v${version}`
}

/**
 * A ref as a name on a message broker (a Redis consumer group, a NATS durable consumer, where neither
 * `/` nor `.` may appear): `name`, or `ns_name`. An underscore is illegal in Kiln names, so two refs
 * never map to one broker name.
 */
export function brokerName(ref: string): string {
  const i = ref.indexOf('/')
  return i < 0 ? ref : `${ref.slice(0, i)}_${ref.slice(i + 1)}`
}
