// Every instance the platform runs, whoever asked for it: boots through the cluster backend within the
// instance budget, places it on a node, and reports each instance's end to whoever holds it.
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { ClusterBackend, ExitInfo, InstanceLimits } from '../cluster/backend.js'
import type { NodeConfig } from '../core/config.js'
import { KilnError } from '../core/errors.js'
import type { RuntimeResource } from '../core/types.js'
import { BootGate } from './boot-gate.js'
import { InstanceBudget } from './budget.js'
import { InstanceRecord } from './instance.js'
import { chooseNode, type PlacementRequest } from './placement.js'

export interface BootRequest extends PlacementRequest {
  runtime: RuntimeResource
  limits?: InstanceLimits
  /**
   * May the budget reclaim an idle instance to make room: true for a function's first instance (any idle
   * one), 'idle' for another instance of a function that has some (only one idle for a while:
   * budget.ts RECLAIM_IDLE_MS), false for background refills.
   */
  reclaim?: boolean | 'idle'
  /** A request waits for this boot: skip the runtime's self warm-up. */
  urgent?: boolean
  /** Booted for this function alone (the `dedicated` strategy), see InstanceSpec.function. */
  function?: string
  /** Who waits for the boot (a function version): urgent boots are shared fairly between them (boot-gate.ts). */
  for?: string
}

export interface FleetEvents {
  gone: [rec: InstanceRecord, exit: ExitInfo]
}

export class Fleet extends EventEmitter<FleetEvents> {
  readonly records = new Map<string, InstanceRecord>()
  private readonly perNode = new Map<string, number>()
  private seq = 0
  private readonly prefix = randomBytes(3).toString('hex')
  private readonly gate = new BootGate()
  /** Set by close: a boot that fails from here on was cut short by the shutdown, not broken. */
  closing = false

  constructor(
    readonly backend: ClusterBackend,
    readonly budget: InstanceBudget,
    readonly nodes: NodeConfig[],
    private readonly resolveCommand: (rt: RuntimeResource) => string[],
    private readonly logger: Logger,
  ) {
    super()
    this.setMaxListeners(0)
  }

  nodeLoad = (node: string): number => this.perNode.get(node) ?? 0

  async boot(req: BootRequest): Promise<InstanceRecord> {
    const node = chooseNode(this.nodes, req, this.nodeLoad)
    if (!node) {
      throw new KilnError('KILN_ERR_NO_CAPACITY', `no node tolerates and matches the placement of runtime "${req.runtime.metadata.name}"`)
    }
    if (!(await this.budget.reserve(req.reclaim ?? false))) {
      throw new KilnError('KILN_ERR_NO_CAPACITY', `instance budget of ${this.budget.limit} reached and no idle instance to reclaim`)
    }
    const rt = req.runtime
    const id = `${rt.metadata.name}-${this.prefix}-${(++this.seq).toString(36)}`
    this.perNode.set(node.name, this.nodeLoad(node.name) + 1)
    try {
      const inst = await this.gate.run(req.urgent ?? false, () => this.backend.start({
        id,
        runtime: rt.metadata.name,
        protocol: rt.spec.protocol ?? 'kiln',
        command: this.resolveCommand(rt),
        port: rt.spec.port,
        env: rt.spec.env ?? {},
        node: node.name,
        limits: req.limits,
        warmup: !req.urgent,
        function: req.function,
      }), req.for ?? req.function)
      const rec = new InstanceRecord(inst, rt.metadata.name, req.function)
      this.records.set(id, rec)
      inst.exited.then((exit) => this.onExit(rec, exit))
      return rec
    } catch (e) {
      this.perNode.set(node.name, this.nodeLoad(node.name) - 1)
      this.budget.release()
      if (this.closing) this.logger.debug({ err: e, runtime: rt.metadata.name }, 'boot cut short by the shutdown')
      else this.logger.error({ err: e, runtime: rt.metadata.name }, 'instance failed to boot')
      throw e instanceof KilnError ? e : new KilnError('KILN_ERR_NO_CAPACITY', (e as Error).message)
    }
  }

  /** Stops an instance on purpose; its `gone` event still fires once it has exited. */
  async retire(rec: InstanceRecord, graceMs = 1000): Promise<void> {
    if (rec.state === 'gone') return
    rec.retiring = true
    rec.state = 'draining'
    await this.backend.stop(rec.id, graceMs)
  }

  private onExit(rec: InstanceRecord, exit: ExitInfo): void {
    rec.state = 'gone'
    this.records.delete(rec.id)
    this.perNode.set(rec.node, this.nodeLoad(rec.node) - 1)
    this.budget.release()
    rec.client.destroy().catch(() => undefined)
    if (!rec.retiring) this.logger.warn({ instance: rec.id, function: rec.fn, exit }, 'instance exited')
    this.emit('gone', rec, exit)
  }

  async close(): Promise<void> {
    this.closing = true
    for (const rec of this.records.values()) rec.retiring = true
    await this.backend.close()
  }
}
