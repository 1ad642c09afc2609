package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Helpers of the fault scenarios: small plans and tenants, waiting for many tenants at
// once, and a snapshot of everything the operator labelled, to check that a fault
// left no duplicate, orphaned or lost object.

// planYAML is a ServicePlan without products: provisioning is namespaces, quota,
// network policy and RBAC only, which keeps scenarios with many tenants fast.
func planYAML(name string, maxNamespaces int) string {
	return fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata:
  name: %s
spec:
  displayName: Fault scenario plan
  maxNamespaces: %d
  quota:
    hard:
      requests.cpu: "2"
      requests.memory: 2Gi
      pods: "20"
`, name, maxNamespaces)
}

// tenantYAML is a Tenant on plan with the given namespaces (none: the default one)
// and spec fields added verbatim (each line indented by two spaces).
func tenantYAML(name, plan string, namespaces []string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata:
  name: %s
spec:
  displayName: Fault scenario tenant %s
  plan: %s
  owners:
  - kind: User
    name: owner@%s.example.com
`, name, name, plan, name)
	if len(namespaces) > 0 {
		b.WriteString("  namespaces:\n")
		for _, ns := range namespaces {
			fmt.Fprintf(&b, "  - name: %s\n", ns)
		}
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// listTenants returns the tenants whose names start with prefix, by name.
func listTenants(prefix string) (map[string]tenant, error) {
	out, err := runKubectl(nil, "get", "tenants", "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []tenant `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	tenants := map[string]tenant{}
	for _, tn := range list.Items {
		if strings.HasPrefix(tn.Metadata.Name, prefix) {
			tenants[tn.Metadata.Name] = tn
		}
	}
	return tenants, nil
}

// tenantsReady returns nil when every named tenant exists and is Ready, else an
// error that says how many are not and why one of them is not.
func tenantsReady(prefix string, names []string) error {
	tenants, err := listTenants(prefix)
	if err != nil {
		return err
	}
	var notReady []string
	var first error
	for _, n := range names {
		tn, ok := tenants[n]
		if !ok {
			notReady = append(notReady, n)
			first = cmpErr(first, fmt.Errorf("tenant %s does not exist", n))
			continue
		}
		if err := tn.ready(); err != nil {
			notReady = append(notReady, n)
			first = cmpErr(first, err)
		}
	}
	if len(notReady) > 0 {
		return fmt.Errorf("%d of %d tenants not Ready (%s), e.g. %v", len(notReady), len(names), abbreviate(notReady), first)
	}
	return nil
}

// waitTenantsReady waits until every named tenant is Ready, and returns how long that took.
func waitTenantsReady(t *testing.T, prefix string, names []string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, timeout, func() error { return tenantsReady(prefix, names) })
	return time.Since(start)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func abbreviate(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// tenantNames returns prefix00, prefix01, ... (n of them).
func tenantNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return names
}

// object is any labelled object, as far as the checks below read it.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		ResourceVersion   string            `json:"resourceVersion"`
		DeletionTimestamp string            `json:"deletionTimestamp"`
		Labels            map[string]string `json:"labels"`
	} `json:"metadata"`
	Data   map[string]string `json:"data"` // Secrets
	Status struct {
		Phase string `json:"phase"` // Namespaces
	} `json:"status"`
}

func (o object) key() string {
	if o.Metadata.Namespace == "" {
		return o.Kind + "/" + o.Metadata.Name
	}
	return o.Kind + "/" + o.Metadata.Namespace + "/" + o.Metadata.Name
}

func (o object) tenant() string { return o.Metadata.Labels[tenantLabel] }

// labelledKinds are the kinds the operator writes: the built-in ones, and the Envoy Gateway
// policies, whose CRDs TestMain installs (not HTTPRoutes nor ServiceMonitors: their CRDs are
// installed only by the tests that need them, and removed after them).
const labelledKinds = "namespaces,clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io," +
	"resourcequotas,limitranges,networkpolicies.networking.k8s.io,rolebindings.rbac.authorization.k8s.io," +
	"deployments.apps,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,services,secrets," +
	"securitypolicies.gateway.envoyproxy.io,backendtrafficpolicies.gateway.envoyproxy.io"

