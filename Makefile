# Image built by `make docker-build`.
IMG ?= tenant-operator:latest
# Where `make build-installer` writes the install bundle.
INSTALLER ?= dist/install.yaml

# Tools, the source-built control plane, the operator binary and local cluster
# state all live in bin/ (ignored by git).
LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
CONTROLLER_TOOLS_VERSION ?= v0.23.0
CRD_REF_DOCS ?= $(LOCALBIN)/crd-ref-docs
CRD_REF_DOCS_VERSION ?= v0.3.0
HELM ?= $(LOCALBIN)/helm
HELM_VERSION ?= v3.22.0
HELM_K8S_MINOR ?= 37
# Envoy Gateway: its CRDs and egctl (the translator the e2e tests check policies with).
ENVOY_GATEWAY_VERSION ?= v1.9.1
# The prometheus-operator, whose ServiceMonitor CRD the tests install.
PROMETHEUS_OPERATOR_VERSION ?= v0.85.0
KUBECTL ?= kubectl
DOCKER ?= docker

# The cluster made by `make dev-cluster` and used by `make run`.
DEV_CLUSTER_NAME ?= tenant-operator-dev
DEV_KUBECONFIG ?= $(LOCALBIN)/dev-cluster.kubeconfig

# Flags for the manager in `make run`, e.g. RUN_ARGS=--zap-log-level=debug.
RUN_ARGS ?=

# Extra flags for the envtest suites, e.g. ENVTEST_FLAGS='-run TestDeletion'.
ENVTEST_FLAGS ?=

# Extra flags for the e2e suite, e.g. E2E_FLAGS='-run TestRollout'.
E2E_FLAGS ?=

# pipefail: a pipeline fails when any command in it does. So never pipe a command into
# one that may exit before reading everything (grep -q, head): the writer can die of
# SIGPIPE and fail the pipeline; capture the output first (grep -q <<<"$$(cmd)").
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show the targets and what they do.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods (api/v1alpha1/zz_generated.deepcopy.go).
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs (config/crd/bases, quantity exponents limited to two digits) and the manager ClusterRole (config/rbac/role.yaml), and copy them and config/policy into the Helm chart.
	$(CONTROLLER_GEN) crd rbac:roleName=manager-role paths=./... output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@hack/quantity-pattern.sh
	@hack/sync-chart.sh

.PHONY: api-docs
api-docs: crd-ref-docs ## Generate docs/api-reference.md from the doc comments and markers of api/v1alpha1.
	$(CRD_REF_DOCS) --source-path=api/v1alpha1 --config=hack/crd-ref-docs/config.yaml \
		--renderer=markdown --templates-dir=hack/crd-ref-docs/markdown --output-path=docs/api-reference.md --log-level=WARN

.PHONY: verify-generated
verify-generated: ## Fail when the generated files are stale (regenerates them, so they can be committed).
	@hack/verify-generated.sh

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

##@ Test

.PHONY: test
test: verify-generated vet test-unit test-envtest test-e2e test-bench ## Everything CI runs: generated files, vet, unit, envtest, e2e tests and a 20-tenant benchmark run.

.PHONY: test-unit
test-unit: ## Unit tests: pure code, no cluster (the manager's flags, and the test harness's own tests too).
	go test -count=1 ./api/... ./cmd/... ./internal/... ./test/internal/...

.PHONY: test-envtest
test-envtest: k8s-binaries envoy-gateway-crds prometheus-operator-crds ## Controller tests against a real kube-apiserver and etcd (envtest, no controller-manager).
	KUBEBUILDER_ASSETS=$(LOCALBIN) ENVOY_GATEWAY_CRDS=$(LOCALBIN)/envoy-gateway/crds PROMETHEUS_OPERATOR_CRDS=$(LOCALBIN)/prometheus-operator/crds go test ./controllers/... -v -count=1 $(ENVTEST_FLAGS)

