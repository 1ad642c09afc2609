package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/discovery"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
)

// Result holds the figures of one run. Durations are seconds, memory bytes.
type Result struct {
	Date    string  `json:"date"`
	Command string  `json:"command"`
	Machine Machine `json:"machine"`
	Setup   Setup   `json:"setup"`
	// Tenancy is the plan's tenancy of its products (Dedicated or Shared), Auth the
	// products' auth.type.
	Tenancy string `json:"tenancy"`
	Auth    string `json:"auth"`
	// ObjectsPerTenant is how many objects the operator makes for one tenant.
	ObjectsPerTenant int `json:"objectsPerTenant"`
	// SharedObjects is how many objects the shared instances are (once for all tenants,
	// namespace included); 0 with Dedicated.
	SharedObjects int `json:"sharedObjects"`
	// Objects are the objects the operator made for the N tenants, counted once all were
	// Ready; Pods the product Pods running then.
	Objects objectCounts `json:"operatorObjects"`
	Pods    podCounts    `json:"productPods"`

	Baseline struct {
		// Applied: the last object applied; Ready: the last Deployment available.
		Applied  float64 `json:"appliedSeconds"`
		Ready    float64 `json:"readySeconds"`
		Deleted  float64 `json:"deletedSeconds"`
		Requests int     `json:"applyRequests"`
	} `json:"baseline"`

	Solo Latencies `json:"singleTenant"`

	Create struct {
		Latencies
		// Submitted: the last create request answered; Wall: the last tenant Ready.
		Submitted float64 `json:"submittedSeconds"`
		Wall      float64 `json:"wallSeconds"`
		// StatusCounted: the plan's and products' status count every tenant.
		StatusCounted float64  `json:"statusCountedSeconds"`
		Requests      requests `json:"requests"`
		// CPU is the operator's CPU time in the phase, in seconds.
		CPU float64 `json:"operatorCPUSeconds"`
		// Reconciles are the Tenant controller's reconciles in the phase.
		Reconciles int64 `json:"tenantReconciles"`
		// Writes are the operator's writes by verb and resource, from the audit log.
		Writes   []writeCount `json:"writes"`
		PeakRSS  int64        `json:"peakRSSBytes"`
		PeakHeap float64      `json:"peakHeapBytes"`
	} `json:"create"`
	// Ratio is Create.Wall / Baseline.Ready.
	Ratio float64 `json:"ratioToBaseline"`
	// P50Share is Create.P50 / Create.Wall: how early the median tenant is Ready.
	P50Share float64 `json:"p50ShareOfWall"`

	Steady struct {
		Window                 float64  `json:"windowSeconds"`
		Requests               requests `json:"requests"`
		ReconcilesAfterRestart int64    `json:"tenantReconcilesAfterRestart"`
		// Writes are the operator's writes in the window, one by one, from the audit log.
		Writes []write `json:"writes"`
	} `json:"steadyState"`

	FanOut struct {
		Wall     float64  `json:"wallSeconds"`
		Requests requests `json:"requests"`
	} `json:"planFanOut"`

	Delete struct {
		Wall     float64  `json:"wallSeconds"`
		Requests requests `json:"requests"`
	} `json:"delete"`

	PeakRSS  int64   `json:"peakRSSBytes"`
	PeakHeap float64 `json:"peakHeapBytes"`
	// Memory is the operator's peaks phase by phase, in the order they ran (the steady
	// state's covers both processes); a phase's RSS is 0 when it could not be measured.
	Memory []phaseMemory `json:"memoryByPhase"`

	// Helm is the Helm baseline (-helm-baseline); absent when it did not run.
	Helm *helmResult `json:"helm,omitempty"`
	// Shared is the second, -tenancy Shared run of -compare-tenancy, in the same shape;
	// absent without it.
	Shared *Result `json:"shared,omitempty"`

	// Skipped are the parts the run left out (-baseline=false: "baseline", -operator=false:
	// "operator", -delete=false: "delete"); their figures are zero. Absent in a complete run.
	Skipped []string `json:"skipped,omitempty"`

	// Failures are the correctness checks that failed; empty in a good run.
	Failures []string `json:"failures"`
}

// phaseMemory is the operator's peak RSS (the kernel's high-water mark, reset as the
// phase starts) and peak in-use Go heap in one phase.
type phaseMemory struct {
	Phase    string  `json:"phase"`
	PeakRSS  int64   `json:"peakRSSBytes"`
	PeakHeap float64 `json:"peakHeapBytes"`
}

