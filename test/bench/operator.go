package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// operator is one bin/manager process.
type operator struct {
	proc        *harness.Operator
	metricsURL  string
	pprofURL    string
	stopSampler context.CancelFunc

	mu       sync.Mutex
	peakHeap float64 // bytes, largest go_memstats_heap_inuse_bytes sampled
	peakRSS  int64   // bytes, largest VmHWM read
	// The same since the last startPhase.
	phaseHeap       float64
	phaseRSS        int64
	phaseRSSUnknown bool   // the high-water mark could not be reset
	phase           uint64 // counts startPhase calls: a sample read before one is not the new phase's
}

// startOperator runs the manager against the cluster without leader election (a lease
// renewal every two seconds would count as steady-state writes) and waits for /readyz.
func startOperator(ctx context.Context, c *cluster, cfg Config, logName string) (*operator, error) {
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(cfg.Out, logName))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the operator has its own copy
	proc, err := harness.StartOperator(ctx, harness.OperatorConfig{
		Binary: cfg.Manager,
		Args: []string{
			"--metrics-bind-address", metricsAddr,
			// Plain HTTP on loopback: with the default HTTPS every scrape would cost the
			// operator a TokenReview and a SubjectAccessReview, requests that the benchmark
			// would count as the operator's work.
			"--metrics-secure=false",
			"--health-probe-bind-address", probeAddr,
			"--pprof-bind-address", pprofAddr,
			fmt.Sprintf("--tenant-concurrency=%d", cfg.Concurrency),
		},
		Env:       []string{"KUBECONFIG=" + c.Kubeconfig},
		Output:    logFile,
		ProbeAddr: probeAddr,
	})
	if err != nil {
		return nil, fmt.Errorf("%w; see %s", err, logFile.Name())
	}
	o := &operator{
		proc:       proc,
		metricsURL: "http://" + metricsAddr + "/metrics",
		pprofURL:   "http://" + pprofAddr + "/debug/pprof/",
	}
	sampleCtx, cancel := context.WithCancel(ctx)
	o.stopSampler = cancel
	go o.sample(sampleCtx)
	return o, nil
}

