#!/usr/bin/env node
// The `kiln` command. Heavy parts (the platform, the builder) load only for the commands that need them.
import { Command, CommanderError } from 'commander'
import { KilnError } from '../core/errors.js'
import { CliError, EXIT } from './client.js'
import { resolveConnection, type Connection } from './contexts.js'
import { registerFn } from './commands/fn.js'
import { registerOps } from './commands/ops.js'
import { registerRoute } from './commands/route.js'
import { registerRuntime } from './commands/runtime.js'
import { registerAccess } from './commands/access.js'
import { registerNs } from './commands/ns.js'
import { registerSecret } from './commands/secret.js'
import { registerReleases } from './commands/releases.js'
import { addressInUse, registerUp } from './commands/up.js'
import { registerWf } from './commands/wf.js'
import { registerMq } from './commands/mq.js'
import { registerServe } from './serve/commands.js'
import { registerApply } from './commands/apply.js'
import { registerVersion } from './commands/version.js'
import { registerCompletion } from './commands/completion.js'
import { registerFnRun } from './commands/fn-run.js'
import { registerFnNew } from './commands/fn-new.js'
import { registerInv } from './commands/inv.js'
import { registerCron } from './commands/cron.js'
import type { Globals } from './globals.js'
import { parseFormat } from './output.js'

const program = new Command('kiln')
  .description('Kiln: functions as a service with pre-warmed runtimes')
  // `--version N` names a function's version (`kiln alias set`): the program's flag is -V, and
  // `kiln --version` alone is rewritten to `kiln version` below.
  .option('-V', 'client and server version (as `kiln version`; `kiln --version` alone too)')
  .option('-s, --server <url>', 'Kiln server (default $KILN_URL, the current context, or http://127.0.0.1:8080)')
  .option('--token <token>', 'bearer token (default $KILN_TOKEN, the current context, or the local admin.token)')
  .option('-n, --namespace <ns>', 'namespace to act in (default $KILN_NAMESPACE, the context\'s, or the token\'s own); Kubernetes components: the Kubernetes namespace')
  .option('-A, --all-namespaces', 'list across every namespace the token may read')
  .option('-o, --output <format>', 'table | wide | json | yaml | name', 'table')
  .option('-q, --quiet', 'no progress output')
  .showHelpAfterError()
  .exitOverride()

let connection: Connection | undefined
const globals: Globals = {
  server: () => connection ??= resolveConnection(program.opts()),
  get output() { return parseFormat(program.opts().output as string) },
  get quiet() { return Boolean(program.opts().quiet) },
}

registerUp(program)
registerFn(program, globals)
registerOps(program, globals)
registerRoute(program, globals)
registerRuntime(program, globals)
registerWf(program, globals)
registerNs(program, globals)
registerSecret(program, globals)
registerAccess(program, globals)
registerReleases(program, globals)
registerServe(program)
registerInv(program, globals)
registerCron(program, globals)
registerMq(program, globals)
registerApply(program, globals)
registerVersion(program, globals)
registerCompletion(program)
registerFnRun(program, globals)
registerFnNew(program, globals)

// An unknown -o is refused before any command runs (exit 1), not printed as a table.
program.hook('preAction', () => { parseFormat(program.opts().output as string) })
// `kiln --version` (or -V) without a command is `kiln version`: the client's version and the server's.
const argv = process.argv.slice(2)
const isVersionFlag = (a: string) => a === '--version' || a === '-V'
if (argv.some(isVersionFlag) && !argv.some((a) => program.commands.some((c) => c.name() === a))) {
  process.argv = [...process.argv.slice(0, 2), ...argv.filter((a) => !isVersionFlag(a)), 'version']
}

function report(e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.message}\n`)
    if (e.hint) process.stderr.write(`  next: ${e.hint}\n`)
    return e.exitCode
  }
  if (e instanceof KilnError) {
    // Refused before anything started (a bad setting, an unreadable data dir): the catalogue's words, no stack.
    process.stderr.write(`error: ${e.message}\n`)
    if (e.hint) process.stderr.write(`  next: ${e.hint}\n`)
    return EXIT.USER
  }
  if (e instanceof CommanderError) {
    // Help and version are exits too, with code 0.
    return e.exitCode === 0 ? EXIT.OK : EXIT.USER
  }
  const inUse = addressInUse(e)
  if (inUse) return report(inUse)
  process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`)
  return EXIT.USER
}

program.parseAsync(process.argv).catch((e) => { process.exitCode = report(e) })
