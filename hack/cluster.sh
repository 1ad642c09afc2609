#!/usr/bin/env bash
# Local Kubernetes clusters for development, end-to-end tests and benchmarks.
#
# A cluster is made by kwokctl with the binary runtime from the control-plane
# binaries in bin/ (built from source by hack/build-cluster-binaries.sh): a real
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler, plus kwok, which
# simulates nodes and marks scheduled Pods Running. No Docker, no downloads.
#
#   hack/cluster.sh up NAME KUBECONFIG      start NAME (or reuse it) and write its kubeconfig
#   hack/cluster.sh down NAME [KUBECONFIG]  delete NAME (and the kubeconfig file, if given)
#   hack/cluster.sh list                    names of the clusters that exist
#
# Environment: LOCALBIN (default <repo>/bin), NODES (simulated nodes, default 3),
# KWOK_WORKDIR (cluster state, default $LOCALBIN/kwok-workdir), CREATE_ARGS (extra
# `kwokctl create cluster` flags for a new cluster, e.g. --disable-qps-limits, which the
# benchmark uses to lift the API server's and controllers' rate limits), STAGES (a file
# or directory of kwok Stage objects, e.g. hack/stages: a new cluster is created with
# kwok's Stage API, --enable-crds=Stage, and these are applied before any node exists;
# they are then the cluster's only stages, as kwokctl gives such a cluster none of its
# default ones. The e2e suite uses it to have Pods of a chosen image never become Ready.)
#
# Every component listens on 127.0.0.1 on ports that kwokctl picks free at creation
# (see hack/kwokctl.yaml), so several clusters run side by side: `make dev-cluster`,
# each e2e run and benchmarks each use their own NAME.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LOCALBIN:-$root/bin}
nodes=${NODES:-3}
# Not bin/kwok: that is the kwok binary.
export KWOK_WORKDIR=${KWOK_WORKDIR:-$bin/kwok-workdir}
kwokctl=("$bin/kwokctl" -c "$root/hack/kwokctl.yaml")
# Ports are a machine-wide resource, so the lock is too (see up).
lock=${TMPDIR:-/tmp}/kwokctl-create.lock

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  cat >&2 <<EOF
usage: hack/cluster.sh up NAME KUBECONFIG
       hack/cluster.sh down NAME [KUBECONFIG]
       hack/cluster.sh list
EOF
  exit 2
}

# exists NAME: whether kwokctl knows the cluster NAME. The list is read whole before it
# is matched: `kwokctl get clusters | grep -q` would, under pipefail, fail whenever grep
# exits at its match before kwokctl has written everything (kwokctl dies of SIGPIPE), and
# `down` would then leave an existing cluster running as "does not exist".
# A kwokctl that fails is an error, not an answer: `down` must not skip a cluster because
# it could not list it. (Without a kwokctl binary no cluster was made by it.)
exists() {
  [[ -x $bin/kwokctl ]] || return 1
  local clusters errors
  errors=$(mktemp)
  if ! clusters=$("${kwokctl[@]}" get clusters 2>"$errors"); then
    cat "$errors" >&2
    rm -f "$errors"
    die "kwokctl get clusters failed"
  fi
  rm -f "$errors"
  grep -Fxq -- "$1" <<<"$clusters"
}

