package e2e

// The two ways to install the operator, as an admin meets them: the bundle of `make
// build-installer` (dist/install.yaml) and the Helm chart charts/tenant-operator. Both
// are checked object by object, dry-run against the API server and installed for real,
// their manager Pod scheduled on a simulated node.
//
// The suite's own operator runs as the bundle's ServiceAccount in tenant-operator-system
// and holds the leader election Lease there, so these tests leave that namespace, its
// ServiceAccount and RBAC alone (they only delete the Deployment and Service they add),
// and install the chart with its policies off: the chart's policies exempt only the
// chart's ServiceAccount and would deny the suite's operator.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	chartDir = "charts/tenant-operator"

	// What config/default names the manager, its metrics Service and the ClusterRole
	// that lets a scraper read the metrics.
	bundleDeployment    = "tenant-operator-controller-manager"
	bundleMetrics       = "tenant-operator-controller-manager-metrics"
	bundleMetricsReader = "tenant-operator-metrics-reader"

	// The metrics port of every install by default: HTTPS, named so.
	metricsPort     = 8443
	metricsPortName = "https"

	// The image the tests build the bundle with, to see IMG reach the Deployment.
	bundleImage = "registry.example/platform/tenant-operator:e2e"

	// The Lease every manager elects its leader with (cmd/main.go).
	leaderLease = "tenant-operator.tenancy.openplatform.io"
)

// manifestObject is one object of a rendered manifest.
type manifestObject struct {
	Kind, Name, Namespace string
	raw                   map[string]any
}

func (o manifestObject) key() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// into decodes the object into an API type.
func (o manifestObject) into(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(o.raw)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("decoding %s: %v", o.key(), err)
	}
}

// manifest is the objects of a multi-document YAML file, in order.
type manifest []manifestObject

func parseManifest(text string) (manifest, error) {
	var m manifest
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return m, nil
		} else if err != nil {
			return nil, err
		}
		if raw == nil {
			continue
		}
		o := manifestObject{raw: raw}
		o.Kind, _ = raw["kind"].(string)
		meta, _ := raw["metadata"].(map[string]any)
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
		m = append(m, o)
	}
}

// ofKind returns the objects of a kind.
func (m manifest) ofKind(kind string) manifest {
	var out manifest
	for _, o := range m {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of a kind, failing the test unless there is exactly one.
func (m manifest) one(t *testing.T, kind string) manifestObject {
	t.Helper()
	objs := m.ofKind(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, got %d: %v", kind, len(objs), objs.keys())
	}
	return objs[0]
}

// named returns the object of a kind whose name ends with suffix, failing the test
// unless there is exactly one.
func (m manifest) named(t *testing.T, kind, suffix string) manifestObject {
	t.Helper()
	var found manifest
	for _, o := range m.ofKind(kind) {
		if strings.HasSuffix(o.Name, suffix) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s named *%s, got %v (all: %v)", kind, suffix, found.keys(), m.ofKind(kind).keys())
	}
	return found[0]
}

func (m manifest) keys() []string {
	var keys []string
	for _, o := range m {
		keys = append(keys, o.key())
	}
	sort.Strings(keys)
	return keys
}

// The bundle is built once per run, by `make build-installer` itself.
var bundle struct {
	once sync.Once
	path string
	objs manifest
	err  error
}

// buildBundle runs `make build-installer INSTALLER=<work dir>/dist/install.yaml
// IMG=bundleImage` and returns the file and its objects.
func buildBundle(t *testing.T) (string, manifest) {
	t.Helper()
	bundle.once.Do(func() {
		bundle.path = filepath.Join(env.workDir, "dist", "install.yaml")
		start := time.Now()
		cmd := exec.Command("make", "--no-print-directory", "build-installer", "INSTALLER="+bundle.path, "IMG="+bundleImage)
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		if err != nil {
			bundle.err = fmt.Errorf("make build-installer: %v\n%s", err, out)
			return
		}
		fmt.Printf("e2e: make build-installer in %v: %s", time.Since(start).Round(100*time.Millisecond), out)
		text, err := os.ReadFile(bundle.path)
		if err != nil {
			bundle.err = err
			return
		}
		if bundle.objs, err = parseManifest(string(text)); err != nil {
			bundle.err = fmt.Errorf("parsing %s: %w", bundle.path, err)
		}
	})
	if bundle.err != nil {
		t.Fatal(bundle.err)
	}
	return bundle.path, bundle.objs
}

// helmBinary is the helm `make test-e2e` passes as $E2E_HELM, else bin/helm.
func helmBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("E2E_HELM")
	if p == "" {
		p = filepath.Join(repoRoot, "bin", "helm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no helm at %s (%v): run `make helm`, which builds bin/helm (`make test-e2e` does), or set E2E_HELM", p, err)
	}
	return p
}

// runHelm runs helm against the test cluster from the repository root, with its
// cache and configuration in the suite's work directory.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append(args, "--kubeconfig", kubeconfig)...)
	cmd.Dir = repoRoot
	home := filepath.Join(env.workDir, "helm")
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// renderChart runs helm template for a release and returns the objects.
func renderChart(t *testing.T, release, namespace string, args ...string) (manifest, error) {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chartDir, "--namespace", namespace}, args...)...)
	if err != nil {
		return nil, err
	}
	return parseManifest(out)
}

