package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// cluster is the benchmark's own kwok cluster.
type cluster struct {
	harness.Cluster
	// auditLog is the API server's audit log of writes (see auditPolicy).
	auditLog string
	nodes    int
	// keepLogsIn, when set, is where stop keeps the cluster's logs before deleting it.
	keepLogsIn string
	cfg        *rest.Config
	client     client.Client
}

// podsPerNode keeps simulated nodes below kwok's default capacity of 110 Pods.
const podsPerNode = 100

// startCluster creates the cluster with rate limits lifted: the API server without
// max-inflight limits and priority and fairness, the controller manager and scheduler
// without client-side QPS limits (kwokctl --disable-qps-limits).
func startCluster(ctx context.Context, cfg Config, pods int, log io.Writer) (*cluster, error) {
	nodes := max(3, (pods+podsPerNode-1)/podsPerNode)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	audit, err := auditPolicyArgs(cfg.Out)
	if err != nil {
		return nil, err
	}
	c := &cluster{
		Cluster: harness.Cluster{
			Root: cfg.Root, Name: cfg.ClusterName, Log: log,
			Kubeconfig: filepath.Join(cfg.Out, cfg.ClusterName+".kubeconfig"),
			Env:        []string{fmt.Sprintf("NODES=%d", nodes), "CREATE_ARGS=--disable-qps-limits " + audit},
		},
		nodes: nodes,
	}
	if cfg.KeepClusterLogs {
		c.keepLogsIn = filepath.Join(cfg.Out, "cluster-logs")
	}
	c.auditLog = filepath.Join(harness.KwokWorkdir(c.Root), "clusters", c.Name, "logs", "audit.log")
	start := time.Now()
	fmt.Fprintf(log, "bench: starting cluster %s with %d simulated nodes (rate limits lifted)\n", c.Name, nodes)
	if err := c.Up(ctx); err != nil {
		c.stop()
		return nil, fmt.Errorf("starting the cluster: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
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
	if err := harness.InstallCRDs(ctx, c.Kubectl(), c.Root); err != nil {
		c.stop()
		return nil, err
	}
	fmt.Fprintf(log, "bench: cluster ready in %s (kubeconfig %s)\n", since(start), c.Kubeconfig)
	return c, nil
}

// stop deletes the cluster. It does not use the run's context, so it also works after
// an interrupt.
func (c *cluster) stop() {
	if c.keepLogsIn != "" {
		n, err := keepFiles(filepath.Dir(c.auditLog), c.keepLogsIn, "*.log")
		if err != nil {
			fmt.Fprintf(c.Log, "bench: keeping the logs of cluster %s: %v\n", c.Name, err)
		}
		fmt.Fprintf(c.Log, "bench: kept %d log files of cluster %s in %s\n", n, c.Name, c.keepLogsIn)
	}
	if err := c.Down(); err != nil {
		fmt.Fprintf(c.Log, "bench: deleting cluster %s: %v\n", c.Name, err)
	}
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(tenancyv1alpha1.AddToScheme(s))
	return s
}

// since is a duration rounded for humans.
func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

// keepFiles hard-links the files of dir matching pattern into to (made if missing), or
// copies them where a link is not possible (another file system), and returns how many it
// kept. A file already in to is replaced.
func keepFiles(dir, to, pattern string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return 0, err
	}
	kept := 0
	for _, f := range files {
		dst := filepath.Join(to, filepath.Base(f))
		_ = os.Remove(dst)
		if err := os.Link(f, dst); err != nil {
			if err := copyFile(f, dst); err != nil {
				return kept, err
			}
		}
		kept++
	}
	return kept, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
