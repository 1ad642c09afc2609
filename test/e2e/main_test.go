// Package e2e tests the operator as users meet it: the manager binary running
// against a real control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) with simulated nodes, driven with kubectl.
//
// TestMain brings up a kwok cluster of its own through hack/cluster.sh (so it never
// touches the dev cluster of `make run`), with kwok's Stage API and the stages of
// hack/stages (Pods of harness.NeverReadyImage run but never become Ready), installs the CRDs, the admission policy,
// Envoy Gateway's CRDs ($E2E_ENVOY_GATEWAY_CRDS) and the operator's RBAC exactly as config/default names it, starts the manager as a
// subprocess with its ServiceAccount's token (not the admin's credentials, so the
// generated RBAC and the policy's exemption are what every test relies on) and tears
// both down at the end, on SIGINT/SIGTERM and shortly before the test binary's
// -timeout would kill it. Run it with `make test-e2e`.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

const clusterPrefix = "tenant-operator-e2e-"

// The operator's leader election timings in these tests (see startOperator).
const (
	leaseDuration = 6 * time.Second
	renewDeadline = 4 * time.Second
)

// The environment shared by the tests, set up by TestMain.
var (
	repoRoot   string // absolute path of the repository
	kubeconfig string // kubeconfig of the test cluster: its admin, in system:masters

	// env is the running suite: the tests that stop and start the operator or the
	// control plane use it.
	env *suite
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(runSuite(m))
}

// suite is the cluster and operator process of one test run.
type suite struct {
	name    string // kwok cluster name
	workDir string // temporary directory: kubeconfigs, operator log
	logPath string // the operator's log, appended to by every start of it
	manager string // the operator binary
	cluster *harness.Cluster
	// op is the operator process started last; nil before the first start and after a
	// start that failed.
	op *harness.Operator

	// The operator's identity: its ServiceAccount and a kubeconfig holding a token of it.
	operatorSA         serviceAccount
	operatorKubeconfig string
	startOffset        int64 // where the log of the operator's last start begins
	// metricsAddr is where the operator started last serves its metrics (HTTPS, with the
	// API server's authentication and authorization, as a Deployment of it does).
	metricsAddr string

	// setUpCtx is cancelled at teardown, which kills a hack/cluster.sh still
	// creating the cluster.
	setUpCtx    context.Context
	cancelSetUp context.CancelFunc

	once sync.Once
}

func runSuite(m *testing.M) int {
	s := &suite{name: fmt.Sprintf("%s%d", clusterPrefix, os.Getpid())}
	env = s
	s.setUpCtx, s.cancelSetUp = context.WithCancel(context.Background())

	// Tear down on Ctrl-C or a kill, which would otherwise skip the deferred
	// teardown and leave the cluster's processes running.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		fmt.Printf("e2e: got %v, tearing down\n", sig)
		s.tearDown()
		os.Exit(1)
	}()

	// `go test -timeout` panics without running deferred functions; stop a little
	// earlier, say where the tests were, and clean up.
	if d := testTimeout(); d > 0 {
		margin := min(time.Minute, d/10)
		timer := time.AfterFunc(d-margin, func() {
			fmt.Printf("e2e: the suite is about to reach -timeout %v; goroutines:\n", d)
			_ = pprof.Lookup("goroutine").WriteTo(os.Stdout, 1)
			s.printOperatorLog()
			s.tearDown()
			os.Exit(1)
		})
		defer timer.Stop()
	}

	code := 1
	defer func() {
		if code != 0 {
			s.printOperatorLog()
		}
		s.tearDown()
	}()

	if err := s.setUp(); err != nil {
		fmt.Printf("e2e: setting up: %v\n", err)
		return code
	}
	code = m.Run()
	if err := s.stopOperator(); err != nil {
		fmt.Printf("e2e: %v\n", err)
		code = 1
	}
	if err := s.checkOperatorLog(); err != nil {
		fmt.Printf("e2e: %v\n", err)
		code = 1
	}
	return code
}

func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := f.Value.(flag.Getter).Get().(time.Duration)
	return d
}

