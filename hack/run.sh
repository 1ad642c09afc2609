#!/usr/bin/env bash
# `make run`: runs the operator in the foreground on this machine.
#
# With KUBECONFIG set: installs the CRDs into that cluster and runs against it.
# Without: builds the local control plane from source (the first time takes about
# 15 minutes on 2 cores), starts the kwok dev cluster (hack/cluster.sh), installs
# the CRDs, applies config/samples/ and runs against it.
#
# Arguments are passed to the manager: hack/run.sh --zap-log-level=debug
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${LOCALBIN:-$root/bin}
make=("${MAKE:-make}" --no-print-directory "LOCALBIN=$bin")

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

dev_cluster=false
if [[ -n ${KUBECONFIG:-} ]]; then
  context=$(kubectl config current-context 2>/dev/null || echo "none")
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true)
  step "using KUBECONFIG=$KUBECONFIG (context $context, server ${server:-unknown})"
  step "installing the CRDs"
  "${make[@]}" install
else
  step "building the local control plane into $bin (the first build takes about 15 minutes; later ones are cached)"
  "${make[@]}" k8s-binaries
  step "starting the dev cluster"
  dev_cluster=true
  export KUBECONFIG=$bin/dev-cluster.kubeconfig
  LOCALBIN=$bin hack/cluster.sh up "${DEV_CLUSTER_NAME:-tenant-operator-dev}" "$KUBECONFIG"
  step "installing the CRDs"
  "${make[@]}" install
fi

kubectl kustomize config/crd | kubectl wait --for=condition=Established --timeout=60s -f - >/dev/null

if $dev_cluster; then
  step "applying the samples in config/samples/"
  kubectl apply -f config/samples/
fi

step "building bin/manager"
"${make[@]}" build

cat <<EOF

------------------------------------------------------------------------------
The operator runs below in the foreground; Ctrl-C stops it.
In another terminal:

  export KUBECONFIG=$KUBECONFIG
  kubectl get tenants -w                              # PLAN, NAMESPACES, PRODUCTS READY, READY
  kubectl wait --for=condition=Ready tenant --all     # returns once every tenant is ready
  kubectl get tenancy                                 # plans, products and tenants
EOF
if $dev_cluster; then
  cat <<EOF

The dev cluster keeps running after Ctrl-C (make run again reuses it);
make dev-cluster-down deletes it.
EOF
fi
echo "------------------------------------------------------------------------------"
echo

exec "$bin/manager" "$@"