// labelledObjects returns every object that carries the tenant label with a value
// starting with prefix, by key.
func labelledObjects(prefix string) (map[string]object, error) {
	out, err := runKubectl(nil, "get", labelledKinds, "-A", "-l", tenantLabel, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []object `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	objs := map[string]object{}
	for _, o := range list.Items {
		if strings.HasPrefix(o.tenant(), prefix) {
			objs[o.key()] = o
		}
	}
	return objs, nil
}

// checkTenancy checks that the tenants whose names start with prefix are Ready and
// that what the operator made for them is exactly what they ask for: each listed
// namespace exists, Active and labelled for its tenant, no other namespace is; each
// holds exactly one labelled tenant-quota, tenant-isolation and tenant-owners and no
// labelled object of another tenant; each tenant has its reader ClusterRole and
// binding; and no labelled object belongs to a tenant that does not exist. It returns
// the labelled objects.
func checkTenancy(t *testing.T, prefix string) map[string]object {
	t.Helper()
	tenants, err := listTenants(prefix)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := labelledObjects(prefix)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{} // namespace -> tenant that lists it
	for _, tn := range tenants {
		if err := tn.ready(); err != nil {
			t.Error(err)
		}
		for _, ns := range tn.namespaces() {
			owner[ns] = tn.Metadata.Name
			o, ok := objs["Namespace/"+ns]
			switch {
			case !ok:
				t.Errorf("tenant %s: namespace %s is missing (or lost its tenant label)", tn.Metadata.Name, ns)
			case o.tenant() != tn.Metadata.Name:
				t.Errorf("tenant %s: namespace %s is labelled for tenant %q", tn.Metadata.Name, ns, o.tenant())
			case o.Metadata.DeletionTimestamp != "" || o.Status.Phase != "Active":
				t.Errorf("tenant %s: namespace %s is %s (deletionTimestamp %q)", tn.Metadata.Name, ns, o.Status.Phase, o.Metadata.DeletionTimestamp)
			}
		}
		reader := "tenancy:" + tn.Metadata.Name + ":reader"
		for _, k := range []string{"ClusterRole/" + reader, "ClusterRoleBinding/" + reader} {
			if _, ok := objs[k]; !ok {
				t.Errorf("tenant %s: %s is missing", tn.Metadata.Name, k)
			}
		}
	}

	// Per namespace and kind, the labelled objects' names.
	inNamespace := map[string]map[string][]string{}
	for _, o := range objs {
		if _, ok := tenants[o.tenant()]; !ok {
			t.Errorf("orphan: %s is labelled for tenant %s, which does not exist", o.key(), o.tenant())
			continue
		}
		switch {
		case o.Kind == "Namespace":
			if owner[o.Metadata.Name] != o.tenant() {
				t.Errorf("namespace %s is labelled for tenant %s, which does not list it", o.Metadata.Name, o.tenant())
			}
		case o.Metadata.Namespace != "":
			if owner[o.Metadata.Namespace] != o.tenant() {
				t.Errorf("%s is labelled for tenant %s, but its namespace belongs to %q", o.key(), o.tenant(), owner[o.Metadata.Namespace])
			}
			if inNamespace[o.Metadata.Namespace] == nil {
				inNamespace[o.Metadata.Namespace] = map[string][]string{}
			}
			inNamespace[o.Metadata.Namespace][o.Kind] = append(inNamespace[o.Metadata.Namespace][o.Kind], o.Metadata.Name)
		}
	}
	for ns := range owner {
		for kind, name := range map[string]string{"ResourceQuota": "tenant-quota", "NetworkPolicy": "tenant-isolation", "RoleBinding": "tenant-owners"} {
			got := inNamespace[ns][kind]
			if n := count(got, name); n != 1 {
				t.Errorf("namespace %s: %d labelled %s %s, want exactly 1 (labelled %ss: %v)", ns, n, kind, name, kind, got)
			}
		}
		if rqs := inNamespace[ns]["ResourceQuota"]; len(rqs) != 1 {
			t.Errorf("namespace %s: labelled ResourceQuotas %v, want only tenant-quota", ns, rqs)
		}
	}
	return objs
}

func count(names []string, name string) int {
	n := 0
	for _, x := range names {
		if x == name {
			n++
		}
	}
	return n
}

// deleteTenants deletes the named tenants without waiting.
func deleteTenants(t *testing.T, names []string) {
	t.Helper()
	kubectl(t, append([]string{"delete", "tenants", "--wait=false", "--ignore-not-found"}, names...)...)
}

// waitTenantsGone waits until no tenant whose name starts with prefix and no object
// labelled for one is left (namespaces included, so their contents are gone too), and
// returns how long that took.
func waitTenantsGone(t *testing.T, prefix string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, timeout, func() error {
		tenants, err := listTenants(prefix)
		if err != nil {
			return err
		}
		objs, err := labelledObjects(prefix)
		if err != nil {
			return err
		}
		if len(tenants) > 0 || len(objs) > 0 {
			keys := slices.Sorted(maps.Keys(objs))
			return fmt.Errorf("%d tenants and %d labelled objects left, e.g. %s", len(tenants), len(objs), abbreviate(keys))
		}
		return nil
	})
	return time.Since(start)
}

// compareObjects reports every object of before that is missing from after, was
// recreated (another UID), lost or changed its tenant label, is being deleted, or
// (Secrets) changed its data; and every object of after that before did not have.
func compareObjects(t *testing.T, when string, before, after map[string]object) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(before))
	for _, k := range keys {
		b := before[k]
		a, ok := after[k]
		switch {
		case !ok:
			t.Errorf("%s: %s is gone (or lost its tenant label)", when, k)
		case a.Metadata.UID != b.Metadata.UID:
			t.Errorf("%s: %s was recreated: uid %s, before %s", when, k, a.Metadata.UID, b.Metadata.UID)
		case a.tenant() != b.tenant():
			t.Errorf("%s: %s is labelled for tenant %q, before %q", when, k, a.tenant(), b.tenant())
		case a.Metadata.DeletionTimestamp != "":
			t.Errorf("%s: %s is being deleted (deletionTimestamp %s)", when, k, a.Metadata.DeletionTimestamp)
		case !maps.Equal(a.Data, b.Data):
			t.Errorf("%s: the data of %s changed (keys %v)", when, k, slices.Sorted(maps.Keys(a.Data)))
		}
	}
	var extra []string
	for k := range after {
		if _, ok := before[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%s: objects that were not there before: %v", when, extra)
	}
}

// scenarioTimer logs how long each step of a scenario and the whole took.
type scenarioTimer struct {
	t     *testing.T
	start time.Time
	last  time.Time
}

func newScenarioTimer(t *testing.T) *scenarioTimer {
	now := time.Now()
	st := &scenarioTimer{t: t, start: now, last: now}
	t.Cleanup(func() {
		t.Logf("scenario %s took %v in all", t.Name(), time.Since(st.start).Round(100*time.Millisecond))
	})
	return st
}

// step logs the time since the previous step.
func (st *scenarioTimer) step(format string, args ...any) {
	st.t.Helper()
	now := time.Now()
	st.t.Logf("[%6.1fs +%5.1fs] %s", now.Sub(st.start).Seconds(), now.Sub(st.last).Seconds(), fmt.Sprintf(format, args...))
	st.last = now
}
