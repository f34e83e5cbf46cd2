// One KubeConfig for every Kubernetes part of Kiln: a kubeconfig file when given (`--kubeconfig`,
// $KUBECONFIG), else the pod's in-cluster ServiceAccount, else ~/.kube/config.
import { existsSync } from 'node:fs'
import { KubeConfig } from '@kubernetes/client-node'

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig()
  const path = file ?? process.env.KUBECONFIG
  if (path) kc.loadFromFile(path)
  else if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) kc.loadFromCluster()
  else kc.loadFromDefault()
  return kc
}
