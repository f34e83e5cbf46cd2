#!/usr/bin/env node
// What the test suite needs besides Node and npm, checked before `npm test` (its pretest) and
// `npm run test:k8s` (with --k8s). Missing Debian packages are installed when this runs as root with
// apt-get; otherwise it stops with the one command that installs them. Python 3.11+ itself is not
// installed here (the README's requirement); without it the Python tier is skipped, saying why.
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'

const k8s = process.argv.includes('--k8s')
// --browser (.ci/run): Chromium for the console's tests (test/helpers/browser.ts); without it they skip, saying so.
const browser = process.argv.includes('--browser')
const python = process.env.KILN_PYTHON ?? 'python3'

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch { /* next */ }
  }
  return false
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch { return false }
}

const runs = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
const hasPython = runs(python, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'])

/** [Debian package, why, present?] */
const needs = [
  ['redis-server', 'Redis-backed stores and workflows run against a real redis-server', process.env.KILN_REDIS_SERVER !== undefined || onPath('redis-server')],
  // Debian installs nats-server in /usr/sbin, which a non-root PATH may lack.
  ['nats-server', 'queue triggers consume NATS JetStream from a real nats-server', process.env.KILN_NATS_SERVER !== undefined || onPath('nats-server') || ['/usr/sbin/nats-server', '/usr/bin/nats-server'].some(isExecutable)],
  ['strace', 'the durable-write test reads the file store\'s system calls', onPath('strace')],
  ['python3-pip', 'the Python builder vendors requirements.txt with pip', !hasPython || runs(python, ['-m', 'pip', '--version'])],
  ['bubblewrap', 'every embedded instance runs in the sandbox (docs/sandbox.md)', onPath('bwrap')],
  ['slirp4netns', 'the sandbox\'s egress', onPath('slirp4netns')],
  ['iproute2', 'the egress test\'s veth server', onPath('ip')],
]
if (k8s) {
  needs.push(
    ['etcd-server', 'the test control plane stores its state in etcd', process.env.KILN_ETCD !== undefined || onPath('etcd')],
    ['openssl', 'the test control plane\'s certificates', onPath('openssl')],
  )
}

if (browser) {
  needs.push(['chromium', 'the console tests drive Debian\'s chromium with playwright-core', process.env.KILN_CHROMIUM !== undefined || onPath('chromium')])
}

const missing = needs.filter(([, , present]) => !present)
if (missing.length > 0) {
  const pkgs = missing.map(([p]) => p)
  const root = process.getuid?.() === 0
  if (root && onPath('apt-get')) {
    process.stderr.write(`kiln tests: installing ${pkgs.join(' ')}\n`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env })
    if (!install || install.status !== 0) {
      process.stderr.write(`kiln tests: apt-get could not install ${pkgs.join(' ')}\n`)
      process.exit(1)
    }
    // Debian starts the packaged redis-server and nats-server services; the tests start their own on free ports.
    if (pkgs.includes('redis-server')) spawnSync('sh', ['-c', 'systemctl stop redis-server || service redis-server stop'], { stdio: 'ignore' })
    if (pkgs.includes('nats-server')) spawnSync('sh', ['-c', 'systemctl stop nats-server || service nats-server stop'], { stdio: 'ignore' })
  } else {
    process.stderr.write('kiln tests need what is missing here:\n')
    for (const [p, why] of missing) process.stderr.write(`  ${p}: ${why}\n`)
    process.stderr.write(`Install it, then run the tests again:\n  ${root ? '' : 'sudo '}apt-get install -y ${pkgs.join(' ')}\n`)
    process.exit(1)
  }
}

if (!hasPython) process.stderr.write(`kiln tests: ${python} (3.11+) not found: the Python tier will be skipped\n`)
if (k8s && !onPath('go')) {
  process.stderr.write('kiln tests: the Kubernetes tests build their control plane with Go, which is not installed: install Go 1.26 or newer, then run `npm run test:k8s` again\n')
  process.exit(1)
}
