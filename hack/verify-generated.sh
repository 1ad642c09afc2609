#!/usr/bin/env bash
# Fails when the generated files are stale: regenerates them with
# `make generate manifests api-docs` and compares with what was there before. Works in a
# dirty tree (it compares files, not git state). When they differ the regenerated
# files are left in place, ready to commit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

generated=(
  api/v1alpha1/zz_generated.deepcopy.go
  config/crd/bases
  config/rbac/role.yaml
  # Written by hack/sync-chart.sh (make manifests) from config/crd and config/rbac (and
  # the policy templates, see copy_to).
  charts/tenant-operator/crds
  charts/tenant-operator/templates/clusterrole.yaml
  docs/api-reference.md
)

snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT

# copy_to DIR: copies the generated files that exist into DIR, keeping their paths. The
# chart's policy templates (one per file of config/policy) are looked up at each call, so
# that a template added or removed by the regeneration shows too.
copy_to() {
  local p
  mkdir -p "$1"
  for p in "${generated[@]}" charts/tenant-operator/templates/policy-*.yaml; do
    if [[ -e $p ]]; then
      mkdir -p "$1/$(dirname "$p")"
      cp -R "$p" "$1/$p"
    fi
  done
}

copy_to "$snap/before"
"${MAKE:-make}" --no-print-directory generate manifests api-docs
copy_to "$snap/after"

if diff -r "$snap/before" "$snap/after" >/dev/null; then
  echo "generated files are up to date"
  exit 0
fi

echo "changed:"
# `diff -rq` names each changed, added or removed file once.
diff -rqN "$snap/before" "$snap/after" | sed -E "s#^Files $snap/before/([^ ]+) and .*#  \1#" || true
echo
diff -ruN "$snap/before" "$snap/after" | sed "s#$snap/before/##; s#$snap/after/##" | head -n 200 || true
echo
echo "generated files were stale: they are regenerated now, commit them"
exit 1
