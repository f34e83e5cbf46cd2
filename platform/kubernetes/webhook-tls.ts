// The conversion webhook's TLS (conversion-webhook.ts), managed by the controller itself, as Gatekeeper
// and Kyverno manage theirs: a CA and a serving certificate for the controller Service's names, kept in
// the Secret `kiln-webhook-tls` (keys ca.crt, tls.crt, tls.key) and made when it is missing or the
// serving certificate is within 30 days of its end; the CA goes into the `caBundle` of every kiln.dev CRD
// whose conversion is a webhook. So the chart and the kustomize base carry no key material (both render
// the same manifests), rotation needs no one, and cert-manager is not required. An operator who brings
// a certificate (cert-manager, a corporate CA) sets KILN_WEBHOOK_MANAGE_CERT=false: the Secret is then
// read as it is and the caBundle left to whoever injects it.
import { ApiException, ApiextensionsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Secret } from '@kubernetes/client-node'
import forge from 'node-forge'
import type { Logger } from 'pino'
import { kubeError } from '../../core/store/crd-store.js'

export interface WebhookTls { ca: string; cert: string; key: string }

export const MANAGED_LABEL = 'kiln.dev/managed-certificate'
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000
const b64 = (s: string) => Buffer.from(s).toString('base64')
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '')

/** The names the API server reaches the Service by (it verifies `<service>.<namespace>.svc`). */
export function serviceNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`]
}

function certificate(o: { subject: string; publicKey: forge.pki.PublicKey; signer: forge.pki.rsa.PrivateKey; issuer?: forge.pki.Certificate; days: number; ca: boolean; dns?: string[] }): forge.pki.Certificate {
  const c = forge.pki.createCertificate()
  c.publicKey = o.publicKey
  c.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15))
  c.validity.notBefore = new Date(Date.now() - 5 * 60_000) // a little earlier, for clocks slightly apart
  c.validity.notAfter = new Date(Date.now() + o.days * 24 * 3600 * 1000)
  const subject = [{ name: 'commonName', value: o.subject }]
  c.setSubject(subject)
  c.setIssuer(o.issuer ? o.issuer.subject.attributes : subject)
  c.setExtensions(o.ca
    ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }, { name: 'subjectKeyIdentifier' }]
    : [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: (o.dns ?? []).map((value) => ({ type: 2, value })) },
      ])
  c.sign(o.signer, forge.md.sha256.create())
  return c
}

/** A CA (its certificate and key) and a serving certificate it signed. */
export interface IssuedTls extends WebhookTls { caKey: string }

/** A new serving certificate for `dns`, signed by the CA given, or by a new CA (valid 10 years). */
export function makeTls(dns: string[], ca?: { ca: string; caKey: string }): IssuedTls {
  let caCert: forge.pki.Certificate
  let caKey: forge.pki.rsa.PrivateKey
  if (ca) {
    caCert = forge.pki.certificateFromPem(ca.ca)
    caKey = forge.pki.privateKeyFromPem(ca.caKey) as forge.pki.rsa.PrivateKey
  } else {
    const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 })
    caKey = keys.privateKey
    caCert = certificate({ subject: 'kiln-webhook-ca', publicKey: keys.publicKey, signer: keys.privateKey, days: 3650, ca: true })
  }
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 })
  const cert = certificate({ subject: dns[2] ?? dns[0]!, publicKey: keys.publicKey, signer: caKey, issuer: caCert, days: 365, ca: false, dns })
  return { ca: forge.pki.certificateToPem(caCert), caKey: forge.pki.privateKeyToPem(caKey), cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) }
}

/** When the PEM certificate's validity ends (0 when it cannot be read). */
export function notAfter(pem: string): number {
  try { return forge.pki.certificateFromPem(pem).validity.notAfter.getTime() } catch { return 0 }
}

function coversNames(pem: string, dns: string[]): boolean {
  try {
    const ext = forge.pki.certificateFromPem(pem).getExtension('subjectAltName') as { altNames?: { value: string }[] } | undefined
    const have = new Set((ext?.altNames ?? []).map((a) => a.value))
    return dns.every((d) => have.has(d))
  } catch { return false }
}

export interface EnsureTlsOptions { namespace: string; secret: string; service: string; manage: boolean; logger: Logger }

/**
 * The webhook's certificate from its Secret; when managed, made (or renewed) first if missing, about to
 * expire or not for the Service's names. Whichever controller replica writes first wins; the others read it.
 */
export async function ensureWebhookTls(kc: KubeConfig, o: EnsureTlsOptions): Promise<WebhookTls> {
  const api = kc.makeApiClient(CoreV1Api)
  const dns = serviceNames(o.service, o.namespace)
  for (let attempt = 0; attempt < 5; attempt++) {
    let s: V1Secret | undefined
    try {
      s = await api.readNamespacedSecret({ name: o.secret, namespace: o.namespace })
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw kubeError(e, `Secret ${o.namespace}/${o.secret}`)
    }
    const have: WebhookTls | undefined = s?.data?.['tls.crt'] ? { ca: unb64(s.data['ca.crt']), cert: unb64(s.data['tls.crt']), key: unb64(s.data['tls.key']) } : undefined
    const fresh = have && notAfter(have.cert) - Date.now() > RENEW_BEFORE_MS && coversNames(have.cert, dns)
    if (have && (fresh || !o.manage)) return have
    if (!o.manage) throw new Error(`the webhook certificate Secret ${o.namespace}/${o.secret} is missing (KILN_WEBHOOK_MANAGE_CERT=false: it is brought by the operator)`)
    // The CA is kept across renewals (its key is in ca.key), so the CRDs' caBundle stays valid.
    const caKey = unb64(s?.data?.['ca.key'])
    const next = makeTls(dns, have?.ca && caKey ? { ca: have.ca, caKey } : undefined)
    const data = { 'ca.crt': b64(next.ca), 'ca.key': b64(next.caKey), 'tls.crt': b64(next.cert), 'tls.key': b64(next.key) }
    try {
      if (s) await api.replaceNamespacedSecret({ name: o.secret, namespace: o.namespace, body: { ...s, type: 'kubernetes.io/tls', data } })
      else await api.createNamespacedSecret({ namespace: o.namespace, body: { metadata: { name: o.secret, labels: { 'app.kubernetes.io/part-of': 'kiln', [MANAGED_LABEL]: 'true' } }, type: 'kubernetes.io/tls', data } })
      o.logger.info({ secret: o.secret, notAfter: new Date(notAfter(next.cert)).toISOString(), renewed: Boolean(s) }, 'webhook certificate written')
      return { ca: next.ca, cert: next.cert, key: next.key }
    } catch (e) {
      // Another replica wrote first: read theirs.
      if (!(e instanceof ApiException && e.code === 409)) throw kubeError(e, `Secret ${o.namespace}/${o.secret}`)
    }
  }
  throw new Error(`the webhook certificate Secret ${o.namespace}/${o.secret} kept changing`)
}


/**
 * Puts the CA into the conversion webhook's `caBundle` of each CRD named, where it differs. A CRD whose
 * conversion is not a webhook (installed without one) is left alone.
 */
export async function injectCaBundle(kc: KubeConfig, crds: string[], ca: string, logger: Logger): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api)
  const bundle = b64(ca)
  for (const name of crds) {
    const crd = await api.readCustomResourceDefinition({ name })
    const conv = crd.spec.conversion
    if (conv?.strategy !== 'Webhook' || conv.webhook?.clientConfig?.caBundle === bundle) continue
    await api.patchCustomResourceDefinition({ name, body: { spec: { conversion: { webhook: { clientConfig: { caBundle: bundle } } } } }, fieldManager: 'kiln-controller' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    logger.info({ crd: name }, 'conversion webhook CA bundle set')
  }
}
