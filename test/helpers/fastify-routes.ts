// Every route a fastify app has registered, from `app.printRoutes({ commonPrefix: false })`: the tree is
// the app's own account of its routes (fastify has no public list), indented four characters a level.
import type { FastifyInstance } from 'fastify'

export function registeredRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line)
    if (!m) continue
    const depth = m[1].length / 4
    stack.length = depth
    stack.push(m[2])
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) out.push({ method, url: stack.join('') })
  }
  return out
}
