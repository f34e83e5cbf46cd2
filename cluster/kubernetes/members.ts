// Executor replicas, and which one owns each function. Every replica holds a Lease of its own
// (`<group>-member-<identity>`, labelled `kiln.dev/member-of=<group>`, its data-plane URL in the
// annotation `kiln.dev/url`) and renews it as leader election does (leader.ts). A replica is a member
// while its Lease is renewed within `leaseDurationSeconds`; a replica that cannot renew its own stops
// counting itself at the same moment the others stop counting it.
//
// A function belongs to one member, picked by rendezvous hashing (highest random weight) of the function
// over the members: every replica and every router computes the same owner from the same Leases, and a
// member joining or leaving moves only the functions it gains or held. The owner keeps the function's
// warm set and serves its requests; the routers send them there, and a replica that gets one anyway
// relays it (router/relay.ts). The router uses this in observer mode (no Lease of its own).
import { CoordinationV1Api, makeInformer, type Informer, type KubeConfig, type ObjectCache, type V1Lease } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { microTime, readLease } from './leader.js'

export const MEMBER_LABEL = 'kiln.dev/member-of'
export const URL_ANNOTATION = 'kiln.dev/url'

export interface Member { identity: string; url: string }

export interface MembershipOptions {
  namespace: string
  /** The replicas' group, e.g. the executor Deployment's name. */
  group: string
  /** This replica (its pod name); none: observe only (the router). */
  identity?: string
  /** Where other replicas and routers reach this one's data plane (known once it listens). */
  url?: () => string | undefined
  leaseDurationSeconds?: number
  renewMs?: number
  logger: Logger
  /** Called when the set of live members changes (a replica joined, left or its Lease expired). */
  onChange?: (members: Member[]) => void
}

/** FNV-1a over the member and the key, then a final avalanche (murmur3's fmix32): a 32-bit weight. */
function weight(member: string, key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ 0, 0x01000193)
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The member that owns `key`: the highest weight, ties to the smaller identity. */
export function rendezvous(key: string, members: readonly Member[]): Member | undefined {
  let best: Member | undefined
  let bestW = -1
  for (const m of members) {
    const w = weight(m.identity, key)
    if (w > bestW || (w === bestW && best !== undefined && m.identity < best.identity)) { best = m; bestW = w }
  }
  return best
}

/** A Lease name for a member: `<group>-member-<identity>`, at most 253 characters. */
export function memberLeaseName(group: string, identity: string): string {
  return `${group}-member-${identity}`.slice(0, 253).replace(/[^a-z0-9]+$/, '')
}

const msOf = (t: unknown) => (t ? new Date(t as string).getTime() : 0)

export class Membership {
  private readonly api: CoordinationV1Api
  private informer: (Informer<V1Lease> & ObjectCache<V1Lease>) | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  /** When this replica last renewed its own Lease (its own clock). */
  private renewedAt = 0
  private live: Member[] = []
  private liveKey = ''
  private owners = new Map<string, Member | undefined>()
  /** Identities of expired Leases, with when they expired: their claimed pods are orphans. */
  private readonly expired = new Map<string, number>()

  constructor(private readonly kc: KubeConfig, private readonly o: MembershipOptions) {
    this.api = kc.makeApiClient(CoordinationV1Api)
  }

  get leaseMs(): number { return 1000 * (this.o.leaseDurationSeconds ?? 15) }
  private get leaseName(): string { return memberLeaseName(this.o.group, this.o.identity!) }

  /** Takes this replica's Lease (if it has an identity), lists and watches the others. */
  async start(): Promise<void> {
    if (this.o.identity) await this.renew()
    const ns = this.o.namespace
    const selector = `${MEMBER_LABEL}=${this.o.group}`
    this.informer = makeInformer<V1Lease>(this.kc, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, () => this.api.listNamespacedLease({ namespace: ns, labelSelector: selector }), selector)
    for (const ev of ['add', 'update', 'delete'] as const) this.informer.on(ev, () => this.refresh())
    this.informer.on('error', (err) => {
      if (this.stopped) return
      this.o.logger.warn({ err }, 'member lease watch failed; restarting')
      setTimeout(() => void this.informer?.start().catch(() => undefined), 1000).unref()
    })
    await this.informer.start()
    this.refresh()
    const loop = () => {
      if (this.stopped) return
      this.timer = setTimeout(() => void (this.o.identity ? this.renew() : Promise.resolve()).finally(() => { this.refresh(); loop() }), this.o.renewMs ?? 2000)
      this.timer.unref()
    }
    loop()
  }

