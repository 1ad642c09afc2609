package offline

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/openplatform/tenant-operator/internal/revision"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// TestRenderSamplesGolden renders config/samples and compares with the reviewed output.
func TestRenderSamplesGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   Options
	}{
		{"samples.golden.yaml", Options{GatewayAPI: true, GatewayPolicies: true}},
		{"samples-no-gateway-api.golden.yaml", Options{GatewayAPI: false, GatewayPolicies: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			_, rendered := renderSamples(t, tc.opts)
			out := bytes.NewBufferString(rendered)
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./internal/offline -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("rendered samples differ from %s; review the change and run go test ./internal/offline -update\n%s",
					path, firstDifference(out.String(), string(want)))
			}
		})
	}
}

// TestRenderProperties checks, on the samples, what a reviewer relies on.
func TestRenderProperties(t *testing.T) {
	_, s := renderSamples(t, Options{GatewayAPI: true, GatewayPolicies: true})
	for _, want := range []string{
		"kind: HTTPRoute",                                     // acme's exposed payments
		"kind: SecurityPolicy",                                // payments' API key, checked by Envoy Gateway
		"kind: BackendTrafficPolicy",                          // the pro plan's rate limit of payments
		"acme.api.example.com",                                // hostname template
		"name: tenancy:initech:reader",                        // cluster-wide reader RBAC
		"name: tenant-egress",                                 // globex is on the restricted-egress free plan
		"stringData:\n  api-key: <generated-by-the-operator>", // no real key offline
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered samples lack %q", want)
		}
	}
	if strings.Contains(s, "data:\n  api-key:") {
		t.Error("a Secret carries a literal api-key")
	}
	if n := strings.Count(s, "\n---\n") + 1; n != 65 {
		t.Errorf("rendered %d objects, want 65 for the samples", n)
	}
}

// TestRenderReportsBrokenTenants: a tenant whose plan is missing is reported with the reason
// its status would show, and the other tenants are still rendered.
func TestRenderReportsBrokenTenants(t *testing.T) {
	dir := t.TempDir()
	manifest := `apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: small}
spec: {maxNamespaces: 1}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: good}
spec:
  plan: small
  owners: [{kind: User, name: a}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: orphan}
spec:
  plan: nowhere
  owners: [{kind: User, name: b}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := ReadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = Render(&out, in, Options{})
	if err == nil || !strings.Contains(err.Error(), "tenant orphan: PlanNotFound") {
		t.Errorf("error = %v, want it to report tenant orphan with PlanNotFound", err)
	}
	if !strings.Contains(out.String(), "name: good") || strings.Contains(out.String(), "orphan") {
		t.Errorf("want the good tenant rendered and nothing of the orphan:\n%s", out.String())
	}
}

// TestReadRejectsUnknownFields: a typo in a manifest is an error, not silently dropped.
func TestReadRejectsUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.yaml")
	doc := "apiVersion: tenancy.openplatform.io/v1alpha1\nkind: Tenant\nmetadata: {name: x}\nspec: {plan: p, owner: []}\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPaths([]string{path}); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("error = %v, want the unknown field owner named", err)
	}
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + g[i] + "\n  want: " + w[i]
		}
	}
	return "lengths differ: got " + strconv.Itoa(len(g)) + " lines, want " + strconv.Itoa(len(w))
}

// TestRenderShowsRevisions: each tenant's objects are headed by a comment naming, per
// product, the revision the live spec gives the tenant (revision.Name of the version it
// resolves to, the revision its Deployments are annotated with) and its rollout wave; the
// stream stays one object per document, for kubectl apply.
func TestRenderShowsRevisions(t *testing.T) {
	in, s := renderSamples(t, Options{GatewayAPI: true, GatewayPolicies: true})
	rev := func(product, version string) string {
		t.Helper()
		p := in.Products[product]
		for i := range p.Spec.Versions {
			if p.Spec.Versions[i].Name == version {
				return revision.Name(product, &p.Spec.Versions[i])
			}
		}
		t.Fatalf("sample product %s has no version %s", product, version)
		return ""
	}
	for _, want := range []string{
		"# Tenant acme (plan pro), product revisions from the specs in the input:\n" +
			"#   payments v2: " + rev("payments", "v2") + " (no spec.rollout: moves at once)\n" +
			"apiVersion: v1\n",
		"---\n# Tenant globex (plan free), product revisions from the specs in the input:\n" +
			"#   reports v1: " + rev("reports", "v1") + " (moves in rollout wave canary)\n" +
			"#   payments v2: " + rev("payments", "v2") + " (served by the shared instance shared-payments/payments-v2, rendered after the tenants)\n" +
			"# In the cluster, a rollout that is not over may keep the tenant on the product's stable\n",
		"---\n# Shared instances of product payments in namespace shared-payments, version v2, for tenants globex.\n" +
			"apiVersion: v1\nkind: Namespace\n",
		"---\n# Tenant initech (plan enterprise), product revisions from the specs in the input:\n" +
			"#   payments v1, deprecated: " + rev("payments", "v1") + " (no spec.rollout: moves at once)\n" +
			"#   reports v1: " + rev("reports", "v1") + " (moves in rollout wave enterprise)\n" +
			"# In the cluster a deprecated version's route also sets the response headers Deprecation:\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered samples lack the header\n%s", want)
		}
	}

	// The header names the revision the tenant's Deployments are rendered from.
	docs := decodeStream(t, s)
	if len(docs) != 65 {
		t.Errorf("decoded %d documents, want the 65 objects of the samples, each a document of its own", len(docs))
	}
	seen := 0
	for _, d := range docs {
		if d.Kind != "Deployment" {
			continue
		}
		m := d.Metadata
		product, version := m.Labels["tenancy.openplatform.io/product"], m.Labels["app.kubernetes.io/version"]
		if product == "" { // a shared instance's
			product = m.Labels["tenancy.openplatform.io/shared-product"]
		}
		if product == "" || version == "" {
			t.Fatalf("Deployment %s/%s lacks the product or version label: %v", m.Namespace, m.Name, m.Labels)
		}
		if got, want := m.Annotations["tenancy.openplatform.io/revision"], rev(product, version); got != want {
			t.Errorf("Deployment %s/%s: revision annotation %q, want %q as in the header", m.Namespace, m.Name, got, want)
		}
		seen++
	}
	if seen == 0 {
		t.Error("no Deployment rendered")
	}
}

// TestRenderRevisionWaves: the header gives each tenant the wave that selects it (label,
// plan, the catch-all, "(remaining)" when no wave selects it) and the revision of the
// version it resolves to (its own pin, else the plan's, else the default), which changes
// with the version's content.
func TestRenderRevisionWaves(t *testing.T) {
	const manifest = `apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: free}
