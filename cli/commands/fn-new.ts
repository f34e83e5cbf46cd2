// `kiln fn new NAME --lang node|python [--shape kiln|fission|openfaas|lambda]`: a starter folder that
// deploys as it is (`kiln apply -f NAME/function.yaml`, `kiln fn deploy NAME --code NAME`) and runs
// locally (`kiln fn run NAME`): the code in the chosen shape, and a Function resource naming it.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { stringify as toYaml } from 'yaml'
import { CliError, EXIT } from '../client.js'
import type { Globals } from '../globals.js'
import { isName } from '../../core/refs.js'

type Lang = 'node' | 'python'
type ShapeName = 'kiln' | 'fission' | 'openfaas' | 'lambda'

/** Each starter: its files and the entrypoint the Function names (undefined: the default entry). */
const STARTERS: Record<Lang, Record<ShapeName, { files: Record<string, string>; entrypoint?: string }>> = {
  node: {
    kiln: { files: { 'index.mjs': "// A Kiln function: the request in, { status, headers, body } out (docs/runtime-contract.md).\nexport default async (req) => ({ status: 200, body: `hello ${req.query.name ?? 'world'}\\n` })\n" } },
    fission: { files: { 'hello.js': "// A function written for Fission's Node environment: it deploys to Kiln unchanged.\nmodule.exports = async (context) => ({ status: 200, body: `hello ${context.request.query.name || 'world'}\\n` })\n" }, entrypoint: 'hello.js' },
    openfaas: {
      files: {
        'handler.js': "'use strict'\n// The OpenFaaS node template's handler: it deploys to Kiln unchanged.\nmodule.exports = async (event, context) => context.status(200).succeed(`hello ${event.query.name || 'world'}\\n`)\n",
        'package.json': '{\n  "name": "function",\n  "version": "1.0.0",\n  "main": "handler.js"\n}\n',
      },
    },
    lambda: { files: { 'index.js': "// An AWS Lambda handler behind an HTTP API (payload 2.0): it deploys to Kiln unchanged.\nexports.handler = async (event) => ({ statusCode: 200, body: `hello ${event.queryStringParameters?.name ?? 'world'}\\n` })\n" }, entrypoint: 'index.handler' },
  },
  python: {
    kiln: { files: { 'main.py': '# A Kiln function: the request in, a dict {status, headers, body} (or a str) out.\ndef main(req):\n    return "hello %s\\n" % req.query.get("name", "world")\n' } },
    fission: { files: { 'main.py': "# A function written for Fission's Python environment: it deploys to Kiln unchanged.\nfrom flask import request\n\n\ndef main():\n    return \"hello %s\\n\" % request.args.get(\"name\", \"world\")\n" } },
    openfaas: { files: { 'handler.py': '# The OpenFaaS python3-http template\'s handler: it deploys to Kiln unchanged.\ndef handle(event, context):\n    return {"statusCode": 200, "body": "hello %s\\n" % event.query.get("name", "world")}\n', 'requirements.txt': '' } },
    lambda: { files: { 'lambda_function.py': '# An AWS Lambda handler behind an HTTP API (payload 2.0): it deploys to Kiln unchanged.\ndef lambda_handler(event, context):\n    name = (event.get("queryStringParameters") or {}).get("name", "world")\n    return {"statusCode": 200, "body": "hello %s\\n" % name}\n' }, entrypoint: 'lambda_function.lambda_handler' },
  },
}

export function registerFnNew(program: Command, g: Globals): void {
  const fn = program.commands.find((c) => c.name() === 'fn')!
  fn.command('new <name>')
    .description('write a starter function folder that deploys as it is')
    .requiredOption('--lang <lang>', 'node | python')
    .option('--shape <shape>', 'kiln | fission | openfaas | lambda', 'kiln')
    .option('--dir <path>', 'where to write it (default: ./NAME)')
    .action((name: string, f: { lang: string; shape: string; dir?: string }) => {
      if (!isName(name)) throw new CliError(`${name}: a function name is lower-case letters, digits and dashes (at most 63)`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
      if (f.lang !== 'node' && f.lang !== 'python') throw new CliError(`--lang ${f.lang}: must be one of node, python`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
      const shapes = Object.keys(STARTERS.node)
      if (!shapes.includes(f.shape)) throw new CliError(`--shape ${f.shape}: must be one of ${shapes.join(', ')}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
      const dir = f.dir ?? name
      if (existsSync(dir) && readdirSync(dir).length > 0) throw new CliError(`${dir} exists and is not empty; choose another --dir`, EXIT.USER)
      const starter = STARTERS[f.lang][f.shape as ShapeName]
      mkdirSync(dir, { recursive: true })
      for (const [file, text] of Object.entries(starter.files)) writeFileSync(join(dir, file), text)
      const fnDoc = {
        apiVersion: 'kiln.dev/v1', kind: 'Function', metadata: { name },
        spec: { runtime: f.lang, code: '.', ...(starter.entrypoint ? { entrypoint: starter.entrypoint } : {}), shape: f.shape },
      }
      writeFileSync(join(dir, 'function.yaml'), `# kiln apply -f ${join(dir, 'function.yaml')}   (the code is built from this folder)\n${toYaml(fnDoc)}`)
      if (!g.quiet) {
        process.stderr.write(`wrote ${dir}/ (${f.lang}, shape ${f.shape}): ${[...Object.keys(starter.files), 'function.yaml'].join(', ')}\n` +
          `  run it here:  kiln fn run ${dir}\n  deploy it:    kiln apply -f ${join(dir, 'function.yaml')}\n`)
      }
    })
}