  /** The live members, sorted by identity. */
  members(): Member[] {
    return this.live
  }

  /** The member that owns `key` (a function's name); undefined when there is none. */
  ownerOf(key: string): Member | undefined {
    if (this.owners.has(key)) return this.owners.get(key)
    const m = rendezvous(key, this.live)
    this.owners.set(key, m)
    return m
  }

  /**
   * Does this replica own `key`? Not while it is not a live member itself (its Lease not yet announced, or
   * not renewed) and others are; when no member is live at all (the API server out of reach for every
   * replica) each keeps serving as if it owned everything, rather than all dropping their warm sets.
   */
  owns(key: string): boolean {
    if (!this.o.identity || this.live.length === 0) return true
    return this.ownerOf(key)?.identity === this.o.identity
  }

  /** Is `identity` a live member, gone after holding a Lease (since when), or never seen? */
  state(identity: string): { live: true } | { live: false; since: number } | undefined {
    if (this.live.some((m) => m.identity === identity)) return { live: true }
    const since = this.expired.get(identity)
    return since === undefined ? undefined : { live: false, since }
  }

  /** Recomputes the live set (Leases renewed within their duration) and tells onChange when it differs. */
  refresh(now = Date.now()): void {
    const next: Member[] = []
    for (const l of this.informer?.list(this.o.namespace) ?? []) {
      const identity = l.spec?.holderIdentity
      if (!identity || l.metadata?.labels?.[MEMBER_LABEL] !== this.o.group) continue
      const until = identity === this.o.identity
        ? this.renewedAt + this.leaseMs
        : msOf(l.spec?.renewTime) + 1000 * (l.spec?.leaseDurationSeconds ?? 15)
      const url = l.metadata?.annotations?.[URL_ANNOTATION]
      if (until > now && url) { next.push({ identity, url }); this.expired.delete(identity) }
      else if (!this.expired.has(identity)) this.expired.set(identity, Math.min(until, now))
    }
    // Leases deleted (a replica that stopped gracefully) are gone at once.
    for (const m of this.live) if (!next.some((n) => n.identity === m.identity) && !this.expired.has(m.identity)) this.expired.set(m.identity, now)
    for (const [id, since] of this.expired) if (now - since > 3_600_000) this.expired.delete(id)
    next.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0))
    const key = next.map((m) => `${m.identity}=${m.url}`).join(',')
    if (key === this.liveKey) return
    this.live = next
    this.liveKey = key
    this.owners = new Map()
    this.o.logger.info({ group: this.o.group, members: next.map((m) => m.identity) }, 'members changed')
    this.o.onChange?.(next)
  }

  private async renew(): Promise<void> {
    const { namespace } = this.o
    const name = this.leaseName
    const started = Date.now()
    const body: V1Lease = {
      metadata: { name, namespace, labels: { [MEMBER_LABEL]: this.o.group, 'app.kubernetes.io/part-of': 'kiln' }, annotations: { [URL_ANNOTATION]: this.o.url?.() ?? '' } },
      spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.leaseMs / 1000, renewTime: microTime() },
    }
    try {
      const lease = await readLease(this.api, name, namespace)
      if (!lease) await this.api.createNamespacedLease({ namespace, body: { ...body, spec: { ...body.spec, acquireTime: microTime() } } })
      else await this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, metadata: { ...lease.metadata, labels: body.metadata!.labels, annotations: { ...lease.metadata?.annotations, ...body.metadata!.annotations } }, spec: { ...lease.spec, ...body.spec } } })
      // Counted from before the write: the others see the renewTime written then or later.
      this.renewedAt = started
    } catch (err) {
      this.o.logger.warn({ err, lease: name }, 'member lease not renewed')
    }
  }

  /** The URL is known now (the replica listens): renew at once so the others count it without waiting. */
  announce(): void {
    if (this.o.identity && !this.stopped) void this.renew().then(() => this.refresh())
  }

  /** Stops renewing and deletes this replica's Lease, so the others take its functions at once. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.informer?.stop()
    if (!this.o.identity) return
    this.renewedAt = 0
    await this.api.deleteNamespacedLease({ name: this.leaseName, namespace: this.o.namespace }).catch(() => undefined)
  }
}
