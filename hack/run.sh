#!/usr/bin/env bash
# `make run`: runs the operator in the foreground on this machine.
#
# With KUBECONFIG set: installs the CRDs into that cluster and runs against it.
# Without: builds the local control plane from source (the first time takes about
# 15 minutes on 2 cores), starts the kwok dev cluster (hack/cluster.sh), installs
# the CRDs, applies config/samples/ and runs against it.
#
# The manager's metrics (HTTPS, authenticated and authorized by the cluster's API server)
# and probes listen on loopback only: 127.0.0.1:8443 and 127.0.0.1:8081.
#
# Arguments are passed to the manager after those defaults, so they can override them:
# hack/run.sh --zap-log-level=debug --metrics-bind-address=127.0.0.1:9443
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${LOCALBIN:-$root/bin}
make=("${MAKE:-make}" --no-print-directory "LOCALBIN=$bin")

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

dev_cluster=false
metrics_sa=tenant-operator-metrics-scraper

# Where the manager listens: loopback, unless the arguments say otherwise (the last
# --metrics-bind-address wins, as in the manager).
manager_args=(--metrics-bind-address=127.0.0.1:8443 --health-probe-bind-address=127.0.0.1:8081 "$@")
metrics_addr=127.0.0.1:8443
metrics_scheme=https
prev=
for a in "${manager_args[@]}"; do
  case $a in
    --metrics-bind-address=*) metrics_addr=${a#*=} ;;
    --metrics-secure=false) metrics_scheme=http ;;
    --metrics-secure=true | --metrics-secure) metrics_scheme=https ;;
  esac
  [[ $prev != --metrics-bind-address ]] || metrics_addr=$a
  prev=$a
done
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
  # What the samples' exposure needs: the Gateway API (standard channel, from the pinned Go
  # module) and Envoy Gateway's policy CRDs (the payments sample has policies
  # EnvoyGateway). No gateway runs here: the routes and policies are objects to look at.
  step "installing the Gateway API and Envoy Gateway CRDs"
  gateway_api=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
  kubectl apply --server-side -f "$gateway_api/config/crd/standard/" >/dev/null
  "${make[@]}" envoy-gateway-crds
  kubectl apply --server-side -f "$bin/envoy-gateway/crds/" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  step "applying the samples in config/samples/"
  kubectl apply -f config/samples/
  # A reader of the metrics: the ClusterRole metrics-reader as config/default names it,
  # bound to a ServiceAccount whose tokens the banner below shows how to use.
  step "letting ServiceAccount default/$metrics_sa read the metrics"
  kubectl kustomize config/default |
    kubectl apply --server-side -l app.kubernetes.io/component=metrics-reader -f -
  kubectl create serviceaccount "$metrics_sa" -n default --dry-run=client -o yaml | kubectl apply --server-side -f -
  kubectl create clusterrolebinding "$metrics_sa" --clusterrole=tenant-operator-metrics-reader \
    --serviceaccount="default:$metrics_sa" --dry-run=client -o yaml | kubectl apply --server-side -f -
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
  kubectl get apiproducts -w                          # ROLLOUT and WAVE of a change in waves

A rollout to try (the reports sample moves globex, then the enterprise plan, then everyone):

  kubectl patch apiproduct reports --type=json -p '[{"op":"replace","path":"/spec/versions/0/components/0/image","value":"registry.k8s.io/e2e-test-images/agnhost:2.54"}]'
  kubectl wait --for=condition=Ready apiproduct/reports --timeout=5m
  kubectl events --for apiproduct/reports

What the gateway would enforce for acme's payments (policies EnvoyGateway: API key, rate limit):

  kubectl get securitypolicy,backendtrafficpolicy,httproute -n acme payments -o yaml
  kubectl get secret -n acme payments-gateway-keys -o jsonpath='{.data}'   # the keys the gateway accepts

globex (free plan) gets payments from its shared instance: no payments Pods of its own.

  kubectl get deploy,pods -n shared-payments            # the shared instance
  kubectl get httproute payments -n globex -o yaml      # backend shared-payments/payments-v2-api, X-Tenant: globex
  kubectl get apiproduct payments -o jsonpath='{.status.sharedInstances}'; echo
EOF
if [[ $metrics_addr == 0 ]]; then
  echo
  echo "Metrics are off (--metrics-bind-address=0)."
elif [[ $metrics_scheme == http ]]; then
  cat <<EOF

Metrics over plain HTTP, without authentication (--metrics-secure=false, for debugging only):

  curl -s http://$metrics_addr/metrics | grep '^tenant_operator_'
EOF
else
  cat <<EOF

Metrics: HTTPS on $metrics_addr (a self-signed certificate, hence curl -k), for a bearer
token allowed to get /metrics. The operator checks each token with the cluster's API server
(TokenReview, SubjectAccessReview), as the user of \$KUBECONFIG, who may need to create both.
EOF
  if $dev_cluster; then
    cat <<EOF
ServiceAccount default/$metrics_sa is bound to the ClusterRole tenant-operator-metrics-reader:

  TOKEN=\$(kubectl create token $metrics_sa -n default)
  curl -sk -H "Authorization: Bearer \$TOKEN" https://$metrics_addr/metrics | grep '^tenant_operator_'
EOF
  else
    cat <<EOF
Bind a ServiceAccount to the ClusterRole tenant-operator-metrics-reader (config/default, or
the chart's <fullname>-metrics-reader, installs it) and use one of its tokens:

  kubectl create serviceaccount $metrics_sa -n default
  kubectl create clusterrolebinding $metrics_sa --clusterrole=tenant-operator-metrics-reader --serviceaccount=default:$metrics_sa
  TOKEN=\$(kubectl create token $metrics_sa -n default)
  curl -sk -H "Authorization: Bearer \$TOKEN" https://$metrics_addr/metrics | grep '^tenant_operator_'
EOF
  fi
fi
if $dev_cluster; then
  cat <<EOF

The dev cluster keeps running after Ctrl-C (make run again reuses it);
make dev-cluster-down deletes it.
EOF
fi
echo "------------------------------------------------------------------------------"
echo

exec "$bin/manager" "${manager_args[@]}"
