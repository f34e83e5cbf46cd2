{{/* Labels every object carries; selectors use kiln.selector only (stable across upgrades). */}}
{{- define "kiln.labels" -}}
app.kubernetes.io/name: kiln
app.kubernetes.io/part-of: kiln
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- if not .root.Values.manifestsOnly }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}
{{- end }}

{{- define "kiln.selector" -}}
app.kubernetes.io/name: kiln
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* An image reference: the registry prefix, repository and tag (default: the chart's appVersion). */}}
{{- define "kiln.image" -}}
{{- printf "%s%s:%s" .root.Values.image.registry .image.repository (.image.tag | default .root.Chart.AppVersion) -}}
{{- end }}

{{- define "kiln.platformImage" -}}
{{- include "kiln.image" (dict "root" . "image" .Values.image) -}}
{{- end }}

{{/* Where the components reach each other: the Services' cluster DNS names. */}}
{{- define "kiln.executorUrl" -}}
http://kiln-executor.{{ .Release.Namespace }}.svc
{{- end }}
{{- define "kiln.controllerUrl" -}}
http://kiln-controller.{{ .Release.Namespace }}.svc
{{- end }}

{{/* KILN_REDIS_URL: the bundled Redis, an external URL, or a Secret's key. */}}
{{- define "kiln.redisEnv" -}}
- name: KILN_REDIS_URL
{{- if .Values.redis.enabled }}
  value: redis://kiln-redis.{{ .Release.Namespace }}.svc:6379
{{- else if .Values.redis.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- else if .Values.redis.url }}
  value: {{ .Values.redis.url | quote }}
{{- else }}
{{- fail "redis: set redis.enabled, or redis.url, or redis.existingSecret" }}
{{- end }}
{{- end }}

{{/* Environment every platform component shares. */}}
{{- define "kiln.commonEnv" -}}
- name: KILN_HOST
  value: 0.0.0.0
- name: KILN_NAMESPACE
  value: {{ .Release.Namespace }}
- name: KILN_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: KILN_CLUSTER
  value: kubernetes
- name: KILN_STORE
  value: kubernetes
- name: KILN_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* Pod-level settings of the platform components: the restricted Pod Security Standard. */}}
{{- define "kiln.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 1000
  runAsGroup: 1000
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "kiln.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end }}

{{/* Components run on management nodes. */}}
{{- define "kiln.managementPlacement" -}}
{{- with .Values.nodes.management.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodes.management.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "kiln.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A toleration of a node taint ({key, value, effect}). */}}
{{- define "kiln.toleration" -}}
- key: {{ .key }}
  {{- if .value }}
  operator: Equal
  value: {{ .value | quote }}
  {{- else }}
  operator: Exists
  {{- end }}
  effect: {{ .effect }}
{{- end }}

{{/* The toleration of a taint ({key, value, effect}) as a list for toJson; empty without a taint. */}}
{{- define "kiln.tolerationsOf" -}}
{{- if . -}}
{{- if .value -}}
{{- list (dict "key" .key "operator" "Equal" "value" (toString .value) "effect" .effect) | toJson -}}
{{- else -}}
{{- list (dict "key" .key "operator" "Exists" "effect" .effect) | toJson -}}
{{- end -}}
{{- else -}}
[]
{{- end -}}
{{- end }}

{{/* KILN_RUNTIME_POD_TEMPLATE: what the executor puts in every runtime pod (cluster/kubernetes/pod-template.ts). */}}
{{- define "kiln.runtimePodTemplate" -}}
{{- $n := .Values.nodes -}}
{{- $runtime := dict "nodeSelector" ($n.runtime.nodeSelector | default dict) "tolerations" (include "kiln.tolerationsOf" $n.runtime.taint | fromJsonArray) -}}
{{- $isolated := dict "nodeSelector" ($n.isolated.nodeSelector | default dict) "tolerations" (include "kiln.tolerationsOf" $n.isolated.taint | fromJsonArray) -}}
{{- $p := .Values.runtimePods -}}
{{- dict "runtime" $runtime "isolated" $isolated "requests" $p.requests "tmpSize" $p.tmpSize "podSecurityContext" $p.podSecurityContext "containerSecurityContext" $p.containerSecurityContext "networkPolicy" $p.networkPolicy.enabled | toJson -}}
{{- end }}

{{/* KILN_RUNTIMES: the enabled built-in runtimes (platform/kubernetes/builtin-runtimes.ts). */}}
{{- define "kiln.runtimes" -}}
{{- $out := dict -}}
{{- range $name, $r := .Values.runtimes -}}
{{- if $r.enabled -}}
{{- $spec := dict "image" (include "kiln.image" (dict "root" $ "image" $r.image)) "language" $name "port" 8888 -}}
{{- if hasKey $r "poolSize" }}{{ $_ := set $spec "poolSize" (int $r.poolSize) }}{{ end -}}
{{- $_ := set $out $name $spec -}}
{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end }}

{{/* A cluster-scoped object's name: the namespace added when Kiln is not in `kiln`, so installs do not collide. */}}
{{- define "kiln.clusterName" -}}
{{- if eq .root.Release.Namespace "kiln" }}{{ .name }}{{ else }}{{ printf "%s-%s" .name .root.Release.Namespace }}{{ end -}}
{{- end }}

{{/* The CRDs served in more than one version: the controller sets their conversion caBundle. */}}
{{- define "kiln.convertedCrds" -}}
{{- $names := list -}}
{{- range $path, $_ := .Files.Glob "files/crds/*.yaml" -}}
{{- $crd := $.Files.Get $path | fromYaml -}}
{{- if gt (len $crd.spec.versions) 1 }}{{ $names = append $names $crd.metadata.name }}{{ end -}}
{{- end -}}
{{- $names | toJson -}}
{{- end }}
