package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/render"
)

// Tenant name prefixes of the phases.
const (
	prefixBaseline = "raw"
	prefixSolo     = "solo"
	prefixBench    = "bench"
)

// baselineFieldManager is the field manager of the baseline's plain client.
const baselineFieldManager = "bench-baseline"

// runner holds what the phases share.
type runner struct {
	cfg   Config
	log   io.Writer
	c     *cluster
	w     *workload
	watch cache.Cache
	op    *operator
	res   *Result
	// phaseRSS and phaseHeap are the operator's peaks in the running phase, across the
	// steady state's restart (0 until read).
	phaseRSS  int64
	phaseHeap float64
	// stopWatch stops the benchmark's informers (before the cluster goes, so that they do
	// not report its disappearance as watch errors).
	stopWatch func()
	readyMu   sync.Mutex
	created   map[string]time.Time
	ready     map[string]time.Time
	// stalls counts the waits that stopped progressing (see stallAfter).
	stalls int
}

// run performs the whole benchmark. It returns the result even when a check failed, with
// the failure as the error.
func run(ctx context.Context, cfg Config, log io.Writer) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if cfg.Tenants < 1 || cfg.NamespacesPerTenant < 1 || cfg.ProductsPerTenant < 1 || cfg.Replicas < 1 || cfg.Concurrency < 1 {
		return nil, fmt.Errorf("-tenants, -namespaces, -products, -replicas and -concurrency must be at least 1")
	}
	w, err := newWorkload(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkHelmBinary(cfg); err != nil {
		return nil, err
	}
	c, err := startCluster(ctx, cfg, w.pods(max(cfg.Tenants, 1)), log)
	if err != nil {
		return nil, err
	}
	if cfg.KeepCluster {
		defer fmt.Fprintf(log, "bench: keeping cluster %s: KUBECONFIG=%s; delete it with hack/cluster.sh down %s\n", c.Name, c.Kubeconfig, c.Name)
	} else {
		defer c.stop()
	}
	r := &runner{cfg: cfg, log: log, c: c, w: w, res: newResult(cfg, w, c),
		created: map[string]time.Time{}, ready: map[string]time.Time{}}
	defer func() {
		if r.op != nil {
			r.op.stop()
		}
		if r.stopWatch != nil {
			r.stopWatch()
		}
	}()
	err = r.phases(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("the run took longer than -timeout=%s: %w", cfg.Timeout, err)
	}
	if len(r.res.Failures) > 0 {
		err = errors.Join(err, fmt.Errorf("checks failed:\n  %s", strings.Join(r.res.Failures, "\n  ")))
	}
	return r.res, err
}

func (r *runner) phases(ctx context.Context) error {
	if err := r.startWatch(ctx); err != nil {
		return err
	}
	if err := r.setUp(ctx); err != nil {
		return err
	}
	type phase struct {
		name string
		fn   func(context.Context) error
	}
	var phases []phase
	if r.cfg.Baseline {
		phases = append(phases, phase{"baseline", r.baseline}, phase{"Helm baseline", r.helmBaseline})
	}
	if r.cfg.Operator {
		phases = append(phases, phase{"operator start", r.startOperator}, phase{"single tenants", r.solo},
			phase{"create", r.create}, phase{"steady state", r.steady}, phase{"plan fan-out", r.fanOut})
		if r.cfg.Delete {
			phases = append(phases, phase{"delete", r.delete})
		}
	}
	// The peaks are recorded even when a phase fails or the run times out: a long run
	// that does not finish still reports how much memory it took.
	defer func() {
		if r.op != nil { // not started in a part without the operator
			rss, heap := r.op.peaks()
			r.res.notePeaks(rss, heap)
		}
	}()
	for _, phase := range phases {
		r.logf("== %s", phase.name)
		t0 := time.Now()
		r.phaseRSS, r.phaseHeap = 0, 0
		if r.op != nil {
			r.op.startPhase()
		}
		err := phase.fn(ctx)
		r.notePhaseMemory()
		if r.phaseHeap > 0 { // the operator ran in the phase
			r.res.Memory = append(r.res.Memory, phaseMemory{Phase: phase.name, PeakRSS: r.phaseRSS, PeakHeap: r.phaseHeap})
		}
		if err != nil {
			return fmt.Errorf("%s: %w", phase.name, err)
		}
		r.logf("(%s took %s)", phase.name, since(t0))
	}
	return nil
}

// notePhaseMemory folds the running operator's peaks since its phase started into the
// phase's.
func (r *runner) notePhaseMemory() {
	if r.op == nil {
		return
	}
	rss, heap := r.op.phasePeaks()
	r.phaseRSS, r.phaseHeap = max(r.phaseRSS, rss), max(r.phaseHeap, heap)
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "bench: "+format+"\n", args...)
}

// check records a failed correctness check; the run goes on.
func (r *runner) check(ok bool, format string, args ...any) {
	if !ok {
		msg := fmt.Sprintf(format, args...)
		r.logf("CHECK FAILED: %s", msg)
		r.res.Failures = append(r.res.Failures, msg)
	}
}

