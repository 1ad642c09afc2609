package controllers

// The envtest suite: every test is a user story run against a real kube-apiserver and etcd
// with the operator's manager built exactly as cmd/main.go builds it. envtest has no
// controller-manager, so namespaces never finish deleting (they stay Terminating),
// Deployments get no Pods and ResourceQuota status.used is never computed; the tests assert
// only what the operator itself does.
//
// Tests that use names of their own (tenants, plans, products, namespaces) call t.Parallel
// and run up to defaultParallel at a time. The few that change what every test shares stay
// sequential, and Go runs them before the parallel ones: restarting or stopping the manager
// (restartManager, withManagerStopped), installing a CRD (the HTTPRoute CRD), or counting
// what every tenant adds (a metric without a tenant label). One that installs a CRD is
// parallel on purpose: TestGatewayPolicies installs the Envoy Gateway CRDs, which no other
// test uses, and must run after the sequential TestHTTPRouteAfterGatewayAPIInstalled has
// seen a cluster without the Gateway API (see gateway_policies_test.go). Cluster-wide set-up that
// parallel tests need (installPolicies, aggregateBuiltinRoles) is shared: the first user
// sets it up, the last one undoes it.
//
// Run with: KUBEBUILDER_ASSETS=$PWD/bin go test ./controllers/ -count=1 -v
// The manager's log goes to a temporary file whose path is printed when a test fails.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// defaultTimeout is how long eventually waits when given no timeout.
const defaultTimeout = 20 * time.Second

// testOperatorNamespace is the operator's namespace as the test manager is told it: reserved.
const testOperatorNamespace = "tenant-operator-system"

// testNamespaceGonePoll is how often the suite's deleting tenants check their namespaces
// (the default is a minute): envtest has no namespace controller, so their namespaces stay
// terminating and the checks are the only passes a test of them can wait for.
const testNamespaceGonePoll = 2 * time.Second

var (
	// k8s is a direct (uncached) client: what a user with kubectl would see.
	k8s client.Client
	// testCtx is cancelled when the suite stops.
	testCtx context.Context
	// reaperPipe is the write end of the reaper's stdin.
	reaperPipe io.WriteCloser
	// restConfig is the envtest API server's config, for tests that need more than k8s.
	restConfig *rest.Config

	// The running manager: stopManager stops it (restartManager swaps it for a new one).
	managerMu   sync.Mutex
	stopManager func() error
)

// defaultParallel is how many parallel tests run at once unless -parallel says otherwise.
// They wait on the API server and the manager, not on the CPU, so more of them than
// GOMAXPROCS (go test's default) finish sooner even on a small machine.
const defaultParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	setByUser := false
	flag.Visit(func(f *flag.Flag) { setByUser = setByUser || f.Name == "test.parallel" })
	if !setByUser {
		if err := flag.Set("test.parallel", strconv.Itoa(defaultParallel)); err != nil {
			fmt.Fprintf(os.Stderr, "setting -test.parallel: %v\n", err)
		}
	}
	os.Exit(runSuite(m))
}

// runSuite starts envtest and the manager, runs the tests and always tears both down: on
// return, on a panic in TestMain's goroutine and on SIGINT/SIGTERM. A reaper process kills
// etcd and kube-apiserver even when this process dies without running its defers (a panic
// in a test goroutine, the -timeout panic, SIGKILL).
func runSuite(m *testing.M) (code int) {
	logFile, err := os.CreateTemp("", "tenant-operator-envtest-*.log")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the manager log: %v\n", err)
		return 1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)))

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin")
	}
	testEnv := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}

	ctx, cancel := context.WithCancel(context.Background())
	testCtx = ctx
	var (
		once   sync.Once
		reaper *exec.Cmd
	)
	teardown := func() {
		once.Do(func() {
			cancel()
			managerMu.Lock()
			stop := stopManager
			managerMu.Unlock()
			if stop != nil {
				if err := stop(); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
			}
			if err := testEnv.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping envtest: %v\n", err)
			}
			if reaper != nil && reaper.Process != nil {
				_ = reaper.Process.Kill()
				_ = reaper.Wait()
			}
		})
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "panic in the suite: %v\n%s\n", r, debug.Stack())
			code = 1
		}
		teardown()
		_ = logFile.Close()
		if code == 0 {
			_ = os.Remove(logFile.Name())
		} else {
			fmt.Fprintf(os.Stderr, "the manager's log is in %s\n", logFile.Name())
		}
	}()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-signals; ok {
			fmt.Fprintln(os.Stderr, "interrupted: stopping envtest")
			teardown()
			os.Exit(130)
		}
	}()
	defer signal.Stop(signals)

	cfg, err := testEnv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (binaries from %s): %v\n", assets, err)
		return 1
	}
	reaper = startReaper()

	restConfig = cfg
	scheme := runtime.NewScheme()
	utilruntime.Must(AddToScheme(scheme))

	stop, err := startManager(ctx, cfg, scheme)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	managerMu.Lock()
	stopManager = stop
	managerMu.Unlock()

	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the test client: %v\n", err)
		return 1
	}
	return m.Run()
}

