package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// cluster is the benchmark's own kwok cluster.
type cluster struct {
	root, name, kubeconfig string
	// auditLog is the API server's audit log of writes (see auditPolicy).
	auditLog string
	nodes    int
	log      io.Writer
	cfg      *rest.Config
	client   client.Client
}

// podsPerNode keeps simulated nodes below kwok's default capacity of 110 Pods.
const podsPerNode = 100

// startCluster creates the cluster with rate limits lifted: the API server without
// max-inflight limits and priority and fairness, the controller manager and scheduler
// without client-side QPS limits (kwokctl --disable-qps-limits).
func startCluster(ctx context.Context, cfg Config, pods int, log io.Writer) (*cluster, error) {
	nodes := max(3, (pods+podsPerNode-1)/podsPerNode)
	c := &cluster{
		root: cfg.Root, name: cfg.ClusterName, nodes: nodes, log: log,
		kubeconfig: filepath.Join(cfg.Out, cfg.ClusterName+".kubeconfig"),
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	audit, err := auditPolicyArgs(cfg.Out)
	if err != nil {
		return nil, err
	}
	c.auditLog = filepath.Join(kwokWorkdir(c.root), "clusters", c.name, "logs", "audit.log")
	start := time.Now()
	fmt.Fprintf(log, "bench: starting cluster %s with %d simulated nodes (rate limits lifted)\n", c.name, nodes)
	cmd := exec.CommandContext(ctx, filepath.Join(c.root, "hack", "cluster.sh"), "up", c.name, c.kubeconfig)
	cmd.Env = append(os.Environ(), fmt.Sprintf("NODES=%d", nodes), "CREATE_ARGS=--disable-qps-limits "+audit)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		c.stop()
		return nil, fmt.Errorf("starting the cluster: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		c.stop()
		return nil, err
	}
	// The benchmark's own clients are not to be the bottleneck either.
	rc.QPS, rc.Burst = -1, 0
	c.cfg = rc
	if c.client, err = client.New(rc, client.Options{Scheme: scheme()}); err != nil {
		c.stop()
		return nil, err
	}
	for _, dir := range []string{"config/crd", "config/policy"} {
		if err := c.kubectl(ctx, "apply", "--server-side", "-k", filepath.Join(c.root, dir)); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/tenants.tenancy.openplatform.io", "crd/serviceplans.tenancy.openplatform.io",
		"crd/apiproducts.tenancy.openplatform.io"); err != nil {
		c.stop()
		return nil, err
	}
	fmt.Fprintf(log, "bench: cluster ready in %s (kubeconfig %s)\n", since(start), c.kubeconfig)
	return c, nil
}

// kwokWorkdir is where hack/cluster.sh keeps its clusters' state.
func kwokWorkdir(root string) string {
	if d := os.Getenv("KWOK_WORKDIR"); d != "" {
		return d
	}
	if d := os.Getenv("LOCALBIN"); d != "" {
		return filepath.Join(d, "kwok-workdir")
	}
	return filepath.Join(root, "bin", "kwok-workdir")
}

// stop deletes the cluster. It does not use the run's context, so it also works after
// an interrupt.
func (c *cluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.root, "hack", "cluster.sh"), "down", c.name, c.kubeconfig)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(c.log, "bench: deleting cluster %s: %v\n", c.name, err)
	}
}

func (c *cluster) kubectl(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(tenancyv1alpha1.AddToScheme(s))
	return s
}

// since is a duration rounded for humans.
func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
