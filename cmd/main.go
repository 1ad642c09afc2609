// Command manager runs the tenant-operator: the ServicePlan and Tenant reconcilers.
package main

import (
	"cmp"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/openplatform/tenant-operator/controllers"
)

// The metrics endpoint authenticates every scrape with a TokenReview and authorizes it
// with a SubjectAccessReview (get on the non-resource URL /metrics, which the
// metrics-reader ClusterRole grants).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// defaultOperatorNamespace is the namespace config/default installs the operator into,
// used when neither --operator-namespace nor POD_NAMESPACE says otherwise.
const defaultOperatorNamespace = "tenant-operator-system"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(renderCommand(os.Args[2:], os.Stdout, os.Stderr))
	}
	var (
		metricsAddr      string
		metricsSecure    bool
		metricsCertPath  string
		metricsCertName  string
		metricsCertKey   string
		enableHTTP2      bool
		probeAddr        string
		pprofAddr        string
		leaderElect      bool
		leaderElectNS    string
		leaseDuration    time.Duration
		renewDeadline    time.Duration
		retryPeriod      time.Duration
		reconcileTimeout time.Duration

		operatorNamespace string
		tenantConcurrency int
		revisionHistory   int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint (/metrics) binds to; 0 disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true,
		"Serve the metrics over HTTPS, each request authenticated (TokenReview) and authorized (SubjectAccessReview: get /metrics, "+
			"the metrics-reader ClusterRole) by the API server. false serves plain HTTP to anyone who can connect: for local debugging only.")
	flag.StringVar(&metricsCertPath, "metrics-cert-path", "",
		"Directory holding the metrics server's certificate and key (reloaded when they change); empty: a self-signed certificate made at start.")
	flag.StringVar(&metricsCertName, "metrics-cert-name", "tls.crt", "File name of the metrics server's certificate in --metrics-cert-path.")
	flag.StringVar(&metricsCertKey, "metrics-cert-key", "tls.key", "File name of the metrics server's private key in --metrics-cert-path.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"Offer HTTP/2 on the metrics server; off by default against the HTTP/2 Stream Cancellation and Rapid Reset attacks (CVE-2023-44487, CVE-2023-39325).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address of the Go profiler (/debug/pprof/); empty disables it.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: --operator-namespace).")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"How long a lost leader's lease blocks a new one: the longest a crashed leader's replacement waits before reconciling.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"How long the leader keeps retrying to renew its lease before it gives up and exits (less than --leader-elect-lease-duration).")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second,
		"How often candidates try to acquire, and the leader to renew, the lease (under --leader-elect-renew-deadline / 1.2).")
	flag.StringVar(&operatorNamespace, "operator-namespace", envOr("POD_NAMESPACE", defaultOperatorNamespace),
		"The namespace the operator runs in; it can never become a tenant namespace. "+
			"Defaults to $POD_NAMESPACE (the Deployment sets it from the downward API), else "+defaultOperatorNamespace+".")
	flag.IntVar(&tenantConcurrency, "tenant-concurrency", 8,
		"How many tenants are reconciled at once (8: measured in docs/performance.md; the API server is the limit beyond it).")
	flag.IntVar(&revisionHistory, "revision-history", 5,
		"How many revisions of a product's versions that no tenant runs are kept in --operator-namespace, newest first, "+
			"besides every revision a tenant runs or a rollout may return to.")
	flag.DurationVar(&reconcileTimeout, "reconcile-timeout", 2*time.Minute,
		"The longest one reconcile may take: its requests are then cancelled and the object is retried with backoff, "+
			"so a request that never returns cannot hold an object's reconciles forever. 0: no limit.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setupLog := ctrl.Log.WithName("setup")
	// The container's memory limit (its cgroup) becomes the Go runtime's soft limit, at 90 %:
	// near it the garbage collector runs more often, where it would otherwise let garbage
	// grow the heap to twice what is live (at 1,000 tenants that is about the default limit
	// of 256Mi) and the container be killed. GOMEMLIMIT given explicitly wins;
	// AUTOMEMLIMIT=off turns this off.
	if limit, err := memlimit.Set(); err != nil {
		setupLog.Info("GOMEMLIMIT not set from the container's memory limit", "reason", err.Error())
	} else if limit != math.MaxInt64 {
		setupLog.Info("GOMEMLIMIT set from the container's memory limit", "bytes", limit)
	}

	if operatorNamespace == "" {
		setupLog.Error(nil, "--operator-namespace must not be empty")
		os.Exit(1)
	}
	if reconcileTimeout < 0 {
		setupLog.Error(nil, "--reconcile-timeout must not be negative (0: no limit)", "reconcileTimeout", reconcileTimeout)
		os.Exit(1)
	}
	if err := leaseTimings(leaseDuration, renewDeadline, retryPeriod); err != nil {
		setupLog.Error(err, "invalid leader election flags")
		os.Exit(1)
	}
	metricsOpts, err := metricsOptions(metricsAddr, metricsSecure, metricsCertPath, metricsCertName, metricsCertKey, enableHTTP2)
	if err != nil {
		setupLog.Error(err, "invalid metrics flags")
		os.Exit(1)
	}
	if metricsAddr != "0" && !metricsSecure {
		setupLog.Info("WARNING: --metrics-secure=false serves the metrics over plain HTTP without authentication; use it for local debugging only",
			"bindAddress", metricsAddr)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(controllers.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Cache:                         controllers.CacheOptions(operatorNamespace),
		Client:                        controllers.ClientOptions(),
		Metrics:                       metricsOpts,
		Controller:                    config.Controller{ReconciliationTimeout: reconcileTimeout},
		HealthProbeBindAddress:        probeAddr,
		PprofBindAddress:              pprofAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "tenant-operator.tenancy.openplatform.io",
		LeaderElectionNamespace:       cmp.Or(leaderElectNS, operatorNamespace),
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
	})
	if err != nil {
		setupLog.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		TenantConcurrency: tenantConcurrency,
		OperatorNamespace: operatorNamespace,
		RevisionHistory:   revisionHistory,
	}); err != nil {
		setupLog.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))

	setupLog.Info("starting the tenant-operator", "operatorNamespace", operatorNamespace)
	if err := mgr.Start(ctx); err != nil {
		setupLog.Error(err, "the manager stopped with an error")
		os.Exit(1)
	}
}

