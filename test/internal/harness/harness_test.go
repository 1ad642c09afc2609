package harness

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperProcess is the stand-in operator of the tests below: this test binary run
// again with HARNESS_HELPER set. serve answers /readyz on HARNESS_PROBE_ADDR and exits 0
// on SIGTERM; stubborn does the same but ignores SIGTERM; exit exits 3 at once.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("HARNESS_HELPER")
	if mode == "" {
		return // not a helper: nothing to test here
	}
	switch mode {
	case "exit":
		os.Exit(3)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
	case "serve":
		terms := make(chan os.Signal, 1)
		signal.Notify(terms, syscall.SIGTERM)
		go func() { <-terms; os.Exit(0) }()
	}
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	_ = http.ListenAndServe(os.Getenv("HARNESS_PROBE_ADDR"), nil)
	os.Exit(1)
}

// startHelper starts this test binary as an operator in the given mode.
func startHelper(t *testing.T, mode string) (*Operator, error) {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "operator.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	op, err := StartOperator(t.Context(), OperatorConfig{
		Binary:       os.Args[0],
		Args:         []string{"-test.run=^TestHelperProcess$"},
		Env:          []string{"HARNESS_HELPER=" + mode, "HARNESS_PROBE_ADDR=" + addr},
		Output:       out,
		ProbeAddr:    addr,
		ReadyTimeout: 30 * time.Second,
	})
	if op != nil {
		t.Cleanup(func() { _ = op.Stop(time.Second) })
	}
	return op, err
}

func TestOperatorStopsOnSIGTERM(t *testing.T) {
	op, err := startHelper(t, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if !op.Running() || op.ExitErr() != nil {
		t.Fatalf("a ready operator: running %v, exit %v", op.Running(), op.ExitErr())
	}
	if err := op.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop: %v, want a clean exit on SIGTERM", err)
	}
	if op.Running() || op.ExitErr() != nil {
		t.Errorf("after Stop: running %v, exit %v; want exited with status 0", op.Running(), op.ExitErr())
	}
	if err := op.Stop(time.Second); err != nil {
		t.Errorf("stopping a stopped operator: %v", err)
	}
}

func TestOperatorIgnoringSIGTERMIsKilled(t *testing.T) {
	op, err := startHelper(t, "stubborn")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := op.Stop(500 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Errorf("Stop: %v, want it to report the kill", err)
	}
	if op.Running() || time.Since(start) > 10*time.Second {
		t.Errorf("after Stop: running %v after %v", op.Running(), time.Since(start))
	}
}

func TestOperatorKill(t *testing.T) {
	op, err := startHelper(t, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Kill(); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := op.ExitErr(); !errors.As(err, &exit) || !strings.Contains(err.Error(), "killed") {
		t.Errorf("exit after Kill: %v, want killed by a signal", err)
	}
	if err := op.Kill(); err == nil {
		t.Error("killing an operator that is gone: no error")
	}
}

func TestOperatorExitingAtStart(t *testing.T) {
	op, err := startHelper(t, "exit")
	if err == nil || op != nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("StartOperator: %v (operator %v), want the exit status 3 reported", err, op)
	}
}

// TestClusterScriptCancelKillsTheGroup: cancelling a hack/cluster.sh (here a stand-in in
// a repository of the test's own) kills what it started too, not only the script.
func TestClusterScriptCancelKillsTheGroup(t *testing.T) {
	root := t.TempDir()
	pidFile := filepath.Join(root, "child.pid")
	script := "#!/bin/sh\nsleep 300 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.MkdirAll(filepath.Join(root, "hack"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hack", "cluster.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ClusterScript(ctx, root, os.Stderr, nil, "up", "x", "y") }()
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the stand-in script did not start its child")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled script reported success")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ClusterScript did not return after its context was cancelled")
	}
	deadline = time.Now().Add(5 * time.Second)
	for !dead(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the script's child %d still runs after the cancel", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dead reports whether the process is gone or a zombie that no one has reaped yet.
func dead(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

// TestWaitCRDsEstablished: a CRD read right after its creation has no status conditions
// (null), which `kubectl wait` fails on; WaitCRDsEstablished waits for it, and for a CRD
// that is not there yet, and names what it waited for in vain. kubectl is a stand-in here
// that serves the CRD list from a file.
func TestWaitCRDsEstablished(t *testing.T) {
	bin := t.TempDir()
	list := filepath.Join(bin, "crds.json")
	kubectl := "#!/bin/sh\ncat " + list + "\n"
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	write := func(json string) {
		t.Helper()
		if err := os.WriteFile(list+".tmp", []byte(json), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(list+".tmp", list); err != nil {
			t.Fatal(err)
		}
	}
	const fresh = `{"items":[{"metadata":{"name":"a.example.com"},"status":{"conditions":null}}]}`
	const established = `{"items":[{"metadata":{"name":"a.example.com"},"status":{"conditions":[
		{"type":"NamesAccepted","status":"True"},{"type":"Established","status":"True"}]}}]}`
	k := Kubectl{Kubeconfig: filepath.Join(bin, "kubeconfig")}

	write(fresh)
	done := make(chan error, 1)
	go func() { done <- WaitCRDsEstablished(t.Context(), k, 30*time.Second, "a.example.com") }()
	select {
	case err := <-done:
		t.Fatalf("returned %v for a CRD without conditions, want it to wait", err)
	case <-time.After(time.Second):
	}
	write(established)
	if err := <-done; err != nil {
		t.Fatalf("once Established: %v", err)
	}
	if err := WaitCRDsEstablished(t.Context(), k, 5*time.Second); err != nil {
		t.Errorf("every CRD, all Established: %v", err)
	}
	err := WaitCRDsEstablished(t.Context(), k, time.Second, "a.example.com", "b.example.com")
	if err == nil || !strings.Contains(err.Error(), "not Established: b.example.com") {
		t.Errorf("a CRD that is not there: %v, want it named", err)
	}
}