// mustRenderChart is renderChart that fails the test on an error.
func mustRenderChart(t *testing.T, release, namespace string, args ...string) manifest {
	t.Helper()
	m, err := renderChart(t, release, namespace, args...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeValues writes a values file for helm and returns its path.
func writeValues(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// managerOf returns a manifest's manager Deployment and its manager container, and
// checks what every install of the operator must have: the restricted security
// context, and the liveness and readiness probes on the health port 8081.
func managerOf(t *testing.T, m manifest) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	var dep appsv1.Deployment
	m.one(t, "Deployment").into(t, &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "manager" {
		t.Fatalf("Deployment %s: want one container named manager, got %+v", dep.Name, pod.Containers)
	}
	c := &pod.Containers[0]

	psc, sc := pod.SecurityContext, c.SecurityContext
	switch {
	case psc == nil || sc == nil:
		t.Errorf("Deployment %s: no security context", dep.Name)
	case psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot:
		t.Errorf("Deployment %s: runAsNonRoot is not true", dep.Name)
	case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("Deployment %s: seccompProfile %+v, want RuntimeDefault", dep.Name, psc.SeccompProfile)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("Deployment %s: allowPrivilegeEscalation is not false", dep.Name)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("Deployment %s: capabilities %+v, want drop ALL and nothing added", dep.Name, sc.Capabilities)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("Deployment %s: readOnlyRootFilesystem is not true", dep.Name)
	}

	// --operator-namespace defaults to POD_NAMESPACE: the Pod's own namespace.
	var podNS *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "POD_NAMESPACE" {
			podNS = &c.Env[i]
		}
	}
	if podNS == nil || podNS.ValueFrom == nil || podNS.ValueFrom.FieldRef == nil || podNS.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("Deployment %s: env POD_NAMESPACE %+v, want it from the downward API (fieldRef metadata.namespace)", dep.Name, podNS)
	}

	health := containerPort(c, "health")
	if health != 8081 || !slices.Contains(c.Args, "--health-probe-bind-address=:8081") {
		t.Errorf("Deployment %s: health port %d and args %q, want 8081 and --health-probe-bind-address=:8081", dep.Name, health, c.Args)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "health" {
			t.Errorf("Deployment %s: %s probe %+v, want GET %s on port health", dep.Name, p.name, p.probe, p.path)
		}
	}
	return &dep, c
}

// containerPort returns the number of a named container port, 0 if there is none.
func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkMetricsService checks that the manifest's metrics Service serves port `port`,
// named `name` (https, or http when the metrics are not secure), from the manager
// container's port of that name, on the manager's Pods.
func checkMetricsService(t *testing.T, m manifest, dep *appsv1.Deployment, c *corev1.Container, name string, port int32) *corev1.Service {
	t.Helper()
	var svc corev1.Service
	m.one(t, "Service").into(t, &svc)
	if p := containerPort(c, name); p != port {
		t.Errorf("Deployment %s: container port %s is %d, want %d (container ports %+v)", dep.Name, name, p, port, c.Ports)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != name || svc.Spec.Ports[0].Port != port {
		t.Errorf("Service %s: ports %+v, want one named %s on %d", svc.Name, svc.Spec.Ports, name, port)
	} else if tp := svc.Spec.Ports[0].TargetPort; containerPort(c, tp.String()) != port && tp.IntValue() != int(port) {
		t.Errorf("Service %s: targetPort %s is not the manager's port %d (container ports %+v)", svc.Name, tp.String(), port, c.Ports)
	}
	if svc.Namespace != dep.Namespace {
		t.Errorf("Service %s is in namespace %q, the manager in %q", svc.Name, svc.Namespace, dep.Namespace)
	}
	podLabels := dep.Spec.Template.Labels
	if len(svc.Spec.Selector) == 0 {
		t.Errorf("Service %s selects nothing", svc.Name)
	}
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service %s selects %s=%s, which the manager's Pods (%v) do not carry", svc.Name, k, v, podLabels)
		}
	}
	return &svc
}

// checkMetricsReader checks the ClusterRole that scrapers of the metrics are bound to:
// named name, allowing get on /metrics and nothing else.
func checkMetricsReader(t *testing.T, o manifestObject, name string) {
	t.Helper()
	var role rbacv1.ClusterRole
	o.into(t, &role)
	want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
	if role.Name != name || !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("ClusterRole %s: rules %+v, want %s with %+v", role.Name, role.Rules, name, want)
	}
}

// selector renders a Deployment's matchLabels as a kubectl label selector.
func selector(dep *appsv1.Deployment) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(dep.Spec.Selector.MatchLabels)) {
		parts = append(parts, k+"="+dep.Spec.Selector.MatchLabels[k])
	}
	return strings.Join(parts, ",")
}

