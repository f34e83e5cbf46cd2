// The key every replica signs package URLs with (core/auth/package-signature.ts): the Secret
// `kiln-package-key` in Kiln's namespace, made once by whichever replica starts first.
import { randomBytes } from 'node:crypto'
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node'
import { kubeError } from '../../core/store/crd-store.js'

const NAME = 'kiln-package-key'

export async function packageKey(kc: KubeConfig, namespace: string): Promise<Buffer> {
  const api = kc.makeApiClient(CoreV1Api)
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const s = await api.readNamespacedSecret({ name: NAME, namespace })
      const key = s.data?.key
      if (key) return Buffer.from(key, 'base64')
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw kubeError(e, `Secret ${namespace}/${NAME}`)
    }
    try {
      await api.createNamespacedSecret({ namespace, body: { metadata: { name: NAME, labels: { 'app.kubernetes.io/part-of': 'kiln' } }, type: 'Opaque', data: { key: randomBytes(32).toString('base64') } } })
    } catch (e) {
      // Another replica made it first: read theirs.
      if (!(e instanceof ApiException && e.code === 409)) throw kubeError(e, `Secret ${namespace}/${NAME}`)
    }
  }
  throw kubeError(new Error('the key kept changing'), `Secret ${namespace}/${NAME}`)
}
