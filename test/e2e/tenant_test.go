package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	tenantLabel = "tenancy.openplatform.io/tenant"
	pssPrefix   = "pod-security.kubernetes.io/"
)

// applySamples applies config/samples/ and returns the names of its Tenants.
func applySamples(t *testing.T) []string {
	t.Helper()
	out := kubectl(t, "apply", "-f", "config/samples/", "-o", "name")
	var tenants []string
	for _, line := range strings.Fields(out) {
		if name, ok := strings.CutPrefix(line, "tenant.tenancy.openplatform.io/"); ok {
			tenants = append(tenants, name)
		}
	}
	return tenants
}

// checkTenantNamespaces checks that the tenant's namespaces exist, carry its label
// and enforce (and audit and warn) its plan's Pod Security level.
func checkTenantNamespaces(t *testing.T, tn tenant) {
	t.Helper()
	var plan servicePlan
	kubectlJSON(t, &plan, "get", "serviceplan", tn.Spec.Plan)
	level := plan.Spec.PodSecurity
	if level == "" {
		level = "restricted"
	}
	for _, name := range tn.namespaces() {
		var ns namespace
		kubectlJSON(t, &ns, "get", "namespace", name)
		labels := ns.Metadata.Labels
		if got := labels[tenantLabel]; got != tn.Metadata.Name {
			t.Errorf("namespace %s: label %s=%q, want %q", name, tenantLabel, got, tn.Metadata.Name)
		}
		for _, mode := range []string{"enforce", "audit", "warn"} {
			if got := labels[pssPrefix+mode]; got != level {
				t.Errorf("namespace %s: label %s%s=%q, want %q (plan %s)", name, pssPrefix, mode, got, level, plan.Metadata.Name)
			}
		}
	}
}

var productsReady = regexp.MustCompile(`^(\d+)/(\d+)$`)

func TestSamplesBecomeReady(t *testing.T) {
	dumpOnFailure(t)
	names := applySamples(t)
	if len(names) == 0 {
		t.Fatal("config/samples/ has no Tenant")
	}

	// What the README tells users to run.
	kubectl(t, "wait", "--for=condition=Ready", "tenant", "--all", "--timeout=120s")

	out := kubectl(t, "get", "tnt")
	t.Logf("kubectl get tnt:\n%s", out)
	tb := parseTable(out)
	want := []string{"NAME", "PLAN", "NAMESPACES", "PRODUCTS READY", "READY", "AGE"}
	var got []string
	for _, h := range tb.header {
		if slices.Contains(want, h) {
			got = append(got, h)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kubectl get tnt: columns %q, want %q in this order:\n%s", tb.header, want, out)
	}
	rows := map[string]map[string]string{}
	for _, r := range tb.rows {
		rows[r["NAME"]] = r
	}

	for _, name := range names {
		var tn tenant
		kubectlJSON(t, &tn, "get", "tenant", name)
		row, ok := rows[name]
		if !ok {
			t.Errorf("kubectl get tnt has no row for sample tenant %s:\n%s", name, out)
			continue
		}
		if row["READY"] != "True" {
			t.Errorf("tenant %s: READY %q, want True", name, row["READY"])
		}
		if row["PLAN"] != tn.Spec.Plan {
			t.Errorf("tenant %s: PLAN %q, want %q", name, row["PLAN"], tn.Spec.Plan)
		}
		if want := fmt.Sprint(len(tn.namespaces())); row["NAMESPACES"] != want {
			t.Errorf("tenant %s: NAMESPACES %q, want %s", name, row["NAMESPACES"], want)
		}
		if m := productsReady.FindStringSubmatch(row["PRODUCTS READY"]); m == nil || m[1] != m[2] {
			t.Errorf("tenant %s: PRODUCTS READY %q, want every product ready (n/n)", name, row["PRODUCTS READY"])
		}
		checkTenantNamespaces(t, tn)
	}
}

func TestDeleteTenantRemovesNamespaces(t *testing.T) {
	dumpOnFailure(t)
	applySamples(t) // the plans and products the tenant uses

	// Two namespaces need a plan that allows them.
	var plans struct {
		Items []servicePlan `json:"items"`
	}
	kubectlJSON(t, &plans, "get", "serviceplans")
	plan := ""
	for _, p := range plans.Items {
		if p.Spec.MaxNamespaces >= 2 {
			plan = p.Metadata.Name
			break
		}
	}
	if plan == "" {
		t.Fatal("config/samples/ has no ServicePlan with maxNamespaces >= 2")
	}

	const name = "e2e-delete"
	namespaces := []string{name, name + "-dev"}
	reader := "tenancy:" + name + ":reader"
	kubectlApply(t, fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata:
  name: %s
spec:
  displayName: Deletion test
  plan: %s
  owners:
  - kind: User
    name: e2e@example.com
  namespaces:
  - name: %s
  - name: %s
`, name, plan, namespaces[0], namespaces[1]))

	var tn tenant
	eventually(t, 120*time.Second, func() error {
		out, err := runKubectl(nil, "get", "tenant", name, "-o", "json")
		if err != nil {
			return err
		}
		tn = tenant{}
		if err := json.Unmarshal([]byte(out), &tn); err != nil {
			return err
		}
		return tn.ready()
	})
	checkTenantNamespaces(t, tn)
	kubectl(t, "get", "clusterrole", reader)
	kubectl(t, "get", "clusterrolebinding", reader)

	start := time.Now()
	kubectl(t, "delete", "tenant", name, "--wait", "--timeout=120s")
	t.Logf("tenant deleted in %v", time.Since(start).Round(100*time.Millisecond))

	// The finalizer is removed only once the namespaces are gone, so by now
	// nothing of the tenant may be left, not even a Terminating namespace.
	for _, ns := range namespaces {
		expectNotFound(t, "namespace", ns)
	}
	expectNotFound(t, "clusterrole", reader)
	expectNotFound(t, "clusterrolebinding", reader)
}