// simulatedNodes returns the names of the cluster's kwok nodes.
func simulatedNodes(t *testing.T) map[string]bool {
	t.Helper()
	var nodes corev1.NodeList
	kubectlJSON(t, &nodes, "get", "nodes")
	names := map[string]bool{}
	for _, n := range nodes.Items {
		if _, ok := n.Annotations["kwok.x-k8s.io/node"]; ok || n.Labels["type"] == "kwok" {
			names[n.Name] = true
		}
	}
	if len(names) == 0 {
		t.Fatal("the cluster has no kwok nodes")
	}
	return names
}

// waitManagerRunning waits until the Deployment, as installed, has `replicas` Pods,
// each Running and Ready on a simulated node with an IP, and returns them.
func waitManagerRunning(t *testing.T, dep *appsv1.Deployment, replicas int) []corev1.Pod {
	t.Helper()
	nodes := simulatedNodes(t)
	var pods []corev1.Pod
	eventually(t, 120*time.Second, func() error {
		out, err := runKubectl(nil, "get", "pods", "-n", dep.Namespace, "-l", selector(dep), "-o", "json")
		if err != nil {
			return err
		}
		var list corev1.PodList
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err
		}
		if len(list.Items) != replicas {
			return fmt.Errorf("Deployment %s/%s has %d Pods, want %d", dep.Namespace, dep.Name, len(list.Items), replicas)
		}
		for _, p := range list.Items {
			ready := false
			for _, c := range p.Status.Conditions {
				ready = ready || c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
			}
			switch {
			case !nodes[p.Spec.NodeName]:
				return fmt.Errorf("pod %s is on node %q, not on one of the simulated nodes %v", p.Name, p.Spec.NodeName, slices.Sorted(maps.Keys(nodes)))
			case p.Status.Phase != corev1.PodRunning || !ready:
				return fmt.Errorf("pod %s on %s is %s, ready %v; want Running and Ready", p.Name, p.Spec.NodeName, p.Status.Phase, ready)
			case p.Status.PodIP == "":
				return fmt.Errorf("pod %s has no IP", p.Name)
			}
		}
		pods = list.Items
		return nil
	})
	return pods
}

// waitMetricsEndpoints waits until the Service's EndpointSlices hold exactly the given
// Pods as ready endpoints, on the metrics port (named metricsPortName).
func waitMetricsEndpoints(t *testing.T, svc *corev1.Service, pods []corev1.Pod, port int32) {
	t.Helper()
	var want []string
	for _, p := range pods {
		want = append(want, p.Name+"@"+p.Status.PodIP)
	}
	sort.Strings(want)
	eventually(t, 60*time.Second, func() error {
		out, err := runKubectl(nil, "get", "endpointslices", "-n", svc.Namespace, "-l", "kubernetes.io/service-name="+svc.Name, "-o", "json")
		if err != nil {
			return err
		}
		var list discoveryv1.EndpointSliceList
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err
		}
		var got []string
		for _, s := range list.Items {
			if !slices.ContainsFunc(s.Ports, func(p discoveryv1.EndpointPort) bool {
				return p.Name != nil && *p.Name == metricsPortName && p.Port != nil && *p.Port == port
			}) {
				continue
			}
			for _, e := range s.Endpoints {
				if e.TargetRef == nil || e.Conditions.Ready == nil || !*e.Conditions.Ready {
					continue
				}
				for _, a := range e.Addresses {
					got = append(got, e.TargetRef.Name+"@"+a)
				}
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("Service %s/%s: ready metrics endpoints on port %d are %v, want %v", svc.Namespace, svc.Name, port, got, want)
		}
		return nil
	})
}

// canI fails the test unless the user may do what kubectl auth can-i is asked.
func canI(t *testing.T, user string, args ...string) {
	t.Helper()
	out, err := runKubectl(nil, append([]string{"auth", "can-i", "--as=" + user}, args...)...)
	if strings.TrimSpace(out) != "yes" {
		t.Errorf("%s cannot %s: %s %v", user, strings.Join(args, " "), strings.TrimSpace(out), err)
	}
}

// leaseHolder returns the holder of the leader election Lease in a namespace.
func leaseHolder(t *testing.T, namespace string) string {
	t.Helper()
	return kubectl(t, "get", "lease", leaderLease, "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}")
}

// validatingPolicies and mutatingPolicies are the admission policies of config/policy, each
// with a binding of the same name (the bundle and the chart prefix both names).
var (
	validatingPolicies = []string{"managed-objects", "namespace-tenant-label", "managed-by-label",
		"tenant-network-policies", "tenant-services", "tenant-httproutes", "tenant-gateway-policies", "tenant-disruption-budgets", "operator-fence"}
	mutatingPolicies = []string{"always-pull-images"}
)

