#!/usr/bin/env node
// The `kiln` command. Heavy parts (the platform, the builder) load only for the commands that need them.
import { Command, CommanderError } from 'commander'
import { CliError, EXIT, serverUrl } from './client.js'
import { registerFn } from './commands/fn.js'
import { registerOps } from './commands/ops.js'
import { registerRoute } from './commands/route.js'
import { registerRuntime } from './commands/runtime.js'
import { registerUp } from './commands/up.js'
import { registerWf } from './commands/wf.js'
import { registerMq } from './commands/mq.js'
import { registerServe } from './serve/commands.js'
import type { Globals } from './globals.js'
import type { Format } from './output.js'

const program = new Command('kiln')
  .description('Kiln: functions as a service with pre-warmed runtimes')
  .version('0.1.0')
  .option('-s, --server <url>', 'Kiln server (default $KILN_URL or http://127.0.0.1:8080)')
  .option('-o, --output <format>', 'table | json', 'table')
  .option('-q, --quiet', 'no progress output')
  .showHelpAfterError()
  .exitOverride()

const globals: Globals = {
  server: () => serverUrl(program.opts().server as string | undefined),
  get output() { return (program.opts().output as Format) === 'json' ? 'json' : 'table' },
  get quiet() { return Boolean(program.opts().quiet) },
}

registerUp(program)
registerFn(program, globals)
registerOps(program, globals)
registerRoute(program, globals)
registerRuntime(program, globals)
registerWf(program, globals)
registerMq(program, globals)
registerServe(program)

function report(e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.message}\n`)
    if (e.hint) process.stderr.write(`  next: ${e.hint}\n`)
    return e.exitCode
  }
  if (e instanceof CommanderError) {
    // Help and version are exits too, with code 0.
    return e.exitCode === 0 ? EXIT.OK : EXIT.USER
  }
  process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`)
  return EXIT.USER
}

program.parseAsync(process.argv).catch((e) => { process.exitCode = report(e) })
