// What each role may do, as one table: role → resource → verbs. The control API's route table
// (controller/authz.ts) says which resource and verb each route needs; the data plane asks for
// `invoke` on `functions` before it calls a private function. Namespaced resources are granted only in
// the token's namespaces; cluster-wide ones only to admins (docs/security.md).
import type { Role } from './token.js'

export type Verb = 'read' | 'write' | 'invoke'

/** Resources of the control API. Namespaced ones live in a namespace; the rest are cluster-wide. */
export const NAMESPACED_RESOURCES = [
  'functions', 'routes', 'triggers', 'workflows', 'executions', 'invocations', 'secrets', 'logs', 'events', 'packages',
] as const
export const CLUSTER_RESOURCES = ['runtimes', 'nodes', 'pools', 'instances', 'isolation', 'tokens', 'namespaces', 'packages-all'] as const
export type NamespacedResource = (typeof NAMESPACED_RESOURCES)[number]
export type ClusterResource = (typeof CLUSTER_RESOURCES)[number]
export type ApiResource = NamespacedResource | ClusterResource | 'whoami'

const R: Verb[] = ['read']
const RW: Verb[] = ['read', 'write']

/**
 * The grants. admin: everything, every namespace. developer: the namespaced resources in its
 * namespaces (packages: upload, and read of the packages its functions use). viewer: read of those,
 * never logs (function output may carry data) and never secret values (nobody reads those). invoker:
 * calls of private functions on the data plane. Every role may ask `whoami`.
 */
export const GRANTS: Record<Role, Partial<Record<ApiResource | '*', Verb[]>>> = {
  admin: { '*': ['read', 'write', 'invoke'] },
  developer: {
    functions: ['read', 'write', 'invoke'], routes: RW, triggers: RW, workflows: RW, executions: RW, invocations: RW,
    secrets: RW, logs: R, events: R, packages: RW, whoami: R,
  },
  viewer: { functions: R, routes: R, triggers: R, workflows: R, executions: R, invocations: R, secrets: R, events: R, packages: R, whoami: R },
  invoker: { functions: ['invoke'], whoami: R },
}

export function isNamespaced(resource: ApiResource): resource is NamespacedResource {
  return (NAMESPACED_RESOURCES as readonly string[]).includes(resource)
}

/** Does the role grant `verb` on `resource` (namespaces aside)? */
export function grants(role: Role, resource: ApiResource, verb: Verb): boolean {
  const g = GRANTS[role]
  return (g['*'] ?? g[resource] ?? []).includes(verb)
}

/** Does a token with these namespaces act in `namespace`? (`*`: every namespace.) */
export function covers(namespaces: readonly string[], namespace: string): boolean {
  return namespaces.includes('*') || namespaces.includes(namespace)
}