// TestInstallBundle: `make build-installer` writes a bundle with the CRDs, the RBAC, the
// manager Deployment (the image of IMG, leader election, probes, restricted security
// context), its metrics Service and the admission policies; the API server accepts it in
// a dry run; installed, the manager Pod runs on a simulated node behind the metrics
// Service, and the suite's operator, which runs as the same ServiceAccount, keeps its
// permissions and its leadership.
func TestInstallBundle(t *testing.T) {
	path, objs := buildBundle(t)

	// What is in it.
	want := []string{
		"CustomResourceDefinition/serviceplans.tenancy.openplatform.io",
		"CustomResourceDefinition/apiproducts.tenancy.openplatform.io",
		"CustomResourceDefinition/tenants.tenancy.openplatform.io",
		"Namespace/" + wantOperatorSA.Namespace,
		"ServiceAccount/" + wantOperatorSA.Namespace + "/" + wantOperatorSA.Name,
		"ClusterRole/tenant-operator-manager-role",
		"ClusterRoleBinding/tenant-operator-manager-rolebinding",
		"ClusterRole/" + bundleMetricsReader,
		"Role/" + wantOperatorSA.Namespace + "/tenant-operator-leader-election-role",
		"RoleBinding/" + wantOperatorSA.Namespace + "/tenant-operator-leader-election-rolebinding",
		"Role/" + wantOperatorSA.Namespace + "/tenant-operator-revisions-role",
		"RoleBinding/" + wantOperatorSA.Namespace + "/tenant-operator-revisions-rolebinding",
		"Deployment/" + wantOperatorSA.Namespace + "/" + bundleDeployment,
		"Service/" + wantOperatorSA.Namespace + "/" + bundleMetrics,
	}
	for _, name := range validatingPolicies {
		want = append(want, "ValidatingAdmissionPolicy/tenant-operator-"+name, "ValidatingAdmissionPolicyBinding/tenant-operator-"+name)
	}
	for _, name := range mutatingPolicies {
		want = append(want, "MutatingAdmissionPolicy/tenant-operator-"+name, "MutatingAdmissionPolicyBinding/tenant-operator-"+name)
	}
	for _, k := range want {
		if !slices.Contains(objs.keys(), k) {
			t.Errorf("%s has no %s; it has %v", path, k, objs.keys())
		}
	}
	dep, c := managerOf(t, objs)
	if c.Image != bundleImage {
		t.Errorf("the manager's image is %q, want IMG %q", c.Image, bundleImage)
	}
	for _, arg := range []string{"--leader-elect", fmt.Sprintf("--metrics-bind-address=:%d", metricsPort)} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("the manager's args %q lack %s", c.Args, arg)
		}
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--metrics-secure") }) {
		t.Errorf("the manager's args %q set --metrics-secure: the bundle serves the metrics with its default, HTTPS", c.Args)
	}
	checkMetricsReader(t, objs.named(t, "ClusterRole", "-metrics-reader"), bundleMetricsReader)
	if dep.Spec.Template.Spec.ServiceAccountName != wantOperatorSA.Name {
		t.Errorf("the manager runs as %q, want %q", dep.Spec.Template.Spec.ServiceAccountName, wantOperatorSA.Name)
	}
	svc := checkMetricsService(t, objs, dep, c, metricsPortName, metricsPort)
	if t.Failed() {
		t.FailNow()
	}

	kubectl(t, "apply", "--server-side", "--dry-run=server", "-f", path)

	// The suite's operator holds the Lease in this namespace; a Pod that runs nothing
	// must not change that.
	env.waitWorking(t, 60*time.Second)
	holder := leaseHolder(t, dep.Namespace)

	t.Cleanup(func() {
		// Not the namespace, ServiceAccount or RBAC: the suite's operator uses them.
		for _, args := range [][]string{
			{"delete", "deployment", dep.Name, "-n", dep.Namespace, "--ignore-not-found", "--wait", "--timeout=60s"},
			{"delete", "service", svc.Name, "-n", svc.Namespace, "--ignore-not-found", "--wait", "--timeout=60s"},
			{"wait", "--for=delete", "pod", "-n", dep.Namespace, "-l", selector(dep), "--timeout=60s"},
		} {
			if _, err := runKubectl(nil, args...); err != nil {
				t.Logf("cleaning up: %v", err)
			}
		}
	})
	kubectl(t, "apply", "--server-side", "-f", path)
	kubectl(t, "rollout", "status", "deployment/"+dep.Name, "-n", dep.Namespace, "--timeout=120s")
	pods := waitManagerRunning(t, dep, 1)
	if img := pods[0].Spec.Containers[0].Image; img != bundleImage {
		t.Errorf("the manager Pod runs %q, want %q", img, bundleImage)
	}
	t.Logf("manager Pod %s is Running on simulated node %s, IP %s", pods[0].Name, pods[0].Spec.NodeName, pods[0].Status.PodIP)
	waitMetricsEndpoints(t, svc, pods, metricsPort)

	// The suite's operator still runs, authenticates and may do its work.
	if !env.operatorRunning() {
		t.Fatalf("the suite's operator is not running: %v", env.exitErr())
	}
	who := kubectl(t, "--kubeconfig", env.operatorKubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if who != wantOperatorSA.username() {
		t.Errorf("the suite's operator now authenticates as %q, want %q", who, wantOperatorSA.username())
	}
	canI(t, wantOperatorSA.username(), "patch", "tenants.tenancy.openplatform.io")
	canI(t, wantOperatorSA.username(), "create", "namespaces")
	canI(t, wantOperatorSA.username(), "update", "leases.coordination.k8s.io", "-n", dep.Namespace)
	if now := leaseHolder(t, dep.Namespace); now != holder {
		t.Errorf("the leader election Lease moved from %q to %q while the bundle's manager Pod was installed", holder, now)
	}
}

