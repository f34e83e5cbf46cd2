// The `kiln` CLI's own contract, with no server at all (KILN_URL points at a closed port, so a usage
// error that reached for the server would exit 2, not 1): help and version exit 0 on stdout; every
// usage error exits 1 with `error: ...` on stderr and nothing on stdout.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { kiln, ROOT } from '../helpers/cli.js'

const NO_SERVER = { KILN_URL: 'http://127.0.0.1:9' }
const HELLO = join(ROOT, 'examples', 'hello', 'index.js')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

describe('kiln --help and --version', () => {
  const HELP: [string[], string][] = [
    [['--help'], 'Usage: kiln [options] [command]'],
    [['-h'], 'Usage: kiln [options] [command]'],
    [['help'], 'Usage: kiln [options] [command]'],
    [['fn', '--help'], 'Usage: kiln fn [options] [command]'],
    [['help', 'fn'], 'Usage: kiln fn [options] [command]'],
    [['fn', 'deploy', '--help'], 'Usage: kiln fn deploy [options] <name>'],
    [['up', '--help'], 'Usage: kiln up [options]'],
    [['wf', '--help'], 'Usage: kiln wf [options] [command]'],
    [['route', '--help'], 'Usage: kiln route [options] [command]'],
    [['runtime', '--help'], 'Usage: kiln runtime [options] [command]'],
    [['pool', '--help'], 'Usage: kiln pool [options] [command]'],
  ]
  for (const [args, first] of HELP) {
    it(`kiln ${args.join(' ')}: exit 0, help on stdout`, async () => {
      const r = await kiln(args, NO_SERVER)
      expect([r.code, r.stdout.split('\n')[0], r.stderr]).toEqual([0, first, ''])
    })
  }

  it('kiln --version and -V: the client\'s version, then the server\'s; without a server, exit 2 after the client line', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      const r = await kiln([flag], NO_SERVER)
      expect([r.code, r.stdout]).toEqual([2, `client  ${VERSION}\n`])
      expect(r.stderr).toMatch(/^error: cannot reach the Kiln server/)
    }
  })
})

describe('usage errors: exit 1, the error on stderr, nothing on stdout', () => {
  const USAGE: [string, string[], RegExp][] = [
    ['an unknown command', ['nonsense'], /^error: unknown command 'nonsense'/],
    ['an unknown subcommand', ['fn', 'nonsense'], /^error: unknown command 'nonsense'/],
    ['a command group without its subcommand', ['fn'], /^Usage: kiln fn \[options\] \[command\]/],
    ['a deploy with nothing to deploy', ['fn', 'deploy', 'x'], /^error: nothing to deploy: give --code PATH/],
    ['a missing argument', ['fn', 'invoke'], /^error: missing required argument 'name'/],
    ['an unknown option', ['fn', 'deploy', 'x', '--code', HELLO, '--bogus'], /^error: unknown option '--bogus'/],
    ['an output format that does not exist', ['-o', 'foo', 'fn', 'list'], /^error: -o foo: unknown output format; use one of table, wide, json, yaml, name\n/],
    ['code that does not exist', ['fn', 'deploy', 'x', '--code', '/nonexistent/fn.js'], /^error: --code \/nonexistent\/fn\.js: no such file or folder\n/],
    ['--env without =', ['fn', 'deploy', 'x', '--code', HELLO, '--env', 'NOEQUALS'], /^error: --env "NOEQUALS" is not KEY=VALUE\n/],
    ['--timeout that is no duration', ['fn', 'deploy', 'x', '--code', HELLO, '--timeout', 'soon'], /^error: --timeout: not a duration: "soon"/],
    ['--min-warm that is no number', ['fn', 'deploy', 'x', '--code', HELLO, '--min-warm', 'lots'], /^error: --min-warm must be a whole number, got "lots"\n/],
    ['kiln up --port that is no port', ['up', '--port', 'http'], /^error: --port: must be an integer from 0 to 65535, got "http"\n {2}next: /],
    ['kiln up --cgroups that is no mode', ['up', '--cgroups', 'v3'], /^error: --cgroups: must be one of auto, v2, v1, none, got "v3"\n/],
  ]
  for (const [what, args, stderr] of USAGE) {
    it(`${what}: kiln ${args.map((a) => (a === HELLO ? 'hello.js' : a)).join(' ')}`, async () => {
      const r = await kiln(args, NO_SERVER)
      expect(r.stderr).toMatch(stderr)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect([r.code, r.stdout]).toEqual([1, ''])
    })
  }
})
