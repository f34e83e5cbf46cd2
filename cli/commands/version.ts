// `kiln version` (and `kiln --version`): the client's version and the server's (GET /v1/version, no
// token needed). An unreachable server is said, with exit 2, after the client's line.
import type { Command } from 'commander'
import { api, CliError } from '../client.js'
import type { Globals } from '../globals.js'
import { printData, structured } from '../output.js'
import { KILN_VERSION } from '../../core/version.js'

export async function showVersion(g: Globals): Promise<void> {
  const conn = g.server()
  let server: { version: string; apiVersion: string } | undefined
  let failure: CliError | undefined
  try {
    server = await api<{ version: string; apiVersion: string }>({ ...conn, namespace: undefined, all: false }, 'GET', '/version')
  } catch (e) {
    if (!(e instanceof CliError)) throw e
    failure = e
  }
  if (structured(g.output)) {
    printData(g.output, { client: { version: KILN_VERSION }, server: server ? { ...server, url: conn.url } : { url: conn.url, error: failure?.message } })
  } else {
    process.stdout.write(`client  ${KILN_VERSION}\n`)
    if (server) process.stdout.write(`server  ${server.version} (${conn.url})\n`)
  }
  if (failure) throw failure
}

export function registerVersion(program: Command, g: Globals): void {
  program.command('version').description('client and server version').action(() => showVersion(g))
}
