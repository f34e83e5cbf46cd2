// The PKI of a throwaway control plane, made with the openssl CLI (node:crypto makes keys but not
// X.509 certificates): one CA, the apiserver's serving certificate for 127.0.0.1, a service-account
// signing key pair, and client certificates whose subject is the identity RBAC sees
// (CN = user, O = group), e.g. O=system:masters for the admin.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface KeyPair { cert: string, key: string }

export interface Pki {
  dir: string
  ca: KeyPair
  apiserver: KeyPair
  /** service-account token signing key (private) and its public half */
  serviceAccount: { key: string, pub: string }
  clients: Record<string, KeyPair>
}

export interface ClientIdentity { user: string, groups?: string[] }

function run(openssl: string, args: string[]): void {
  execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function ecKey(openssl: string, path: string): void {
  run(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path])
}

function signed(openssl: string, dir: string, name: string, subject: string, ext: string, ca: KeyPair): KeyPair {
  const key = join(dir, `${name}.key`)
  const csr = join(dir, `${name}.csr`)
  const cert = join(dir, `${name}.crt`)
  const extFile = join(dir, `${name}.ext`)
  ecKey(openssl, key)
  run(openssl, ['req', '-new', '-key', key, '-subj', subject, '-out', csr])
  writeFileSync(extFile, ext)
  run(openssl, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', extFile, '-out', cert])
  return { cert, key }
}

/** Subject for openssl `-subj`: /O=group.../CN=user. Groups become organizations, as Kubernetes reads them. */
function subjectOf(id: ClientIdentity): string {
  const esc = (s: string) => s.replace(/[/\\]/g, c => `\\${c}`)
  return (id.groups ?? []).map(g => `/O=${esc(g)}`).join('') + `/CN=${esc(id.user)}`
}

export function makePki(openssl: string, dir: string, clients: Record<string, ClientIdentity>, serviceIp: string): Pki {
  const ca: KeyPair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') }
  ecKey(openssl, ca.key)
  run(openssl, ['req', '-x509', '-new', '-key', ca.key, '-subj', '/CN=kiln-test-ca', '-days', '2', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', ca.cert])

  const apiserver = signed(openssl, dir, 'apiserver', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
  ].join('\n') + '\n', ca)

  // The service-account key must be RSA or ECDSA; RSA is what every client library verifies.
  const saKey = join(dir, 'sa.key')
  const saPub = join(dir, 'sa.pub')
  run(openssl, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', saKey])
  run(openssl, ['pkey', '-in', saKey, '-pubout', '-out', saPub])

  const clientExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
  const out: Record<string, KeyPair> = {}
  for (const [name, id] of Object.entries(clients)) out[name] = signed(openssl, dir, `client-${name}`, subjectOf(id), clientExt, ca)
  return { dir, ca, apiserver, serviceAccount: { key: saKey, pub: saPub }, clients: out }
}

/** A kubeconfig with everything embedded, so it can be copied or read by any client. */
export function writeKubeconfig(path: string, server: string, caCert: string, client: KeyPair, user: string): void {
  const b64 = (p: string) => readFileSync(p).toString('base64')
  writeFileSync(path, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kiln-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caCert)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(client.cert)}`,
    `    client-key-data: ${b64(client.key)}`,
    'contexts:',
    '- name: kiln-test',
    '  context:',
    '    cluster: kiln-test',
    `    user: ${user}`,
    'current-context: kiln-test',
    '',
  ].join('\n'), { mode: 0o600 })
}
