#!/usr/bin/env bash
# Fetches the prometheus-operator's CRDs (monitoring.coreos.com: ServiceMonitor and the
# others) from its Go module (the module proxy is the only network here) into
# bin/prometheus-operator/crds/, for the tests. Idempotent: what is there for the version
# asked is kept.
set -euo pipefail

version=${PROMETHEUS_OPERATOR_VERSION:?set PROMETHEUS_OPERATOR_VERSION, e.g. v0.85.0}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${BIN_DIR:-$root/bin}"
module=github.com/prometheus-operator/prometheus-operator
out="$bin/prometheus-operator"

if [[ "$(cat "$out/version" 2>/dev/null)" != "$version" ]]; then
  echo "fetching the prometheus-operator $version CRDs into $out/crds"
  dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  src="$dir/example/prometheus-operator-crd"
  [[ -d "$src" ]] || { echo "prometheus-operator-crds.sh: $src not found in $module@$version" >&2; exit 1; }
  rm -rf "$out"
  mkdir -p "$out/crds"
  cp "$src"/*.yaml "$out/crds/"
  chmod -R u+w "$out"
  echo "$version" >"$out/version"
fi
