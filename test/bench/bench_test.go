package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// TestBenchSmall runs the whole benchmark with 20 tenants so that it keeps working. It
// checks what the run must get right, never how fast it was: every tenant Ready with its
// objects, no write by the operator in steady state even across a restart, every quota
// following a plan change, everything gone after deletion; and the Helm baseline's
// releases deployed with their objects, their requests counted, all gone after uninstall.
func TestBenchSmall(t *testing.T) {
	cfg := defaultConfig()
	if cfg.Root == "" {
		t.Fatal("run from inside the repository: no hack/cluster.sh above the working directory")
	}
	if m := os.Getenv("BENCH_MANAGER"); m != "" {
		cfg.Manager = m
	}
	if _, err := os.Stat(cfg.Manager); err != nil {
		t.Fatalf("the operator binary: %v (make build, or set BENCH_MANAGER)", err)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwokctl"} {
		if _, err := os.Stat(filepath.Join(cfg.Root, "bin", b)); err != nil {
			t.Fatalf("bin/%s is missing: make k8s-binaries", b)
		}
	}
	cfg.Helm = benchHelm(t, cfg)
	// The Helm baseline runs (and checks itself: every release deployed, its objects
	// there, its Deployments available, all gone after uninstall); the Shared comparison,
	// a second cluster and run, does not.
	cfg.HelmBaseline, cfg.CompareTenancy = true, false
	cfg.Tenants, cfg.NamespacesPerTenant, cfg.SoloRuns = 20, 2, 1
	cfg.SteadyWindow = 10 * time.Second
	cfg.Timeout = 10 * time.Minute
	// The run stops itself, operator and cluster torn down, a minute before go test's
	// -timeout would kill it (and with it the teardown).
	if deadline, ok := t.Deadline(); ok {
		cfg.Timeout = min(cfg.Timeout, time.Until(deadline)-time.Minute)
	}
	cfg.Out = t.TempDir()
	cfg.ClusterName = fmt.Sprintf("tenant-operator-benchtest-%d", os.Getpid())

	// Ctrl-C or a kill ends the run the same way, instead of killing this process before
	// it deletes the cluster.
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Only errors of the benchmark's own informers (watch failures) are worth showing.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	res, err := run(ctx, cfg, testWriter{t})
	if res != nil {
		t.Log("\n" + res.Markdown())
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.ObjectsPerTenant == 0 || res.Baseline.Requests != cfg.Tenants*res.ObjectsPerTenant+res.SharedObjects {
		t.Errorf("the baseline applied %d objects, want %d tenants × %d + %d of shared instances",
			res.Baseline.Requests, cfg.Tenants, res.ObjectsPerTenant, res.SharedObjects)
	}
	if res.Objects.Total != res.Baseline.Requests || res.Pods.Running != res.Setup.Pods {
		t.Errorf("the operator made %d objects and runs %d product Pods, want %d (what the baseline applied) and %d",
			res.Objects.Total, res.Pods.Running, res.Baseline.Requests, res.Setup.Pods)
	}
	if len(res.Solo.Runs) != cfg.SoloRuns {
		t.Errorf("%d single-tenant runs, want %d", len(res.Solo.Runs), cfg.SoloRuns)
	}
	if res.Create.Requests.Mutating < int64(cfg.Tenants*res.ObjectsPerTenant) {
		t.Errorf("the operator sent %d mutating requests for %d tenants of %d objects: its client metrics are not being read",
			res.Create.Requests.Mutating, cfg.Tenants, res.ObjectsPerTenant)
	}
	audited := 0
	for _, w := range res.Create.Writes {
		audited += w.Count
	}
	if int64(audited) != res.Create.Requests.Mutating {
		t.Errorf("the API server's audit log holds %d writes of the operator while creating, its client metrics count %d",
			audited, res.Create.Requests.Mutating)
	}
	if res.Steady.Requests.Total == 0 {
		t.Error("no requests at all in the steady-state window: the restarted operator's metrics were not read")
	}
	if res.PeakRSS == 0 || res.PeakHeap == 0 {
		t.Errorf("peak RSS %d, peak heap %.0f: memory was not sampled", res.PeakRSS, res.PeakHeap)
	}
	phases := map[string]phaseMemory{}
	for _, p := range res.Memory {
		phases[p.Phase] = p
		if p.PeakRSS > res.PeakRSS || p.PeakHeap > res.PeakHeap {
			t.Errorf("the %s phase peaked at %d bytes RSS and %.0f of heap, above the whole run's %d and %.0f", p.Phase, p.PeakRSS, p.PeakHeap, res.PeakRSS, res.PeakHeap)
		}
	}
	for _, name := range []string{"create", "steady state", "plan fan-out", "delete"} {
		if p, ok := phases[name]; !ok || p.PeakRSS == 0 || p.PeakHeap == 0 {
			t.Errorf("the %s phase's memory peaks were not measured: %+v", name, res.Memory)
		}
	}
	if h := res.Helm; h == nil {
		t.Error("no Helm baseline figures")
	} else {
		// Per release: its objects created, its release Secret created and updated.
		if h.Releases != cfg.Tenants || h.ObjectsPerRelease != res.ObjectsPerTenant || h.Mutating < cfg.Tenants*(h.ObjectsPerRelease+2) || h.Requests <= h.Mutating {
			t.Errorf("Helm baseline: %d releases of %d objects, %d requests of which %d mutating; want %d releases of %d objects, at least %d mutating requests and reads besides",
				h.Releases, h.ObjectsPerRelease, h.Requests, h.Mutating, cfg.Tenants, res.ObjectsPerTenant, cfg.Tenants*(res.ObjectsPerTenant+2))
		}
		sum := 0
		for _, c := range h.ByVerbResource {
			sum += c.Count
		}
		if sum != h.Requests || h.RequestsPerTenant != float64(h.Requests)/float64(cfg.Tenants) {
			t.Errorf("Helm baseline: %d requests by verb and resource, %.1f per tenant, of %d in all", sum, h.RequestsPerTenant, h.Requests)
		}
		if h.Ready < h.Installed || h.Installed <= 0 || h.Uninstall <= 0 || h.UninstallRequests == 0 || h.RatioToOperator <= 0 || h.RawToHelm <= 0 {
			t.Errorf("Helm baseline: installed %.1fs, ready %.1fs, uninstalled %.1fs with %d requests, ratios %.2f and %.2f: a figure is missing",
				h.Installed, h.Ready, h.Uninstall, h.UninstallRequests, h.RatioToOperator, h.RawToHelm)
		}
	}
	if res.Shared != nil {
		t.Error("a Shared comparison run without -compare-tenancy")
	}
	if err := res.write(cfg.Out, res.Markdown()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if back.Setup.Tenants != cfg.Tenants || back.Create.Wall != res.Create.Wall {
		t.Errorf("results.json holds %d tenants and wall time %v, want %d and %v",
			back.Setup.Tenants, back.Create.Wall, cfg.Tenants, res.Create.Wall)
	}
	var raw struct {
		Helm map[string]json.RawMessage `json:"helm"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"readySeconds", "requests", "requestsPerTenant", "mutatingRequests", "byVerbResource", "uninstallSeconds", "ratioToOperator"} {
		if _, ok := raw.Helm[key]; !ok {
			t.Errorf("results.json: no helm.%s", key)
		}
	}
}

// testWriter sends the benchmark's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