.PHONY: test-e2e
test-e2e: k8s-binaries build helm envoy-gateway prometheus-operator-crds ## End-to-end tests: bin/manager against a kwok cluster of its own (with Envoy Gateway's CRDs and egctl, and the prometheus-operator's CRDs).
	E2E_MANAGER=$(LOCALBIN)/manager E2E_HELM=$(HELM) E2E_ENVOY_GATEWAY_CRDS=$(LOCALBIN)/envoy-gateway/crds E2E_EGCTL=$(LOCALBIN)/egctl E2E_PROMETHEUS_OPERATOR_CRDS=$(LOCALBIN)/prometheus-operator/crds go test ./test/e2e/... -v -count=1 -timeout 20m $(E2E_FLAGS)

# Flags for `make bench`, e.g. BENCH_ARGS='-tenants=200 -namespaces=3'.
BENCH_ARGS ?=

.PHONY: test-bench
test-bench: k8s-binaries build helm ## The benchmark with 20 tenants (and its Helm baseline) on its own cluster: checks the run is correct, not its timings.
	BENCH_MANAGER=$(LOCALBIN)/manager BENCH_HELM=$(HELM) go test ./test/bench/... -v -count=1 -timeout 15m

.PHONY: bench
bench: k8s-binaries build helm ## Benchmark 1000 tenants (BENCH_ARGS to change) against a plain-apply and a Helm baseline, then Shared against Dedicated; writes bin/bench/results.{md,json}.
	go run ./test/bench -manager $(LOCALBIN)/manager -helm $(HELM) -out $(LOCALBIN)/bench $(BENCH_ARGS)

.PHONY: bench-render
bench-render: ## Go benchmarks of the render functions, with allocations.
	go test -run '^$$' -bench . -benchmem ./internal/...

##@ Build

.PHONY: build
build: ## Build the operator into bin/manager.
	go build -o $(LOCALBIN)/manager ./cmd

.PHONY: run
run: manifests generate ## Run the operator in the foreground: against KUBECONFIG if set, else in a dev cluster it starts.
	@DEV_CLUSTER_NAME=$(DEV_CLUSTER_NAME) hack/run.sh $(RUN_ARGS)

.PHONY: docker-build
docker-build: ## Build the image IMG (default tenant-operator:latest). Needs a Docker engine.
	$(DOCKER) build -t $(IMG) .

build-installer: manifests ## Write dist/install.yaml (or INSTALLER): CRDs, RBAC, the manager (image IMG), its metrics Service and the admission policy.
	@mkdir -p $(dir $(INSTALLER))
	@{ echo "# tenant-operator install bundle: kubectl apply --server-side -f dist/install.yaml"; \
	  $(KUBECTL) kustomize config/default | sed 's|image: tenant-operator:latest|image: $(IMG)|'; \
	  echo "---"; $(KUBECTL) kustomize config/policy; } > $(INSTALLER)
	@echo "wrote $(INSTALLER) ($$(grep -c '^kind:' $(INSTALLER)) objects, image $(IMG))"

.PHONY: chart-lint
chart-lint: helm ## Lint the Helm chart charts/tenant-operator.
	$(HELM) lint --strict charts/tenant-operator

##@ Cluster

.PHONY: install
install: ## Install the CRDs (and config/policy if present) into the cluster of KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/crd
	@if [ -d config/policy ]; then echo "$(KUBECTL) apply --server-side -k config/policy"; $(KUBECTL) apply --server-side -k config/policy; fi

.PHONY: uninstall
uninstall: ## Remove the CRDs, and with them every ServicePlan, ApiProduct and Tenant.
	@if [ -d config/policy ]; then echo "$(KUBECTL) delete --ignore-not-found -k config/policy"; $(KUBECTL) delete --ignore-not-found -k config/policy; fi
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: dev-cluster
dev-cluster: k8s-binaries ## Start the local kwok cluster tenant-operator-dev (3 nodes), kubeconfig bin/dev-cluster.kubeconfig.
	@hack/cluster.sh up $(DEV_CLUSTER_NAME) $(DEV_KUBECONFIG)

