#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler, kube-controller-manager and kubectl from the Go module
# k8s.io/kubernetes and caches the binaries. A repeat run with the binaries present is instant.
# (kubectl too: Debian has no package of it, and the tests want the control plane's own version.)
#
#   KILN_K8S_VERSION  Kubernetes release to build (default v1.36.3)
#   KILN_K8S_CACHE    where the binaries go (default ~/.cache/kiln-k8s/$KILN_K8S_VERSION/bin)
#   KILN_K8S_BUILD_JOBS  go build -p (default 2)
#   GOTOOLCHAIN       default local: the installed Go must be at least the release's go directive
#                     (go 1.26 for v1.36); GOTOOLCHAIN=auto lets Go fetch a newer toolchain instead
#
# Without Go: exits 0 saying "skipped: no go", or 1 with KILN_K8S_REQUIRE=1 (`npm run test:k8s`).
set -euo pipefail

VERSION="${KILN_K8S_VERSION:-v1.36.3}"
CACHE="${KILN_K8S_CACHE:-${HOME}/.cache/kiln-k8s/${VERSION}/bin}"
BINARIES=(kube-apiserver kube-scheduler kube-controller-manager kubectl)

have_all() {
  for b in "${BINARIES[@]}"; do [[ -x "${CACHE}/${b}" ]] || return 1; done
}

if have_all; then
  echo "kiln-k8s: ${VERSION} binaries cached in ${CACHE}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ "${KILN_K8S_REQUIRE:-}" == 1 ]]; then
    echo "kiln-k8s: Go is not installed: install Go 1.26 or newer, then run \`npm run test:k8s\` again" >&2
    exit 1
  fi
  echo "skipped: no go"
  exit 0
fi

STAGING_VERSION="v0.${VERSION#v1.}"   # v1.36.3 -> v0.36.3
WORK="$(dirname "${CACHE}")/src"
mkdir -p "${WORK}" "${CACHE}"

# k8s.io/kubernetes's own go.mod replaces every k8s.io/* staging module with ./staging/src/...,
# which a consumer cannot use; pin each of them to the matching published v0.x release instead.
# The list comes from the release's go.mod itself, so it stays right when staging modules are added.
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
echo "kiln-k8s: resolving k8s.io/kubernetes@${VERSION}"
UPSTREAM_GOMOD="$(cd "${WORK}" && go mod download -json "k8s.io/kubernetes@${VERSION}" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "${UPSTREAM_GOMOD}" ]] || { echo "kiln-k8s: cannot read go.mod of k8s.io/kubernetes@${VERSION}" >&2; exit 1; }
GO_DIRECTIVE="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${UPSTREAM_GOMOD}" | head -n1)"
STAGING=$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "${UPSTREAM_GOMOD}" | sort -u)

{
  echo "module kiln.dev/k8s-controlplane-build"
  echo
  echo "go ${GO_DIRECTIVE:-1.25}"
  echo
  echo "require k8s.io/kubernetes ${VERSION}"
  echo
  echo "replace ("
  for m in ${STAGING}; do echo "	${m} => ${m} ${STAGING_VERSION}"; done
  echo ")"
} > "${WORK}/go.mod"
cat > "${WORK}/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO

cd "${WORK}"
START=$(date +%s)
# One binary at a time, at most KILN_K8S_BUILD_JOBS (default 2) compilers: sized for a 2-core machine.
for b in "${BINARIES[@]}"; do
  [[ -x "${CACHE}/${b}" ]] && continue
  echo "kiln-k8s: building ${b} ${VERSION}"
  CGO_ENABLED=0 go build -p "${KILN_K8S_BUILD_JOBS:-2}" -trimpath -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=${VERSION} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$(echo "${VERSION}" | cut -d. -f2)" \
    -o "${CACHE}/${b}.tmp" "k8s.io/kubernetes/cmd/${b}"
  mv "${CACHE}/${b}.tmp" "${CACHE}/${b}"
done
echo "kiln-k8s: built ${BINARIES[*]} ${VERSION} in $(( $(date +%s) - START ))s into ${CACHE}"
