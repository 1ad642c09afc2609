#!/usr/bin/env bash
# Tightens the schema controller-gen writes for every resource quantity in the CRDs
# (config/crd/bases): an exponent may have at most two digits, and a quantity has at most
# 64 characters. Run by `make manifests` after controller-gen; checked by
# hack/verify-generated.sh.
#
# Why: the upstream pattern accepts any exponent, and apimachinery's resource.ParseQuantity
# does not return on some of them (7E7222222221 overflows its int32 scale; 1e-100000000
# rounds a number with a hundred million digits). The API server only matches the pattern,
# so such a ServicePlan or ApiProduct would be stored, and every client that decodes it
# (the operator's informers among them) would hang. Two digits cover every real amount
# (1e18 is an exa); suffixes (500m, 4Gi, 8) are the usual way to write them anyway.
#
# Why the length: the CEL rules of the CRDs read quantities (limitRange min <= default <=
# max, whole numbers for object counts, values that fit in 64 bits when split). The API
# server estimates the cost of a rule from the largest value it may see, and without a
# maxLength an int-or-string is as long as a whole request (3 MiB), which puts those rules
# far over the CRD's cost budget. 64 characters hold any amount Kubernetes can use
# (2^63-1 has 19 digits). controller-gen has no marker for the values of a map
# (corev1.ResourceList), so the bound is added here, before the pattern.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

upstream='([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$'
tight='([eE](\+|-)?[0-9]{1,2}))?$'
maxlen=64

found=0
for f in config/crd/bases/*.yaml; do
  grep -qF -- "$upstream" "$f" || continue
  found=1
  # awk's index() matches the pattern as a plain string, so nothing needs escaping.
  awk -v from="$upstream" -v to="$tight" -v maxlen="$maxlen" '
    /^ *pattern: / && (i = index($0, from)) > 0 {
      $0 = substr($0, 1, i - 1) to substr($0, i + length(from))
      match($0, /^ */)
      if (prev !~ /^ *maxLength: /) print substr($0, 1, RLENGTH) "maxLength: " maxlen
    }
    { print; prev = $0 }
  ' "$f" >"$f.tmp"
  mv "$f.tmp" "$f"
done

# controller-gen writes every quantity this way; a release that writes them otherwise must
# be looked at, not passed over.
if [[ $found -eq 0 ]] && ! grep -qF -- "$tight" config/crd/bases/*.yaml; then
  echo "quantity-pattern.sh: no quantity pattern to tighten in config/crd/bases" >&2
  exit 1
fi