// metricsOptions builds the metrics server's options from the flags: HTTPS with the API
// server's authentication and authorization unless secure is false, the certificate of
// certDir (watched, so a rotated one is picked up) or else a self-signed one, and HTTP/1.1
// only unless http2.
func metricsOptions(addr string, secure bool, certDir, certName, keyName string, http2 bool) (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: addr, SecureServing: secure}
	if !secure {
		if certDir != "" {
			return opts, errors.New("--metrics-cert-path needs --metrics-secure")
		}
		return opts, nil
	}
	opts.FilterProvider = filters.WithAuthenticationAndAuthorization
	if !http2 {
		opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	if certDir != "" {
		// controller-runtime falls back to a self-signed certificate when the files are
		// missing; a certificate that was asked for and is not there is an error instead.
		for _, f := range []string{certName, keyName} {
			if _, err := os.Stat(filepath.Join(certDir, f)); err != nil {
				return opts, fmt.Errorf("--metrics-cert-path: %w", err)
			}
		}
		opts.CertDir, opts.CertName, opts.KeyName = certDir, certName, keyName
	}
	return opts, nil
}

// leaseTimings checks the leader election flags as client-go's leader elector would at
// start, so a wrong combination is refused with the flags' names instead of a panic.
func leaseTimings(lease, renew, retry time.Duration) error {
	switch {
	case retry <= 0:
		return errors.New("--leader-elect-retry-period must be positive")
	case float64(renew) <= 1.2*float64(retry): // client-go's leaderelection.JitterFactor
		return fmt.Errorf("--leader-elect-renew-deadline (%v) must be longer than 1.2 × --leader-elect-retry-period (%v)", renew, retry)
	case lease <= renew:
		return fmt.Errorf("--leader-elect-lease-duration (%v) must be longer than --leader-elect-renew-deadline (%v)", lease, renew)
	}
	return nil
}

// envOr returns the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
