// The embedded platform's sandbox (docs/sandbox.md): what each instance runs in, decided once at
// startup from what this machine allows, best first:
//   root  root + bubblewrap: own uid, mount, pid, ipc, uts, cgroup and network namespaces, capped /tmp
//   user  bubblewrap in a user namespace (kiln is not root): the same namespaces, the platform's uid
//   uid   root without bubblewrap: own uid only (setpriv)
//   plain neither (or sandbox.enabled: false): plain child processes, as the platform's user
// Every mode reaches its instances over a Unix socket and hands code over verified.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { accessSync, chmodSync, constants as fsConstants, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { InstanceLimits, InstanceSpec, Protection, SecretFile } from '../../backend.js'
import type { SandboxConfig } from '../../../core/config.js'
import { KilnError } from '../../../core/errors.js'
import { limitsPolicy, type LimitsPolicy } from '../../../core/limits.js'
import { distDir } from '../../../core/paths.js'
import { BoxDirs, type Owner } from './box-dirs.js'
import { bwrapArgv, INSIDE, type BoxPaths, type BwrapInput } from './bwrap-args.js'
import { buildEtc, programBinds, resolveProgram, sandboxResolvConf, systemBinds, type BindArg } from './program-binds.js'
import { protectionsOf, type IsolationMode } from './protections.js'
import { UidPool } from './uid-pool.js'
import { VerifiedCode, type PackageReader } from './verified-code.js'

/** The descriptor bubblewrap reports its sandbox's init pid on (fd 3 is the runtime's ready pipe). */
export const INFO_FD = 4
/** The port a TCP-only (Fission) runtime listens on inside its own network namespace. */
const FISSION_PORT = 8888

export interface SandboxOptions {
  config: SandboxConfig
  dataDir: string
  logger: Logger
  cgroups: { mode: string; reason?: string }
  readPackage: PackageReader
}

/** Everything needed to start one instance in its sandbox. */
export interface Box {
  readonly id: string
  readonly uid?: number
  readonly paths: BoxPaths
  /** The instance's socket, as the platform reaches it. */
  readonly socketPath: string
  /** Sandbox prefix + the runtime (through the TCP relay for Fission-protocol runtimes). */
  readonly command: string[]
  readonly env: Record<string, string>
  readonly rlimits: { openFiles?: number; fileSizeBytes?: number }
  /** bubblewrap reports its init's pid on INFO_FD. */
  readonly namespaced: boolean
  /** slirp4netns must be attached to its network namespace. */
  readonly egress: boolean
}

export class Sandbox {
  readonly policy: LimitsPolicy
  readonly code: VerifiedCode
  private readonly dirs: BoxDirs
  private readonly uids: UidPool | undefined
  private readonly binds = new Map<string, BindArg[]>()
  private readonly system: BindArg[] = systemBinds()
  /** The sandbox's own /etc (host folder), once built. */
  private etcDir: string | undefined
  private readonly boxes = new Map<string, Box>()
  private protectionList: Protection[] = []

  private constructor(
    private readonly o: SandboxOptions,
    readonly mode: IsolationMode,
    readonly network: 'egress' | 'none' | 'host',
    policy: LimitsPolicy,
    dirs: BoxDirs,
    uids: UidPool | undefined,
  ) {
    this.policy = policy
    this.dirs = dirs
    this.uids = uids
    this.code = new VerifiedCode(join(dirs.stateDir, 'code'), o.readPackage)
  }