// startManager builds the manager as cmd/main.go does (with the metrics endpoint, health
// probes and leader election off), starts it and returns a function that stops it and waits
// for it to return.
func startManager(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (func() error, error) {
	mgrCtx, cancel := context.WithCancel(ctx)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   CacheOptions(testOperatorNamespace),
		Client:  ClientOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// The controllers of a restarted manager have the names of the stopped one's.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := Setup(mgrCtx, mgr, Options{OperatorNamespace: testOperatorNamespace, NamespaceGonePoll: testNamespaceGonePoll}); err != nil {
		cancel()
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("the manager stopped with an error: %w", err)
			}
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("the manager did not stop within 30s")
		}
	}, nil
}

// restartManager stops the running manager and starts a new one with empty caches and no
// memory of the old one: what a restart of the operator's Pod does.
func restartManager(t *testing.T) {
	t.Helper()
	managerMu.Lock()
	defer managerMu.Unlock()
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	stop, err := startManager(testCtx, restConfig, k8s.Scheme())
	if err != nil {
		t.Fatalf("starting a new manager: %v", err)
	}
	stopManager = stop
}

// startReaper starts a shell that waits for this process to die (its stdin, a pipe only
// this process holds, reaches EOF), then kills the control-plane processes envtest started
// and removes their temporary directories. On a normal stop the suite kills the reaper
// itself after stopping envtest.
func startReaper() *exec.Cmd {
	pids, dirs := controlPlaneProcesses()
	if len(pids) == 0 {
		return nil
	}
	script := `trap '' INT TERM HUP; read _; pids=$1; shift
kill -TERM $pids 2>/dev/null; sleep 5; kill -KILL $pids 2>/dev/null
for d in "$@"; do rm -rf -- "$d"; done; exit 0`
	strs := make([]string, len(pids))
	for i, p := range pids {
		strs[i] = strconv.Itoa(p)
	}
	cmd := exec.Command("sh", append([]string{"-c", script, "envtest-reaper", strings.Join(strs, " ")}, dirs...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	reaperPipe = pipe // kept referenced: the write end must stay open until this process exits
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "starting the envtest reaper: %v\n", err)
		return nil
	}
	return cmd
}

// controlPlaneProcesses returns the pids of this process's etcd and kube-apiserver children
// and the envtest temporary directories (k8s_test_framework_*) named in their arguments.
func controlPlaneProcesses() (pids []int, dirs []string) {
	self := os.Getpid()
	tmp := filepath.Clean(os.TempDir())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		comm := s[open+1 : closing]
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self || (comm != "etcd" && comm != "kube-apiserver") {
			continue
		}
		pids = append(pids, pid)
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			_, value, _ := strings.Cut(arg, "=")
			for _, v := range []string{arg, value} {
				v = filepath.Clean(v)
				if filepath.Dir(v) == tmp && strings.HasPrefix(filepath.Base(v), "k8s_test_framework_") && !slices.Contains(dirs, v) {
					dirs = append(dirs, v)
				}
			}
		}
	}
	return pids, dirs
}

// ---------------------------------------------------------------------------------------
// Polling helpers.

