package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
)

// settleComparison decides what -compare-tenancy runs. The comparison is a Dedicated run
// (the main one) and, after it, a complete Shared run of the same shape on a fresh cluster.
// Both runs need the same product, and a Shared product can only have auth None on the
// bench cluster (no gateway to check keys in front of a shared instance), so the main run
// uses auth None too: -auth empty becomes None, -auth APIKey is refused (pass
// -compare-tenancy=false for an APIKey run). A main run with -tenancy Shared is already the
// Shared one: no second run. -keep-cluster would keep the first cluster running beside the
// second: refused.
func (cfg *Config) settleComparison(log io.Writer) error {
	if !cfg.CompareTenancy {
		return nil
	}
	if cfg.shared() {
		fmt.Fprintln(log, "bench: -tenancy Shared: this run is the Shared one; -compare-tenancy makes a second run only after a Dedicated one")
		cfg.CompareTenancy = false
		return nil
	}
	switch tenancyv1alpha1.AuthType(cfg.Auth) {
	case "":
		cfg.Auth = string(tenancyv1alpha1.AuthNone)
	case tenancyv1alpha1.AuthNone:
	default:
		return fmt.Errorf("-compare-tenancy compares the same product in both runs, and the Shared run needs -auth None: drop -auth %s or pass -compare-tenancy=false", cfg.Auth)
	}
	if cfg.KeepCluster {
		return fmt.Errorf("-keep-cluster with -compare-tenancy would keep the first run's cluster beside the second one: pass -compare-tenancy=false")
	}
	return nil
}

// sharedComparison is the second run of -compare-tenancy: the same shape with -tenancy
// Shared, on a cluster of its own, its files in the shared directory of -out.
func (cfg Config) sharedComparison() Config {
	s := cfg
	s.Tenancy = string(tenancyv1alpha1.TenancyShared)
	s.Auth = string(tenancyv1alpha1.AuthNone)
	s.CompareTenancy = false
	s.Out = filepath.Join(cfg.Out, "shared")
	s.ClusterName = cfg.ClusterName + "-shared"
	return s
}

// comparison renders the figures of this (Dedicated) run against those of the Shared run s.
func (r *Result) comparison(s *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Shared against Dedicated\n\n%d tenants on a %s plan (this run) against %d on a %s plan (the second run, on a fresh cluster after this one's was deleted), product auth %s and %s. "+
		"Object, Pod, request and reconcile counts do not depend on the machine's load; times do: compare each run's T_operator with its own T_raw.\n\n",
		r.Setup.Tenants, r.Tenancy, s.Setup.Tenants, s.Tenancy, r.Auth, s.Auth)
	b.WriteString("| measure | " + r.Tenancy + " | " + s.Tenancy + " | " + s.Tenancy + " / " + r.Tenancy + " |\n|---|---|---|---|\n")
	row := func(name, d, sh, ratio string) { fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, d, sh, ratio) }
	ratio := func(d, sh float64) string {
		if d == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", sh/d)
	}
	count := func(name string, d, sh int) {
		row(name, fmt.Sprintf("%d", d), fmt.Sprintf("%d", sh), ratio(float64(d), float64(sh)))
	}
	secs := func(name string, d, sh float64) {
		row(name, fmt.Sprintf("%.1f s", d), fmt.Sprintf("%.1f s", sh), ratio(d, sh))
	}
	row("objects the operator made, once all Ready: total (tenants' / shared instances')",
		fmt.Sprintf("**%d** (%d / %d)", r.Objects.Total, r.Objects.Tenants, r.Objects.Shared),
		fmt.Sprintf("**%d** (%d / %d)", s.Objects.Total, s.Objects.Tenants, s.Objects.Shared), ratio(float64(r.Objects.Total), float64(s.Objects.Total)))
	for _, k := range apply.Kinds {
		if r.Objects.ByKind[k.Name] > 0 || s.Objects.ByKind[k.Name] > 0 {
			count("objects: "+k.Name, r.Objects.ByKind[k.Name], s.Objects.ByKind[k.Name])
		}
	}
	row("product Pods running, once all Ready: total (tenants' own / shared instances')",
		fmt.Sprintf("**%d** (%d / %d)", r.Pods.Running, r.Pods.Tenants, r.Pods.Shared),
		fmt.Sprintf("**%d** (%d / %d)", s.Pods.Running, s.Pods.Tenants, s.Pods.Shared), ratio(float64(r.Pods.Running), float64(s.Pods.Running)))
	count("simulated nodes", r.Setup.Nodes, s.Setup.Nodes)
	secs("wall time until all tenants Ready (T_operator)", r.Create.Wall, s.Create.Wall)
	secs("baseline: plain server-side apply of the same objects until all Deployments available (T_raw)", r.Baseline.Ready, s.Baseline.Ready)
	row("ratio T_operator / T_raw", fmt.Sprintf("%.2f", r.Ratio), fmt.Sprintf("%.2f", s.Ratio), "")
	if r.Helm != nil && s.Helm != nil {
		secs("Helm baseline, one release per tenant (T_helm)", r.Helm.Ready, s.Helm.Ready)
		row("Helm requests per tenant while installing", fmt.Sprintf("%.1f", r.Helm.RequestsPerTenant), fmt.Sprintf("%.1f", s.Helm.RequestsPerTenant),
			ratio(r.Helm.RequestsPerTenant, s.Helm.RequestsPerTenant))
	}
	perT := func(x *Result) (float64, float64) {
		return perTenant(x.Create.Requests.Total, x.Setup.Tenants), perTenant(x.Create.Requests.Mutating, x.Setup.Tenants)
	}
	dt, dm := perT(r)
	st, sm := perT(s)
	row("operator requests per tenant while creating: total / mutating", fmt.Sprintf("%.1f / %.1f", dt, dm), fmt.Sprintf("%.1f / %.1f", st, sm),
		ratio(dt, st)+" / "+ratio(dm, sm))
	dr, sr := perTenant(r.Create.Reconciles, r.Setup.Tenants), perTenant(s.Create.Reconciles, s.Setup.Tenants)
	row("tenant reconciles per tenant while creating", fmt.Sprintf("%.1f", dr), fmt.Sprintf("%.1f", sr), ratio(dr, sr))
	secs("operator CPU time while creating", r.Create.CPU, s.Create.CPU)
	row("operator peak RSS / peak Go heap", mib(float64(r.PeakRSS))+" / "+mib(r.PeakHeap), mib(float64(s.PeakRSS))+" / "+mib(s.PeakHeap),
		ratio(float64(r.PeakRSS), float64(s.PeakRSS))+" / "+ratio(r.PeakHeap, s.PeakHeap))
	secs("one tenant on an idle operator, time to Ready (p50)", r.Solo.P50, s.Solo.P50)
	secs("delete all tenants until they and their namespaces are gone", r.Delete.Wall, s.Delete.Wall)
	return b.String()
}