// objectCounts are objects the operator made, by kind, of the tenants and of the shared
// instances.
type objectCounts struct {
	Total   int            `json:"total"`
	Tenants int            `json:"tenants"`
	Shared  int            `json:"sharedInstances"`
	ByKind  map[string]int `json:"byKind"`
}

// podCounts are the product Pods running: the tenants' own and the shared instances'.
type podCounts struct {
	Running int `json:"running"`
	Tenants int `json:"tenants"`
	Shared  int `json:"sharedInstances"`
}

// formatKinds renders counts by kind in the order the operator writes the kinds:
// "Namespace 1000, ResourceQuota 1000, ...".
func formatKinds(byKind map[string]int) string {
	var parts []string
	for _, k := range apply.Kinds {
		if n := byKind[k.Name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.Name, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Machine describes where the run happened.
type Machine struct {
	CPU        string `json:"cpu"`
	CPUs       int    `json:"cpus"`
	Memory     string `json:"memory"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	Kubernetes string `json:"kubernetes"`
}

// Setup is the shape of the run.
type Setup struct {
	Tenants             int `json:"tenants"`
	NamespacesPerTenant int `json:"namespacesPerTenant"`
	ProductsPerTenant   int `json:"productsPerTenant"`
	ComponentsPerTenant int `json:"componentsPerTenant"`
	Replicas            int `json:"replicas"`
	Deployments         int `json:"deployments"`
	Pods                int `json:"pods"`
	Nodes               int `json:"nodes"`
	Concurrency         int `json:"concurrency"`
}

// Latencies are per-tenant times from the create request to Ready.
type Latencies struct {
	Runs []float64 `json:"-"`
	P50  float64   `json:"p50Seconds"`
	P99  float64   `json:"p99Seconds"`
	Max  float64   `json:"maxSeconds"`
}

func (l *Latencies) summarize(runs ...[]float64) {
	if len(runs) > 0 {
		l.Runs = runs[0]
	}
	s := sortedCopy(l.Runs)
	l.P50, l.P99, l.Max = percentile(s, 50), percentile(s, 99), percentile(s, 100)
}

func newResult(cfg Config, w *workload, c *cluster) *Result {
	command := fmt.Sprintf("go run ./test/bench -tenants=%d -namespaces=%d -products=%d -replicas=%d -concurrency=%d -steady=%s -tenancy=%s",
		cfg.Tenants, cfg.NamespacesPerTenant, cfg.ProductsPerTenant, cfg.Replicas, cfg.Concurrency, cfg.SteadyWindow, cfg.Tenancy)
	if cfg.Auth != "" {
		command += " -auth=" + cfg.Auth
	}
	if !cfg.HelmBaseline {
		command += " -helm-baseline=false"
	}
	if !cfg.CompareTenancy {
		command += " -compare-tenancy=false"
	}
	for _, part := range cfg.skipped() {
		command += " -" + part + "=false"
	}
	auth := string(tenancyv1alpha1.AuthAPIKey)
	if len(w.products) > 0 && w.products[0].Spec.Auth.Type != "" {
		auth = string(w.products[0].Spec.Auth.Type)
	}
	r := &Result{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: command,
		Machine: describeMachine(c),
		Setup: Setup{
			Tenants: cfg.Tenants, NamespacesPerTenant: cfg.NamespacesPerTenant, ProductsPerTenant: cfg.ProductsPerTenant,
			ComponentsPerTenant: w.components(), Replicas: cfg.Replicas,
			Deployments: w.tenantDeployments(cfg.Tenants) + w.sharedDeployments(), Pods: w.pods(cfg.Tenants),
			Nodes: c.nodes, Concurrency: cfg.Concurrency,
		},
		Tenancy:  cfg.Tenancy,
		Auth:     auth,
		Skipped:  cfg.skipped(),
		Objects:  objectCounts{ByKind: map[string]int{}},
		Memory:   []phaseMemory{},
		Failures: []string{},
	}
	return r
}

func (r *Result) notePeaks(rss int64, heap float64) {
	r.PeakRSS, r.PeakHeap = max(r.PeakRSS, rss), max(r.PeakHeap, heap)
}

func describeMachine(c *cluster) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if dc, err := discovery.NewDiscoveryClientForConfig(c.cfg); err == nil {
		if v, err := dc.ServerVersion(); err == nil {
			m.Kubernetes = "Kubernetes " + v.GitVersion + " with kwok-simulated nodes"
		}
	}
	return m
}

// formatMemory lists each phase's peaks: "create 160 / 101 MiB; ...".
func formatMemory(phases []phaseMemory) string {
	parts := make([]string, 0, len(phases))
	for _, p := range phases {
		rss := "RSS unknown"
		if p.PeakRSS > 0 {
			rss = strings.TrimSuffix(mib(float64(p.PeakRSS)), " MiB")
		}
		parts = append(parts, fmt.Sprintf("%s %s / %s", p.Phase, rss, mib(p.PeakHeap)))
	}
	return strings.Join(parts, "; ")
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

// Markdown renders the figures as a table with the targets of issue 5.
func (r *Result) Markdown() string {
	var b strings.Builder
	s := r.Setup
	fmt.Fprintf(&b, "Run %s: %d tenants × %d namespace(s) × %d product(s) (%d Deployments, %d Pods on %d simulated nodes), concurrency %d, %d objects per tenant.\n\n",
		r.Date, s.Tenants, s.NamespacesPerTenant, s.ProductsPerTenant, s.Deployments, s.Pods, s.Nodes, s.Concurrency, r.ObjectsPerTenant)
	if r.Tenancy == string(tenancyv1alpha1.TenancyShared) {
		fmt.Fprintf(&b, "Tenancy **Shared** (product auth %s): the tenants run no Deployments of their own; one shared instance per product version (%d objects, namespace included) serves them all.\n\n",
			r.Auth, r.SharedObjects)
	} else {
		fmt.Fprintf(&b, "Tenancy **%s** (product auth %s): every tenant runs its own Deployments of the product.\n\n", r.Tenancy, r.Auth)
	}
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s, Linux %s, %s, %s.\n\n", r.Machine.CPU, r.Machine.CPUs, r.Machine.Memory, r.Machine.Kernel, r.Machine.Go, r.Machine.Kubernetes)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "A part of a run: without %s (their figures are in another run).\n\n", strings.Join(r.Skipped, ", "))
	}
	b.WriteString("| measure | result | target |\n|---|---|---|\n")
	row := func(name, value, target string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", name, value, target) }
	ran := func(part string) bool { return !slices.Contains(r.Skipped, part) }
	// A phase the run did not get to the end of (it failed, timed out or was interrupted)
	// has no time: it is not a phase that took none.
	const unfinished = "did not finish"
	if ran("operator") {
		row(fmt.Sprintf("wall time until all %d tenants Ready (T_operator)", s.Tenants), fmt.Sprintf("%.1f s", r.Create.Wall), "")
		row(fmt.Sprintf("wall time until the plan's and products' status count all %d tenants", s.Tenants), fmt.Sprintf("%.1f s", r.Create.StatusCounted), "")
	}
	if ran("baseline") {
		row("baseline: plain server-side apply of the same objects until all Deployments available (T_raw)",
			fmt.Sprintf("%.1f s (all applied after %.1f s)", r.Baseline.Ready, r.Baseline.Applied), "")
		row("baseline apply requests", fmt.Sprintf("%d", r.Baseline.Requests), "")
		if ran("delete") {
			row("baseline: deleting the namespaces until they are gone", fmt.Sprintf("%.1f s", r.Baseline.Deleted), "")
		}
	}
	if ran("baseline") && ran("operator") {
		row("ratio T_operator / T_raw", fmt.Sprintf("**%.2f**", r.Ratio), "≤ 1.25")
	}
	if h := r.Helm; h != nil {
		releases := "one release per tenant"
		if h.Releases > s.Tenants {
			releases += " after one of the shared instances"
		}
		row(fmt.Sprintf("Helm baseline: %s (`helm install` %s, no `--wait`), %d at a time, until every release is installed and every Deployment available (T_helm)", releases, h.Version, s.Concurrency),
			fmt.Sprintf("%.1f s (all installed after %.1f s; one `helm install` p50 / max %.2f s / %.2f s)", h.Ready, h.Installed, h.InstallCommand.P50, h.InstallCommand.Max), "")
		row("ratio T_helm / T_operator", fmt.Sprintf("%.2f", h.RatioToOperator), "")
		row("ratio T_raw / T_helm", fmt.Sprintf("%.2f", h.RawToHelm), "")
		row(fmt.Sprintf("Helm requests while installing (API server audit log, user %s): total / mutating (per tenant)", helmUser),
			fmt.Sprintf("%d / %d (%.1f / %.1f)", h.Requests, h.Mutating, h.RequestsPerTenant, float64(h.Mutating)/float64(max(s.Tenants, 1))), "")
		row("Helm requests while installing, by verb and resource", formatCounts(h.ByVerbResource), "")
		row("CPU time of the helm processes while installing", fmt.Sprintf("%.1f s", h.CPU), "")
		row("`helm uninstall` of every release until their namespaces are gone", fmt.Sprintf("%.1f s, %d requests (baseline deletion: %.1f s)", h.Uninstall, h.UninstallRequests, r.Baseline.Deleted), "")
	}
	if ran("operator") {
		row(fmt.Sprintf("objects the operator made for the %d tenants, once all Ready: total (tenants' / shared instances')", s.Tenants),
			fmt.Sprintf("**%d** (%d / %d)", r.Objects.Total, r.Objects.Tenants, r.Objects.Shared), "")
		row("the same by kind", formatKinds(r.Objects.ByKind), "")
		row("product Pods running, once all Ready: total (tenants' own / shared instances')",
			fmt.Sprintf("**%d** (%d / %d)", r.Pods.Running, r.Pods.Tenants, r.Pods.Shared), "")
		row("per-tenant time to Ready, p50 / p99 / max", fmt.Sprintf("%.1f s / %.1f s / %.1f s", r.Create.P50, r.Create.P99, r.Create.Max), "")
		if r.P50Share > 0 {
			row("p50 time to Ready / T_operator", fmt.Sprintf("**%.2f**", r.P50Share), "≤ 0.5")
		}
		row(fmt.Sprintf("one tenant on an idle operator, time to Ready with Pods running (p50 / max of %d)", len(r.Solo.Runs)),
			fmt.Sprintf("**%.2f s** / %.2f s", r.Solo.P50, r.Solo.Max), "≤ 2 s")
		row("operator API requests while creating: total / mutating (per tenant)",
			fmt.Sprintf("%d / %d (%.1f / %.1f)", r.Create.Requests.Total, r.Create.Requests.Mutating,
				perTenant(r.Create.Requests.Total, s.Tenants), perTenant(r.Create.Requests.Mutating, s.Tenants)), "")
		row("operator CPU time while creating (share of the 2 cores' time in the phase)", fmt.Sprintf("%.1f s (%.0f %%)",
			r.Create.CPU, 100*r.Create.CPU/(max(r.Create.StatusCounted, 0.01)*float64(r.Machine.CPUs))), "")
		row("tenant reconciles while creating (per tenant)", fmt.Sprintf("%d (%.1f)", r.Create.Reconciles, perTenant(r.Create.Reconciles, s.Tenants)), "")
		row("operator writes while creating, by verb and resource (API server audit log)", formatCounts(r.Create.Writes), "")
		row(fmt.Sprintf("mutating requests in %.0f s of steady state, incl. a restart (full resync: %d tenant reconciles)", r.Steady.Window, r.Steady.ReconcilesAfterRestart),
			fmt.Sprintf("**%d** (of %d requests)", r.Steady.Requests.Mutating, r.Steady.Requests.Total), "0")
		row("the operator's writes in the steady-state window (API server audit log)", formatWrites(r.Steady.Writes), "none")
		row("operator peak RSS / peak Go heap in use", fmt.Sprintf("**%s** / %s", mib(float64(r.PeakRSS)), mib(r.PeakHeap)), "RSS ≤ 200 MiB")
		if len(r.Memory) > 0 {
			row("the same by phase", formatMemory(r.Memory), "")
		}
		fanOut := unfinished
		if r.FanOut.Wall > 0 {
			fanOut = fmt.Sprintf("%.1f s, %d mutating requests, %d conflicts", r.FanOut.Wall, r.FanOut.Requests.Mutating, r.FanOut.Requests.Conflicts)
		}
		row("plan quota change: all tenants' quotas updated", fanOut, "")
	}
	if ran("operator") && ran("delete") {
		del := unfinished
		if r.Delete.Wall > 0 {
			del = fmt.Sprintf("%.1f s", r.Delete.Wall)
		}
		if ran("baseline") {
			del += fmt.Sprintf(" (baseline: %.1f s)", r.Baseline.Deleted)
		}
		row(fmt.Sprintf("delete all %d tenants until they and their namespaces are gone", s.Tenants), del, "")
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(&b, "\n**%d checks failed:**\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	if r.Shared != nil {
		b.WriteString("\n" + r.comparison(r.Shared))
		b.WriteString("\n### The Shared run\n\n" + r.Shared.Markdown())
	}
	return b.String()
}

func perTenant(n int64, tenants int) float64 { return float64(n) / float64(max(tenants, 1)) }

func (r *Result) write(dir, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644)
}