# Runs kwokctl quietly (its logs are JSON when not on a terminal) and shows its
# output only when it fails.
run_kwokctl() {
  local out
  if ! out=$("${kwokctl[@]}" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# elapsed START: seconds since START (date +%s.%N), to a tenth.
elapsed() {
  awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1fs", e - s }'
}

api_ready() {
  kubectl --kubeconfig "$1" get --raw=/readyz >/dev/null 2>&1
}

# apply_stages KUBECONFIG PATH: applies the Stage objects of PATH (again, on a restart:
# they are kept in etcd, but the files may have changed). kwokctl has created the Stage
# CRD just before it returns, and a kubectl apply right then can find it not served yet,
# so a failure is retried for a few seconds. A cluster created without STAGES has no Stage
# CRD, and then it fails for good.
apply_stages() {
  local kubeconfig=$1 stages=$2 out i
  for i in $(seq 50); do
    if out=$(kubectl --kubeconfig "$kubeconfig" apply --server-side -f "$stages" 2>&1); then
      say "applied the kwok stages of $stages: $(grep -c . <<<"$out") stages"
      return 0
    fi
    sleep 0.2
  done
  printf '%s\n' "$out" >&2
  die "applying the kwok stages of $stages failed (a cluster created without STAGES has no Stage API: recreate it)"
}

write_kubeconfig() {
  local name=$1 kubeconfig=$2
  mkdir -p "$(dirname "$kubeconfig")"
  "${kwokctl[@]}" --name "$name" get kubeconfig >"$kubeconfig.tmp"
  mv "$kubeconfig.tmp" "$kubeconfig"
}

up() {
  [[ $# -eq 2 ]] || usage
  local name=$1 kubeconfig=$2
  case $kubeconfig in /*) ;; *) kubeconfig=$PWD/$kubeconfig ;; esac

  local b missing=()
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl; do
    [[ -x $bin/$b ]] || missing+=("$b")
  done
  [[ ${#missing[@]} -eq 0 ]] || die "missing ${missing[*]} in $bin: run 'make k8s-binaries' first"
  command -v kubectl >/dev/null || die "kubectl is not on PATH"
  mkdir -p "$KWOK_WORKDIR"

  local stages=${STAGES:-}
  if [[ -n $stages ]]; then
    case $stages in /*) ;; *) stages=$PWD/$stages ;; esac
    [[ -e $stages ]] || die "STAGES: $stages does not exist"
  fi

  local start
  start=$(date +%s.%N)
  if exists "$name"; then
    write_kubeconfig "$name" "$kubeconfig"
    if api_ready "$kubeconfig"; then
      say "cluster $name is already running (kubeconfig: $kubeconfig)"
      return 0
    fi
    say "cluster $name exists but is stopped; starting it..."
    run_kwokctl --name "$name" start cluster ||
      die "could not restart $name; recreate it: hack/cluster.sh down $name && hack/cluster.sh up $name $kubeconfig"
  else
    say "creating cluster $name (kwokctl binary runtime, binaries from $bin)..."
    # kwokctl picks free ports by probing them; the lock keeps two concurrent
    # creations (say, make dev-cluster and an e2e run, maybe from another checkout)
    # from picking the same ones. -o: the cluster's daemons must not inherit it.
    flock -o -w 300 -E 75 "$lock" "${kwokctl[@]}" create cluster \
      --name "$name" \
      --runtime binary \
      --etcd-binary "$bin/etcd" \
      --kube-apiserver-binary "$bin/kube-apiserver" \
      --kube-controller-manager-binary "$bin/kube-controller-manager" \
      --kube-scheduler-binary "$bin/kube-scheduler" \
      --kwok-controller-binary "$bin/kwok" \
      --kubeconfig "" \
      ${stages:+--enable-crds=Stage} \
      ${CREATE_ARGS:-} \
      --wait 2m >"$KWOK_WORKDIR/$name.create.log" 2>&1 || {
        rc=$?
        [[ $rc -ne 75 ]] || die "waited 5 minutes for $lock, held by another cluster creation"
        cat "$KWOK_WORKDIR/$name.create.log" >&2
        die "creating cluster $name failed; component logs are in $KWOK_WORKDIR/clusters/$name/logs"
      }
    rm -f "$KWOK_WORKDIR/$name.create.log"
  fi
  write_kubeconfig "$name" "$kubeconfig"
  if [[ -n $stages ]]; then apply_stages "$kubeconfig" "$stages"; fi

  say "adding $nodes simulated nodes..."
  run_kwokctl --name "$name" scale node --replicas "$nodes" || die "adding nodes to $name failed"
  kubectl --kubeconfig "$kubeconfig" wait --for=condition=Ready node --all --timeout=60s >/dev/null
  # A zone per node (zone-a, zone-b, zone-c, then round again), as a cloud's nodes have:
  # the topology spread of highly available product instances has zones to spread over.
  local zones=(zone-a zone-b zone-c) i=0 node z
  local -a in_zone=("" "" "")
  for node in $(kubectl --kubeconfig "$kubeconfig" get nodes -o name | sort); do
    in_zone[i % 3]+=" $node"
    i=$((i + 1))
  done
  for z in 0 1 2; do
    # shellcheck disable=SC2086 # a list of node names
    [[ -z ${in_zone[z]} ]] || kubectl --kubeconfig "$kubeconfig" label ${in_zone[z]} --overwrite "topology.kubernetes.io/zone=${zones[z]}" >/dev/null
  done

  local server
  server=$(kubectl --kubeconfig "$kubeconfig" config view -o jsonpath='{.clusters[0].cluster.server}')
  say "cluster $name is up in $(elapsed "$start"): API server $server, $nodes nodes (zones ${zones[*]:0:nodes}), kubeconfig $kubeconfig"
}

down() {
  [[ $# -ge 1 && $# -le 2 ]] || usage
  local name=$1 kubeconfig=${2:-}
  if exists "$name"; then
    say "deleting cluster $name..."
    # kwokctl insists on a kubeconfig to remove its context from; ours are written by
    # `up` and deleted below, so give it a scratch file.
    local scratch
    scratch=$(mktemp)
    run_kwokctl --name "$name" delete cluster --kubeconfig "$scratch" || {
      rm -f "$scratch"
      die "deleting cluster $name failed"
    }
    rm -f "$scratch"
    say "cluster $name deleted"
  else
    say "cluster $name does not exist"
  fi
  if [[ -n $kubeconfig ]]; then rm -f "$kubeconfig"; fi
}

list() {
  [[ $# -eq 0 ]] || usage
  [[ -x $bin/kwokctl ]] || exit 0
  "${kwokctl[@]}" get clusters 2>/dev/null
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
  up) up "$@" ;;
  down) down "$@" ;;
  list) list "$@" ;;
  *) usage ;;
esac