// waitAvailable waits until want Deployments of the tenants named prefix-... are available,
// and with Shared wantShared of the shared instances too.
func (r *runner) waitAvailable(ctx context.Context, what, prefix string, want, wantShared int) error {
	return r.waitFor(ctx, what, func() (bool, string, error) {
		got, err := r.countAvailable(ctx, prefix)
		if err != nil || !r.cfg.shared() {
			return got >= want, fmt.Sprintf("%d/%d", got, want), err
		}
		gotShared, err := r.countSharedAvailable(ctx)
		return got >= want && gotShared >= wantShared, fmt.Sprintf("%d/%d shared", gotShared, wantShared), err
	})
}

// eachObject lists the objects of a kind from the API server and calls fn for each.
func (r *runner) eachObject(ctx context.Context, k apply.Kind, fn func(client.Object), opts ...client.ListOption) error {
	list := k.NewList()
	if err := r.c.client.List(ctx, list, opts...); err != nil {
		return fmt.Errorf("listing %s: %w", k.Name, err)
	}
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return err
	}
	for _, item := range items {
		if o, ok := item.(client.Object); ok {
			fn(o)
		}
	}
	return nil
}

// startWatch starts informers on what the benchmark waits for: Tenants (their Ready
// transitions are timed as events arrive), and the managed Namespaces, Deployments and
// ResourceQuotas: the operator's and the baseline's (label managed-by tenant-operator) and
// the Helm baseline's (Helm sets managed-by Helm on every object of a release).
func (r *runner) startWatch(ctx context.Context) error {
	managed, _ := labels.NewRequirement(tenancyv1alpha1.LabelManagedBy, selection.In, []string{tenancyv1alpha1.ManagedByValue, helmManagedBy})
	sel := cache.ByObject{Label: labels.NewSelector().Add(*managed)}
	var err error
	r.watch, err = cache.New(r.c.cfg, cache.Options{
		Scheme:           r.c.client.Scheme(),
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:     sel,
			&appsv1.Deployment{}:    sel,
			&corev1.ResourceQuota{}: sel,
		},
	})
	if err != nil {
		return err
	}
	inf, err := r.watch.GetInformer(ctx, &tenancyv1alpha1.Tenant{})
	if err != nil {
		return err
	}
	onTenant := func(obj any) {
		t, ok := obj.(*tenancyv1alpha1.Tenant)
		if !ok || !apimeta.IsStatusConditionTrue(t.Status.Conditions, tenancyv1alpha1.ConditionReady) {
			return
		}
		now := time.Now()
		r.readyMu.Lock()
		if _, seen := r.ready[t.Name]; !seen {
			r.ready[t.Name] = now
		}
		r.readyMu.Unlock()
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    onTenant,
		UpdateFunc: func(_, obj any) { onTenant(obj) },
	}); err != nil {
		return err
	}
	for _, obj := range []client.Object{&corev1.Namespace{}, &appsv1.Deployment{}, &corev1.ResourceQuota{}} {
		if _, err := r.watch.GetInformer(ctx, obj); err != nil {
			return err
		}
	}
	watchCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		_ = r.watch.Start(watchCtx)
		close(stopped)
	}()
	r.stopWatch = func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
		}
	}
	if !r.watch.WaitForCacheSync(ctx) {
		return fmt.Errorf("the benchmark's caches did not sync")
	}
	return nil
}

// setUp creates the products and the plan.
func (r *runner) setUp(ctx context.Context) error {
	// The objects of one tenant and of the shared instances, for the results of a run
	// with or without the baseline.
	objects, err := r.w.rendered(r.w.tenant(prefixBench, 1))
	if err != nil {
		return err
	}
	var namespaces []string
	for _, o := range objects {
		if o.Kind == render.KindNamespace {
			namespaces = append(namespaces, o.Name)
		}
	}
	r.res.ObjectsPerTenant, r.res.SharedObjects = len(objects), len(r.w.renderedShared(namespaces))
	for _, p := range r.w.products {
		if err := r.c.client.Create(ctx, p.DeepCopy()); err != nil {
			return err
		}
	}
	return r.c.client.Create(ctx, r.w.plan.DeepCopy())
}

// inParallel is parallel with a progress line every progressEvery: the baseline's applies
// and Helm's installs of 10,000 tenants take many minutes.
func (r *runner) inParallel(ctx context.Context, what string, workers, n int, fn func(ctx context.Context, i int) error) error {
	var done atomic.Int64
	start, stop := time.Now(), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				r.logf("  %s: %d/%d (%s)", what, done.Load(), n, since(start))
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	return parallel(ctx, workers, n, func(ctx context.Context, i int) error {
		defer done.Add(1)
		return fn(ctx, i)
	})
}

// progressEvery is how often inParallel reports.
const progressEvery = 10 * time.Second

