#!/usr/bin/env bash
# Builds helm from its Go module (helm.sh/helm/v4) and caches the binary next to the control plane's,
# for the chart tests (test/k8s/chart*.test.ts), with the Gateway API's CRDs (from the Go module
# sigs.k8s.io/gateway-api) that the chart's HTTPRoute is checked against. A repeat run with both
# present is instant.
#
#   KILN_HELM_VERSION  helm release to build (default v4.3.2; a v3.x release builds helm.sh/helm/v3)
#   KILN_HELM_CACHE    where the binary goes (default ~/.cache/kiln-k8s/helm-$KILN_HELM_VERSION/bin)
#   KILN_GATEWAY_API_VERSION  Gateway API release (default v1.4.0), its CRDs in ~/.cache/kiln-k8s/gateway-api-<version>
#   KILN_K8S_BUILD_JOBS  go build -p (default 2)
#   GOTOOLCHAIN        default local (helm v4.3 needs go 1.26)
#
# Without Go: exits 0 saying "skipped: no go" (the chart tests then skip and say why), or 1 with
# KILN_K8S_REQUIRE=1. With Go, a failed build exits non-zero, so CI fails.
set -euo pipefail

VERSION="${KILN_HELM_VERSION:-v4.3.2}"
CACHE="${KILN_HELM_CACHE:-${HOME}/.cache/kiln-k8s/helm-${VERSION}/bin}"
GATEWAY_VERSION="${KILN_GATEWAY_API_VERSION:-v1.4.0}"
GATEWAY_CRDS="${HOME}/.cache/kiln-k8s/gateway-api-${GATEWAY_VERSION}"

if [[ -x "${CACHE}/helm" && -f "${GATEWAY_CRDS}/gateway.networking.k8s.io_httproutes.yaml" ]]; then
  echo "kiln-helm: helm ${VERSION} cached in ${CACHE}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ "${KILN_K8S_REQUIRE:-}" == 1 ]]; then
    echo "kiln-helm: Go is not installed: install Go 1.26 or newer to build helm" >&2
    exit 1
  fi
  echo "skipped: no go"
  exit 0
fi

if [[ ! -f "${GATEWAY_CRDS}/gateway.networking.k8s.io_httproutes.yaml" ]]; then
  echo "kiln-helm: fetching the Gateway API ${GATEWAY_VERSION} CRDs"
  DIR="$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/gateway-api@${GATEWAY_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "${DIR}/config/crd/standard" ]] || { echo "kiln-helm: no CRDs in sigs.k8s.io/gateway-api@${GATEWAY_VERSION}" >&2; exit 1; }
  mkdir -p "${GATEWAY_CRDS}"
  cp "${DIR}"/config/crd/standard/gateway.networking.k8s.io_{gatewayclasses,gateways,httproutes,referencegrants}.yaml "${GATEWAY_CRDS}/"
  chmod u+w "${GATEWAY_CRDS}"/*.yaml
fi
if [[ -x "${CACHE}/helm" ]]; then
  echo "kiln-helm: helm ${VERSION} cached in ${CACHE}"
  exit 0
fi

MAJOR="${VERSION%%.*}"          # v4.3.2 -> v4
MODULE="helm.sh/helm/${MAJOR}"
mkdir -p "${CACHE}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
START=$(date +%s)
echo "kiln-helm: building ${MODULE}/cmd/helm@${VERSION}"
# `go install pkg@version` builds in module mode from the release's own go.mod and go.sum. The version
# stamp is what helm's Makefile sets; the default Kubernetes version for `helm template` comes from the
# client-go the release requires (helm reads its own build info), so no ldflag is needed for it.
GOBIN="${CACHE}/.tmp" CGO_ENABLED=0 go install -p "${KILN_K8S_BUILD_JOBS:-2}" -trimpath \
  -ldflags "-s -w -X ${MODULE}/internal/version.version=${VERSION} -X ${MODULE}/internal/version.metadata= -X ${MODULE}/internal/version.gitTreeState=clean" \
  "${MODULE}/cmd/helm@${VERSION}"
mv "${CACHE}/.tmp/helm" "${CACHE}/helm"
rmdir "${CACHE}/.tmp" 2>/dev/null || true
"${CACHE}/helm" version --short
echo "kiln-helm: built helm ${VERSION} in $(( $(date +%s) - START ))s into ${CACHE}"
