package offline

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// TestRenderSamplesGolden renders config/samples and compares with the reviewed output.
func TestRenderSamplesGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   Options
	}{
		{"samples.golden.yaml", Options{GatewayAPI: true}},
		{"samples-no-gateway-api.golden.yaml", Options{GatewayAPI: false}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			in, err := ReadPaths([]string{filepath.Join("..", "..", "config", "samples")})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Render(&out, in, tc.opts); err != nil {
				t.Fatal(err)
			}
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
	in, err := ReadPaths([]string{filepath.Join("..", "..", "config", "samples")})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, in, Options{GatewayAPI: true}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"kind: HTTPRoute",                                     // acme's exposed payments
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
	if n := strings.Count(s, "\n---\n") + 1; n != 43 {
		t.Errorf("rendered %d objects, want 43 for the samples", n)
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
