// Command bench measures the tenant-operator at scale on a local kwok cluster of its own.
//
//	go run ./test/bench -tenants 1000            (or: make bench)
//
// It starts a cluster with the API server's and controllers' rate limits lifted, installs
// the CRDs, the admission policy and a plan cloned from the sample plan "pro" with the
// sample product "payments" (two components), and then, in one run on the same cluster:
//
//  1. baseline: a plain client, no operator, server-side applies exactly the objects the
//     operator would create for N tenants, with the operator's concurrency, and waits for
//     every Deployment to be available (T_raw); then deletes them;
//  2. starts bin/manager and creates single tenants on the idle operator, one at a time
//     (time to Ready with simulated Pods running);
//  3. creates N tenants at once and waits until every one is Ready (T_operator, per-tenant
//     time to Ready, API requests by the operator);
//  4. steady state: counts the operator's mutating requests for a window after all are
//     Ready, restarting the operator in the middle (a forced full resync: cold caches, every
//     tenant reconciled again);
//  5. fan-out: changes the plan's quota and waits until every tenant's quota follows;
//  6. deletes the N tenants and waits until they and their namespaces are gone.
//
// With -tenancy Shared the plan gives the products with tenancy Shared: the tenants get no
// Deployments of their own and one shared instance per product version (in the product's
// shared namespace, written by the ApiProduct reconciler) serves them all. The baseline then
// applies the tenants' own objects and the shared instance's objects once, and every wait
// for Deployments waits for the shared instance's. Each run reports the objects the
// operator made, by kind, and the product Pods running once every tenant is Ready.
//
// After the plain baseline (and before the operator starts), the Helm baseline installs one
// Helm release per tenant of a chart that prints the same objects (-helm-baseline, helm.go),
// as many at a time as the plain baseline applies, waits for their Deployments (T_helm),
// counts Helm's requests in the API server's audit log, and uninstalls them.
//
// With -compare-tenancy (the default) a Dedicated run is followed by a second complete run
// with -tenancy Shared on a fresh cluster, both with product auth None, and the figures of
// one against the other (compare.go).
//
// It prints a markdown table and writes it with the JSON figures to -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/test/internal/harness"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Tenants, "tenants", cfg.Tenants, "Tenants to create (N).")
	flag.IntVar(&cfg.NamespacesPerTenant, "namespaces", cfg.NamespacesPerTenant, "Namespaces per tenant.")
	flag.IntVar(&cfg.ProductsPerTenant, "products", cfg.ProductsPerTenant, "Products per tenant (each a copy of the sample product payments: two components).")
	flag.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "Replicas of every product component.")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "The operator's --tenant-concurrency, and the baseline's parallel appliers.")
	flag.IntVar(&cfg.SoloRuns, "solo", cfg.SoloRuns, "Single tenants created one at a time on the idle operator.")
	flag.DurationVar(&cfg.SteadyWindow, "steady", cfg.SteadyWindow, "Steady-state window after all tenants are Ready; the operator is restarted at its middle.")
	flag.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "Give up a run after this long (with -compare-tenancy each of the two runs has its own).")
	flag.StringVar(&cfg.Out, "out", cfg.Out, "Directory for results.md, results.json and the operator's logs.")
	flag.StringVar(&cfg.Manager, "manager", cfg.Manager, "The operator binary.")
	flag.BoolVar(&cfg.KeepCluster, "keep-cluster", false, "Leave the cluster running afterwards (its name and kubeconfig are printed).")
	flag.BoolVar(&cfg.KeepClusterLogs, "keep-cluster-logs", false, "Before deleting the cluster, keep its logs (API server audit logs, rotated ones too, and each component's log) in <out>/cluster-logs, hard-linked where possible: what a phase's requests were, after the run.")
	flag.StringVar(&cfg.Tenancy, "tenancy", cfg.Tenancy, "The plan's tenancy of its products: Dedicated (each tenant its own Deployments) or Shared (one shared instance per product version serves every tenant; needs -auth None, the default then).")
	flag.StringVar(&cfg.Auth, "auth", cfg.Auth, "The products' auth.type: APIKey or None; empty: the sample's (APIKey) with -tenancy Dedicated, None with Shared (the bench cluster has no gateway to check keys for a shared instance).")
	flag.BoolVar(&cfg.HelmBaseline, "helm-baseline", cfg.HelmBaseline, "After the plain baseline, install one Helm release per tenant (the same objects, -concurrency at a time; no --wait, the benchmark waits for the Deployments), count Helm's requests, uninstall them (T_helm).")
	flag.StringVar(&cfg.Helm, "helm", cfg.Helm, "The helm binary of the Helm baseline (make helm).")
	flag.BoolVar(&cfg.Baseline, "baseline", cfg.Baseline, "Run the baselines (plain, and Helm with -helm-baseline) before the operator. -baseline=false measures the operator alone (no T_raw, no ratio): with -operator=false, a long run can be split in two, each part on a fresh cluster of its own.")
	flag.BoolVar(&cfg.Operator, "operator", cfg.Operator, "Run the operator's phases (single tenants, create, steady state, fan-out, delete). -operator=false measures the baselines alone.")
	flag.BoolVar(&cfg.Delete, "delete", cfg.Delete, "Measure deletion (the baselines' and the operator's). -delete=false leaves the objects to go with the cluster; it needs -baseline=false or -operator=false, so the operator never runs beside the baseline's objects.")
	flag.BoolVar(&cfg.CompareTenancy, "compare-tenancy", cfg.CompareTenancy, "After a Dedicated run, a second complete run with -tenancy Shared on a fresh cluster, and a table of one against the other. Both runs get product auth None (the only auth a shared instance can have here): -auth empty becomes None, -auth APIKey needs -compare-tenancy=false.")
	flag.Parse()

	// Only errors of the benchmark's own informers (watch failures) are worth showing.
	ctrllog.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	if err := cfg.checkParts(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := cfg.settleComparison(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if res != nil && cfg.CompareTenancy {
		// run has deleted the first cluster: one cluster at a time.
		if err != nil || ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: the Dedicated run failed: no Shared run for the comparison")
		} else {
			sc := cfg.sharedComparison()
			fmt.Fprintf(os.Stderr, "bench: == second run for -compare-tenancy: -tenancy Shared -auth None on a fresh cluster %s, files in %s\n", sc.ClusterName, sc.Out)
			sres, serr := run(ctx, sc, os.Stderr)
			if sres != nil {
				res.Shared = sres
				if werr := sres.write(sc.Out, sres.Markdown()); werr != nil {
					fmt.Fprintln(os.Stderr, "bench:", werr)
				}
			}
			if serr != nil {
				err = fmt.Errorf("the Shared run: %w", serr)
			}
		}
	}
	if res != nil {
		md := res.Markdown()
		fmt.Println(md)
		if werr := res.write(cfg.Out, md); werr != nil {
			fmt.Fprintln(os.Stderr, "bench:", werr)
		} else {
			fmt.Fprintf(os.Stderr, "bench: wrote %s and %s\n",
				filepath.Join(cfg.Out, "results.md"), filepath.Join(cfg.Out, "results.json"))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		os.Exit(1)
	}
}

// Config is one benchmark run.
type Config struct {
	Tenants             int
	NamespacesPerTenant int
	ProductsPerTenant   int
	Replicas            int
	Concurrency         int
	SoloRuns            int
	SteadyWindow        time.Duration
	Timeout             time.Duration
	Out                 string
	Manager             string
	Root                string
	ClusterName         string
	KeepCluster         bool
	// KeepClusterLogs links (or copies) the cluster's logs, rotated audit logs included,
	// into Out/cluster-logs before the cluster is deleted.
	KeepClusterLogs bool
	// Tenancy is the plan's tenancy of its products: Dedicated or Shared.
	Tenancy string
	// Auth is the products' auth.type; "" keeps the sample's (APIKey) with Dedicated and
	// is None with Shared.
	Auth string
	// HelmBaseline runs the Helm baseline (one release per tenant) after the plain one,
	// with the helm binary Helm.
	HelmBaseline bool
	Helm         string
	// Baseline, Operator and Delete choose the parts of the run (see checkParts): the
	// baselines, the operator's phases, and the deletions in both.
	Baseline, Operator, Delete bool
	// CompareTenancy makes a second, complete run with -tenancy Shared on a fresh cluster
	// after a Dedicated run (see comparison).
	CompareTenancy bool
}

func defaultConfig() Config {
	root, _ := harness.RepoRoot()
	return Config{
		Tenants:             1000,
		NamespacesPerTenant: 1,
		ProductsPerTenant:   1,
		Replicas:            1,
		Concurrency:         8,
		SoloRuns:            3,
		SteadyWindow:        60 * time.Second,
		Timeout:             75 * time.Minute,
		Out:                 filepath.Join(root, "bin", "bench"),
		Manager:             filepath.Join(root, "bin", "manager"),
		Root:                root,
		ClusterName:         fmt.Sprintf("tenant-operator-bench-%d", os.Getpid()),
		Tenancy:             string(tenancyv1alpha1.TenancyDedicated),
		HelmBaseline:        true,
		Baseline:            true,
		Operator:            true,
		Delete:              true,
		Helm:                filepath.Join(root, "bin", "helm"),
		CompareTenancy:      true,
	}
}

// checkParts refuses a choice of parts that measures nothing, or that would run the
// operator on a cluster still holding the baseline's objects. Without the baselines there
// is no Helm baseline either.
func (cfg *Config) checkParts() error {
	switch {
	case !cfg.Baseline && !cfg.Operator:
		return fmt.Errorf("-baseline=false and -operator=false leave nothing to measure")
	case !cfg.Delete && cfg.Baseline && cfg.Operator:
		return fmt.Errorf("-delete=false would leave the baseline's objects on the cluster the operator then runs on: pass -baseline=false or -operator=false (each part on its own cluster)")
	case !cfg.Delete && cfg.Baseline && cfg.HelmBaseline:
		return fmt.Errorf("the Helm baseline installs after the plain baseline's objects are deleted: pass -helm-baseline=false with -delete=false")
	case cfg.CompareTenancy && (!cfg.Baseline || !cfg.Operator || !cfg.Delete):
		return fmt.Errorf("-compare-tenancy compares complete runs: pass -compare-tenancy=false with -baseline=false, -operator=false or -delete=false")
	}
	if !cfg.Baseline {
		cfg.HelmBaseline = false
	}
	return nil
}

// skipped names the parts a run leaves out (none in a complete run).
func (cfg Config) skipped() []string {
	var out []string
	if !cfg.Baseline {
		out = append(out, "baseline")
	}
	if !cfg.Operator {
		out = append(out, "operator")
	}
	if !cfg.Delete {
		out = append(out, "delete")
	}
	return out
}
