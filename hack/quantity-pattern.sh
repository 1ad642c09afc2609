#!/usr/bin/env bash
# Tightens the pattern controller-gen writes for every resource quantity in the CRDs
# (config/crd/bases): an exponent may have at most two digits. Run by `make manifests`
# after controller-gen; checked by hack/verify-generated.sh.
#
# Why: the upstream pattern accepts any exponent, and apimachinery's resource.ParseQuantity
# does not return on some of them (7E7222222221 overflows its int32 scale; 1e-100000000
# rounds a number with a hundred million digits). The API server only matches the pattern,
# so such a ServicePlan or ApiProduct would be stored, and every client that decodes it
# (the operator's informers among them) would hang. Two digits cover every real amount
# (1e18 is an exa); suffixes (500m, 4Gi, 8) are the usual way to write them anyway.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

upstream='([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$'
tight='([eE](\+|-)?[0-9]{1,2}))?$'

found=0
for f in config/crd/bases/*.yaml; do
  grep -qF -- "$upstream" "$f" || continue
  found=1
  # awk's index() matches the pattern as a plain string, so nothing needs escaping.
  awk -v from="$upstream" -v to="$tight" '
    /^ *pattern: / && (i = index($0, from)) > 0 { $0 = substr($0, 1, i - 1) to substr($0, i + length(from)) }
    { print }
  ' "$f" >"$f.tmp"
  mv "$f.tmp" "$f"
done

# controller-gen writes every quantity this way; a release that writes them otherwise must
# be looked at, not passed over.
if [[ $found -eq 0 ]] && ! grep -qF -- "$tight" config/crd/bases/*.yaml; then
  echo "quantity-pattern.sh: no quantity pattern to tighten in config/crd/bases" >&2
  exit 1
fi