  /** Detects what this machine allows, prepares the sandbox folders (sweeping a crashed run's), logs the result. */
  static async open(o: SandboxOptions): Promise<Sandbox> {
    const root = process.getuid?.() === 0
    const stateDir = join(o.dataDir, 'sandbox')
    const hash = createHash('sha256').update(o.dataDir).digest('hex').slice(0, 8)
    const runDir = root ? `/run/kiln-${hash}` : join(process.env.XDG_RUNTIME_DIR || tmpdir(), `kiln-${process.getuid?.()}-${hash}`)
    const uids = root ? UidPool.forDataDir(o.dataDir, o.config.uids) : undefined
    const policy = limitsPolicy(o.config.limits)
    const tmpBytes = policy.default.tmpBytes ?? 64 * 1024 * 1024

    let mode: IsolationMode = 'plain'
    let why: string | undefined = o.config.enabled ? undefined : 'the sandbox is disabled (sandbox.enabled: false in kiln.yaml)'
    if (o.config.enabled) {
      const probe = probeBwrap(o, root ? 'root' : 'user', uids)
      if (probe === undefined) mode = root ? 'root' : 'user'
      else {
        why = probe
        if (root) {
          const setpriv = probeSetpriv(o.config.programs.setpriv, uids!)
          if (setpriv === undefined) mode = 'uid'
          else why += `; ${setpriv}`
        }
      }
    }
    let network = o.config.network
    let noEgress: string | undefined
    if ((mode === 'root' || mode === 'user') && network === 'egress') {
      const r = spawnSync(o.config.programs.slirp4netns, ['--version'], { stdio: 'ignore', timeout: 5000 })
      if (r.error || r.status !== 0) noEgress = `${o.config.programs.slirp4netns} did not run (${r.error ? (r.error as NodeJS.ErrnoException).code : `exit ${r.status}`})`
      else if (!root && !canOpen('/dev/net/tun')) noEgress = `/dev/net/tun cannot be opened by uid ${process.getuid?.()} (slirp4netns needs it)`
      if (noEgress) network = 'none'
    }
    // Without namespaces, instances are on the host's network whatever kiln.yaml asked for.
    if (mode === 'uid' || mode === 'plain') network = 'host'
    const dirs = new BoxDirs(stateDir, runDir, root, mode === 'uid')
    const stale = await dirs.init()
    if (stale > 0) o.logger.warn({ stale }, 'sandbox: removed folders left by a previous run')
    // Instances with their own uid must not read the data dir (it holds every function's spec).
    if (root && mode !== 'plain') chmodSync(o.dataDir, 0o700)
    const box = new Sandbox(o, mode, network, policy, dirs, mode === 'root' || mode === 'uid' ? uids : undefined)
    if (mode === 'root' || mode === 'user') box.writeEtc(runDir)
    box.protectionList = protectionsOf({ mode, why, uids: uids ? `${uids.first}-${uids.last}` : undefined, network, noEgress, tmpBytes, cgroups: o.cgroups, runDir })
    const missing = box.protectionList.filter((p) => !p.active)
    o.logger.info({ mode, network, active: box.protectionList.filter((p) => p.active).map((p) => p.name), ...(missing.length ? { missing: missing.map((p) => p.name) } : {}) }, 'sandbox: instances are confined')
    for (const p of missing) o.logger.warn({ protection: p.name, detail: p.detail }, `sandbox: protection "${p.name}" is missing`)
    if (noEgress) o.logger.warn({ reason: noEgress }, 'sandbox: instances have no egress (sandbox.network falls back to none)')
    return box
  }

  protections(): Protection[] {
    return this.protectionList
  }

  /** After every instance is gone: the run dir (sockets, secrets) goes too. */
  async close(): Promise<void> {
    await rm(this.dirs.runDir, { recursive: true, force: true }).catch((err: Error) => this.o.logger.warn({ err }, 'sandbox run dir not removed'))
  }

  /** The sandbox's own /etc: what programs need of the host's, and a passwd/group without the host's users. */
  private writeEtc(runDir: string): void {
    this.etcDir = join(runDir, 'etc')
    buildEtc(this.etcDir, {
      passwd: 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
      group: 'root:x:0:\nnogroup:x:65534:\n',
      'resolv.conf': sandboxResolvConf(),
    })
  }