// parallel runs fn for the tenants 1..n of prefix with the given number of workers and
// returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := 1; i <= n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// waitFor polls done until it reports true, printing its progress every five seconds:
// every 100 ms per 1,000 tenants. The benchmark shares the machine with what it measures,
// and its polls count the objects of its cache; at 10,000 tenants, polling every 100 ms
// (and copying every object on each poll) took half a core of the two (run 12).
func (r *runner) waitFor(ctx context.Context, what string, done func() (bool, string, error)) error {
	return r.waitEvery(ctx, what, pollInterval(r.cfg.Tenants), done)
}

// pollInterval is how often a wait polls with n tenants.
func pollInterval(n int) time.Duration {
	return 100 * time.Millisecond * time.Duration(max(1, n/1000))
}

// cached lists from the benchmark's cache without copying the objects: the waits only
// read them.
func (r *runner) cached(ctx context.Context, list client.ObjectList) error {
	return r.watch.List(ctx, list, client.UnsafeDisableDeepCopy)
}

// scrapeEvery is how often a wait on the operator's metrics scrapes them (see sample).
const scrapeEvery = time.Second

// stallAfter is how long a wait's progress may stay the same before the benchmark saves the
// operator's goroutines, once per wait, to show what it is stuck on.
const stallAfter = 2 * time.Minute