// eventually calls f every 100ms until it returns nil, and fails the test with f's last
// error after timeout (defaultTimeout when 0).
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	if timeout == 0 {
		timeout = defaultTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consistently calls f every 100ms for d and fails the test as soon as it returns an error.
func consistently(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := f(); err != nil {
			t.Fatalf("should have held for %v: %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------
// Object helpers.

func mustCreate(t *testing.T, o client.Object) {
	t.Helper()
	if err := k8s.Create(testCtx, o); err != nil {
		t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func mustDelete(t *testing.T, o client.Object) {
	t.Helper()
	if err := k8s.Delete(testCtx, o); err != nil {
		t.Fatalf("deleting %T %s: %v", o, o.GetName(), err)
	}
}

// mustUpdate reads o, applies mutate and updates it, retrying on conflicts (the operator
// writes the status of plans and tenants concurrently).
func mustUpdate[T client.Object](t *testing.T, o T, mutate func(T), opts ...client.UpdateOption) {
	t.Helper()
	key := client.ObjectKeyFromObject(o)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(testCtx, key, o); err != nil {
			return err
		}
		mutate(o)
		return k8s.Update(testCtx, o, opts...)
	})
	if err != nil {
		t.Fatalf("updating %T %s: %v", o, key, err)
	}
}

// get reads an object into o by namespace and name.
func get(o client.Object, namespace, name string) error {
	return k8s.Get(testCtx, client.ObjectKey{Namespace: namespace, Name: name}, o)
}

// gone returns nil when the object does not exist.
func gone(o client.Object, namespace, name string) error {
	err := get(o, namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%T %s still exists", o, objName(namespace, name))
}

func objName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// removeFinalizers clears a Tenant's finalizers by hand: envtest never finishes deleting
// namespaces, so a tenant with deletionPolicy Delete would wait for them forever.
func removeFinalizers(t *testing.T, name string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tn := &tenancyv1alpha1.Tenant{}
		if err := get(tn, "", name); err != nil {
			return client.IgnoreNotFound(err)
		}
		tn.Finalizers = nil
		return client.IgnoreNotFound(k8s.Update(testCtx, tn))
	})
	if err != nil {
		t.Fatalf("removing the finalizers of tenant %s: %v", name, err)
	}
	eventually(t, 0, func() error { return gone(&tenancyv1alpha1.Tenant{}, "", name) })
}

// rl builds a ResourceList from name/quantity pairs.
func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// sameResources reports how got differs from want (keys and values, compared as quantities).
func sameResources(got corev1.ResourceList, want ...string) error {
	w := rl(want...)
	var diffs []string
	for name, q := range w {
		g, ok := got[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s missing (want %s)", name, q.String()))
		} else if g.Cmp(q) != 0 {
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", name, g.String(), q.String()))
		}
	}
	for name, g := range got {
		if _, ok := w[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s=%s", name, g.String()))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// hasTenantLabels checks the labels every object of the tenant carries.
func hasTenantLabels(o client.Object, tenant string) error {
	l := o.GetLabels()
	if l[tenancyv1alpha1.LabelTenant] != tenant || l[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue {
		return fmt.Errorf("%T %s has labels %v, want %s=%s and %s=%s", o, objName(o.GetNamespace(), o.GetName()), l,
			tenancyv1alpha1.LabelTenant, tenant, tenancyv1alpha1.LabelManagedBy, tenancyv1alpha1.ManagedByValue)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Plans and tenants.

// newPlan returns a plan that allows n namespaces with a small quota budget.
func newPlan(name string, maxNamespaces int32) *tenancyv1alpha1.ServicePlan {
	return &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			MaxNamespaces: maxNamespaces,
			Quota:         &tenancyv1alpha1.PlanQuota{Hard: rl("requests.cpu", "4", "pods", "20")},
		},
	}
}

// newTenant returns a tenant on plan with one User owner and the given namespaces (none:
// the default single namespace named after the tenant).
func newTenant(name, plan string, namespaces ...string) *tenancyv1alpha1.Tenant {
	tn := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1alpha1.TenantSpec{
			Plan:   plan,
			Owners: []tenancyv1alpha1.Owner{{Kind: tenancyv1alpha1.OwnerUser, Name: "owner@" + name + ".example"}},
		},
	}
	for _, ns := range namespaces {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: ns})
	}
	return tn
}

func fetchTenant(name string) (*tenancyv1alpha1.Tenant, error) {
	tn := &tenancyv1alpha1.Tenant{}
	return tn, get(tn, "", name)
}

// describeConditions renders conditions for error messages.
func describeConditions(conds []metav1.Condition) string {
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// wantCondition checks a condition's status and, when reason is not empty, its reason.
func wantCondition(conds []metav1.Condition, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(conds, typ)
	switch {
	case c == nil:
		return fmt.Errorf("no %s condition in %s", typ, describeConditions(conds))
	case c.Status != status || (reason != "" && c.Reason != reason):
		return fmt.Errorf("want %s=%s reason %q, have %s", typ, status, reason, describeConditions(conds))
	}
	return nil
}

// notTrue checks that a condition is absent or not True (Reconciling, Stalled when settled).
func notTrue(conds []metav1.Condition, typ string) error {
	if c := meta.FindStatusCondition(conds, typ); c != nil && c.Status == metav1.ConditionTrue {
		return fmt.Errorf("%s is True: %s", typ, describeConditions(conds))
	}
	return nil
}

// waitTenantReady waits until the tenant is Ready=True for its current generation and
// returns it.
func waitTenantReady(t *testing.T, name string) *tenancyv1alpha1.Tenant {
	t.Helper()
	var tn *tenancyv1alpha1.Tenant
	eventually(t, 0, func() error {
		var err error
		if tn, err = fetchTenant(name); err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", tn.Status.ObservedGeneration, tn.Generation)
		}
		return nil
	})
	return tn
}

// waitTenantStalled waits until the tenant is Ready=False and Stalled=True with reason and
// returns it.
func waitTenantStalled(t *testing.T, name, reason string) *tenancyv1alpha1.Tenant {
	t.Helper()
	var tn *tenancyv1alpha1.Tenant
	eventually(t, 0, func() error {
		var err error
		if tn, err = fetchTenant(name); err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, reason); err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, reason); err != nil {
			return err
		}
		if tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", tn.Status.ObservedGeneration, tn.Generation)
		}
		return nil
	})
	return tn
}

// namespaceStatus returns the tenant's status entry for a namespace.
func namespaceStatus(tn *tenancyv1alpha1.Tenant, name string) (tenancyv1alpha1.NamespaceStatus, bool) {
	for _, s := range tn.Status.Namespaces {
		if s.Name == name {
			return s, true
		}
	}
	return tenancyv1alpha1.NamespaceStatus{}, false
}

// quotaHard returns the hard limits of tenant-quota in a namespace.
func quotaHard(namespace string) (corev1.ResourceList, error) {
	rq := &corev1.ResourceQuota{}
	if err := get(rq, namespace, "tenant-quota"); err != nil {
		return nil, err
	}
	return rq.Spec.Hard, nil
}

// waitQuota waits until tenant-quota in namespace has exactly the given hard limits, and
// services.nodeports and services.loadbalancers at 0 unless want names them (every
// tenant-quota holds them).
func waitQuota(t *testing.T, namespace string, want ...string) {
	t.Helper()
	want = withFencedServices(want...)
	eventually(t, 0, func() error {
		hard, err := quotaHard(namespace)
		if err != nil {
			return err
		}
		if err := sameResources(hard, want...); err != nil {
			return fmt.Errorf("tenant-quota in %s: %w", namespace, err)
		}
		return nil
	})
}

// withFencedServices adds services.nodeports and services.loadbalancers at 0 to a
// key-value list of quota limits that does not name them.
func withFencedServices(kv ...string) []string {
	out := append([]string{}, kv...)
	for _, key := range []string{"services.nodeports", "services.loadbalancers"} {
		named := false
		for i := 0; i < len(kv); i += 2 {
			named = named || kv[i] == key
		}
		if !named {
			out = append(out, key, "0")
		}
	}
	return out
}

// createNamespace creates a namespace that the operator did not make.
func createNamespace(t *testing.T, name string, labels, annotations map[string]string) {
	t.Helper()
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations}})
}