  /** The limits an instance boots with: the operator's defaults, or a function's own (see fitsPooled). */
  bootLimits(asked: InstanceLimits | undefined): InstanceLimits {
    const d = this.policy.default
    return {
      cpu: asked?.cpu,
      memoryBytes: asked?.memoryBytes ?? d.memoryBytes,
      pids: asked?.pids ?? d.pids,
      openFiles: asked?.openFiles ?? d.openFiles,
      fileSizeBytes: asked?.fileSizeBytes ?? d.fileSizeBytes,
      tmpBytes: asked?.tmpBytes ?? d.tmpBytes,
    }
  }

  /** Open files, file size and /tmp are fixed at boot: a function asking for others needs its own boot. */
  fitsPooled(limits: InstanceLimits | null): boolean {
    if (!limits) return true
    const d = this.policy.default
    return (limits.openFiles ?? d.openFiles) === d.openFiles && (limits.fileSizeBytes ?? d.fileSizeBytes) === d.fileSizeBytes && (limits.tmpBytes ?? d.tmpBytes) === d.tmpBytes
  }

  /** Folders, uid and command line of a new instance; `release` undoes it once the instance is gone. */
  box(spec: InstanceSpec): Box {
    const limits = this.bootLimits(spec.limits)
    const uid = this.uids?.take()
    const owner: Owner | undefined = uid !== undefined ? { uid, gid: uid } : undefined
    let paths: BoxPaths
    try {
      paths = this.dirs.create(spec.id, owner)
    } catch (e) {
      if (uid !== undefined) this.uids!.give(uid)
      throw e
    }
    const namespaced = this.mode === 'root' || this.mode === 'user'
    const fission = spec.protocol === 'fission'
    const socketPath = join(paths.run, 'http.sock')
    const env: Record<string, string> = {
      KILN_SOCKET: namespaced ? INSIDE.socket : socketPath,
      KILN_SECRETS_DIR: namespaced ? INSIDE.secrets : paths.secrets,
    }
    if (namespaced) Object.assign(env, { HOME: '/tmp', TMPDIR: '/tmp', USER: 'kiln', LOGNAME: 'kiln' })
    // TCP-only runtimes are reached through the relay, which listens on the socket for them.
    const runtime = fission ? [process.execPath, join(distDir(), 'relay', 'tcp-relay.js'), ...spec.command] : spec.command
    if (fission) env.PORT = String(spec.port || FISSION_PORT)
    let command = runtime
    if (namespaced) {
      const input: BwrapInput = {
        programs: this.o.config.programs, mode: this.mode as 'root' | 'user', uid, network: this.network,
        tmpBytes: limits.tmpBytes!, paths, system: this.system, etcDir: this.etcDir,
        program: this.programBinds(runtime), mounts: this.o.config.mounts, infoFd: INFO_FD,
      }
      command = bwrapArgv(input, runtime)
    } else if (this.mode === 'uid') {
      command = [this.o.config.programs.setpriv, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', ...runtime]
    }
    const box: Box = {
      id: spec.id, uid, paths, socketPath, command, env, namespaced,
      rlimits: { openFiles: limits.openFiles, fileSizeBytes: limits.fileSizeBytes },
      egress: namespaced && this.network === 'egress',
    }
    this.boxes.set(spec.id, box)
    return box
  }

  /** Once the instance and everything it started are gone: its folders go, its uid may be used again. */
  async release(id: string): Promise<void> {
    const box = this.boxes.get(id)
    if (!box) return
    this.boxes.delete(id)
    await this.dirs.remove(id).catch((err: Error) => this.o.logger.warn({ err, instance: id }, 'sandbox folders not removed'))
    if (box.uid !== undefined) this.uids!.give(box.uid)
  }

  /** Verifies the package (once) and gives the instance exactly its files; returns code.path as it sees it. */
  async stageCode(id: string, sha256: string): Promise<string> {
    const box = this.boxes.get(id)
    if (!box) throw new KilnError('KILN_ERR_INTERNAL', `no sandbox for instance ${id}`)
    const tree = await this.code.current(sha256)
    if (this.mode === 'plain') return tree.root
    this.dirs.stage(box.paths, tree)
    return box.namespaced ? INSIDE.code : box.paths.code
  }

  /** Replaces the instance's secret files; returns their folder as the instance sees it ($KILN_SECRETS_DIR). */
  placeSecrets(id: string, files: SecretFile[]): string {
    const box = this.boxes.get(id)
    if (!box) throw new KilnError('KILN_ERR_INTERNAL', `no sandbox for instance ${id}`)
    this.dirs.placeSecrets(box.paths, files, box.uid !== undefined ? { uid: box.uid, gid: box.uid } : undefined)
    return box.env.KILN_SECRETS_DIR
  }

  /** The runtime listens: from now on only the platform may change its socket folder. */
  sealSocket(id: string): void {
    const box = this.boxes.get(id)
    if (box) this.dirs.seal(box.paths)
  }

  /** The instance's host folders (for tests and diagnostics). */
  hostPaths(id: string): BoxPaths | undefined {
    return this.boxes.get(id)?.paths
  }

  unstage(id: string): void {
    const box = this.boxes.get(id)
    if (box) this.dirs.unstage(box.paths)
  }

  private programBinds(argv: string[]): BindArg[] {
    const key = argv.join('\0')
    let b = this.binds.get(key)
    if (b === undefined) {
      b = programBinds(argv, [this.o.dataDir, this.dirs.stateDir, this.dirs.runDir])
      this.binds.set(key, b)
    }
    return b
  }
}

/** Runs a throwaway sandbox the way instances will run; undefined when it works, else why not. */
function probeBwrap(o: SandboxOptions, mode: 'root' | 'user', uids: UidPool | undefined): string | undefined {
  const bwrap = resolveProgram(o.config.programs.bwrap)
  if (bwrap === undefined) return `${o.config.programs.bwrap} not found (install Debian's bubblewrap)`
  const base = join(tmpdir(), `kiln-sandbox-probe-${process.pid}-${randomBytes(3).toString('hex')}`)
  const uid = uids?.take()
  try {
    const paths = { code: join(base, 'code'), secrets: join(base, 'secrets'), run: join(base, 'run') }
    for (const p of Object.values(paths)) mkdirSync(p, { recursive: true, mode: 0o755 })
    const truth = resolveProgram('true') ?? '/bin/true'
    const argv = bwrapArgv({
      programs: { ...o.config.programs, bwrap }, mode, uid, network: o.config.network === 'host' ? 'host' : 'none', tmpBytes: 1024 * 1024,
      paths, system: systemBinds(), program: [], mounts: [], infoFd: INFO_FD,
    }, [truth])
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'ignore', 'pipe'], timeout: 10_000, encoding: 'utf8' })
    if (r.error) return `${bwrap} did not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`
    if (r.status !== 0) return `${bwrap} cannot build a sandbox here (${String(r.stderr).trim().split('\n')[0] || `exit ${r.status}`})${mode === 'user' ? '; unprivileged user namespaces may be disabled' : ''}`
    return undefined
  } finally {
    if (uid !== undefined) uids!.give(uid)
    rmSync(base, { recursive: true, force: true })
  }
}

function canOpen(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK | fsConstants.W_OK)
    return true
  } catch {
    return false
  }
}

function probeSetpriv(setpriv: string, uids: UidPool): string | undefined {
  const uid = uids.take()
  try {
    const r = spawnSync(setpriv, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', resolveProgram('true') ?? '/bin/true'], { stdio: 'ignore', timeout: 5000 })
    if (r.error || r.status !== 0) return `${setpriv} did not run (${r.error ? (r.error as NodeJS.ErrnoException).code : `exit ${r.status}`})`
    return undefined
  } finally {
    uids.give(uid)
  }
}
