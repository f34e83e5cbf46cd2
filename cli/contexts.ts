// Where the CLI finds its server, token and namespace (kubectl-like): flags, then KILN_* variables, then
// the current context of `~/.config/kiln/config.yaml` ($XDG_CONFIG_HOME respected; written by `kiln
// login`), and finally — only for a server on this machine — the admin token `kiln up` left in its data
// dir ($KILN_DATA/admin.token or ./.kiln/admin.token), as k3s leaves its kubeconfig: whoever can read the
// data dir is its admin already. A context's token is sent only to that context's server.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { writeSecretFile } from '../core/store/secret-file.js'
import { CliError, EXIT } from './client.js'

export const DEFAULT_SERVER = 'http://127.0.0.1:8080'

export interface Context { name: string; server: string; token?: string; namespace?: string }
export interface ConfigFile { 'current-context'?: string; contexts: Context[] }

/** What a command talks to. */
export interface Connection {
  url: string
  token?: string
  /** Where the token came from, for `kiln whoami`. */
  tokenSource?: string
  /** The namespace chosen on the client (-n, KILN_NAMESPACE, the context); unset: the server decides. */
  namespace?: string
  /** -A: lists cover every namespace the token may read. */
  all?: boolean
}

export interface ConnectionFlags { server?: string; token?: string; namespace?: string; allNamespaces?: boolean }

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'kiln', 'config.yaml')
}

export function readConfig(file = configPath()): ConfigFile {
  if (!existsSync(file)) return { contexts: [] }
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new CliError(`${file}: not valid YAML (${(e as Error).message})`, EXIT.USER)
  }
  const d = (doc ?? {}) as Partial<ConfigFile>
  const contexts = Array.isArray(d.contexts) ? d.contexts.filter((c): c is Context => typeof c?.name === 'string' && typeof c?.server === 'string') : []
  return { ...(typeof d['current-context'] === 'string' ? { 'current-context': d['current-context'] } : {}), contexts }
}

/** Writes the config (mode 0600: it holds tokens). */
export async function writeConfig(cfg: ConfigFile, file = configPath()): Promise<void> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  await writeSecretFile(file, toYaml(cfg))
}

const trimSlash = (u: string) => u.replace(/\/+$/, '')

/** Is the URL's host this machine (so the data dir's admin token may be read for it)? */
export function isLoopback(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '')
    return h === 'localhost' || h === '::1' || /^127\./.test(h)
  } catch {
    return false
  }
}

function readToken(file: string): string | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim()
    return t === '' ? undefined : t
  } catch {
    return undefined
  }
}

export function resolveConnection(f: ConnectionFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Connection {
  const cfg = readConfig(configPath(env))
  const ctx = cfg.contexts.find((c) => c.name === cfg['current-context'])
  // An empty variable is unset (as a shell's `KILN_URL= kiln ...` means).
  const url = trimSlash(f.server || env.KILN_URL || ctx?.server || DEFAULT_SERVER)
  const namespace = f.namespace || env.KILN_NAMESPACE || ctx?.namespace || undefined
  const base = { url, ...(namespace ? { namespace } : {}), ...(f.allNamespaces ? { all: true } : {}) }
  if (f.token) return { ...base, token: f.token, tokenSource: '--token' }
  if (env.KILN_TOKEN) return { ...base, token: env.KILN_TOKEN, tokenSource: 'KILN_TOKEN' }
  if (ctx?.token && trimSlash(ctx.server) === url) return { ...base, token: ctx.token, tokenSource: `context "${ctx.name}" (${configPath(env)})` }
  if (isLoopback(url)) {
    for (const file of [env.KILN_DATA ? join(resolve(cwd, env.KILN_DATA), 'admin.token') : undefined, join(cwd, '.kiln', 'admin.token')]) {
      if (!file) continue
      const token = readToken(file)
      if (token) return { ...base, token, tokenSource: file }
    }
  }
  return base
}