// normalizeForBundle strips from an object what the chart adds and the bundle does not
// have: Helm's labels (also on the Pods and in the selectors that pick them) and the
// image, which are set differently on purpose.
func normalizeForBundle(o manifestObject) map[string]any {
	b, _ := json.Marshal(o.raw)
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	del := func(path ...string) {
		m := raw
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				return
			}
			m = next
		}
		delete(m, path[len(path)-1])
	}
	del("metadata", "labels")
	switch o.Kind {
	case "Deployment":
		del("spec", "selector")
		del("spec", "template", "metadata", "labels")
		spec := raw["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		for _, c := range spec["containers"].([]any) {
			delete(c.(map[string]any), "image")
			delete(c.(map[string]any), "imagePullPolicy")
		}
	case "Service":
		del("spec", "selector")
	case "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy":
		// kustomize re-folds the policies' folded (>-) CEL expressions with blank lines
		// in dist/install.yaml; whitespace between CEL tokens means nothing.
		raw = collapseSpace(raw).(map[string]any)
	}
	return raw
}

// collapseSpace returns v with every run of whitespace in its strings made one space.
func collapseSpace(v any) any {
	return rebuildJSON(v, func(string) bool { return false }, func(leaf any) any {
		if s, ok := leaf.(string); ok {
			return strings.Join(strings.Fields(s), " ")
		}
		return leaf
	})
}

// rebuildJSON copies a decoded JSON value without the object entries whose key drop
// reports, passing every other value that is neither object nor array through leaf.
func rebuildJSON(v any, drop func(key string) bool, leaf func(any) any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !drop(k) {
				out[k] = rebuildJSON(e, drop, leaf)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rebuildJSON(e, drop, leaf)
		}
		return out
	}
	return leaf(v)
}

// jsonDiff lists where two decoded JSON values differ, as path: got != want.
func jsonDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		var diffs []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			diffs = append(diffs, jsonDiff(path+"."+k, g[k], w[k])...)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, jsonDiff(path+"."+k, g[k], nil)...)
			}
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return diffs
	}
	if reflect.DeepEqual(got, want) {
		return nil
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	return []string{fmt.Sprintf("%s: %s, want %s", path, gb, wb)}
}

// TestChartMatchesBundle: released as tenant-operator in tenant-operator-system with the
// default values, the chart installs exactly what the bundle does, object by object (the
// same names, the same CRDs, RBAC rules, manager Pod spec, Service and admission
// policies), apart from Helm's labels, the image and the Namespace, which Helm leaves to
// --create-namespace.
func TestChartMatchesBundle(t *testing.T) {
	_, bundleObjs := buildBundle(t)
	chart := mustRenderChart(t, "tenant-operator", wantOperatorSA.Namespace, "--include-crds")

	byKey := map[string]manifestObject{}
	for _, o := range chart {
		byKey[o.key()] = o
	}
	if ns := chart.ofKind("Namespace"); len(ns) > 0 {
		t.Errorf("the chart creates %v: it must install into the release namespace", ns.keys())
	}
	bundleKeys := map[string]bool{}
	for _, b := range bundleObjs {
		if b.Kind == "Namespace" {
			continue
		}
		bundleKeys[b.key()] = true
		c, ok := byKey[b.key()]
		if !ok {
			t.Errorf("the chart has no %s", b.key())
			continue
		}
		if diffs := jsonDiff("", normalizeForBundle(c), normalizeForBundle(b)); len(diffs) > 0 {
			t.Errorf("the chart's %s differs from the bundle's (chart, want bundle):\n%s", b.key(), strings.Join(diffs, "\n"))
		}
	}
	for _, k := range chart.keys() {
		if !bundleKeys[k] && !strings.HasPrefix(k, "Namespace/") {
			t.Errorf("the chart has %s, the bundle does not", k)
		}
	}

	// And the rules are those controller-gen generates from the code's markers.
	roleYAML, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	generated, err := parseManifest(string(roleYAML))
	if err != nil {
		t.Fatal(err)
	}
	var wantRole, gotRole rbacv1.ClusterRole
	generated.one(t, "ClusterRole").into(t, &wantRole)
	chart.named(t, "ClusterRole", "-manager-role").into(t, &gotRole)
	if len(wantRole.Rules) == 0 || !reflect.DeepEqual(gotRole.Rules, wantRole.Rules) {
		t.Errorf("the chart's ClusterRole rules differ from config/rbac/role.yaml:\nchart: %+v\nrole.yaml: %+v", gotRole.Rules, wantRole.Rules)
	}
}

