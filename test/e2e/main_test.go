// Package e2e tests the operator as users meet it: the manager binary running
// against a real control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler) with simulated nodes, driven with kubectl.
//
// TestMain brings up a kwok cluster of its own through hack/cluster.sh (so it never
// touches the dev cluster of `make run`), installs the CRDs, the admission policy and
// the operator's RBAC exactly as config/default names it, starts the manager as a
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
	"net/http"
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
	name     string // kwok cluster name
	workDir  string // temporary directory: kubeconfigs, operator log
	logPath  string // the operator's log, appended to by every start of it
	manager  string // the operator binary
	operator *exec.Cmd
	exited   chan struct{} // closed when the operator process has exited
	exitErr  error         // the operator's exit status, valid once exited is closed

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
	if err := clusterScript(s.setUpCtx, "up", s.name, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("e2e: cluster %s up in %v\n", s.name, time.Since(start).Round(100*time.Millisecond))

	if err := installCRDs(); err != nil {
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
		if err := clusterScript(context.Background(), "down", s.name); err != nil {
			fmt.Printf("e2e: deleting cluster %s: %v\n", s.name, err)
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

func clusterScript(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "cluster.sh"), args...)
	cmd.Dir = repoRoot
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	// Its own process group, so that cancelling kills kwokctl too. (The cluster's
	// daemons run in sessions of their own and are deleted by `down`.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/cluster.sh %s: %w", strings.Join(args, " "), err)
	}
	return nil
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
				_ = clusterScript(context.Background(), "down", name)
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

func installCRDs() error {
	if _, err := runKubectl(nil, "apply", "--server-side", "-k", "config/crd"); err != nil {
		return err
	}
	// The same as `make install`: the admission policy too, when there is one.
	if st, err := os.Stat(filepath.Join(repoRoot, "config", "policy")); err == nil && st.IsDir() {
		flag := "-f"
		if _, err := os.Stat(filepath.Join(repoRoot, "config", "policy", "kustomization.yaml")); err == nil {
			flag = "-k"
		}
		if _, err := runKubectl(nil, "apply", "--server-side", flag, "config/policy"); err != nil {
			return err
		}
	}
	_, err := runKubectl(nil, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	return err
}

// startOperator starts the operator as config/default deploys it: as its
// ServiceAccount, with leader election (the Deployment passes --leader-elect) in its
// own namespace, which outside a pod must be named (as must the operator's namespace,
// which a Pod gets from POD_NAMESPACE), and with its default, secure metrics endpoint,
// on loopback. A restart after a kill therefore waits for the dead process's lease to
// expire, as a replacement pod would.
func (s *suite) startOperator() error {
	port, err := harness.FreePort()
	if err != nil {
		return err
	}
	mport, err := harness.FreePort()
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

	probeAddr := fmt.Sprintf("127.0.0.1:%d", port)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", mport)
	cmd := exec.Command(s.manager,
		"--kubeconfig="+s.operatorKubeconfig,
		"--metrics-bind-address="+metricsAddr,
		"--health-probe-bind-address="+probeAddr,
		"--leader-elect",
		"--leader-election-namespace="+s.operatorSA.Namespace,
		"--operator-namespace="+s.operatorSA.Namespace,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.operatorKubeconfig)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// If this test binary dies without tearing down, the kernel kills the operator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.manager, err)
	}
	s.operator = cmd
	s.metricsAddr = metricsAddr
	exited := make(chan struct{})
	s.exited = exited
	go func() {
		err := cmd.Wait()
		s.exitErr = err
		close(exited)
	}()

	// Ready once /readyz answers 200.
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("the operator exited while starting: %v", s.exitErr)
		default:
		}
		resp, err := client.Get("http://" + probeAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("e2e: operator ready (pid %d, log %s)\n", cmd.Process.Pid, s.logPath)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the operator did not report ready on %s/readyz within 60s", probeAddr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stopOperator stops the operator like the kubelet would: SIGTERM, then SIGKILL
// after a grace period. Not stopping in time is an error: a rolling update of the
// Deployment would hit it too.
func (s *suite) stopOperator() error {
	if s.operator == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil // already stopped
	default:
	}
	_ = s.operator.Process.Signal(syscall.SIGTERM)
	const grace = 10 * time.Second
	select {
	case <-s.exited:
		return nil
	case <-time.After(grace):
		_ = s.operator.Process.Kill()
		<-s.exited
		return fmt.Errorf("the operator did not exit within %v of SIGTERM and was killed", grace)
	}
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
