package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// The Helm baseline installs one release per tenant, named like the tenant (helm-0001, ...),
// of a chart generated for the run whose one template prints the objects given in the
// release's values: the objects the render package gives for that tenant, the same the
// plain baseline applies. Helm adds to every object its ownership metadata (label
// app.kubernetes.io/managed-by=Helm, annotations meta.helm.sh/release-name and
// -namespace) and creates them with POST requests (field manager "helm"), as any
// `helm install` does.
const (
	prefixHelm = "helm"
	// helmReleaseNamespace holds the releases (Helm's release Secrets); the objects of a
	// release carry their own namespaces.
	helmReleaseNamespace = "bench-helm-releases"
	// helmSharedRelease holds the shared instances' objects with -tenancy Shared, installed
	// before the tenants' releases (the plain baseline applies them first too).
	helmSharedRelease = "helm-shared"
	// helmUser is the identity helm runs with: a client certificate of the cluster's CA for
	// the user bench-helm in the group system:masters. Not a ServiceAccount: the operator's
	// admission policies (config/policy) let nobody but the operator and system:masters put
	// a tenant label on a namespace, so Helm gets the plain baseline's standing (its
	// kwok-admin is system:masters too) under a name of its own, whose requests the audit
	// log tells apart (auditPolicy).
	helmUser = "bench-helm"
	// helmManagedBy is the app.kubernetes.io/managed-by value Helm sets on its objects.
	helmManagedBy = "Helm"
	// helmFieldManager is the field manager of Helm's creates (the binary's name).
	helmFieldManager = "helm"
	helmChartName    = "bench-tenant"
)

// helmResult holds the figures of the Helm baseline. Durations are seconds.
type helmResult struct {
	Version string `json:"version"`
	// Command is how each release was installed (no --wait: the benchmark waits).
	Command string `json:"command"`
	// Releases: one per tenant, and with Shared one more of the shared instances'
	// objects (helm-shared, installed first); RequestsPerTenant counts its requests too.
	Releases          int `json:"releases"`
	ObjectsPerRelease int `json:"objectsPerRelease"`
	// Installed: the last helm install returned; Ready (T_helm): every Deployment of the
	// releases available too.
	Installed float64 `json:"installedSeconds"`
	Ready     float64 `json:"readySeconds"`
	// InstallCommand are the durations of the helm install commands.
	InstallCommand Latencies `json:"installCommand"`
	// CPU is the user and system time of the helm install processes.
	CPU float64 `json:"helmCPUSeconds"`
	// Requests are every request of Helm's identity while installing, from the API
	// server's audit log: discovery and OpenAPI reads, the release Secrets, the lookups
	// of each object before its create, and the creates.
	Requests          int          `json:"requests"`
	RequestsPerTenant float64      `json:"requestsPerTenant"`
	Mutating          int          `json:"mutatingRequests"`
	ByVerbResource    []writeCount `json:"byVerbResource"`
	// Uninstall: from the first helm uninstall until every release's namespaces are gone.
	Uninstall               float64      `json:"uninstallSeconds"`
	UninstallRequests       int          `json:"uninstallRequests"`
	UninstallByVerbResource []writeCount `json:"uninstallByVerbResource"`
	// RatioToOperator is T_helm / T_operator, RawToHelm T_raw / T_helm.
	RatioToOperator float64 `json:"ratioToOperator"`
	RawToHelm       float64 `json:"ratioRawToHelm"`
}

// helmRelease is one release of the Helm baseline and the objects of its values.
type helmRelease struct {
	name    string
	values  string
	objects []render.Object
}

// checkHelmBinary fails early, before a cluster is started, when -helm is not there.
func checkHelmBinary(cfg Config) error {
	if !cfg.HelmBaseline {
		return nil
	}
	if _, err := os.Stat(cfg.Helm); err != nil {
		return fmt.Errorf("-helm %s: %w (make helm builds bin/helm; -helm-baseline=false skips the Helm baseline)", cfg.Helm, err)
	}
	return nil
}

// helm is the helm binary with its state (cache, configuration, the discovery cache) in
// one directory of the run, shared by all its invocations as on one user's machine.
type helm struct {
	binary     string
	home       string
	kubeconfig string
}

func newHelm(binary, dir string) *helm {
	return &helm{binary: binary, home: filepath.Join(dir, "home"), kubeconfig: filepath.Join(dir, "kubeconfig")}
}

