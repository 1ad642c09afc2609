package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchHelm is the helm binary of the tests: $BENCH_HELM (make test-bench sets it), else
// bin/helm.
func benchHelm(t *testing.T, cfg Config) string {
	t.Helper()
	if h := os.Getenv("BENCH_HELM"); h != "" {
		cfg.Helm = h
	}
	if _, err := os.Stat(cfg.Helm); err != nil {
		t.Fatalf("the helm binary: %v (make helm, or set BENCH_HELM)", err)
	}
	return cfg.Helm
}

// TestHelmChartGivesTheRenderedObjects: the Helm baseline's chart, with a release's values,
// renders exactly the objects the render package gives (those the plain baseline applies),
// for a Dedicated tenant with API-key credentials, a Shared tenant and a shared instance;
// and the comparison notices objects that differ.
func TestHelmChartGivesTheRenderedObjects(t *testing.T) {
	base := defaultConfig()
	if base.Root == "" {
		t.Fatal("run from inside the repository")
	}
	h := newHelm(benchHelm(t, base), t.TempDir())
	h.kubeconfig = ""
	dir := t.TempDir()
	chart, err := writeHelmChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, tc := range []struct {
		tenancy, auth string
		namespaces    int
		kinds         []string // some kinds the release must hold
	}{
		{tenancy: "Dedicated", namespaces: 2, kinds: []string{"Namespace", "Deployment", "Secret", "ClusterRole"}},
		{tenancy: "Shared", auth: "None", namespaces: 1, kinds: []string{"Namespace", "ResourceQuota"}},
	} {
		cfg := base
		cfg.Tenancy, cfg.Auth, cfg.NamespacesPerTenant = tc.tenancy, tc.auth, tc.namespaces
		w, err := newWorkload(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var rels []helmRelease
		var namespaces []string
		for i := 1; i <= 2; i++ {
			tn := w.tenant(prefixHelm, i)
			objects, err := w.rendered(tn)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, o := range objects {
				kinds[o.Kind] = true
				if o.Kind == "Namespace" {
					namespaces = append(namespaces, o.Name)
				}
			}
			for _, k := range tc.kinds {
				if !kinds[k] {
					t.Errorf("%s: tenant %s has no %s", tc.tenancy, tn.Name, k)
				}
			}
			rels = append(rels, helmRelease{name: tn.Name, values: filepath.Join(dir, tc.tenancy, tn.Name+".yaml"), objects: objects})
		}
		if shared := w.renderedShared(namespaces); len(shared) > 0 {
			rels = append(rels, helmRelease{name: helmSharedRelease, values: filepath.Join(dir, tc.tenancy, helmSharedRelease+".yaml"), objects: shared})
		} else if tc.tenancy == "Shared" {
			t.Errorf("Shared: no objects of a shared instance")
		}
		for _, rel := range rels {
			if err := writeHelmValues(rel.values, rel.objects); err != nil {
				t.Fatal(err)
			}
			if err := checkHelmTemplate(ctx, h, chart, rel); err != nil {
				t.Errorf("%s: %v", tc.tenancy, err)
			}
		}
		// The values of one tenant are not the objects of another.
		other := helmRelease{name: rels[0].name, values: rels[1].values, objects: rels[0].objects}
		if err := checkHelmTemplate(ctx, h, chart, other); err == nil {
			t.Errorf("%s: the chart with %s's values passed as %s's objects", tc.tenancy, rels[1].name, rels[0].name)
		}
	}
}

// TestSettleComparison: -compare-tenancy gives both runs product auth None, refuses what
// cannot be compared, and leaves Shared runs and runs without it alone.
func TestSettleComparison(t *testing.T) {
	for _, tc := range []struct {
		name             string
		cfg              Config
		wantErr          bool
		wantAuth         string
		wantCompare      bool
		wantLogSubstring string
	}{
		{name: "default", cfg: Config{Tenancy: "Dedicated", CompareTenancy: true}, wantAuth: "None", wantCompare: true},
		{name: "auth None", cfg: Config{Tenancy: "Dedicated", Auth: "None", CompareTenancy: true}, wantAuth: "None", wantCompare: true},
		{name: "auth APIKey", cfg: Config{Tenancy: "Dedicated", Auth: "APIKey", CompareTenancy: true}, wantErr: true},
		{name: "keep cluster", cfg: Config{Tenancy: "Dedicated", CompareTenancy: true, KeepCluster: true}, wantErr: true},
		{name: "Shared run", cfg: Config{Tenancy: "Shared", CompareTenancy: true}, wantAuth: "", wantCompare: false, wantLogSubstring: "this run is the Shared one"},
		{name: "off", cfg: Config{Tenancy: "Dedicated", Auth: "APIKey"}, wantAuth: "APIKey", wantCompare: false},
	} {
		var log bytes.Buffer
		cfg := tc.cfg
		err := cfg.settleComparison(&log)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want an error: %v", tc.name, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if cfg.Auth != tc.wantAuth || cfg.CompareTenancy != tc.wantCompare {
			t.Errorf("%s: auth %q, compare %v; want %q, %v", tc.name, cfg.Auth, cfg.CompareTenancy, tc.wantAuth, tc.wantCompare)
		}
		if !strings.Contains(log.String(), tc.wantLogSubstring) {
			t.Errorf("%s: logged %q, want %q in it", tc.name, log.String(), tc.wantLogSubstring)
		}
	}
	main := Config{Tenancy: "Dedicated", Auth: "None", CompareTenancy: true, Out: "/x/bench", ClusterName: "c-1", Tenants: 7, HelmBaseline: true}
	s := main.sharedComparison()
	if s.Tenancy != "Shared" || s.Auth != "None" || s.CompareTenancy || s.Out != "/x/bench/shared" || s.ClusterName != "c-1-shared" ||
		s.Tenants != 7 || !s.HelmBaseline {
		t.Errorf("the Shared run of %+v is %+v", main, s)
	}
	if _, err := newWorkload(Config{Root: defaultConfig().Root, Tenancy: s.Tenancy, Auth: s.Auth, ProductsPerTenant: 1, NamespacesPerTenant: 1, Replicas: 1}); err != nil {
		t.Errorf("the Shared run's workload: %v", err)
	}
}