// sample records the peak resident set size (the kernel's high-water mark, read twice a
// second) and the peak Go heap (from the metrics, every heapEvery). The metrics are not
// scraped more often: with thousands of tenants the operator spends noticeable CPU on
// each scrape (its per-tenant series), which a measurement must not add to what it measures.
func (o *operator) sample(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var lastHeap time.Time
	for {
		heap := time.Since(lastHeap) >= heapEvery
		o.readMemory(heap)
		if heap {
			lastHeap = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// heapEvery is how often the sampler reads the operator's heap from its metrics.
const heapEvery = 5 * time.Second

func (o *operator) readMemory(heap bool) {
	o.mu.Lock()
	phase := o.phase
	o.mu.Unlock()
	var m metrics
	var err error
	if heap {
		m, err = o.scrape()
	}
	hwm := vmHWM(o.proc.Pid())
	o.mu.Lock()
	defer o.mu.Unlock()
	if heap && err == nil {
		inUse := m.sum("go_memstats_heap_inuse_bytes", nil)
		o.peakHeap = max(o.peakHeap, inUse)
		if phase == o.phase {
			o.phaseHeap = max(o.phaseHeap, inUse)
		}
	}
	if hwm > 0 {
		o.peakRSS = max(o.peakRSS, hwm)
		if phase == o.phase {
			o.phaseRSS = max(o.phaseRSS, hwm)
		}
	}
}

// startPhase starts the phase's peaks afresh: it resets the kernel's high-water mark to the
// current RSS (writing 5 to /proc/<pid>/clear_refs) so that VmHWM is the phase's own peak.
// Without that reset (an older kernel, no permission) the phase's RSS peak is unknown and
// reported as 0; the whole run's peak is kept either way.
func (o *operator) startPhase() {
	o.readMemory(true) // the whole run's peak up to now
	err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", o.proc.Pid()), []byte("5"), 0)
	o.mu.Lock()
	o.phase++
	o.phaseHeap, o.phaseRSS, o.phaseRSSUnknown = 0, 0, err != nil
	o.mu.Unlock()
	o.readMemory(true)
}

// phasePeaks returns the peak RSS and in-use heap since startPhase (or since the process
// started); the RSS is 0 when it could not be measured.
func (o *operator) phasePeaks() (rss int64, heap float64) {
	o.readMemory(true)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.phaseRSSUnknown {
		return 0, o.phaseHeap
	}
	return o.phaseRSS, o.phaseHeap
}

// peaks returns the peak resident set size (the kernel's high-water mark) and the largest
// in-use Go heap seen.
func (o *operator) peaks() (rss int64, heap float64) {
	o.readMemory(true)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peakRSS, o.peakHeap
}

// stop records the peaks one last time, sends SIGTERM and waits for a clean exit
// (SIGKILL after 30 s).
func (o *operator) stop() {
	if o.stopSampler != nil {
		o.readMemory(true)
		o.stopSampler()
	}
	_ = o.proc.Stop(30 * time.Second)
}

// cpuSeconds is the CPU time (user and system) the operator process has used so far; 0 if
// unknown.
func (o *operator) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", o.proc.Pid()))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may contain spaces:
	// state is the first, utime and stime (in clock ticks) the 12th and 13th.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return (utime + stime) / ticksPerSecond
}

// vmHWM reads the peak resident set size of a process from /proc, in bytes; 0 if unknown.
func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// saveProfile writes one of the operator's profiles: "heap" (go tool pprof reads it), or
// "goroutine?debug=2" (every goroutine's stack, as text).
func (o *operator) saveProfile(profile, path string) error {
	resp, err := http.Get(o.pprofURL + profile)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s%s: %s", o.pprofURL, profile, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// metrics is one scrape of the operator's /metrics.
type metrics map[string]*dto.MetricFamily

func (o *operator) scrape() (metrics, error) {
	resp, err := http.Get(o.metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", o.metricsURL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(io.Reader(resp.Body))
}

// sum adds the values of a counter or gauge over the series whose labels pass keep (all
// when keep is nil).
func (m metrics) sum(name string, keep func(labels map[string]string) bool) float64 {
	fam := m[name]
	if fam == nil {
		return 0
	}
	var total float64
	for _, s := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if keep != nil && !keep(labels) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.GetCounter().GetValue()
		case s.Gauge != nil:
			total += s.GetGauge().GetValue()
		case s.Untyped != nil:
			total += s.GetUntyped().GetValue()
		}
	}
	return total
}

// requests are the operator's API requests, from client-go's rest_client_requests_total.
type requests struct {
	Total     int64 `json:"total"`
	Mutating  int64 `json:"mutating"`
	Conflicts int64 `json:"conflicts"`
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (m metrics) requests() requests {
	const name = "rest_client_requests_total"
	return requests{
		Total:     int64(m.sum(name, nil)),
		Mutating:  int64(m.sum(name, func(l map[string]string) bool { return mutating(l["method"]) })),
		Conflicts: int64(m.sum(name, func(l map[string]string) bool { return l["code"] == "409" })),
	}
}

func (r requests) minus(s requests) requests {
	return requests{Total: r.Total - s.Total, Mutating: r.Mutating - s.Mutating, Conflicts: r.Conflicts - s.Conflicts}
}

func (r requests) plus(s requests) requests {
	return requests{Total: r.Total + s.Total, Mutating: r.Mutating + s.Mutating, Conflicts: r.Conflicts + s.Conflicts}
}

// tenantReconciles counts the Tenant controller's reconciles.
func (m metrics) tenantReconciles() int64 {
	return int64(m.sum("controller_runtime_reconcile_total", func(l map[string]string) bool {
		return l["controller"] == "tenant"
	}))
}

func (o *operator) requests() (requests, error) {
	m, err := o.scrape()
	if err != nil {
		return requests{}, err
	}
	return m.requests(), nil
}