// TestChartRelease: another release name and namespace name every object after the
// release, bind the RBAC to the chart's own ServiceAccount in the release namespace, and
// exempt that ServiceAccount, not the bundle's, from the admission policies.
func TestChartRelease(t *testing.T) {
	const release, ns = "e2e-chart", "tenant-operator-chart"
	objs := mustRenderChart(t, release, ns)
	sa := serviceAccount{Namespace: ns, Name: objs.one(t, "ServiceAccount").Name}
	if sa.Name != "e2e-chart-tenant-operator-controller-manager" {
		t.Errorf("ServiceAccount %q, want e2e-chart-tenant-operator-controller-manager", sa.Name)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Name, release+"-") {
			t.Errorf("%s is not named after the release %s", o.key(), release)
		}
		if o.Namespace != "" && o.Namespace != ns {
			t.Errorf("%s is not in the release namespace %s", o.key(), ns)
		}
	}

	dep, c := managerOf(t, objs)
	if dep.Namespace != ns || dep.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("the manager runs in %s as %s, want %s as %s", dep.Namespace, dep.Spec.Template.Spec.ServiceAccountName, ns, sa.Name)
	}
	checkMetricsService(t, objs, dep, c, metricsPortName, metricsPort)
	checkMetricsReader(t, objs.named(t, "ClusterRole", "-metrics-reader"), release+"-tenant-operator-metrics-reader")

	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	objs.named(t, "ClusterRole", "-manager-role").into(t, &role)
	objs.one(t, "ClusterRoleBinding").into(t, &binding)
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}}
	if binding.RoleRef.Name != role.Name || !reflect.DeepEqual(binding.Subjects, wantSubjects) {
		t.Errorf("ClusterRoleBinding %s binds %s to %+v, want %s to %+v", binding.Name, binding.RoleRef.Name, binding.Subjects, role.Name, wantSubjects)
	}
	// The Roles in the release namespace: the leader election Lease, and the product
	// revisions (ControllerRevisions there and nowhere else).
	if n := len(objs.ofKind("Role")); n != 2 {
		t.Errorf("want 2 Roles (leader election, revisions), got %v", objs.ofKind("Role").keys())
	}
	for _, suffix := range []string{"-leader-election", "-revisions"} {
		var lrole rbacv1.Role
		var lbinding rbacv1.RoleBinding
		objs.named(t, "Role", suffix+"-role").into(t, &lrole)
		objs.named(t, "RoleBinding", suffix+"-rolebinding").into(t, &lbinding)
		if lrole.Namespace != ns || lbinding.Namespace != ns {
			t.Errorf("Role %s/%s, RoleBinding %s/%s: want both in %s", lrole.Namespace, lrole.Name, lbinding.Namespace, lbinding.Name, ns)
		}
		if lbinding.RoleRef.Kind != "Role" || lbinding.RoleRef.Name != lrole.Name || !reflect.DeepEqual(lbinding.Subjects, wantSubjects) {
			t.Errorf("RoleBinding %s binds %s %s to %+v, want Role %s to %+v", lbinding.Name, lbinding.RoleRef.Kind, lbinding.RoleRef.Name, lbinding.Subjects, lrole.Name, wantSubjects)
		}
	}
	var revisions rbacv1.Role
	objs.named(t, "Role", "-revisions-role").into(t, &revisions)
	wantRules := []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"controllerrevisions"},
		Verbs: []string{"get", "list", "watch", "create", "delete"}}}
	if !reflect.DeepEqual(revisions.Rules, wantRules) {
		t.Errorf("Role %s rules %+v, want %+v", revisions.Name, revisions.Rules, wantRules)
	}

	policies := objs.ofKind("ValidatingAdmissionPolicy")
	if len(policies) != len(validatingPolicies) {
		t.Fatalf("want %d ValidatingAdmissionPolicies, got %v", len(validatingPolicies), policies.keys())
	}
	if n := len(objs.ofKind("MutatingAdmissionPolicy")); n != len(mutatingPolicies) {
		t.Errorf("want %d MutatingAdmissionPolicies, got %d", len(mutatingPolicies), n)
	}
	bound := map[string]bool{}
	for _, o := range objs.ofKind("ValidatingAdmissionPolicyBinding") {
		var b admissionv1.ValidatingAdmissionPolicyBinding
		o.into(t, &b)
		bound[b.Spec.PolicyName] = true
	}
	// Every validating policy exempts the operator in a match condition, except
	// operator-fence, which matches only the operator: either way it names the chart's
	// ServiceAccount there.
	for _, o := range policies {
		var p admissionv1.ValidatingAdmissionPolicy
		o.into(t, &p)
		if !bound[p.Name] {
			t.Errorf("no binding names policy %s (bound: %v)", p.Name, bound)
		}
		exempt := false
		for _, mc := range p.Spec.MatchConditions {
			exempt = exempt || strings.Contains(mc.Expression, "'"+sa.username()+"'")
			if strings.Contains(mc.Expression, wantOperatorSA.username()) {
				t.Errorf("policy %s still exempts the bundle's %s: %s", p.Name, wantOperatorSA.username(), mc.Expression)
			}
		}
		if !exempt {
			t.Errorf("policy %s does not exempt the chart's ServiceAccount %s: %+v", p.Name, sa.username(), p.Spec.MatchConditions)
		}
	}
}