// run runs helm with args and returns its standard output and its CPU time.
func (h *helm) run(ctx context.Context, args ...string) (string, time.Duration, error) {
	if h.kubeconfig != "" {
		args = append(args, "--kubeconfig", h.kubeconfig)
	}
	cmd := exec.CommandContext(ctx, h.binary, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"),
		"KUBECACHEDIR="+filepath.Join(h.home, "kube-cache"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return stdout.String(), cpu, fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), cpu, nil
}

// helmChart is the chart every release installs: its one template prints the objects of
// the release's values, each as YAML.
var helmChart = map[string]string{
	"Chart.yaml": `apiVersion: v2
name: ` + helmChartName + `
description: The objects tenant-operator makes for one tenant, given whole in the values (written by test/bench for its Helm baseline).
type: application
version: 0.1.0
`,
	filepath.Join("templates", "objects.yaml"): `{{- range .Values.objects }}
---
{{ toYaml . }}
{{- end }}
`,
}

// writeHelmChart writes the chart into dir/chart and returns its path.
func writeHelmChart(dir string) (string, error) {
	chart := filepath.Join(dir, "chart")
	for name, content := range helmChart {
		p := filepath.Join(chart, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return chart, nil
}

// objectMaps turns rendered objects into what their JSON decodes to: the request body the
// plain baseline sends, without its client's defaults.
func objectMaps(objects []render.Object) ([]any, error) {
	out := make([]any, 0, len(objects))
	for _, o := range objects {
		b, err := json.Marshal(o.Apply)
		if err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// writeHelmValues writes the values file of a release: its objects, in the order the
// render package gives them.
func writeHelmValues(path string, objects []render.Object) error {
	maps, err := objectMaps(objects)
	if err != nil {
		return err
	}
	b, err := yaml.Marshal(map[string]any{"objects": maps})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600) // API keys are in there
}

// checkHelmTemplate renders a release with helm template (no cluster involved) and compares
// its objects with the render package's, one by one (helm sorts them by kind: they are
// matched by kind, namespace and name).
func checkHelmTemplate(ctx context.Context, h *helm, chart string, rel helmRelease) error {
	local := *h
	local.kubeconfig = "" // helm template reads no cluster
	out, _, err := local.run(ctx, "template", rel.name, chart, "--namespace", helmReleaseNamespace, "--values", rel.values)
	if err != nil {
		return err
	}
	got := map[render.Key]map[string]any{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("helm template %s: %w", rel.name, err)
		}
		if len(m) == 0 {
			continue
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"metadata"`
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return err
		}
		k := render.Key{Kind: meta.Kind, Namespace: meta.Metadata.Namespace, Name: meta.Metadata.Name}
		if _, dup := got[k]; dup {
			return fmt.Errorf("helm template %s gives %s %s/%s twice", rel.name, k.Kind, k.Namespace, k.Name)
		}
		got[k] = m
	}
	want, err := objectMaps(rel.objects)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("helm template %s gives %d objects, the render package %d", rel.name, len(got), len(want))
	}
	for i, o := range rel.objects {
		k := render.Key{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
		if !reflect.DeepEqual(got[k], want[i]) {
			return fmt.Errorf("helm template %s: %s %s/%s is\n%v\nthe render package's\n%v", rel.name, o.Kind, o.Namespace, o.Name, got[k], want[i])
		}
	}
	return nil
}

// writeHelmKubeconfig writes a kubeconfig for helmUser: a client certificate signed with the
// cluster's CA (kwokctl keeps it in the cluster's pki directory), valid for two days.
func writeHelmKubeconfig(c *cluster, path string) error {
	pki := filepath.Join(harness.KwokWorkdir(c.Root), "clusters", c.Name, "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return err
	}
	cas, err := certutil.ParseCertsPEM(caPEM)
	if err != nil {
		return err
	}
	caKey, err := keyutil.PrivateKeyFromFile(filepath.Join(pki, "ca.key"))
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: helmUser, Organization: []string{"system:masters"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cas[0], key.Public(), caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: c.cfg.Host, CertificateAuthorityData: caPEM}
	kc.AuthInfos[helmUser] = &clientcmdapi.AuthInfo{
		ClientCertificateData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		ClientKeyData:         pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	kc.Contexts[helmUser] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: helmUser, Namespace: helmReleaseNamespace}
	kc.CurrentContext = helmUser
	return clientcmd.WriteToFile(*kc, path)
}

// checkHelmIdentity asks the API server who the kubeconfig is: helmUser in system:masters.
func checkHelmIdentity(ctx context.Context, kubeconfig string) error {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	rev, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("the Helm baseline's identity: %w", err)
	}
	u := rev.Status.UserInfo
	if u.Username != helmUser || !contains(u.Groups, "system:masters") {
		return fmt.Errorf("the Helm baseline's kubeconfig is %s %v, want %s in system:masters", u.Username, u.Groups, helmUser)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// helmBaseline installs one Helm release per tenant, as many at a time as the plain
// baseline applies tenants, waits until every Deployment of the releases is available
// (T_helm), counts Helm's requests in the API server's audit log, then uninstalls every
// release and waits until their namespaces are gone.
func (r *runner) helmBaseline(ctx context.Context) error {
	if !r.cfg.HelmBaseline {
		r.logf("skipped (-helm-baseline=false)")
		return nil
	}
	n := r.cfg.Tenants
	dir := filepath.Join(r.cfg.Out, "helm")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	h := newHelm(r.cfg.Helm, dir)
	res := &helmResult{Releases: n}
	r.res.Helm = res
	version, _, err := (&helm{binary: h.binary, home: h.home}).run(ctx, "version", "--template", "{{.Version}}")
	if err != nil {
		return err
	}
	res.Version = strings.TrimSpace(version)

	// The chart, the releases' values and Helm's identity, before the clock starts.
	chart, err := writeHelmChart(dir)
	if err != nil {
		return err
	}
	releases := make([]helmRelease, n+1) // 1..n; [0] the shared instances', if any
	var namespaces []string
	for i := 1; i <= n; i++ {
		t := r.w.tenant(prefixHelm, i)
		objects, err := r.w.rendered(t)
		if err != nil {
			return err
		}
		releases[i] = helmRelease{name: t.Name, values: filepath.Join(dir, "values", t.Name+".yaml"), objects: objects}
		for _, o := range objects {
			if o.Kind == render.KindNamespace {
				namespaces = append(namespaces, o.Name)
			}
		}
	}
	if shared := r.w.renderedShared(namespaces); len(shared) > 0 {
		releases[0] = helmRelease{name: helmSharedRelease, values: filepath.Join(dir, "values", helmSharedRelease+".yaml"), objects: shared}
		res.Releases++
	}
	for _, rel := range releases {
		if rel.name == "" {
			continue
		}
		if err := writeHelmValues(rel.values, rel.objects); err != nil {
			return err
		}
	}
	res.ObjectsPerRelease = len(releases[1].objects)
	// The chart gives exactly the render package's objects: for the first tenant (all
	// tenants' releases have the same shape) and the shared instances'.
	for _, rel := range []helmRelease{releases[1], releases[0]} {
		if rel.name != "" {
			err := checkHelmTemplate(ctx, h, chart, rel)
			r.check(err == nil, "Helm baseline: %v", err)
		}
	}
	if err := r.c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: helmReleaseNamespace}}); err != nil {
		return err
	}
	if err := writeHelmKubeconfig(r.c, h.kubeconfig); err != nil {
		return err
	}
	if err := checkHelmIdentity(ctx, h.kubeconfig); err != nil {
		return err
	}
	res.Command = fmt.Sprintf("helm install <tenant> %s --namespace %s --values <tenant>.yaml (no --wait: the benchmark's watches wait for the Deployments)",
		helmChartName, helmReleaseNamespace)

	var cpuMu sync.Mutex
	var cpu time.Duration
	durations := make([]float64, 0, n)
	install := func(ctx context.Context, rel helmRelease) error {
		t0 := time.Now()
		_, used, err := h.run(ctx, "install", rel.name, chart, "--namespace", helmReleaseNamespace, "--values", rel.values)
		cpuMu.Lock()
		cpu += used
		durations = append(durations, seconds(time.Since(t0)))
		cpuMu.Unlock()
		return err
	}
	want, wantShared := r.w.tenantDeployments(n), r.w.sharedDeployments()
	if releases[0].name != "" {
		r.logf("installing the Helm release %s of the shared instances' %d objects", helmSharedRelease, len(releases[0].objects))
	}
	r.logf("installing %d Helm releases of %d objects with %d at a time (%s %s, identity %s, no --wait)",
		n, res.ObjectsPerRelease, r.cfg.Concurrency, filepath.Base(h.binary), res.Version, helmUser)
	start := time.Now()
	if releases[0].name != "" {
		if err := install(ctx, releases[0]); err != nil {
			return err
		}
	}
	err = r.inParallel(ctx, "Helm releases installed", r.cfg.Concurrency, n, func(ctx context.Context, i int) error { return install(ctx, releases[i]) })
	if err != nil {
		return err
	}
	res.Installed = seconds(time.Since(start))
	if err := r.waitAvailable(ctx, "Helm releases' Deployments available", prefixHelm, want, wantShared); err != nil {
		return err
	}
	end := time.Now()
	res.Ready = seconds(end.Sub(start))
	res.InstallCommand.summarize(durations)
	res.CPU = seconds(cpu)
	if r.res.Baseline.Ready > 0 && res.Ready > 0 {
		res.RawToHelm = r.res.Baseline.Ready / res.Ready
	}
	reqs, err := r.c.userRequests(helmUser, start, end)
	if err != nil {
		return err
	}
	res.Requests, res.Mutating, res.ByVerbResource = len(reqs), countMutating(reqs), countWrites(reqs)
	res.RequestsPerTenant = float64(res.Requests) / float64(n)
	r.logf("Helm baseline: %d releases installed in %.1fs, %d Deployments available after %.1fs; Helm sent %d requests (%d mutating, %.1f a tenant)",
		res.Releases, res.Installed, want+wantShared, res.Ready, res.Requests, res.Mutating, res.RequestsPerTenant)
	if err := r.checkHelmInstalled(ctx, releases, reqs); err != nil {
		return err
	}

	ustart := time.Now()
	uninstall := func(ctx context.Context, rel helmRelease) error {
		_, _, err := h.run(ctx, "uninstall", rel.name, "--namespace", helmReleaseNamespace)
		return err
	}
	err = r.inParallel(ctx, "Helm releases uninstalled", r.cfg.Concurrency, n, func(ctx context.Context, i int) error { return uninstall(ctx, releases[i]) })
	if err != nil {
		return err
	}
	if releases[0].name != "" {
		if err := uninstall(ctx, releases[0]); err != nil {
			return err
		}
	}
	err = r.waitFor(ctx, "Helm releases' namespaces gone", func() (bool, string, error) {
		got, err := r.countNamespaces(ctx, prefixHelm)
		if err != nil || !r.cfg.shared() {
			return got == 0, fmt.Sprintf("%d left", got), err
		}
		gotShared, err := r.countSharedNamespaces(ctx)
		return got == 0 && gotShared == 0, fmt.Sprintf("%d left, %d shared", got, gotShared), err
	})
	if err != nil {
		return err
	}
	uend := time.Now()
	res.Uninstall = seconds(uend.Sub(ustart))
	ureqs, err := r.c.userRequests(helmUser, ustart, uend)
	if err != nil {
		return err
	}
	res.UninstallRequests, res.UninstallByVerbResource = len(ureqs), countWrites(ureqs)
	r.logf("Helm baseline: %d releases uninstalled and their namespaces gone in %.1fs (%d requests)", res.Releases, res.Uninstall, res.UninstallRequests)
	if err := r.checkHelmUninstalled(ctx, releases); err != nil {
		return err
	}
	return client.IgnoreNotFound(r.c.client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: helmReleaseNamespace}}))
}

func countMutating(reqs []write) int {
	n := 0
	for _, w := range reqs {
		if isMutating(w.Verb) {
			n++
		}
	}
	return n
}

// helmReleaseSecrets counts the release Secrets in helmReleaseNamespace by status.
func (r *runner) helmReleaseSecrets(ctx context.Context) (map[string]int, error) {
	var list corev1.SecretList
	if err := r.c.client.List(ctx, &list, client.InNamespace(helmReleaseNamespace), client.MatchingLabels{"owner": "helm"}); err != nil {
		return nil, err
	}
	byStatus := map[string]int{}
	for i := range list.Items {
		byStatus[list.Items[i].Labels["status"]]++
	}
	return byStatus, nil
}

// helmObjects lists, kind by kind, the objects of the Helm baseline's releases that exist,
// by the release their tenant label (or, for the shared instances, their shared-product
// label) puts them in.
func (r *runner) helmObjects(ctx context.Context, fn func(kind, release string, o client.Object)) error {
	for _, k := range apply.Kinds {
		if k.CRD != "" {
			continue
		}
		err := r.eachObject(ctx, k, func(o client.Object) {
			switch {
			case strings.HasPrefix(tenantOf(o), prefixHelm+"-"):
				fn(k.Name, tenantOf(o), o)
			case o.GetLabels()[tenancyv1alpha1.LabelSharedProduct] != "" && o.GetAnnotations()["meta.helm.sh/release-name"] == helmSharedRelease:
				fn(k.Name, helmSharedRelease, o)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkHelmInstalled checks, once every release's Deployments are available, that every
// release is deployed (its release Secret says so), that every object of every release is
// there, Helm's (its release's annotation, managed-by Helm, created by field manager helm),
// and that Helm's requests as the audit log holds them created each one once.
func (r *runner) checkHelmInstalled(ctx context.Context, releases []helmRelease, reqs []write) error {
	n := 0
	want := map[string]int{}
	wantCreates := map[string]int{}
	mapper := r.c.client.RESTMapper()
	for _, rel := range releases {
		if rel.name == "" {
			continue
		}
		n++
		for _, o := range rel.objects {
			want[o.Kind]++
			gvk, err := apiVersionKind(o)
			if err != nil {
				return err
			}
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return err
			}
			wantCreates[m.Resource.Resource]++
		}
	}
	wantCreates["secrets"] += n // the release Secrets
	byStatus, err := r.helmReleaseSecrets(ctx)
	if err != nil {
		return err
	}
	r.check(byStatus["deployed"] == n && len(byStatus) == 1, "Helm baseline: release Secrets by status %v, want %d deployed", byStatus, n)

	got := map[string]int{}
	var wrong []string
	err = r.helmObjects(ctx, func(kind, release string, o client.Object) {
		got[kind]++
		created := false
		for _, f := range o.GetManagedFields() {
			created = created || (f.Manager == helmFieldManager && f.Operation == metav1.ManagedFieldsOperationUpdate)
		}
		if o.GetAnnotations()["meta.helm.sh/release-name"] != release || o.GetLabels()[tenancyv1alpha1.LabelManagedBy] != helmManagedBy || !created {
			wrong = append(wrong, fmt.Sprintf("%s %s/%s", kind, o.GetNamespace(), o.GetName()))
		}
	})
	if err != nil {
		return err
	}
	for _, k := range apply.Kinds {
		r.check(got[k.Name] == want[k.Name], "Helm baseline: %d %ss of the releases exist, the render package gives %d", got[k.Name], k.Name, want[k.Name])
	}
	r.check(len(wrong) == 0, "Helm baseline: %d objects not of their release (annotation meta.helm.sh/release-name, label managed-by Helm, field manager helm), e.g. %v",
		len(wrong), wrong[:min(len(wrong), 3)])
	avail, err := r.countAvailable(ctx, prefixHelm)
	if err != nil {
		return err
	}
	r.check(avail == r.w.tenantDeployments(r.cfg.Tenants), "Helm baseline: %d Deployments of the releases available, want %d", avail, r.w.tenantDeployments(r.cfg.Tenants))

	r.check(len(reqs) > 0, "Helm baseline: no request of %s in the audit log", helmUser)
	creates := map[string]int{}
	for _, w := range reqs {
		if w.Verb == "create" && w.Code == 201 {
			creates[w.Resource]++
		}
	}
	for res, n := range wantCreates {
		r.check(creates[res] == n, "Helm baseline: the audit log holds %d creates of %s by %s, want %d (the releases' objects and release Secrets)", creates[res], res, helmUser, n)
	}
	return nil
}

// checkHelmUninstalled checks that no release Secret and no object of the releases is left.
func (r *runner) checkHelmUninstalled(ctx context.Context, releases []helmRelease) error {
	byStatus, err := r.helmReleaseSecrets(ctx)
	if err != nil {
		return err
	}
	r.check(len(byStatus) == 0, "Helm baseline: after helm uninstall, release Secrets by status %v are left", byStatus)
	left := map[string]int{}
	err = r.helmObjects(ctx, func(kind, _ string, _ client.Object) { left[kind]++ })
	if err != nil {
		return err
	}
	r.check(len(left) == 0, "Helm baseline: after helm uninstall, objects of the releases are left: %s", formatKinds(left))
	return nil
}

// apiVersionKind reads the group, version and kind of a rendered object.
func apiVersionKind(o render.Object) (schema.GroupVersionKind, error) {
	b, err := json.Marshal(o.Apply)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(b, &tm); err != nil {
		return schema.GroupVersionKind{}, err
	}
	return schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind), nil
}
