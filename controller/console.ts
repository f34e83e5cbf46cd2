// /ui: the operator console's files (console/, built by build.mjs into dist/ui), served on the API
// listener. They need no token — they hold no data; the page asks for the token and sends it in the
// Authorization header of every /v1 call it makes (never in a URL). Read once at start and served
// from memory with a strict Content-Security-Policy: scripts, styles and data only from this origin,
// no inline script or style, no frames, no form posts elsewhere.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { distDir } from '../core/paths.js'
import { KilnError } from '../core/errors.js'

export const CONSOLE_PATH = '/ui'

export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.map': 'application/json',
}

interface File { body: Buffer; type: string; etag: string }

/** The console's files by name (`index.html`, `assets/console.js`, ...); empty when it was not built. */
function load(dir: string): Map<string, File> {
  const files = new Map<string, File>()
  if (!existsSync(join(dir, 'index.html'))) return files
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    const name = path.slice(dir.length + 1).split('\\').join('/')
    const body = readFileSync(path)
    files.set(name, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return files
}

function send(reply: FastifyReply, f: File, ifNoneMatch: string | undefined): FastifyReply {
  void reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    // Revalidated each load (a rebuilt console is seen at once); the etag makes that a 304.
    .header('cache-control', 'no-cache')
    .header('etag', f.etag)
  if (ifNoneMatch === f.etag) return reply.status(304).send()
  return reply.type(f.type).send(f.body)
}

const fail = (reply: FastifyReply, e: KilnError) => reply.status(e.status).send(e.toJSON())

export async function consoleRoutes(app: FastifyInstance, dir = join(distDir(), 'ui')): Promise<void> {
  const files = load(dir)
  const etag = (req: FastifyRequest) => req.headers['if-none-match']
  app.get(CONSOLE_PATH, async (_req, reply) => reply.redirect(`${CONSOLE_PATH}/`, 301))
  app.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/*`, async (req, reply) => {
    if (files.size === 0) return fail(reply, new KilnError('KILN_ERR_CONSOLE_NOT_BUILT', `no console in ${dir}`))
    const f = files.get(req.params['*'] || 'index.html')
    if (!f) return fail(reply, new KilnError('KILN_ERR_NOT_FOUND', `no console file ${req.params['*']}`))
    return send(reply, f, etag(req))
  })
}
