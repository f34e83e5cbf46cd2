// A function's output on Kubernetes: what its runtime pods wrote, read through the API server's
// `pods/log` (the kubelet keeps each container's stdout and stderr), so any replica — the controller
// the CLI talks to, too — reads every pod's, whichever executor holds it. The pods are those labelled
// `kiln.dev/function=NAME` (a claimed pool pod once specialized, a function set's pods always). Each line
// reads as the embedded platform's do: `<time> <instance> <stream> <text>`, the instance being the pod's
// `kiln.dev/instance` label (else its name) and the stream `log` (the API merges stdout and stderr).
// Logs of pods already deleted are gone with them, as `kubectl logs` has them.
import { Writable } from 'node:stream'
import { CoreV1Api, Log, makeInformer, type KubeConfig, type V1Pod } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { LABEL } from './pod-template.js'

const CONTAINER = 'runtime'

export interface FunctionLogSource {
  read(fn: string, tail: number): Promise<string[]>
  follow(fn: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void>
}

/** `2024-05-01T10:00:00.123456789Z text` (the API's timestamps=true) → its parts. */
function splitTimestamp(raw: string): { time: string; text: string } {
  const sp = raw.indexOf(' ')
  const t = sp > 0 ? raw.slice(0, sp) : ''
  return /^\d{4}-\d\d-\d\dT/.test(t) ? { time: t, text: raw.slice(sp + 1) } : { time: new Date().toISOString(), text: raw }
}

const instanceOf = (p: V1Pod) => p.metadata?.labels?.[LABEL.instance] ?? p.metadata!.name!
const format = (time: string, p: V1Pod, text: string) => `${time} ${instanceOf(p)} log ${text}`
const started = (p: V1Pod) => (p.status?.containerStatuses ?? []).some((c) => c.name === CONTAINER && (c.state?.running || c.state?.terminated))

export class PodLogs implements FunctionLogSource {
  private readonly api: CoreV1Api

  constructor(private readonly kc: KubeConfig, private readonly o: { namespace: string; logger: Logger }) {
    this.api = kc.makeApiClient(CoreV1Api)
  }

  private selector(fn: string): string {
    return `${LABEL.fn}=${fn}`
  }

  /** The last `tail` lines over every pod of the function, in time order. */
  async read(fn: string, tail: number): Promise<string[]> {
    const pods = (await this.api.listNamespacedPod({ namespace: this.o.namespace, labelSelector: this.selector(fn) })).items.filter(started)
    const lines: { time: string; line: string }[] = []
    await Promise.all(pods.map(async (p) => {
      let out: string
      try {
        out = await this.api.readNamespacedPodLog({ name: p.metadata!.name!, namespace: this.o.namespace, container: CONTAINER, timestamps: true, tailLines: tail })
      } catch (err) {
        // Gone meanwhile, or not started: nothing to show for it.
        this.o.logger.debug({ err, pod: p.metadata?.name }, 'pod log not read')
        return
      }
      for (const raw of String(out ?? '').split('\n')) {
        if (raw === '') continue
        const { time, text } = splitTimestamp(raw)
        lines.push({ time, line: format(time, p, text) })
      }
    }))
    lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    return lines.slice(-tail).map((l) => l.line)
  }

  /**
   * New lines of every pod of the function, as they are written, until `signal` aborts: the pods there now
   * from this moment, and pods that come later (a new instance, a new version) from their start.
   */
  async follow(fn: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    const ns = this.o.namespace
    const since = new Date()
    const streams = new Map<string, AbortController>()
    const open = (p: V1Pod, from: Date | undefined) => {
      const name = p.metadata!.name!
      if (streams.has(name) || signal.aborted || !started(p) || p.metadata?.deletionTimestamp) return
      const ctl = new AbortController()
      streams.set(name, ctl)
      let rest = ''
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          const parts = (rest + chunk.toString('utf8')).split('\n')
          rest = parts.pop()!
          for (const raw of parts) {
            const { time, text } = splitTimestamp(raw)
            onLine(format(time, p, text))
          }
          done()
        },
      })
      // Whole seconds: a line written in the same second as `since` may show; none is lost.
      const sinceTime = from ? new Date(Math.floor(from.getTime() / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined
      new Log(this.kc).log(ns, name, CONTAINER, sink, { follow: true, timestamps: true, ...(sinceTime ? { sinceTime } : {}) })
        .then((c) => {
          if (ctl.signal.aborted) c.abort()
          else ctl.signal.addEventListener('abort', () => c.abort(), { once: true })
        })
        .catch((err) => { streams.delete(name); this.o.logger.debug({ err, pod: name }, 'pod log stream not opened') })
    }
    const inf = makeInformer<V1Pod>(this.kc, `/api/v1/namespaces/${ns}/pods`, () => this.api.listNamespacedPod({ namespace: ns, labelSelector: this.selector(fn) }), this.selector(fn))
    let listed = false
    inf.on('add', (p) => open(p, listed ? undefined : since))
    inf.on('update', (p) => open(p, listed ? undefined : since))
    inf.on('delete', (p) => { streams.get(p.metadata!.name!)?.abort(); streams.delete(p.metadata!.name!) })
    inf.on('error', (err) => {
      if (signal.aborted) return
      this.o.logger.warn({ err, function: fn }, 'pod watch for logs failed; restarting')
      setTimeout(() => void inf.start().catch(() => undefined), 1000).unref()
    })
    await inf.start()
    for (const p of inf.list(ns)) open(p, since)
    listed = true
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve()
      signal.addEventListener('abort', () => resolve(), { once: true })
    })
    for (const c of streams.values()) c.abort()
    await inf.stop()
  }
}