// terminating returns nil when the namespace exists and is being deleted.
func terminating(name string) error {
	ns := &corev1.Namespace{}
	if err := get(ns, "", name); err != nil {
		return err
	}
	if ns.DeletionTimestamp.IsZero() {
		return fmt.Errorf("namespace %s has no deletionTimestamp", name)
	}
	return nil
}

// awaitPass deletes one of the operator's Services and waits until it is made again: proof
// that the operator has reconciled the tenant since (the Service's pass also rewrites or
// keeps everything else of the tenant).
func awaitPass(t *testing.T, namespace, service string) {
	t.Helper()
	svc := &corev1.Service{}
	if err := get(svc, namespace, service); err != nil {
		t.Fatal(err)
	}
	mustDelete(t, svc)
	eventually(t, 0, func() error {
		s := &corev1.Service{}
		if err := get(s, namespace, service); err != nil {
			return err
		}
		if s.UID == svc.UID {
			return fmt.Errorf("Service %s/%s not made again yet", namespace, service)
		}
		return nil
	})
}

// story is one named story of a test that shares set-up with others.
type story struct {
	name string
	run  func(*testing.T)
}

// parallelStories runs each story as a parallel subtest.
func parallelStories(t *testing.T, stories []story) {
	t.Helper()
	for _, s := range stories {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t)
		})
	}
}
