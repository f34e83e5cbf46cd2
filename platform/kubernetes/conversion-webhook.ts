// The conversion webhook the API server calls to convert Kiln's custom resources between their served
// versions (core/store/crd-conversion.ts: kiln.dev/v1 and v2 Functions), served by the controller over
// HTTPS on its own port behind the controller Service's `webhook` port. Its certificate comes from
// webhook-tls.ts and is checked again every minute: a renewed one is served from then on, and the CRDs'
// caBundle is kept on the CA.
import { createServer, type Server } from 'node:https'
import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import { convertReview, type ConversionReview, GROUP, STORED_VERSION } from '../../core/store/crd-conversion.js'
import { ReconcileLoop } from '../../cluster/kubernetes/reconcile-loop.js'
import { ensureWebhookTls, injectCaBundle, type WebhookTls } from './webhook-tls.js'

/** The CRDs served in more than one version, hence converted by this webhook. */
export const CONVERTED_CRDS = Object.keys(STORED_VERSION).map((kind) => `${kind.toLowerCase()}s.${GROUP}`)

const MAX_REVIEW_BYTES = 64 * 1024 * 1024

export interface WebhookOptions {
  port: number
  host: string
  namespace: string
  /** The Service the API server calls (its names are in the certificate). */
  service: string
  /** The Secret holding the certificate. */
  secret: string
  /** Make and renew the certificate and set the CRDs' caBundle (else both are the operator's). */
  manageCert: boolean
  logger: Logger
}

export interface ConversionWebhook { readonly port: number; close(): Promise<void> }

export async function startConversionWebhook(kc: KubeConfig, o: WebhookOptions): Promise<ConversionWebhook> {
  const tlsOpts = { namespace: o.namespace, secret: o.secret, service: o.service, manage: o.manageCert, logger: o.logger }
  let tls: WebhookTls = await ensureWebhookTls(kc, tlsOpts)
  if (o.manageCert) await injectCaBundle(kc, CONVERTED_CRDS, tls.ca, o.logger)
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"role":"conversion-webhook"}'); return }
    if (req.method !== 'POST' || !req.url?.startsWith('/convert')) { res.writeHead(404).end(); return }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_REVIEW_BYTES) { res.writeHead(413).end(); req.destroy(); return }
      chunks.push(c)
    })
    req.on('end', () => {
      if (res.headersSent) return
      let review: ConversionReview
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConversionReview
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(convertReview({} as ConversionReview)))
        return
      }
      const answer = convertReview(review)
      if (answer.response?.result.status !== 'Success') o.logger.warn({ uid: answer.response?.uid, reason: answer.response?.result.message }, 'conversion refused')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port, o.host, () => { server.off('error', reject); resolve() }) })
  const port = (server.address() as { port: number }).port
  o.logger.info({ port, service: o.service }, 'conversion webhook listening')
  // Level-triggered: the Secret and the CRDs' caBundle as they should be, every minute.
  const loop = new ReconcileLoop(async () => {
    try {
      const next = await ensureWebhookTls(kc, tlsOpts)
      if (next.cert !== tls.cert || next.key !== tls.key) { server.setSecureContext({ cert: next.cert, key: next.key }); tls = next }
      if (o.manageCert) await injectCaBundle(kc, CONVERTED_CRDS, tls.ca, o.logger)
    } catch (err) {
      o.logger.warn({ err }, 'conversion webhook certificate not checked; retrying')
    }
  }, 60_000)
  loop.start()
  return {
    port,
    close: async () => {
      await loop.stop()
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
    },
  }
}
