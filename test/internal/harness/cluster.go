package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Cluster is a kwok cluster of hack/cluster.sh: a real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler with simulated nodes, from the binaries in
// bin/.
type Cluster struct {
	Root       string    // the repository (RepoRoot)
	Name       string    // the kwok cluster's name
	Kubeconfig string    // where Up writes the cluster's admin kubeconfig; Down deletes it
	Env        []string  // added to the environment of `up`, e.g. NODES=5, CREATE_ARGS=...
	Log        io.Writer // the script's output
	// Stages, when set, is a file or directory of kwok Stage objects (StagesDir: the
	// repository's hack/stages): the cluster is created with kwok's Stage API and these,
	// applied before its nodes exist, are its only stages (STAGES of hack/cluster.sh).
	Stages string
}

// StagesDir is the repository's kwok stage set, hack/stages: nodes become Ready and Pods
// Running and Ready at once, as with kwokctl's default stages, except that a Pod with a
// container image containing NeverReadyImage's "never-ready" stays Running but never
// becomes Ready.
func StagesDir(root string) string { return filepath.Join(root, "hack", "stages") }

// NeverReadyImage is an image that hack/stages keeps from ever becoming Ready: its Pods
// are scheduled and Running, their containers started, their Ready condition False
// (ContainersNotReady) for good. Any image containing "never-ready" behaves so; tests that
// need several distinct such images vary the tag.
const NeverReadyImage = "registry.example.com/e2e/never-ready:1"

// clusterDownTimeout bounds Down.
const clusterDownTimeout = 2 * time.Minute

// Up creates the cluster, or starts it again when it exists, and writes its kubeconfig.
// Cancelling ctx kills a creation still running (kwokctl too); Down deletes what it made.
func (c *Cluster) Up(ctx context.Context) error {
	env := c.Env
	if c.Stages != "" {
		env = append(slices.Clip(env), "STAGES="+c.Stages)
	}
	return ClusterScript(ctx, c.Root, c.Log, env, "up", c.Name, c.Kubeconfig)
}

// Down deletes the cluster and its kubeconfig. It takes no context, so that it also works
// after an interrupt, and gives up after two minutes.
func (c *Cluster) Down() error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterDownTimeout)
	defer cancel()
	args := []string{"down", c.Name}
	if c.Kubeconfig != "" {
		args = append(args, c.Kubeconfig)
	}
	return ClusterScript(ctx, c.Root, c.Log, nil, args...)
}

// Kubectl is kubectl against the cluster as its admin, from the repository root.
func (c *Cluster) Kubectl() Kubectl { return Kubectl{Kubeconfig: c.Kubeconfig, Dir: c.Root} }

// ClusterScript runs hack/cluster.sh with args from the repository root, with env added
// to this process's environment and its output to out. It runs in a process group of its
// own, so that cancelling ctx kills kwokctl too, not only the script. (The cluster's
// daemons run in sessions of their own: `down` deletes them.)
func ClusterScript(ctx context.Context, root string, out io.Writer, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "cluster.sh"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process of the group that outlives the script and holds its output open must not
	// keep Run waiting.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/cluster.sh %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// KwokWorkdir is where hack/cluster.sh keeps its clusters' state (the pid files and logs
// of their components): $KWOK_WORKDIR, else $LOCALBIN/kwok-workdir, else
// <root>/bin/kwok-workdir, as the script itself decides.
func KwokWorkdir(root string) string {
	if d := os.Getenv("KWOK_WORKDIR"); d != "" {
		return d
	}
	if d := os.Getenv("LOCALBIN"); d != "" {
		return filepath.Join(d, "kwok-workdir")
	}
	return filepath.Join(root, "bin", "kwok-workdir")
}
