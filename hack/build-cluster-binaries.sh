#!/usr/bin/env bash
# Builds the local control plane from source into bin/: kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, kwok and kwokctl, all pinned by the
# wrapper module in hack/cluster. Idempotent: a binary that is already built from the
# current pins is skipped. The first build takes about 15 minutes on 2 cores; later
# builds come from the Go build cache.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="${BIN_DIR:-$root/bin}"
mod="$root/hack/cluster"
mkdir -p "$bin"

kube_version=$(cd "$mod" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=${kube_version#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${kube_version} \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
kwok_version=$(cd "$mod" && go list -m -f '{{.Version}}' sigs.k8s.io/kwok)
kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v} \
 -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kube_version#v}"

# name|package|ldflags
targets=(
  "etcd|go.etcd.io/etcd/server/v3|-s -w"
  "kwok|sigs.k8s.io/kwok/cmd/kwok|$kwok_ldflags"
  "kwokctl|sigs.k8s.io/kwok/cmd/kwokctl|$kwok_ldflags"
  "kube-apiserver|k8s.io/kubernetes/cmd/kube-apiserver|$kube_ldflags"
  "kube-controller-manager|k8s.io/kubernetes/cmd/kube-controller-manager|$kube_ldflags"
  "kube-scheduler|k8s.io/kubernetes/cmd/kube-scheduler|$kube_ldflags"
)

# A stamp records the pins a binary was built from; a changed go.mod rebuilds.
pins=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)

total=${#targets[@]}
i=0
for t in "${targets[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name pkg ldflags <<<"$t"
  out="$bin/$name"
  stamp="$bin/.$name.pins"
  if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
    echo "[$i/$total] $name: up to date"
    continue
  fi
  echo "[$i/$total] building $name ($pkg)..."
  start=$(date +%s)
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") &
  pid=$!
  # Look every second (a build from the Go cache takes seconds), say something every 30.
  waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if ((waited % 30 == 0)) && kill -0 "$pid" 2>/dev/null; then
      echo "      still building $name ($(( $(date +%s) - start ))s; first builds of Kubernetes take minutes)"
    fi
  done
  if ! wait "$pid"; then
    rm -f "$out.tmp"
    echo "[$i/$total] building $name failed" >&2
    exit 1
  fi
  mv "$out.tmp" "$out"
  echo "$pins" >"$stamp"
  echo "[$i/$total] $name built in $(( $(date +%s) - start ))s"
done
