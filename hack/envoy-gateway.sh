#!/usr/bin/env bash
# Fetches the parts of Envoy Gateway the tests and `make run` use, from its Go module (the
# module proxy is the only network here), into bin/; `crds` or `egctl` fetches one of them,
# no argument both:
#   bin/envoy-gateway/crds/  Envoy Gateway's own CRDs (gateway.envoyproxy.io), the
#                            generated/ set of its Helm chart (without the Gateway API
#                            CRDs it bundles), installed server-side (envoyproxies is too
#                            large for a client-side apply's annotation);
#   bin/egctl                Envoy Gateway's CLI, whose `egctl x translate` turns Gateway
#                            API and Envoy Gateway objects into the Envoy configuration the
#                            gateway would serve (the first build takes about 10 minutes
#                            on 2 cores; later ones come from the Go build cache in ~20 s).
# Idempotent: what is already there for the version asked is kept.
set -euo pipefail

version=${ENVOY_GATEWAY_VERSION:?set ENVOY_GATEWAY_VERSION, e.g. v1.9.1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${BIN_DIR:-$root/bin}"
module=github.com/envoyproxy/gateway
mkdir -p "$bin"

want=${1:-all}
case $want in crds | egctl | all) ;; *) echo "usage: envoy-gateway.sh [crds|egctl]" >&2; exit 2 ;; esac

crds="$bin/envoy-gateway/crds"
if [[ $want != egctl && "$(cat "$bin/envoy-gateway/version" 2>/dev/null)" != "$version" ]]; then
  echo "fetching the Envoy Gateway $version CRDs into $crds"
  dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  src="$dir/charts/gateway-helm/charts/crds/crds/generated"
  [[ -d "$src" ]] || { echo "envoy-gateway.sh: $src not found in $module@$version" >&2; exit 1; }
  rm -rf "$bin/envoy-gateway"
  mkdir -p "$crds"
  cp "$src"/*.yaml "$crds/"
  chmod -R u+w "$bin/envoy-gateway"
  echo "$version" >"$bin/envoy-gateway/version"
fi

if [[ $want != crds ]] && [[ "$(cat "$bin/.egctl-version" 2>/dev/null)" != "$version" || ! -x "$bin/egctl" ]]; then
  echo "building egctl $version into $bin (from the Go build cache when warm, else ~10 min)"
  GOBIN="$bin" GOFLAGS=-mod=mod go install -ldflags '-s -w' "$module/cmd/egctl@$version"
  echo "$version" >"$bin/.egctl-version"
fi