// TestChartValues: every value reaches the objects it is documented to change.
func TestChartValues(t *testing.T) {
	const release, ns = "values", "tenant-operator-chart"

	t.Run("changed", func(t *testing.T) {
		values := writeValues(t, `
image: {repository: registry.example/platform/operator, tag: v9.8.7, pullPolicy: Always}
replicas: 3
resources:
  requests: {cpu: 200m, memory: 100Mi}
  limits: {cpu: "2", memory: 1Gi}
logLevel: debug
metrics: {port: 9090}
tenantConcurrency: 16
reconcileTimeout: 90s
nodeSelector: {node-role.example/platform: "true"}
tolerations:
- {key: dedicated, operator: Equal, value: platform, effect: NoSchedule}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector: {matchLabels: {app.kubernetes.io/name: tenant-operator}}
`)
		objs := mustRenderChart(t, release, ns, "--values", values)
		dep, c := managerOf(t, objs)
		pod := dep.Spec.Template.Spec
		if c.Image != "registry.example/platform/operator:v9.8.7" || c.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("image %q pulled %s, want registry.example/platform/operator:v9.8.7 pulled Always", c.Image, c.ImagePullPolicy)
		}
		if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
			t.Errorf("replicas %v, want 3", dep.Spec.Replicas)
		}
		res := c.Resources
		if res.Requests.Cpu().String() != "200m" || res.Requests.Memory().String() != "100Mi" ||
			res.Limits.Cpu().String() != "2" || res.Limits.Memory().String() != "1Gi" {
			t.Errorf("resources %+v, want requests 200m/100Mi and limits 2/1Gi", res)
		}
		for _, arg := range []string{"--leader-elect", "--zap-log-level=debug", "--metrics-bind-address=:9090", "--tenant-concurrency=16", "--reconcile-timeout=90s"} {
			if !slices.Contains(c.Args, arg) {
				t.Errorf("args %q lack %s", c.Args, arg)
			}
		}
		checkMetricsService(t, objs, dep, c, metricsPortName, 9090)
		if pod.NodeSelector["node-role.example/platform"] != "true" {
			t.Errorf("nodeSelector %v", pod.NodeSelector)
		}
		if len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" || pod.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
			t.Errorf("tolerations %+v", pod.Tolerations)
		}
		if a := pod.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Errorf("affinity %+v", a)
		}
		if n := len(objs.ofKind("ValidatingAdmissionPolicy")); n != len(validatingPolicies) {
			t.Errorf("%d validating admission policies, want %d", n, len(validatingPolicies))
		}
		if n := len(objs.ofKind("MutatingAdmissionPolicy")); n != len(mutatingPolicies) {
			t.Errorf("%d mutating admission policies, want %d", n, len(mutatingPolicies))
		}
	})

	t.Run("switched off", func(t *testing.T) {
		objs := mustRenderChart(t, release, ns,
			"--set", "leaderElection.enabled=false", "--set", "metrics.enabled=false", "--set", "policy.enabled=false")
		_, c := managerOf(t, objs)
		if slices.Contains(c.Args, "--leader-elect") || !slices.Contains(c.Args, "--metrics-bind-address=0") {
			t.Errorf("args %q: want no --leader-elect and --metrics-bind-address=0", c.Args)
		}
		for _, name := range []string{"https", "http"} {
			if p := containerPort(c, name); p != 0 {
				t.Errorf("a metrics container port %s %d with metrics disabled", name, p)
			}
		}
		for _, kind := range []string{"Service", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
			"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"} {
			if objs := objs.ofKind(kind); len(objs) > 0 {
				t.Errorf("%v rendered although switched off", objs.keys())
			}
		}
		// Without leader election only the revisions' Role is left: the operator cannot work
		// without it.
		objs.named(t, "Role", "-revisions-role")
		objs.named(t, "RoleBinding", "-revisions-rolebinding")
		for _, kind := range []string{"Role", "RoleBinding"} {
			if n := len(objs.ofKind(kind)); n != 1 {
				t.Errorf("want only the revisions' %s with leader election off, got %v", kind, objs.ofKind(kind).keys())
			}
		}
		for _, kind := range []string{"ServiceAccount", "ClusterRoleBinding"} {
			objs.one(t, kind)
		}
		// Only the manager's: no metrics-reader without metrics.
		objs.one(t, "ClusterRole")
		objs.named(t, "ClusterRole", "-manager-role")
	})

	t.Run("metrics not secure", func(t *testing.T) {
		objs := mustRenderChart(t, release, ns, "--set", "metrics.secure=false", "--set", "metrics.port=8080")
		dep, c := managerOf(t, objs)
		for _, arg := range []string{"--metrics-bind-address=:8080", "--metrics-secure=false"} {
			if !slices.Contains(c.Args, arg) {
				t.Errorf("args %q lack %s", c.Args, arg)
			}
		}
		if p := containerPort(c, "https"); p != 0 {
			t.Errorf("a container port named https (%d) for plain HTTP metrics", p)
		}
		checkMetricsService(t, objs, dep, c, "http", 8080)
	})

	t.Run("defaults", func(t *testing.T) {
		objs := mustRenderChart(t, release, ns)
		dep, c := managerOf(t, objs)
		if !slices.Contains(c.Args, fmt.Sprintf("--metrics-bind-address=:%d", metricsPort)) ||
			slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--metrics-secure") }) {
			t.Errorf("args %q: want --metrics-bind-address=:%d and --metrics-secure left at its default, true", c.Args, metricsPort)
		}
		checkMetricsService(t, objs, dep, c, metricsPortName, metricsPort)
	})

	for _, tc := range []struct {
		name, want string
		set        []string
	}{
		{"replicas without leader election", "replicas > 1 needs leaderElection.enabled", []string{"replicas=2", "leaderElection.enabled=false"}},
		{"unknown log level", "/logLevel", []string{"logLevel=loud"}},
		{"metrics on the health port", "/metrics/port", []string{"metrics.port=8081"}},
		{"metrics.secure not a boolean", "/metrics/secure", []string{"metrics.secure=maybe"}},
		{"misspelt value", "replica", []string{"replica=2"}},
		{"reconcileTimeout not a duration", "/reconcileTimeout", []string{"reconcileTimeout=2 minutes"}},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := renderChart(t, release, ns, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template --set %v: want an error about %q, got %v", tc.set, tc.want, err)
			}
		})
	}
}