func (s *suite) setUp() error {
	var err error
	if repoRoot, err = harness.RepoRoot(); err != nil {
		return err
	}
	for _, b := range []string{"kwokctl", "kwok", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(repoRoot, "bin", b)); err != nil {
			return fmt.Errorf("bin/%s is missing: run the e2e tests with `make test-e2e`, which builds it", b)
		}
	}
	if s.workDir, err = os.MkdirTemp("", s.name+"-"); err != nil {
		return err
	}
	kubeconfig = filepath.Join(s.workDir, "kubeconfig")
	s.logPath = filepath.Join(s.workDir, "operator.log")

	reapStaleClusters()

	if s.manager, err = managerBinary(s.workDir); err != nil {
		return err
	}

	start := time.Now()
	// With the repository's kwok stages (hack/stages): Pods behave as with kwok's default
	// stages, except those of harness.NeverReadyImage, which never become Ready.
	s.cluster = &harness.Cluster{Root: repoRoot, Name: s.name, Kubeconfig: kubeconfig, Log: os.Stdout,
		Stages: harness.StagesDir(repoRoot)}
	if err := s.cluster.Up(s.setUpCtx); err != nil {
		return err
	}
	fmt.Printf("e2e: cluster %s up in %v\n", s.name, time.Since(start).Round(100*time.Millisecond))

	if err := harness.InstallCRDs(s.setUpCtx, s.cluster.Kubectl(), repoRoot); err != nil {
		return err
	}
	if err := installEnvoyGatewayCRDs(s.setUpCtx, s.cluster.Kubectl()); err != nil {
		return err
	}
	if s.operatorSA, err = installOperatorRBAC(); err != nil {
		return err
	}
	s.operatorKubeconfig = filepath.Join(s.workDir, "operator.kubeconfig")
	if err := writeTokenKubeconfig(s.operatorSA, s.operatorKubeconfig); err != nil {
		return err
	}
	return s.startOperator()
}

// installEnvoyGatewayCRDs installs Envoy Gateway's CRDs from $E2E_ENVOY_GATEWAY_CRDS (set by
// `make test-e2e` to bin/envoy-gateway/crds), server-side (the EnvoyProxy CRD is too large
// for the last-applied annotation of a client-side apply), and waits until they are
// Established: the tests run against a cluster where the operator's gateway policies are
// checked by Envoy Gateway's real schema and CEL rules.
func installEnvoyGatewayCRDs(ctx context.Context, k harness.Kubectl) error {
	dir := os.Getenv("E2E_ENVOY_GATEWAY_CRDS")
	if dir == "" {
		return errors.New("E2E_ENVOY_GATEWAY_CRDS is not set: run the e2e tests with `make test-e2e`, which fetches " +
			"Envoy Gateway's CRDs into bin/envoy-gateway/crds (`make envoy-gateway`) and passes that directory")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("E2E_ENVOY_GATEWAY_CRDS=%s holds no CRD manifests (*.yaml): run `make envoy-gateway` to fetch them (%v)", dir, err)
	}
	start := time.Now()
	if _, err := k.Run(ctx, nil, "apply", "--server-side", "-f", dir); err != nil {
		return fmt.Errorf("installing Envoy Gateway's CRDs from %s: %w", dir, err)
	}
	out, err := k.Run(ctx, nil, "get", "-f", dir, "-o", "name")
	if err != nil {
		return err
	}
	var names []string
	for _, n := range strings.Fields(out) {
		names = append(names, strings.TrimPrefix(n, "customresourcedefinition.apiextensions.k8s.io/"))
	}
	if err := harness.WaitCRDsEstablished(ctx, k, 60*time.Second, names...); err != nil {
		return err
	}
	fmt.Printf("e2e: installed Envoy Gateway's CRDs (%s) in %v\n", strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// tearDown stops the operator and deletes the cluster. It runs once, whichever of
// the normal end, a signal or the timeout watchdog comes first; later callers wait
// for it to finish.
func (s *suite) tearDown() {
	s.once.Do(func() {
		s.cancelSetUp()
		if err := s.stopOperator(); err != nil {
			fmt.Printf("e2e: %v\n", err)
		}
		if s.workDir == "" {
			return
		}
		if s.cluster != nil {
			if err := s.cluster.Down(); err != nil {
				fmt.Printf("e2e: deleting cluster %s: %v\n", s.name, err)
			}
		}
		_ = os.RemoveAll(s.workDir)
	})
}

// managerBinary returns the manager to test: $E2E_MANAGER (set by `make test-e2e`
// to the freshly built bin/manager), else a build of ./cmd made now, so that a
// plain `go test ./test/e2e` never tests a stale binary.
func managerBinary(workDir string) (string, error) {
	if m := os.Getenv("E2E_MANAGER"); m != "" {
		if _, err := os.Stat(m); err != nil {
			return "", fmt.Errorf("E2E_MANAGER: %w", err)
		}
		return m, nil
	}
	out := filepath.Join(workDir, "manager")
	cmd := exec.Command("go", "build", "-o", out, "./cmd")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd: %v\n%s", err, b)
	}
	return out, nil
}

// reapStaleClusters deletes the clusters and temporary directories left behind
// by runs that were killed outright (SIGKILL, a crash): their names hold the pid
// of a process that is gone.
func reapStaleClusters() {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), "list")
	cmd.Dir = repoRoot
	if out, err := cmd.Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			name := strings.TrimSpace(sc.Text())
			if pid, ok := strings.CutPrefix(name, clusterPrefix); ok && processGone(pid) {
				fmt.Printf("e2e: deleting cluster %s left behind by a run that is gone\n", name)
				stale := harness.Cluster{Root: repoRoot, Name: name, Log: os.Stdout}
				_ = stale.Down()
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), clusterPrefix+"*-*"))
	for _, dir := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), clusterPrefix), "-")
		if processGone(pid) {
			_ = os.RemoveAll(dir)
		}
	}
}