.PHONY: dev-cluster-down
dev-cluster-down: ## Delete the local kwok cluster tenant-operator-dev.
	@hack/cluster.sh down $(DEV_CLUSTER_NAME) $(DEV_KUBECONFIG)

##@ Dependencies

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: k8s-binaries
k8s-binaries: | $(LOCALBIN) ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kwokctl from source into bin/ (first time ~15 min).
	@BIN_DIR=$(LOCALBIN) hack/build-cluster-binaries.sh

.PHONY: envoy-gateway
envoy-gateway: envoy-gateway-crds egctl ## Envoy Gateway's CRDs and egctl, as the tests use them.

.PHONY: envoy-gateway-crds
envoy-gateway-crds: | $(LOCALBIN) ## Fetch Envoy Gateway v1.9.1's CRDs (gateway.envoyproxy.io) from its Go module into bin/envoy-gateway/crds.
	@BIN_DIR=$(LOCALBIN) ENVOY_GATEWAY_VERSION=$(ENVOY_GATEWAY_VERSION) hack/envoy-gateway.sh crds

.PHONY: prometheus-operator-crds
prometheus-operator-crds: | $(LOCALBIN) ## Fetch the prometheus-operator v0.85.0 CRDs (monitoring.coreos.com) from its Go module into bin/prometheus-operator/crds.
	@BIN_DIR=$(LOCALBIN) PROMETHEUS_OPERATOR_VERSION=$(PROMETHEUS_OPERATOR_VERSION) hack/prometheus-operator-crds.sh

.PHONY: egctl
egctl: | $(LOCALBIN) ## Build Envoy Gateway v1.9.1's egctl (its translator checks the operator's policies) into bin/ (first build ~10 min, then ~20 s from the Go build cache).
	@BIN_DIR=$(LOCALBIN) ENVOY_GATEWAY_VERSION=$(ENVOY_GATEWAY_VERSION) hack/envoy-gateway.sh egctl

.PHONY: controller-gen
controller-gen: | $(LOCALBIN) ## Install controller-gen v0.23.0 into bin/ unless it is there.
	@if ! grep -qx 'Version: $(CONTROLLER_TOOLS_VERSION)' <<<"$$("$(CONTROLLER_GEN)" --version 2>/dev/null)"; then \
		echo "installing controller-gen $(CONTROLLER_TOOLS_VERSION) into $(LOCALBIN)"; \
		GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION); \
	fi

.PHONY: crd-ref-docs
crd-ref-docs: | $(LOCALBIN) ## Install crd-ref-docs v0.3.0 (API reference generator) into bin/ unless it is there.
	@if ! grep -qx 'Version: $(CRD_REF_DOCS_VERSION)' <<<"$$("$(CRD_REF_DOCS)" --version 2>/dev/null)"; then \
		echo "installing crd-ref-docs $(CRD_REF_DOCS_VERSION) into $(LOCALBIN)"; \
		GOBIN=$(LOCALBIN) go install github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION); \
	fi

# The -X flags are those of helm's own release build: the version `helm version` reports
# (a plain go install says "v3.22") and the Kubernetes version `helm template` and `helm
# lint` assume, 1.<minor of helm's k8s.io/client-go> (a plain go install says 1.20, which
# the chart's kubeVersion refuses).
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,chartutil lint/rules,-X helm.sh/helm/v3/pkg/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$(p).k8sVersionMinor=$(HELM_K8S_MINOR))

.PHONY: helm
helm: | $(LOCALBIN) ## Install helm v3.22.0 into bin/ unless it is there (built from the Go module proxy, ~2 min).
	@if ! grep -qx '$(HELM_VERSION)' <<<"$$("$(HELM)" version --template '{{.Version}}' 2>/dev/null)"; then \
		echo "installing helm $(HELM_VERSION) into $(LOCALBIN)"; \
		GOBIN=$(LOCALBIN) go install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
	fi