// TestChartLint: helm lint --strict passes, with the default values and with others.
func TestChartLint(t *testing.T) {
	for _, args := range [][]string{nil, {"--set", "leaderElection.enabled=false,metrics.enabled=false,policy.enabled=false"}} {
		out, err := runHelm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
		if err != nil || !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint --strict %v: %v\n%s", args, err, out)
		}
	}
}

// TestChartInstall: the default render passes a server-side dry run in a fresh release
// namespace, and `helm install` brings the manager up on a simulated node behind its
// metrics Service with the chart's RBAC; `helm uninstall` removes the release but keeps
// the CRDs, and with them every Tenant.
func TestChartInstall(t *testing.T) {
	const release, ns = "e2e-chart", "tenant-operator-chart"
	kubectlApply(t, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
`, ns))
	t.Cleanup(func() {
		if _, err := runHelm(t, "uninstall", release, "-n", ns, "--ignore-not-found", "--wait"); err != nil {
			t.Logf("cleaning up: %v", err)
		}
		if _, err := runKubectl(nil, "delete", "namespace", ns, "--ignore-not-found", "--wait", "--timeout=120s"); err != nil {
			t.Logf("cleaning up: %v", err)
		}
	})

	// Everything the chart renders by default, CRDs and admission policies included.
	rendered, err := runHelm(t, "template", release, chartDir, "-n", ns, "--include-crds")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runKubectl([]byte(rendered), "apply", "--server-side", "--dry-run=server", "-f", "-"); err != nil {
		t.Fatalf("server-side dry run of the chart: %v", err)
	}

	// For real, without the policies: they would exempt only this release's
	// ServiceAccount and deny the suite's operator.
	start := time.Now()
	if out, err := runHelm(t, "install", release, chartDir, "-n", ns, "--set", "policy.enabled=false", "--wait", "--timeout=2m"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("helm install in %v:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	}
	objs := mustRenderChart(t, release, ns, "--set", "policy.enabled=false")
	dep, c := managerOf(t, objs)
	var svc corev1.Service
	objs.one(t, "Service").into(t, &svc)
	pods := waitManagerRunning(t, dep, 1)
	t.Logf("manager Pod %s is Running on simulated node %s", pods[0].Name, pods[0].Spec.NodeName)
	waitMetricsEndpoints(t, &svc, pods, containerPort(c, metricsPortName))

	sa := "system:serviceaccount:" + ns + ":" + dep.Spec.Template.Spec.ServiceAccountName
	canI(t, sa, "patch", "tenants.tenancy.openplatform.io/status")
	canI(t, sa, "create", "namespaces")
	canI(t, sa, "bind", "clusterroles/admin")
	canI(t, sa, "update", "leases.coordination.k8s.io", "-n", ns)
	if out, _ := runKubectl(nil, "auth", "can-i", "--as="+sa, "update", "leases.coordination.k8s.io", "-n", wantOperatorSA.Namespace); strings.TrimSpace(out) != "no" {
		t.Errorf("%s may update leases in %s: %s", sa, wantOperatorSA.Namespace, out)
	}

	if _, err := runHelm(t, "uninstall", release, "-n", ns, "--wait"); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs.ofKind("ClusterRole") {
		expectNotFound(t, "clusterrole", o.Name)
	}
	if out, err := runKubectl(nil, "get", "deployment", dep.Name, "-n", ns, "-o", "name"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("Deployment %s/%s after helm uninstall: want NotFound, got %q %v", ns, dep.Name, out, err)
	}
	kubectl(t, "get", "crd", "tenants.tenancy.openplatform.io")
}