spec:
  products: [{name: payments}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: pro}
spec:
  products: [{name: payments, version: v1}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: payments}
spec:
  defaultVersion: v2
  versions:
    - {name: v1, components: [{name: api, image: "registry.example.com/payments:1.0"}]}
    - {name: v2, components: [{name: api, image: "registry.example.com/payments:IMAGE"}]}
  rollout:
    waves:
      - {name: canary, tenantSelector: {matchLabels: {tenancy.openplatform.io/canary: "true"}}}
      - {name: free, plans: [free]}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: a-canary, labels: {tenancy.openplatform.io/canary: "true"}}
spec: {plan: free, owners: [{kind: User, name: a}]}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: b-free}
spec: {plan: free, owners: [{kind: User, name: b}]}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: c-pro}
spec: {plan: pro, owners: [{kind: User, name: c}]}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: d-pinned}
spec: {plan: pro, owners: [{kind: User, name: d}], products: [{name: payments, version: v2}]}
`
	render := func(image string) (string, *Input) {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(strings.ReplaceAll(manifest, "IMAGE", image)), 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := ReadPaths([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Render(&out, in, Options{}); err != nil {
			t.Fatal(err)
		}
		return out.String(), in
	}
	s, in := render("2.0")
	p := in.Products["payments"]
	v1, v2 := revision.Name("payments", &p.Spec.Versions[0]), revision.Name("payments", &p.Spec.Versions[1])
	for _, want := range []string{
		"# Tenant a-canary (plan free), product revisions from the specs in the input:\n#   payments v2: " + v2 + " (moves in rollout wave canary)\n",
		"# Tenant b-free (plan free), product revisions from the specs in the input:\n#   payments v2: " + v2 + " (moves in rollout wave free)\n",
		"# Tenant c-pro (plan pro), product revisions from the specs in the input:\n#   payments v1: " + v1 + " (moves in rollout wave (remaining))\n",
		"# Tenant d-pinned (plan pro), product revisions from the specs in the input:\n#   payments v2: " + v2 + " (moves in rollout wave (remaining))\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered output lacks\n%s\n%s", want, s)
		}
	}
	if !strings.HasPrefix(v2, "payments-v2-") {
		t.Errorf("revision %q, want payments-v2-<hash>", v2)
	}

	// A new image is a new revision of v2, and only of v2.
	s2, in2 := render("2.1")
	v2b := revision.Name("payments", &in2.Products["payments"].Spec.Versions[1])
	if v2b == v2 || !strings.Contains(s2, "#   payments v2: "+v2b+" (moves in rollout wave canary)\n") ||
		!strings.Contains(s2, "#   payments v1: "+v1+" (moves in rollout wave (remaining))\n") {
		t.Errorf("after the image change want v2 at a new revision (%s, was %s) and v1 unchanged (%s):\n%s", v2b, v2, v1, s2)
	}
}

// decoded is what the tests read of a rendered object.
type decoded struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Data       map[string]any `json:"data"`
	StringData map[string]any `json:"stringData"`
	Spec       map[string]any `json:"spec"`
}

// decodeStream splits a rendered YAML stream into its documents, as kubectl does, and fails
// on a document that is empty or not an object (a header comment standing alone would be one).
func decodeStream(t *testing.T, s string) []decoded {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var out []decoded
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var d decoded
		if err := yaml.Unmarshal(doc, &d); err != nil {
			t.Fatalf("document %d: %v\n%s", len(out)+1, err, doc)
		}
		if d.Kind == "" || d.Metadata.Name == "" {
			t.Fatalf("document %d is not an object:\n%s", len(out)+1, doc)
		}
		out = append(out, d)
	}
}

// renderSamples reads config/samples and renders them with opts.
func renderSamples(t *testing.T, opts Options) (*Input, string) {
	t.Helper()
	in, err := ReadPaths([]string{filepath.Join("..", "..", "config", "samples")})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, in, opts); err != nil {
		t.Fatal(err)
	}
	return in, out.String()
}
