package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// The kwok cluster's components run as processes of kwokctl's binary runtime, each
// with a pid file in <KWOK_WORKDIR>/clusters/<name>/pids. kwokctl (v0.8) has no
// command to stop a single component, but `kwokctl start cluster` starts every
// component whose pid file names no running process, from the command line recorded
// in the cluster's kwok.yaml, and waits until the API server serves again.

// kwokWorkdir is where hack/cluster.sh keeps cluster state.
func kwokWorkdir() string { return harness.KwokWorkdir(repoRoot) }

// componentPids returns the pid of every component of the cluster by name, as its
// pid file says.
func (s *suite) componentPids() (map[string]int, error) {
	files, err := filepath.Glob(filepath.Join(kwokWorkdir(), "clusters", s.name, "pids", "*.pid"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no pid files for cluster %s under %s", s.name, kwokWorkdir())
	}
	pids := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
	}
	return pids, nil
}

// deadComponents lists the components whose process is gone.
func (s *suite) deadComponents() ([]string, error) {
	pids, err := s.componentPids()
	if err != nil {
		return nil, err
	}
	var dead []string
	for name, pid := range pids {
		if !processAlive(pid) {
			dead = append(dead, name)
		}
	}
	sort.Strings(dead)
	return dead, nil
}

func processAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// killAPIServer kills the cluster's kube-apiserver with SIGKILL and waits until the
// process is gone.
func (s *suite) killAPIServer() error {
	pids, err := s.componentPids()
	if err != nil {
		return err
	}
	pid, ok := pids["kube-apiserver"]
	if !ok {
		return fmt.Errorf("cluster %s has no kube-apiserver pid file", s.name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing kube-apiserver (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver (pid %d) still runs 10s after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// startDeadComponents starts, through `kwokctl start cluster`, every component of the
// cluster that is not running, and waits until the API server is ready. It returns
// the components it found dead.
func (s *suite) startDeadComponents() ([]string, error) {
	dead, err := s.deadComponents()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "bin", "kwokctl"),
		"-c", filepath.Join(repoRoot, "hack", "kwokctl.yaml"), "--name", s.name, "start", "cluster")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+kwokWorkdir())
	if out, err := cmd.CombinedOutput(); err != nil {
		return dead, fmt.Errorf("kwokctl start cluster %s: %v\n%s", s.name, err, out)
	}
	// kwokctl waits until /version answers; wait for /readyz too (informers of the
	// API server itself, RBAC bootstrap).
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := runKubectl(nil, "get", "--raw", "/readyz")
		if err == nil && strings.TrimSpace(out) == "ok" {
			break
		}
		if time.Now().After(deadline) {
			return dead, fmt.Errorf("the API server is not ready 60s after kwokctl start cluster: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if still, err := s.deadComponents(); err != nil || len(still) > 0 {
		return dead, fmt.Errorf("components still not running after kwokctl start cluster: %v %v", still, err)
	}
	return dead, nil
}
