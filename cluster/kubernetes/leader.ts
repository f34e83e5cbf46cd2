// Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
// the holder renews `renewTime` every `renewMs`; another candidate takes the Lease over once it has
// not been renewed for `leaseDurationSeconds`. Every write carries the read's resourceVersion, so two
// candidates never both win. `isLeader` is what the reconcile loops check.
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node'
import type { Logger } from 'pino'

export interface LeaderOptions {
  namespace: string
  lease: string
  identity: string
  leaseDurationSeconds?: number
  renewMs?: number
  logger: Logger
  onChange?: (leader: boolean) => void
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (client-node sends a Date as milliseconds). */
export function microTime(d = new Date()): Date {
  return d.toISOString().replace(/Z$/, '000Z') as unknown as Date
}

/** The Lease, or undefined when there is none. */
export async function readLease(api: CoordinationV1Api, name: string, namespace: string): Promise<V1Lease | undefined> {
  try {
    return await api.readNamespacedLease({ name, namespace })
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined
    throw e
  }
}

export class LeaderElector {
  private readonly api: CoordinationV1Api
  private timer: NodeJS.Timeout | undefined
  private leading = false
  private stopped = false

  constructor(kc: KubeConfig, private readonly o: LeaderOptions) {
    this.api = kc.makeApiClient(CoordinationV1Api)
  }

  get isLeader(): boolean { return this.leading }

  /** Tries once at once, then keeps trying / renewing in the background. */
  async start(): Promise<void> {
    await this.tick()
    const loop = () => {
      if (this.stopped) return
      this.timer = setTimeout(() => void this.tick().finally(loop), this.o.renewMs ?? 2000)
      this.timer.unref()
    }
    loop()
  }

  private get duration(): number { return this.o.leaseDurationSeconds ?? 15 }

  private async tick(): Promise<void> {
    const { namespace, lease: name, identity } = this.o
    const now = microTime()
    const nowMs = Date.now()
    try {
      const lease = await readLease(this.api, name, namespace)
      if (!lease) {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: this.duration, acquireTime: now, renewTime: now, leaseTransitions: 0 } } })
        return this.set(true)
      }
      const s = lease.spec ?? {}
      const renewed = s.renewTime ? new Date(s.renewTime as unknown as string).getTime() : 0
      const expired = renewed + (s.leaseDurationSeconds ?? this.duration) * 1000 < nowMs
      if (s.holderIdentity && s.holderIdentity !== identity && !expired) return this.set(false)
      const takeover = s.holderIdentity !== identity
      lease.spec = {
        ...s,
        holderIdentity: identity,
        leaseDurationSeconds: this.duration,
        renewTime: now,
        ...(takeover ? { acquireTime: now, leaseTransitions: (s.leaseTransitions ?? 0) + 1 } : {}),
      }
      await this.api.replaceNamespacedLease({ name, namespace, body: lease })
      this.set(true)
    } catch (err) {
      // A conflict means someone else wrote first; any other failure means we cannot prove we lead.
      if (!(err instanceof ApiException && err.code === 409)) this.o.logger.warn({ err, lease: name }, 'leader election: lease not renewed')
      this.set(false)
    }
  }

  private set(leader: boolean): void {
    if (leader === this.leading) return
    this.leading = leader
    this.o.logger.info({ lease: this.o.lease, identity: this.o.identity, leader }, leader ? 'became leader' : 'not the leader')
    this.o.onChange?.(leader)
  }

  /** Stops renewing and gives the Lease up, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    if (!this.leading) return
    this.leading = false
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.lease, namespace: this.o.namespace })
      if (lease.spec?.holderIdentity === this.o.identity) {
        lease.spec = { ...lease.spec, holderIdentity: undefined, renewTime: undefined }
        await this.api.replaceNamespacedLease({ name: this.o.lease, namespace: this.o.namespace, body: lease })
      }
    } catch { /* it expires on its own */ }
  }
}