// waitEvery is waitFor polling every interval.
func (r *runner) waitEvery(ctx context.Context, what string, interval time.Duration, done func() (bool, string, error)) error {
	start, lastLog := time.Now(), time.Now()
	last, changed, dumped := "", time.Now(), false
	for {
		ok, progress, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if progress != last {
			last, changed = progress, time.Now()
		} else if !dumped && r.op != nil && time.Since(changed) >= stallAfter {
			dumped = true
			r.stalls++
			path := filepath.Join(r.cfg.Out, fmt.Sprintf("stall-%d-goroutines.txt", r.stalls))
			if err := r.op.saveProfile("goroutine?debug=2", path); err != nil {
				r.logf("  %s: no progress for %s; saving the operator's goroutines failed: %v", what, stallAfter, err)
			} else {
				r.logf("  %s: no progress for %s; the operator's goroutines are in %s", what, stallAfter, path)
			}
		}
		if time.Since(lastLog) >= 5*time.Second {
			r.logf("  %s: %s (%s)", what, progress, since(start))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w", what, progress, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// tenantOf returns the tenant label of an object.
func tenantOf(o client.Object) string { return o.GetLabels()[tenancyv1alpha1.LabelTenant] }

// countAvailable counts the available Deployments of tenants with the prefix: rolled out
// (observed generation current) with every replica available.
func (r *runner) countAvailable(ctx context.Context, prefix string) (int, error) {
	var list appsv1.DeploymentList
	if err := r.cached(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		d := &list.Items[i]
		if !strings.HasPrefix(tenantOf(d), prefix+"-") {
			continue
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == want && d.Status.UpdatedReplicas == want {
			n++
		}
	}
	return n, nil
}

// countSharedAvailable counts the available Deployments of the products' shared instances,
// as countAvailable does a tenant's.
func (r *runner) countSharedAvailable(ctx context.Context) (int, error) {
	var list appsv1.DeploymentList
	if err := r.cached(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		d := &list.Items[i]
		if d.Labels[tenancyv1alpha1.LabelSharedProduct] == "" {
			continue
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == want && d.Status.UpdatedReplicas == want {
			n++
		}
	}
	return n, nil
}

// countDeployments counts the Deployments of tenants with the prefix, available or not.
func (r *runner) countDeployments(ctx context.Context, prefix string) (int, error) {
	var list appsv1.DeploymentList
	if err := r.cached(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if strings.HasPrefix(tenantOf(&list.Items[i]), prefix+"-") {
			n++
		}
	}
	return n, nil
}

// countSharedNamespaces counts the existing shared namespaces of products.
func (r *runner) countSharedNamespaces(ctx context.Context) (int, error) {
	return r.countNamespacesWhere(ctx, func(ns *corev1.Namespace) bool {
		return ns.Labels[tenancyv1alpha1.LabelSharedProduct] != ""
	})
}

// countNamespaces counts the existing managed namespaces of tenants with the prefix.
func (r *runner) countNamespaces(ctx context.Context, prefix string) (int, error) {
	return r.countNamespacesWhere(ctx, func(ns *corev1.Namespace) bool {
		return strings.HasPrefix(tenantOf(ns), prefix+"-")
	})
}

// countNamespacesWhere counts the existing namespaces match says.
func (r *runner) countNamespacesWhere(ctx context.Context, match func(*corev1.Namespace) bool) (int, error) {
	var list corev1.NamespaceList
	if err := r.cached(ctx, &list); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if match(&list.Items[i]) {
			n++
		}
	}
	return n, nil
}

// baseline applies the operator's objects for N tenants with a plain client and waits for
// their Deployments, then deletes them.
func (r *runner) baseline(ctx context.Context) error {
	n := r.cfg.Tenants
	objects := make([][]render.Object, n+1)
	for i := 1; i <= n; i++ {
		var err error
		if objects[i], err = r.w.rendered(r.w.tenant(prefixBaseline, i)); err != nil {
			return err
		}
	}
	want, wantShared := r.w.tenantDeployments(n), r.w.sharedDeployments()
	// With Shared, the shared instances' objects once, as the ApiProduct reconciler makes
	// them for these tenants' namespaces.
	var namespaces []string
	for i := 1; i <= n; i++ {
		for _, o := range objects[i] {
			if o.Kind == render.KindNamespace {
				namespaces = append(namespaces, o.Name)
			}
		}
	}
	shared := r.w.renderedShared(namespaces)
	if len(shared) > 0 {
		r.logf("applying %d objects of the shared instances in %s", len(shared), strings.Join(r.w.sharedNamespaces(), ", "))
	}
	r.logf("applying %d objects for %d tenants with %d parallel appliers (field manager %s)",
		n*len(objects[1]), n, r.cfg.Concurrency, baselineFieldManager)
	start := time.Now()
	for _, o := range shared {
		if err := r.c.client.Apply(ctx, o.Apply, client.FieldOwner(baselineFieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
		}
	}
	err := r.inParallel(ctx, "baseline tenants applied", r.cfg.Concurrency, n, func(ctx context.Context, i int) error {
		for _, o := range objects[i] {
			if err := r.c.client.Apply(ctx, o.Apply, client.FieldOwner(baselineFieldManager), client.ForceOwnership); err != nil {
				return fmt.Errorf("applying %s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.res.Baseline.Applied = seconds(time.Since(start))
	r.res.Baseline.Requests = n*len(objects[1]) + len(shared)
	if err := r.waitAvailable(ctx, "baseline Deployments available", prefixBaseline, want, wantShared); err != nil {
		return err
	}
	r.res.Baseline.Ready = seconds(time.Since(start))
	r.logf("baseline: %d objects applied in %.1fs, %d Deployments available after %.1fs",
		r.res.Baseline.Requests, r.res.Baseline.Applied, want+wantShared, r.res.Baseline.Ready)
	if !r.cfg.Delete {
		r.logf("baseline: not deleted (-delete=false): the objects go with the cluster")
		return nil
	}

	start = time.Now()
	for _, ns := range r.w.sharedNamespaces() {
		if err := r.c.client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	err = r.inParallel(ctx, "baseline tenants deleted", r.cfg.Concurrency, n, func(ctx context.Context, i int) error {
		for _, o := range objects[i] {
			if o.Kind != render.KindNamespace && o.Namespace != "" {
				continue // goes with its namespace
			}
			obj, err := apply.NewObject(o.Kind)
			if err != nil {
				return err
			}
			obj.SetName(o.Name)
			if err := r.c.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = r.waitFor(ctx, "baseline namespaces gone", func() (bool, string, error) {
		got, err := r.countNamespaces(ctx, prefixBaseline)
		if err != nil || !r.cfg.shared() {
			return got == 0, fmt.Sprintf("%d left", got), err
		}
		// The operator makes the shared namespace anew: the baseline's must be gone.
		gotShared, err := r.countSharedNamespaces(ctx)
		return got == 0 && gotShared == 0, fmt.Sprintf("%d left, %d shared", got, gotShared), err
	})
	r.res.Baseline.Deleted = seconds(time.Since(start))
	return err
}

func (r *runner) startOperator(ctx context.Context) error {
	op, err := startOperator(ctx, r.c, r.cfg, "operator-1.log")
	if err != nil {
		return err
	}
	r.op = op
	return nil
}

// createTenants creates the tenants from..to of prefix with 16 parallel clients, noting
// when each create was sent.
func (r *runner) createTenants(ctx context.Context, prefix string, from, to int) error {
	return r.inParallel(ctx, "tenants created", 16, to-from+1, func(ctx context.Context, i int) error {
		t := r.w.tenant(prefix, from+i-1)
		r.readyMu.Lock()
		r.created[t.Name] = time.Now()
		r.readyMu.Unlock()
		return r.c.client.Create(ctx, t)
	})
}

// readyAfter returns how long the tenant took from its create request to Ready, if it is.
func (r *runner) readyAfter(name string) (time.Duration, bool) {
	r.readyMu.Lock()
	defer r.readyMu.Unlock()
	c, ok1 := r.created[name]
	rd, ok2 := r.ready[name]
	return rd.Sub(c), ok1 && ok2
}

// solo creates single tenants on the idle operator, one at a time, and deletes each.
func (r *runner) solo(ctx context.Context) error {
	for i := 1; i <= r.cfg.SoloRuns; i++ {
		if err := r.createTenants(ctx, prefixSolo, i, i); err != nil {
			return err
		}
		name := r.w.tenant(prefixSolo, i).Name
		err := r.waitFor(ctx, name+" Ready", func() (bool, string, error) {
			_, ok := r.readyAfter(name)
			return ok, "not yet", nil
		})
		if err != nil {
			return err
		}
		d, _ := r.readyAfter(name)
		r.res.Solo.Runs = append(r.res.Solo.Runs, seconds(d))
		r.logf("%s Ready in %.2fs", name, seconds(d))
		if err := r.deleteTenants(ctx, prefixSolo, i, i); err != nil {
			return err
		}
	}
	r.res.Solo.summarize()
	return nil
}

// create creates N tenants at once and waits until all are Ready.
func (r *runner) create(ctx context.Context) error {
	n := r.cfg.Tenants
	m, err := r.op.scrape()
	if err != nil {
		return err
	}
	before, reconcilesBefore, cpuBefore := m.requests(), m.tenantReconciles(), r.op.cpuSeconds()
	start := time.Now()
	if err := r.createTenants(ctx, prefixBench, 1, n); err != nil {
		return err
	}
	r.res.Create.Submitted = seconds(time.Since(start))
	r.logf("%d tenants submitted in %.1fs", n, r.res.Create.Submitted)
	names := make([]string, n)
	for i := range names {
		names[i] = r.w.tenant(prefixBench, i+1).Name
	}
	err = r.waitFor(ctx, "tenants Ready", func() (bool, string, error) {
		got := 0
		for _, name := range names {
			if _, ok := r.readyAfter(name); ok {
				got++
			}
		}
		return got == n, fmt.Sprintf("%d/%d Ready", got, n), nil
	})
	if err != nil {
		return err
	}
	var lastReady time.Time
	var each []float64
	for i := 1; i <= n; i++ {
		name := r.w.tenant(prefixBench, i).Name
		d, _ := r.readyAfter(name)
		each = append(each, seconds(d))
		r.readyMu.Lock()
		lastReady = later(lastReady, r.ready[name])
		r.readyMu.Unlock()
	}
	r.res.Create.Wall = seconds(lastReady.Sub(start))
	// Everything is Ready when the plan's and the products' status count the tenants too:
	// the operator recounts them a second after the tenants change, so the last recount
	// comes after the last tenant's Ready and belongs to this phase, not to steady state.
	if err := r.waitFor(ctx, "plan and product status", r.statusCountsTenants(ctx, n)); err != nil {
		return err
	}
	r.res.Create.StatusCounted = seconds(time.Since(start))
	r.res.Create.summarize(each)
	if r.res.Baseline.Ready > 0 {
		r.res.Ratio = r.res.Create.Wall / r.res.Baseline.Ready
	}
	if h := r.res.Helm; h != nil && r.res.Create.Wall > 0 {
		h.RatioToOperator = h.Ready / r.res.Create.Wall
	}
	if r.res.Create.Wall > 0 {
		r.res.P50Share = r.res.Create.P50 / r.res.Create.Wall
	}
	if m, err = r.op.scrape(); err != nil {
		return err
	}
	r.res.Create.Requests = m.requests().minus(before)
	r.res.Create.Reconciles = m.tenantReconciles() - reconcilesBefore
	r.res.Create.CPU = r.op.cpuSeconds() - cpuBefore
	writes, err := r.c.operatorWrites(start, time.Now())
	if err != nil {
		return err
	}
	r.res.Create.Writes = countWrites(writes)
	rss, heap := r.op.peaks()
	r.res.Create.PeakRSS, r.res.Create.PeakHeap = rss, heap
	r.res.notePeaks(rss, heap)
	// Where the memory is when the last tenant became Ready: go tool pprof -top <file>.
	if err := r.op.saveProfile("heap", filepath.Join(r.cfg.Out, "operator-heap.pprof")); err != nil {
		r.logf("saving the operator's heap profile: %v", err)
	}
	r.logf("all %d Ready after %.1fs (p50 %.1fs, p99 %.1fs); the operator sent %d requests, %d mutating",
		n, r.res.Create.Wall, r.res.Create.P50, r.res.Create.P99, r.res.Create.Requests.Total, r.res.Create.Requests.Mutating)
	if err := r.verifyObjects(ctx); err != nil {
		return err
	}
	return r.countMade(ctx)
}

// countMade counts, once every tenant is Ready, the objects the operator made for the N
// tenants (theirs and the shared instances'), by kind, against what the render package
// gives (what the baseline applied), and the product Pods running: the tenants' own
// (label tenancy.openplatform.io/product) and the shared instances' (.../shared-product).
// Kinds of CRDs are left out: the bench cluster has none of them.
func (r *runner) countMade(ctx context.Context) error {
	want := map[string]int{}
	var namespaces []string
	for i := 1; i <= r.cfg.Tenants; i++ {
		objects, err := r.w.rendered(r.w.tenant(prefixBench, i))
		if err != nil {
			return err
		}
		for _, o := range objects {
			want[o.Kind]++
			if o.Kind == render.KindNamespace {
				namespaces = append(namespaces, o.Name)
			}
		}
	}
	for _, o := range r.w.renderedShared(namespaces) {
		want[o.Kind]++
	}
	made := &r.res.Objects
	made.ByKind = map[string]int{}
	for _, k := range apply.Kinds {
		if k.CRD != "" {
			continue
		}
		err := r.eachObject(ctx, k, func(o client.Object) {
			switch {
			case strings.HasPrefix(tenantOf(o), prefixBench+"-"):
				made.Tenants++
			case o.GetLabels()[tenancyv1alpha1.LabelSharedProduct] != "":
				made.Shared++
			default:
				return
			}
			made.ByKind[k.Name]++
			made.Total++
		}, client.MatchingLabels{tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue})
		if err != nil {
			return err
		}
		r.check(made.ByKind[k.Name] == want[k.Name], "after create: the operator made %d %ss, the render package gives %d",
			made.ByKind[k.Name], k.Name, want[k.Name])
		if made.ByKind[k.Name] == 0 {
			delete(made.ByKind, k.Name)
		}
	}
	pods := &r.res.Pods
	for _, label := range []string{tenancyv1alpha1.LabelProduct, tenancyv1alpha1.LabelSharedProduct} {
		var list corev1.PodList
		if err := r.c.client.List(ctx, &list, client.HasLabels{label}); err != nil {
			return err
		}
		for i := range list.Items {
			p := &list.Items[i]
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			switch {
			case label == tenancyv1alpha1.LabelProduct && strings.HasPrefix(tenantOf(p), prefixBench+"-"):
				pods.Tenants++
			case label == tenancyv1alpha1.LabelSharedProduct:
				pods.Shared++
			default:
				continue
			}
			pods.Running++
		}
	}
	r.check(pods.Running == r.w.pods(r.cfg.Tenants), "after create: %d product Pods running, want %d", pods.Running, r.w.pods(r.cfg.Tenants))
	r.logf("the operator made %d objects (%d of the tenants, %d of shared instances): %s; %d product Pods running (%d of the tenants, %d shared)",
		made.Total, made.Tenants, made.Shared, formatKinds(made.ByKind), pods.Running, pods.Tenants, pods.Shared)
	return nil
}

// statusCountsTenants reports whether the plan's and every product's status count n tenants.
func (r *runner) statusCountsTenants(ctx context.Context, n int) func() (bool, string, error) {
	return func() (bool, string, error) {
		plan := &tenancyv1alpha1.ServicePlan{}
		if err := r.c.client.Get(ctx, client.ObjectKey{Name: benchPlan}, plan); err != nil {
			return false, "", err
		}
		if plan.Status.Tenants != int32(n) {
			return false, fmt.Sprintf("plan %s counts %d/%d tenants", plan.Name, plan.Status.Tenants, n), nil
		}
		for _, want := range r.w.products {
			p := &tenancyv1alpha1.ApiProduct{}
			if err := r.c.client.Get(ctx, client.ObjectKey{Name: want.Name}, p); err != nil {
				return false, "", err
			}
			if p.Status.Tenants != int32(n) {
				return false, fmt.Sprintf("product %s counts %d/%d tenants", p.Name, p.Status.Tenants, n), nil
			}
		}
		return true, "", nil
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// verifyObjects checks that the operator made the same objects as the baseline: every
// tenant's namespaces exist and its Deployments are available.
func (r *runner) verifyObjects(ctx context.Context) error {
	n := r.cfg.Tenants
	wantNS, wantAvail := n*r.cfg.NamespacesPerTenant, r.w.tenantDeployments(n)
	// With Shared: no Deployment of a tenant's own, the shared instances' available.
	wantShared := r.w.sharedDeployments()
	var shared, own int
	// The benchmark sees Tenants, Namespaces and Deployments through separate watches: the
	// last Tenant's Ready may arrive before the last Deployment's status. Give the watches
	// a moment to agree; a count that stays short fails the check below.
	var ns, avail int
	settle, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := r.waitFor(settle, "the benchmark's watches to catch up", func() (bool, string, error) {
		var err error
		if ns, err = r.countNamespaces(ctx, prefixBench); err != nil {
			return false, "", err
		}
		if avail, err = r.countAvailable(ctx, prefixBench); err != nil {
			return false, "", err
		}
		if !r.cfg.shared() {
			return ns == wantNS && avail == wantAvail, fmt.Sprintf("%d/%d namespaces, %d/%d Deployments available", ns, wantNS, avail, wantAvail), nil
		}
		if shared, err = r.countSharedAvailable(ctx); err != nil {
			return false, "", err
		}
		if own, err = r.countDeployments(ctx, prefixBench); err != nil {
			return false, "", err
		}
		return ns == wantNS && own == 0 && shared == wantShared, fmt.Sprintf("%d/%d namespaces, %d tenant Deployments (want none), %d/%d shared Deployments available",
			ns, wantNS, own, shared, wantShared), nil
	})
	if (err != nil && settle.Err() == nil) || ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	r.check(ns == wantNS, "after create: %d tenant namespaces, want %d", ns, wantNS)
	r.check(avail == wantAvail, "after create: %d available product Deployments, want %d", avail, wantAvail)
	if r.cfg.shared() {
		r.check(own == 0, "after create: %d Deployments in the namespaces of Shared tenants, want none", own)
		r.check(shared == wantShared, "after create: %d available Deployments of shared instances, want %d", shared, wantShared)
	}
	// One tenant's objects, by kind, against what the baseline applied (and the shared
	// instances' objects, with Shared).
	t := r.w.tenant(prefixBench, 1)
	objects, err := r.w.rendered(t)
	if err != nil {
		return err
	}
	objects = append(objects, r.w.renderedShared(nil)...)
	for _, o := range objects {
		obj, err := apply.NewObject(o.Kind)
		if err != nil {
			return err
		}
		err = r.c.client.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}, obj)
		r.check(err == nil, "tenant %s: %s %s/%s: %v", t.Name, o.Kind, o.Namespace, o.Name, err)
	}
	return nil
}

// steady counts the operator's mutating requests in a window after every tenant is Ready,
// with a restart of the operator in its middle.
func (r *runner) steady(ctx context.Context) error {
	half := r.cfg.SteadyWindow / 2
	start := time.Now()
	first, err := r.op.requests()
	if err != nil {
		return err
	}
	if err := sleep(ctx, half); err != nil {
		return err
	}
	atStop, err := r.op.requests()
	if err != nil {
		return err
	}
	rss, heap := r.op.peaks()
	r.res.notePeaks(rss, heap)
	r.notePhaseMemory()
	r.op.stop()
	r.op = nil
	r.logf("restarting the operator (forced full resync) %.0fs into the window", seconds(time.Since(start)))
	op, err := startOperator(ctx, r.c, r.cfg, "operator-2.log")
	if err != nil {
		return err
	}
	r.op = op
	if err := sleep(ctx, r.cfg.SteadyWindow-time.Since(start)); err != nil {
		return err
	}
	// The window holds the whole resync: on a loaded machine the new process may still be
	// working through its first pass when the window's time is up.
	err = r.waitEvery(ctx, "the restarted operator's first pass", scrapeEvery, func() (bool, string, error) {
		m, err := r.op.scrape()
		if err != nil {
			return false, "", err
		}
		n := m.tenantReconciles()
		return n >= int64(r.cfg.Tenants), fmt.Sprintf("%d/%d tenants reconciled", n, r.cfg.Tenants), nil
	})
	if err != nil {
		return err
	}
	if err := r.waitQuiet(ctx); err != nil {
		return err
	}
	m, err := r.op.scrape()
	if err != nil {
		return err
	}
	end := time.Now()
	r.res.Steady.Window = seconds(end.Sub(start))
	r.res.Steady.Requests = atStop.minus(first).plus(m.requests())
	if r.res.Steady.Writes, err = r.c.operatorWrites(start, end); err != nil {
		return err
	}
	r.res.Steady.ReconcilesAfterRestart = m.tenantReconciles()
	r.logf("steady state: %d mutating requests of %d in %.0fs; %d tenant reconciles after the restart",
		r.res.Steady.Requests.Mutating, r.res.Steady.Requests.Total, r.res.Steady.Window, r.res.Steady.ReconcilesAfterRestart)
	r.check(r.res.Steady.Requests.Mutating == 0, "steady state: the operator sent %d mutating requests, want 0; the API server logged %s",
		r.res.Steady.Requests.Mutating, formatWrites(r.res.Steady.Writes))
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// fanOut changes the plan's pod quota and waits until every tenant's quota follows.
func (r *runner) fanOut(ctx context.Context) error {
	before, err := r.op.requests()
	if err != nil {
		return err
	}
	plan := &tenancyv1alpha1.ServicePlan{}
	if err := r.c.client.Get(ctx, client.ObjectKey{Name: benchPlan}, plan); err != nil {
		return err
	}
	pods := plan.Spec.Quota.Hard[corev1.ResourcePods]
	pods.Add(resource.MustParse("1"))
	plan.Spec.Quota.Hard[corev1.ResourcePods] = pods
	r.w.plan.Spec.Quota = plan.Spec.Quota.DeepCopy()
	// What every tenant's quotas must become, from the operator's render package.
	want := map[string]string{}
	for i := 1; i <= r.cfg.Tenants; i++ {
		d, err := render.Tenant(render.Input{Tenant: r.w.tenant(prefixBench, i), Plan: r.w.plan})
		if err != nil {
			return err
		}
		for _, o := range d.Namespaced {
			if o.Kind == render.KindResourceQuota {
				q, err := quotaPods(o)
				if err != nil {
					return err
				}
				want[o.Namespace] = q
			}
		}
	}
	start := time.Now()
	if err := r.c.client.Update(ctx, plan); err != nil {
		return err
	}
	r.logf("plan %s: quota pods now %s; waiting for %d ResourceQuotas", benchPlan, pods.String(), len(want))
	err = r.waitFor(ctx, "quotas updated", func() (bool, string, error) {
		var list corev1.ResourceQuotaList
		if err := r.cached(ctx, &list); err != nil {
			return false, "", err
		}
		got := 0
		for i := range list.Items {
			q := &list.Items[i]
			if w, ok := want[q.Namespace]; ok && q.Name == render.QuotaName {
				if p := q.Spec.Hard[corev1.ResourcePods]; p.String() == w {
					got++
				}
			}
		}
		return got == len(want), fmt.Sprintf("%d/%d", got, len(want)), nil
	})
	if err != nil {
		return err
	}
	r.res.FanOut.Wall = seconds(time.Since(start))
	// The tenants' status settles right after their quotas; let it, then count.
	if err := r.waitQuiet(ctx); err != nil {
		return err
	}
	after, err := r.op.requests()
	if err != nil {
		return err
	}
	r.res.FanOut.Requests = after.minus(before)
	r.logf("fan-out: %d quotas updated in %.1fs; %d mutating requests, %d conflicts",
		len(want), r.res.FanOut.Wall, r.res.FanOut.Requests.Mutating, r.res.FanOut.Requests.Conflicts)
	return nil
}

// waitQuiet waits until the operator's work queue has been empty for two seconds.
func (r *runner) waitQuiet(ctx context.Context) error {
	quietSince := time.Time{}
	return r.waitEvery(ctx, "operator idle", scrapeEvery, func() (bool, string, error) {
		m, err := r.op.scrape()
		if err != nil {
			return false, "", err
		}
		depth := m.sum("workqueue_depth", nil) + m.sum("controller_runtime_active_workers", nil)
		if depth > 0 {
			quietSince = time.Time{}
			return false, fmt.Sprintf("%.0f queued or in progress", depth), nil
		}
		if quietSince.IsZero() {
			quietSince = time.Now()
		}
		return time.Since(quietSince) >= 2*time.Second, "idle", nil
	})
}

// delete deletes the N tenants and waits until they and their namespaces are gone.
func (r *runner) delete(ctx context.Context) error {
	before, err := r.op.requests()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := r.deleteTenants(ctx, prefixBench, 1, r.cfg.Tenants); err != nil {
		return err
	}
	r.res.Delete.Wall = seconds(time.Since(start))
	after, err := r.op.requests()
	if err != nil {
		return err
	}
	r.res.Delete.Requests = after.minus(before)
	var roles rbacv1.ClusterRoleList
	if err := r.c.client.List(ctx, &roles, client.MatchingLabels{tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue}); err != nil {
		return err
	}
	left := 0
	for i := range roles.Items {
		if strings.HasPrefix(tenantOf(&roles.Items[i]), prefixBench+"-") {
			left++
		}
	}
	r.check(left == 0, "after delete: %d ClusterRoles of deleted tenants are left", left)
	if r.cfg.shared() {
		// deleteTenants waited for the shared namespaces to go with the last tenant.
		sharedLeft, err := r.countSharedNamespaces(ctx)
		if err != nil {
			return err
		}
		r.check(sharedLeft == 0, "after delete: %d shared namespaces are left", sharedLeft)
	}
	r.logf("deleted %d tenants and their namespaces in %.1fs", r.cfg.Tenants, r.res.Delete.Wall)
	return nil
}

// deleteTenants deletes tenants from..to of prefix and waits until the Tenants and their
// namespaces are gone.
func (r *runner) deleteTenants(ctx context.Context, prefix string, from, to int) error {
	err := r.inParallel(ctx, "tenants deleted", 16, to-from+1, func(ctx context.Context, i int) error {
		t := r.w.tenant(prefix, from+i-1)
		return client.IgnoreNotFound(r.c.client.Delete(ctx, t))
	})
	if err != nil {
		return err
	}
	return r.waitFor(ctx, prefix+" tenants and namespaces gone", func() (bool, string, error) {
		var list tenancyv1alpha1.TenantList
		if err := r.cached(ctx, &list); err != nil {
			return false, "", err
		}
		tenants := 0
		for i := range list.Items {
			if rest, ok := strings.CutPrefix(list.Items[i].Name, prefix+"-"); ok {
				if n, err := strconv.Atoi(rest); err == nil && n >= from && n <= to {
					tenants++
				}
			}
		}
		ns, err := r.countNamespaces(ctx, prefix)
		if err != nil || !r.cfg.shared() {
			return tenants == 0 && ns == 0, fmt.Sprintf("%d tenants, %d namespaces left", tenants, ns), err
		}
		// With Shared, the last tenant takes the shared namespace with it: the next phase
		// starts without a shared instance (or one still terminating).
		if tenants > 0 || ns > 0 {
			return false, fmt.Sprintf("%d tenants, %d namespaces left", tenants, ns), nil
		}
		shared, err := r.countSharedNamespaces(ctx)
		return shared == 0, fmt.Sprintf("%d shared namespaces left", shared), err
	})
}

func seconds(d time.Duration) float64 {
	return float64(d.Round(10*time.Millisecond)) / float64(time.Second)
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedCopy(v []float64) []float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s
}

// quotaPods reads the pods limit of a rendered ResourceQuota.
func quotaPods(o render.Object) (string, error) {
	q, ok := o.Apply.(*corev1ac.ResourceQuotaApplyConfiguration)
	if !ok || q.Spec == nil || q.Spec.Hard == nil {
		return "", fmt.Errorf("rendered %s %s/%s has no spec.hard", o.Kind, o.Namespace, o.Name)
	}
	p, ok := (*q.Spec.Hard)[corev1.ResourcePods]
	if !ok {
		return "", fmt.Errorf("rendered %s %s/%s has no pods limit", o.Kind, o.Namespace, o.Name)
	}
	return p.String(), nil
}