// TestUserRequests: the audit log is read for one user's requests, reads, writes and
// non-resource requests alike, while the operator's writes are read as before.
func TestUserRequests(t *testing.T) {
	dir := t.TempDir()
	at := func(s int) string { return time.Date(2026, 12, 2, 10, 0, s, 0, time.UTC).Format(time.RFC3339Nano) }
	lines := []string{
		`{"stage":"ResponseComplete","verb":"get","requestURI":"/apis?timeout=32s","user":{"username":"bench-helm"},"userAgent":"helm/v3.22.0","responseStatus":{"code":200},"requestReceivedTimestamp":"` + at(1) + `"}`,
		`{"stage":"ResponseComplete","verb":"get","requestURI":"/openapi/v3/apis/apps/v1?hash=X","user":{"username":"bench-helm"},"userAgent":"helm/v3.22.0","responseStatus":{"code":200},"requestReceivedTimestamp":"` + at(2) + `"}`,
		`{"stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/helm-0001","objectRef":{"resource":"namespaces","name":"helm-0001"},"user":{"username":"bench-helm"},"userAgent":"helm/v3.22.0","responseStatus":{"code":404},"requestReceivedTimestamp":"` + at(3) + `"}`,
		`{"stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces","objectRef":{"resource":"namespaces","name":"helm-0001"},"user":{"username":"bench-helm"},"userAgent":"helm/v3.22.0","responseStatus":{"code":201},"requestReceivedTimestamp":"` + at(4) + `"}`,
		`{"stage":"ResponseComplete","verb":"patch","requestURI":"/apis/tenancy.openplatform.io/v1alpha1/tenants/t/status","objectRef":{"resource":"tenants","subresource":"status","name":"t"},"user":{"username":"system:serviceaccount:x:y"},"userAgent":"manager/v0.0.0","responseStatus":{"code":200},"requestReceivedTimestamp":"` + at(5) + `"}`,
		`{"stage":"ResponseComplete","verb":"get","requestURI":"/api","user":{"username":"system:serviceaccount:x:y"},"userAgent":"manager/v0.0.0","responseStatus":{"code":200},"requestReceivedTimestamp":"` + at(6) + `"}`,
		`{"stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces","objectRef":{"resource":"namespaces","name":"raw-0001"},"user":{"username":"kwok-admin"},"userAgent":"bench","responseStatus":{"code":201},"requestReceivedTimestamp":"` + at(7) + `"}`,
		`{"stage":"ResponseComplete","verb":"delete","requestURI":"/api/v1/namespaces/helm-0001","objectRef":{"resource":"namespaces","name":"helm-0001"},"user":{"username":"bench-helm"},"userAgent":"helm/v3.22.0","responseStatus":{"code":200},"requestReceivedTimestamp":"` + at(30) + `"}`,
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cluster{auditLog: filepath.Join(dir, "audit.log")}
	from, to := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 10, 0, 10, 0, time.UTC)
	reqs, err := c.userRequests(helmUser, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := formatCounts(countWrites(reqs)), "get /apis 1, get /openapi/v3/* 1, create namespaces 1, get namespaces 1"; got != want {
		t.Errorf("helm's requests: %s, want %s", got, want)
	}
	if m := countMutating(reqs); m != 1 {
		t.Errorf("%d mutating requests of helm, want 1", m)
	}
	ops, err := c.operatorWrites(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].String() != "patch tenants/status t (200)" {
		t.Errorf("the operator's writes: %v, want the one status patch", ops)
	}
	if !strings.Contains(auditPolicy, "users: [\""+helmUser+"\"]") ||
		strings.Index(auditPolicy, helmUser) > strings.Index(auditPolicy, "level: None") {
		t.Errorf("the audit policy does not log %s's requests in its first rule:\n%s", helmUser, auditPolicy)
	}
}

// TestComparison: the Shared-against-Dedicated table puts each run's figures side by side
// with their ratio.
func TestComparison(t *testing.T) {
	d := &Result{Tenancy: "Dedicated", Auth: "None", Setup: Setup{Tenants: 1000, Nodes: 20},
		Objects: objectCounts{Total: 10000, Tenants: 10000, ByKind: map[string]int{"Deployment": 2000, "Namespace": 1000}},
		Pods:    podCounts{Running: 2000, Tenants: 2000}, Ratio: 1.35, PeakRSS: 200 << 20, PeakHeap: 100 << 20}
	d.Create.Wall, d.Baseline.Ready, d.Create.Reconciles = 100, 80, 2000
	d.Create.Requests.Total, d.Create.Requests.Mutating = 17000, 15000
	s := &Result{Tenancy: "Shared", Auth: "None", Setup: Setup{Tenants: 1000, Nodes: 3},
		Objects: objectCounts{Total: 7007, Tenants: 7000, Shared: 7, ByKind: map[string]int{"Deployment": 2, "Namespace": 1001, "PodDisruptionBudget": 2}},
		Pods:    podCounts{Running: 4, Shared: 4}, Ratio: 1.28, PeakRSS: 150 << 20, PeakHeap: 50 << 20}
	s.Create.Wall, s.Baseline.Ready, s.Create.Reconciles = 50, 40, 1300
	s.Create.Requests.Total, s.Create.Requests.Mutating = 13000, 11000
	md := d.comparison(s)
	for _, want := range []string{
		"| objects the operator made, once all Ready: total (tenants' / shared instances') | **10000** (10000 / 0) | **7007** (7000 / 7) | 0.70 |",
		"| objects: Deployment | 2000 | 2 | 0.00 |",
		"| objects: PodDisruptionBudget | 0 | 2 |  |",
		"| product Pods running, once all Ready: total (tenants' own / shared instances') | **2000** (2000 / 0) | **4** (0 / 4) | 0.00 |",
		"| wall time until all tenants Ready (T_operator) | 100.0 s | 50.0 s | 0.50 |",
		"| ratio T_operator / T_raw | 1.35 | 1.28 |  |",
		"| operator requests per tenant while creating: total / mutating | 17.0 / 15.0 | 13.0 / 11.0 | 0.76 / 0.73 |",
		"| tenant reconciles per tenant while creating | 2.0 | 1.3 | 0.65 |",
		"| operator peak RSS / peak Go heap | 200 MiB / 100 MiB | 150 MiB / 50 MiB | 0.75 / 0.50 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the comparison lacks the row\n%s\nin\n%s", want, md)
		}
	}
	if strings.Contains(md, "T_helm") {
		t.Errorf("the comparison has a Helm row without Helm figures:\n%s", md)
	}
	d.Shared = s
	if full := d.Markdown(); !strings.Contains(full, "## Shared against Dedicated") || !strings.Contains(full, "### The Shared run") {
		t.Errorf("results.md of a compared run lacks the comparison or the Shared run's table")
	}
}