// processGone reports whether pid is a number and no process has it.
func processGone(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 || n == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(n, 0), syscall.ESRCH)
}

// startOperator starts the operator as config/default deploys it: as its
// ServiceAccount, with leader election (the Deployment passes --leader-elect) in its
// own namespace, which outside a pod is named by --operator-namespace (a Pod gets it from
// POD_NAMESPACE; the Lease follows it), and with its default, secure metrics endpoint,
// on loopback. A restart after a kill therefore waits for the dead process's lease to
// expire, as a replacement pod would.
func (s *suite) startOperator() error {
	probeAddr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy
	s.startOffset = s.logOffset()
	fmt.Fprintf(logFile, "===== e2e: starting the operator at %s =====\n", time.Now().Format(time.RFC3339Nano))

	s.op = nil
	op, err := harness.StartOperator(s.setUpCtx, harness.OperatorConfig{
		Binary: s.manager,
		Args: []string{
			"--kubeconfig=" + s.operatorKubeconfig,
			"--metrics-bind-address=" + metricsAddr,
			"--health-probe-bind-address=" + probeAddr,
			// The Lease goes to the operator's namespace by default, also outside a Pod.
			"--leader-elect",
			// Shorter than the defaults (15s/10s/2s), so a restart after a kill waits
			// 6 s at most for the dead process's lease, and an outage of the API server
			// ends the leadership after 4 s.
			"--leader-elect-lease-duration=" + leaseDuration.String(),
			"--leader-elect-renew-deadline=" + renewDeadline.String(),
			"--leader-elect-retry-period=1s",
			"--operator-namespace=" + s.operatorSA.Namespace,
		},
		Env:       []string{"KUBECONFIG=" + s.operatorKubeconfig},
		Output:    logFile,
		ProbeAddr: probeAddr,
	})
	if err != nil {
		return err
	}
	s.op = op
	s.metricsAddr = metricsAddr
	fmt.Printf("e2e: operator ready (pid %d, log %s)\n", op.Pid(), s.logPath)
	return nil
}

// stopOperator stops the operator like the kubelet would: SIGTERM, then SIGKILL
// after a grace period. Not stopping in time is an error: a rolling update of the
// Deployment would hit it too.
func (s *suite) stopOperator() error {
	if s.op == nil {
		return nil
	}
	return s.op.Stop(10 * time.Second)
}

// operatorRunning reports whether the operator process is still running.
func (s *suite) operatorRunning() bool { return s.op != nil && s.op.Running() }

// exitErr says how the operator started last exited (nil while it runs).
func (s *suite) exitErr() error {
	if s.op == nil {
		return errors.New("the operator did not start")
	}
	return s.op.ExitErr()
}

func (s *suite) printOperatorLog() {
	if s.logPath == "" {
		return
	}
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return
	}
	const maxLines = 400
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	from := 0
	if len(lines) > maxLines {
		from = len(lines) - maxLines
	}
	fmt.Printf("\n===== operator log (last %d of %d lines) =====\n", len(lines)-from, len(lines))
	fmt.Println(strings.Join(lines[from:], "\n"))
	fmt.Println("===== end of operator log =====")
}
