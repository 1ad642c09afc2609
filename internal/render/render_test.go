package render

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// --- fixtures -------------------------------------------------------------------------

func testTenant(name string, namespaces ...tenancyv1alpha1.TenantNamespace) *tenancyv1alpha1.Tenant {
	return &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1alpha1.TenantSpec{
			Plan: "pro",
			Owners: []tenancyv1alpha1.Owner{
				{Kind: tenancyv1alpha1.OwnerUser, Name: "alice@acme.example"},
				{Kind: tenancyv1alpha1.OwnerGroup, Name: "acme-admins"},
				{Kind: tenancyv1alpha1.OwnerServiceAccount, Name: "deployer", Namespace: "acme"},
			},
			Namespaces: namespaces,
		},
	}
}

func rlist(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// proPlan is the plan of the contract's example.
func testProPlan() *tenancyv1alpha1.ServicePlan {
	return &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: "pro"},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			Quota: &tenancyv1alpha1.PlanQuota{Hard: rlist(
				"requests.cpu", "8", "requests.memory", "16Gi", "limits.cpu", "16",
				"limits.memory", "32Gi", "pods", "100")},
			LimitRange: &tenancyv1alpha1.PlanLimitRange{
				DefaultRequest: rlist("cpu", "100m", "memory", "128Mi"),
				Default:        rlist("cpu", "500m", "memory", "512Mi"),
				Max:            rlist("cpu", "4", "memory", "8Gi"),
			},
			PodSecurity: tenancyv1alpha1.PodSecurityBaseline,
			OwnerRole:   tenancyv1alpha1.OwnerRoleEdit,
			Network: tenancyv1alpha1.PlanNetwork{
				AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{corev1.LabelMetadataName: "platform-gateway"},
					},
				}},
				Egress:        tenancyv1alpha1.EgressRestricted,
				AllowEgressTo: []string{"10.20.0.0/16", "192.168.1.0/24"},
			},
		},
	}
}

// emptyPlan has nothing set: every default applies.
func testEmptyPlan() *tenancyv1alpha1.ServicePlan {
	return &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "free"}}
}

// --- decoding helpers -----------------------------------------------------------------

// decode turns an apply configuration into the typed object the API server would see.
func decodeAs[T any](t *testing.T, ac runtime.ApplyConfiguration) *T {
	t.Helper()
	b, err := json.Marshal(ac)
	if err != nil {
		t.Fatalf("marshalling %T: %v", ac, err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("unmarshalling %s: %v", b, err)
	}
	return out
}

// asMap turns an apply configuration into the generic map that is sent to the API server.
func applyMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshalling %T: %v", v, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshalling %s: %v", b, err)
	}
	return m
}

func mustRender(t *testing.T, in Input) *Desired {
	t.Helper()
	d, err := Tenant(in)
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	return d
}

func allObjects(d *Desired) []Object {
	out := append([]Object{}, d.Namespaces...)
	out = append(out, d.Namespaced...)
	return append(out, d.Cluster...)
}

// find returns the object with the given kind, namespace and name, failing when absent.
func findObject(t *testing.T, d *Desired, kind, namespace, name string) Object {
	t.Helper()
	for _, o := range allObjects(d) {
		if o.Kind == kind && o.Namespace == namespace && o.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s among %v", kind, namespace, name, objectKeys(d))
	return Object{}
}

func hasObject(d *Desired, kind, namespace, name string) bool {
	for _, o := range allObjects(d) {
		if o.Kind == kind && o.Namespace == namespace && o.Name == name {
			return true
		}
	}
	return false
}

func objectKeys(d *Desired) []string {
	var out []string
	for _, o := range allObjects(d) {
		out = append(out, fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name))
	}
	return out
}

// checkMeta asserts that the object's metadata matches its Object identity, in the way
// the API server reads it, and that it carries the tenant labels.
func checkMeta(t *testing.T, o Object, tenantName string) {
	t.Helper()
	m := applyMap(t, o.Apply)
	if m["kind"] != o.Kind {
		t.Errorf("%v: kind %v, want %s", o.Key(), m["kind"], o.Kind)
	}
	if m["apiVersion"] == nil || m["apiVersion"] == "" {
		t.Errorf("%v: no apiVersion", o.Key())
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta["name"] != o.Name {
		t.Errorf("%v: metadata.name %v, want %s", o.Key(), meta["name"], o.Name)
	}
	ns, _ := meta["namespace"].(string)
	if ns != o.Namespace {
		t.Errorf("%v: metadata.namespace %q, want %q", o.Key(), ns, o.Namespace)
	}
	labels, _ := meta["labels"].(map[string]any)
	if labels[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue {
		t.Errorf("%v: label %s = %v, want %s", o.Key(), tenancyv1alpha1.LabelManagedBy,
			labels[tenancyv1alpha1.LabelManagedBy], tenancyv1alpha1.ManagedByValue)
	}
	if labels[tenancyv1alpha1.LabelTenant] != tenantName {
		t.Errorf("%v: label %s = %v, want %s", o.Key(), tenancyv1alpha1.LabelTenant,
			labels[tenancyv1alpha1.LabelTenant], tenantName)
	}
}

// --- Labels and Namespace -------------------------------------------------------------

func TestLabels(t *testing.T) {
	got := Labels("acme")
	want := map[string]string{
		"app.kubernetes.io/managed-by":   "tenant-operator",
		"tenancy.openplatform.io/tenant": "acme",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
	// Callers add to the map (Namespace adds Pod Security labels): each call must return a
	// fresh map.
	got["x"] = "y"
	if _, ok := Labels("acme")["x"]; ok {
		t.Error("Labels returns a shared map")
	}
}

// TestNamespaceGuardrailMarks: what the admission policies read off a tenant namespace.
func TestNamespaceGuardrailMarks(t *testing.T) {
	plan := testEmptyPlan()
	plan.Spec.Network = tenancyv1alpha1.PlanNetwork{Egress: tenancyv1alpha1.EgressRestricted, AllowEgressTo: []string{"10.20.0.0/16", "192.168.1.0/24"}}
	plan.Spec.AlwaysPullImages = ptr.To(false)
	ns := decodeAs[corev1.Namespace](t, Namespace(testTenant("acme"), plan, "acme", false, []string{"acme.api.example.com", "acme.reports.example.com"}, []string{"payments-api", "reports-web"}).Apply)
	if got := ns.Labels[tenancyv1alpha1.LabelEgress]; got != "Restricted" {
		t.Errorf("label %s = %q, want Restricted", tenancyv1alpha1.LabelEgress, got)
	}
	if got, ok := ns.Labels[tenancyv1alpha1.LabelAlwaysPullImages]; ok {
		t.Errorf("label %s = %q with alwaysPullImages false, want none", tenancyv1alpha1.LabelAlwaysPullImages, got)
	}
	if got := ns.Annotations[tenancyv1alpha1.AnnotationAllowEgressTo]; got != "10.20.0.0/16,192.168.1.0/24" {
		t.Errorf("annotation %s = %q", tenancyv1alpha1.AnnotationAllowEgressTo, got)
	}
	if got := ns.Annotations[tenancyv1alpha1.AnnotationHostnames]; got != "acme.api.example.com,acme.reports.example.com" {
		t.Errorf("annotation %s = %q", tenancyv1alpha1.AnnotationHostnames, got)
	}
	if got := ns.Annotations[tenancyv1alpha1.AnnotationGuardedServices]; got != "payments-api,reports-web" {
		t.Errorf("annotation %s = %q", tenancyv1alpha1.AnnotationGuardedServices, got)
	}
	// Open egress: no CIDR list, whatever the plan lists.
	plan.Spec.Network = tenancyv1alpha1.PlanNetwork{Egress: tenancyv1alpha1.EgressOpen}
	ns = decodeAs[corev1.Namespace](t, Namespace(testTenant("acme"), plan, "acme", false, nil, nil).Apply)
	if _, ok := ns.Annotations[tenancyv1alpha1.AnnotationGuardedServices]; ok {
		t.Errorf("no products behind gateway policies: annotation %s = %q, want none", tenancyv1alpha1.AnnotationGuardedServices, ns.Annotations[tenancyv1alpha1.AnnotationGuardedServices])
	}
	if _, ok := ns.Annotations[tenancyv1alpha1.AnnotationAllowEgressTo]; ok || ns.Labels[tenancyv1alpha1.LabelEgress] != "Open" {
		t.Errorf("open egress: labels %v annotations %v", ns.Labels, ns.Annotations)
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct {
		name      string
		level     tenancyv1alpha1.PodSecurityLevel
		adopted   bool
		wantLevel string
	}{
		{"plan without podSecurity defaults to restricted", "", false, "restricted"},
		{"restricted", tenancyv1alpha1.PodSecurityRestricted, false, "restricted"},
		{"baseline", tenancyv1alpha1.PodSecurityBaseline, false, "baseline"},
		{"privileged", tenancyv1alpha1.PodSecurityPrivileged, false, "privileged"},
		{"adopted namespace is marked", tenancyv1alpha1.PodSecurityBaseline, true, "baseline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.PodSecurity = tc.level
			o := Namespace(testTenant("acme"), plan, "acme-dev", tc.adopted, nil, nil)
			if o.Kind != KindNamespace || o.Name != "acme-dev" || o.Namespace != "" {
				t.Fatalf("identity %+v, want Namespace /acme-dev", o.Key())
			}
			checkMeta(t, o, "acme")
			ns := decodeAs[corev1.Namespace](t, o.Apply)
			want := map[string]string{
				"app.kubernetes.io/managed-by":        "tenant-operator",
				"tenancy.openplatform.io/tenant":      "acme",
				"pod-security.kubernetes.io/enforce":  tc.wantLevel,
				"pod-security.kubernetes.io/audit":    tc.wantLevel,
				"pod-security.kubernetes.io/warn":     tc.wantLevel,
				tenancyv1alpha1.LabelEgress:           "Open",
				tenancyv1alpha1.LabelAlwaysPullImages: "true",
			}
			if !reflect.DeepEqual(ns.Labels, want) {
				t.Errorf("labels = %v, want %v", ns.Labels, want)
			}
			v, ok := ns.Annotations[tenancyv1alpha1.AnnotationAdopted]
			if ok != tc.adopted {
				t.Errorf("annotation %s present = %v, want %v (annotations %v)",
					tenancyv1alpha1.AnnotationAdopted, ok, tc.adopted, ns.Annotations)
			}
			if tc.adopted && v != "true" {
				t.Errorf("annotation %s = %q, want \"true\"", tenancyv1alpha1.AnnotationAdopted, v)
			}
			if !tc.adopted && len(ns.Annotations) != 0 {
				t.Errorf("created namespace has annotations %v, want none", ns.Annotations)
			}
		})
	}
}

func TestReleasedNamespaceOwnsNothing(t *testing.T) {
	o := ReleasedNamespace("acme")
	if o.Key() != (Key{Kind: KindNamespace, Name: "acme"}) {
		t.Fatalf("identity %+v", o.Key())
	}
	m := applyMap(t, o.Apply)
	meta, _ := m["metadata"].(map[string]any)
	if len(meta) != 1 || meta["name"] != "acme" {
		t.Errorf("metadata = %v, want only the name", meta)
	}
	if _, ok := m["spec"]; ok {
		t.Errorf("released namespace has a spec: %v", m)
	}
}

// --- Tenant: namespaces and quota -----------------------------------------------------

func TestTenantDefaultNamespace(t *testing.T) {
	d := mustRender(t, Input{Tenant: testTenant("acme"), Plan: testProPlan()})
	if len(d.Namespaces) != 1 || d.Namespaces[0].Name != "acme" {
		t.Fatalf("namespaces = %v, want one named acme", d.Namespaces)
	}
	// The whole budget goes to the only namespace.
	rq := decodeAs[corev1.ResourceQuota](t, findObject(t, d, KindResourceQuota, "acme", QuotaName).Apply)
	for name, want := range testProPlan().Spec.Quota.Hard {
		got := rq.Spec.Hard[name]
		if got.Cmp(want) != 0 {
			t.Errorf("tenant-quota %s = %s, want the whole budget %s", name, got.String(), want.String())
		}
	}
	for _, o := range d.Namespaced {
		if o.Namespace != "acme" {
			t.Errorf("%v is outside the tenant's only namespace", o.Key())
		}
	}
}

func TestTenantNamespacesInSpecOrder(t *testing.T) {
	tn := testTenant("acme",
		tenancyv1alpha1.TenantNamespace{Name: "acme-prod"},
		tenancyv1alpha1.TenantNamespace{Name: "acme"},
		tenancyv1alpha1.TenantNamespace{Name: "acme-dev"})
	d := mustRender(t, Input{Tenant: tn, Plan: testEmptyPlan()})
	var got []string
	for _, o := range d.Namespaces {
		got = append(got, o.Name)
	}
	if want := []string{"acme-prod", "acme", "acme-dev"}; !reflect.DeepEqual(got, want) {
		t.Errorf("namespaces = %v, want %v", got, want)
	}
	// Namespaced objects are grouped by namespace, in the same order.
	var order []string
	for _, o := range d.Namespaced {
		if len(order) == 0 || order[len(order)-1] != o.Namespace {
			order = append(order, o.Namespace)
		}
	}
	if want := []string{"acme-prod", "acme", "acme-dev"}; !reflect.DeepEqual(order, want) {
		t.Errorf("namespaced objects grouped as %v, want %v", order, want)
	}
}

func TestTenantQuotaShares(t *testing.T) {
	tests := []struct {
		name       string
		namespaces []tenancyv1alpha1.TenantNamespace
		hard       corev1.ResourceList
		// want maps namespace -> resource -> quantity
		want map[string]map[string]string
	}{
		{
			name: "weights 3 and 1 split 8 cpu into 6 and 2",
			namespaces: []tenancyv1alpha1.TenantNamespace{
				{Name: "acme", QuotaWeight: 3}, {Name: "acme-dev", QuotaWeight: 1},
			},
			hard: rlist("requests.cpu", "8", "limits.memory", "32Gi", "pods", "10"),
			want: map[string]map[string]string{
				"acme":     {"requests.cpu": "6", "limits.memory": "24Gi", "pods": "8"},
				"acme-dev": {"requests.cpu": "2", "limits.memory": "8Gi", "pods": "2"},
			},
		},
		{
			name: "unset weight counts as 1",
			namespaces: []tenancyv1alpha1.TenantNamespace{
				{Name: "acme"}, {Name: "acme-dev", QuotaWeight: 1},
			},
			hard: rlist("requests.cpu", "1"),
			want: map[string]map[string]string{
				"acme":     {"requests.cpu": "500m"},
				"acme-dev": {"requests.cpu": "500m"},
			},
		},
		{
			name: "remainder goes to the first namespace",
			namespaces: []tenancyv1alpha1.TenantNamespace{
				{Name: "acme-a"}, {Name: "acme-b"}, {Name: "acme-c"},
			},
			hard: rlist("pods", "100"),
			want: map[string]map[string]string{
				"acme-a": {"pods": "34"}, "acme-b": {"pods": "33"}, "acme-c": {"pods": "33"},
			},
		},
		{
			name: "node ports and load balancers the plan names are split like any key",
			namespaces: []tenancyv1alpha1.TenantNamespace{
				{Name: "acme"}, {Name: "acme-dev"},
			},
			hard: rlist("services.nodeports", "3", "services.loadbalancers", "1"),
			want: map[string]map[string]string{
				"acme":     {"services.nodeports": "2", "services.loadbalancers": "1"},
				"acme-dev": {"services.nodeports": "1", "services.loadbalancers": "0"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: tc.hard}
			d := mustRender(t, Input{Tenant: testTenant("acme", tc.namespaces...), Plan: plan})
			for ns, want := range tc.want {
				// Every share holds NodePort and LoadBalancer Services at 0 unless the plan names them.
				for _, key := range []string{"services.nodeports", "services.loadbalancers"} {
					if _, ok := want[key]; !ok {
						want[key] = "0"
					}
				}
				o := findObject(t, d, KindResourceQuota, ns, QuotaName)
				checkMeta(t, o, "acme")
				rq := decodeAs[corev1.ResourceQuota](t, o.Apply)
				if len(rq.Spec.Hard) != len(want) {
					t.Errorf("%s: hard = %v, want %v", ns, rq.Spec.Hard, want)
				}
				for name, w := range want {
					got := rq.Spec.Hard[corev1.ResourceName(name)]
					if got.Cmp(resource.MustParse(w)) != 0 {
						t.Errorf("%s: %s = %s, want %s", ns, name, got.String(), w)
					}
				}
			}
		})
	}
}

// TestTenantWithoutQuota: a plan without a quota still fences Services: tenant-quota holds
// services.nodeports and services.loadbalancers at 0.
func TestTenantWithoutQuota(t *testing.T) {
	tests := []struct {
		name  string
		quota *tenancyv1alpha1.PlanQuota
	}{
		{"plan without quota", nil},
		{"plan with empty quota", &tenancyv1alpha1.PlanQuota{}},
		{"plan with empty hard", &tenancyv1alpha1.PlanQuota{Hard: corev1.ResourceList{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.Quota = tc.quota
			d := mustRender(t, Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: plan})
			// NodePort and LoadBalancer Services stay held at 0 in every namespace.
			for _, ns := range []string{"acme", "acme-dev"} {
				rq := decodeAs[corev1.ResourceQuota](t, findObject(t, d, KindResourceQuota, ns, QuotaName).Apply)
				want := rlist("services.nodeports", "0", "services.loadbalancers", "0")
				if !reflect.DeepEqual(rq.Spec.Hard, want) {
					t.Errorf("%s: tenant-quota hard = %v, want %v", ns, rq.Spec.Hard, want)
				}
			}
		})
	}
}

func TestTenantQuotaError(t *testing.T) {
	plan := testEmptyPlan()
	plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: rlist("pods", "-1")}
	d, err := Tenant(Input{Tenant: testTenant("acme"), Plan: plan})
	if err == nil {
		t.Fatalf("Tenant with a negative budget succeeded: %v", objectKeys(d))
	}
}

// --- LimitRange -----------------------------------------------------------------------

func TestLimitRange(t *testing.T) {
	tests := []struct {
		name   string
		lr     *tenancyv1alpha1.PlanLimitRange
		wantOK bool
	}{
		{"no limitRange", nil, false},
		{"empty limitRange", &tenancyv1alpha1.PlanLimitRange{}, false},
		{"contract example", testProPlan().Spec.LimitRange, true},
		{"only max", &tenancyv1alpha1.PlanLimitRange{Max: rlist("cpu", "2")}, true},
		{"only min", &tenancyv1alpha1.PlanLimitRange{Min: rlist("memory", "16Mi")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.LimitRange = tc.lr
			d := mustRender(t, Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: plan})
			for _, ns := range []string{"acme", "acme-dev"} {
				if got := hasObject(d, KindLimitRange, ns, LimitRangeName); got != tc.wantOK {
					t.Fatalf("%s: tenant-limits present = %v, want %v", ns, got, tc.wantOK)
				}
				if !tc.wantOK {
					continue
				}
				o := findObject(t, d, KindLimitRange, ns, LimitRangeName)
				checkMeta(t, o, "acme")
				lr := decodeAs[corev1.LimitRange](t, o.Apply)
				if len(lr.Spec.Limits) != 1 {
					t.Fatalf("%s: %d limits, want 1", ns, len(lr.Spec.Limits))
				}
				item := lr.Spec.Limits[0]
				if item.Type != corev1.LimitTypeContainer {
					t.Errorf("%s: type %q, want Container", ns, item.Type)
				}
				for _, c := range []struct {
					field     string
					got, want corev1.ResourceList
				}{
					{"default", item.Default, tc.lr.Default},
					{"defaultRequest", item.DefaultRequest, tc.lr.DefaultRequest},
					{"max", item.Max, tc.lr.Max},
					{"min", item.Min, tc.lr.Min},
				} {
					if !sameResourceList(c.got, c.want) {
						t.Errorf("%s: %s = %v, want %v", ns, c.field, c.got, c.want)
					}
				}
			}
		})
	}
}

func sameResourceList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for n, q := range a {
		w, ok := b[n]
		if !ok || q.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// --- NetworkPolicies ------------------------------------------------------------------

func testTenantSelector(tenantName string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{tenancyv1alpha1.LabelTenant: tenantName}}
}

func TestIsolationPolicy(t *testing.T) {
	extraPeers := []networkingv1.NetworkPolicyPeer{
		{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "platform-gateway"}}},
		{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"sre", "obs"}},
				{Key: "internal", Operator: metav1.LabelSelectorOpExists},
			}},
			PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus"}},
		},
		{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}},
		{IPBlock: &networkingv1.IPBlock{CIDR: "172.16.0.0/12"}},
	}
	tests := []struct {
		name  string
		peers []networkingv1.NetworkPolicyPeer
	}{
		{"no extra peers", nil},
		{"contract example", extraPeers[:1]},
		{"selectors, expressions and ipBlocks", extraPeers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.Network.AllowIngressFrom = tc.peers
			d := mustRender(t, Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: plan})
			for _, ns := range []string{"acme", "acme-dev"} {
				o := findObject(t, d, KindNetworkPolicy, ns, IsolationPolicyName)
				checkMeta(t, o, "acme")
				np := decodeAs[networkingv1.NetworkPolicy](t, o.Apply)
				if len(np.Spec.PodSelector.MatchLabels) != 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
					t.Errorf("%s: podSelector %v, want {} (all pods)", ns, np.Spec.PodSelector)
				}
				// podSelector is required by the API: it must be sent, as {}.
				spec := applyMap(t, o.Apply)["spec"].(map[string]any)
				if ps, ok := spec["podSelector"].(map[string]any); !ok || len(ps) != 0 {
					t.Errorf("%s: podSelector sent as %#v, want {}", ns, spec["podSelector"])
				}
				if want := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}; !reflect.DeepEqual(np.Spec.PolicyTypes, want) {
					t.Errorf("%s: policyTypes %v, want %v", ns, np.Spec.PolicyTypes, want)
				}
				if len(np.Spec.Egress) != 0 {
					t.Errorf("%s: isolation policy has egress rules %v", ns, np.Spec.Egress)
				}
				if len(np.Spec.Ingress) != 1 {
					t.Fatalf("%s: %d ingress rules, want 1", ns, len(np.Spec.Ingress))
				}
				rule := np.Spec.Ingress[0]
				if len(rule.Ports) != 0 {
					t.Errorf("%s: ingress restricted to ports %v, want all", ns, rule.Ports)
				}
				want := append([]networkingv1.NetworkPolicyPeer{{NamespaceSelector: testTenantSelector("acme")}}, tc.peers...)
				if !reflect.DeepEqual(rule.From, want) {
					t.Errorf("%s: from =\n%s\nwant\n%s", ns, toJSON(rule.From), toJSON(want))
				}
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestEgressPolicy(t *testing.T) {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dnsPort := intstr.FromInt32(53)
	dnsRule := networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{
			{Protocol: &udp, Port: &dnsPort},
			{Protocol: &tcp, Port: &dnsPort},
		},
	}
	tenantRule := networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: testTenantSelector("acme")}},
	}
	tests := []struct {
		name      string
		egress    tenancyv1alpha1.EgressMode
		cidrs     []string
		wantRules []networkingv1.NetworkPolicyEgressRule // nil: no tenant-egress
	}{
		{name: "egress unset means Open", egress: ""},
		{name: "Open", egress: tenancyv1alpha1.EgressOpen},
		{
			name: "Restricted without CIDRs", egress: tenancyv1alpha1.EgressRestricted,
			wantRules: []networkingv1.NetworkPolicyEgressRule{tenantRule, dnsRule},
		},
		{
			name: "Restricted with CIDRs", egress: tenancyv1alpha1.EgressRestricted,
			cidrs: []string{"10.20.0.0/16", "192.168.1.0/24"},
			wantRules: []networkingv1.NetworkPolicyEgressRule{tenantRule, dnsRule, {
				To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.1.0/24"}},
				},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.Network.Egress = tc.egress
			plan.Spec.Network.AllowEgressTo = tc.cidrs
			d := mustRender(t, Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: plan})
			for _, ns := range []string{"acme", "acme-dev"} {
				present := hasObject(d, KindNetworkPolicy, ns, EgressPolicyName)
				if present != (tc.wantRules != nil) {
					t.Fatalf("%s: tenant-egress present = %v, want %v", ns, present, tc.wantRules != nil)
				}
				// Isolation is there whatever the egress mode.
				findObject(t, d, KindNetworkPolicy, ns, IsolationPolicyName)
				if !present {
					continue
				}
				o := findObject(t, d, KindNetworkPolicy, ns, EgressPolicyName)
				checkMeta(t, o, "acme")
				np := decodeAs[networkingv1.NetworkPolicy](t, o.Apply)
				if len(np.Spec.PodSelector.MatchLabels) != 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
					t.Errorf("%s: podSelector %v, want {}", ns, np.Spec.PodSelector)
				}
				if want := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}; !reflect.DeepEqual(np.Spec.PolicyTypes, want) {
					t.Errorf("%s: policyTypes %v, want %v", ns, np.Spec.PolicyTypes, want)
				}
				if len(np.Spec.Ingress) != 0 {
					t.Errorf("%s: egress policy has ingress rules %v", ns, np.Spec.Ingress)
				}
				if !reflect.DeepEqual(np.Spec.Egress, tc.wantRules) {
					t.Errorf("%s: egress =\n%s\nwant\n%s", ns, toJSON(np.Spec.Egress), toJSON(tc.wantRules))
				}
			}
		})
	}
}

// TestEgressDNSPortIsNumeric: a named port "53" would match no container port.
func TestEgressDNSPortIsNumeric(t *testing.T) {
	plan := testEmptyPlan()
	plan.Spec.Network.Egress = tenancyv1alpha1.EgressRestricted
	o, ok := EgressPolicy(testTenant("acme"), plan, "acme")
	if !ok {
		t.Fatal("no tenant-egress with Restricted egress")
	}
	spec := applyMap(t, o.Apply)["spec"].(map[string]any)
	ports := spec["egress"].([]any)[1].(map[string]any)["ports"].([]any)
	protocols := map[string]bool{}
	for _, p := range ports {
		pm := p.(map[string]any)
		if pm["port"] != float64(53) {
			t.Errorf("DNS port sent as %#v, want the number 53", pm["port"])
		}
		protocols[pm["protocol"].(string)] = true
	}
	if !protocols["UDP"] || !protocols["TCP"] || len(protocols) != 2 {
		t.Errorf("DNS protocols %v, want UDP and TCP", protocols)
	}
}

// --- RBAC -----------------------------------------------------------------------------

func testSubjects() []rbacv1.Subject {
	return []rbacv1.Subject{
		{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice@acme.example"},
		{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "acme-admins"},
		{Kind: "ServiceAccount", Name: "deployer", Namespace: "acme"},
	}
}

func TestOwnersRoleBinding(t *testing.T) {
	tests := []struct {
		role     tenancyv1alpha1.OwnerRole
		wantRole string
	}{
		{"", "admin"},
		{tenancyv1alpha1.OwnerRoleAdmin, "admin"},
		{tenancyv1alpha1.OwnerRoleEdit, "edit"},
		{tenancyv1alpha1.OwnerRoleView, "view"},
	}
	for _, tc := range tests {
		t.Run("ownerRole="+string(tc.role), func(t *testing.T) {
			plan := testEmptyPlan()
			plan.Spec.OwnerRole = tc.role
			d := mustRender(t, Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: plan})
			for _, ns := range []string{"acme", "acme-dev"} {
				o := findObject(t, d, KindRoleBinding, ns, OwnersBindingName)
				checkMeta(t, o, "acme")
				rb := decodeAs[rbacv1.RoleBinding](t, o.Apply)
				wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: tc.wantRole}
				if rb.RoleRef != wantRef {
					t.Errorf("%s: roleRef %+v, want %+v", ns, rb.RoleRef, wantRef)
				}
				if !reflect.DeepEqual(rb.Subjects, testSubjects()) {
					t.Errorf("%s: subjects =\n%s\nwant\n%s", ns, toJSON(rb.Subjects), toJSON(testSubjects()))
				}
			}
		})
	}
}

// TestSubjectsWireForm checks the fields actually sent: a ServiceAccount subject must carry
// no apiGroup (the API server rejects rbac.authorization.k8s.io there), users and groups
// no namespace.
func TestSubjectsWireForm(t *testing.T) {
	o := OwnersRoleBinding(testTenant("acme"), testEmptyPlan(), "acme")
	subjects := applyMap(t, o.Apply)["subjects"].([]any)
	if len(subjects) != 3 {
		t.Fatalf("%d subjects, want 3", len(subjects))
	}
	for _, s := range subjects {
		m := s.(map[string]any)
		_, hasGroup := m["apiGroup"]
		_, hasNS := m["namespace"]
		switch m["kind"] {
		case "ServiceAccount":
			if hasGroup {
				t.Errorf("ServiceAccount subject has apiGroup: %v", m)
			}
			if !hasNS {
				t.Errorf("ServiceAccount subject has no namespace: %v", m)
			}
		default:
			if !hasGroup {
				t.Errorf("%v subject has no apiGroup: %v", m["kind"], m)
			}
			if hasNS {
				t.Errorf("%v subject has a namespace: %v", m["kind"], m)
			}
		}
	}
}

func TestReaderRBAC(t *testing.T) {
	d := mustRender(t, Input{Tenant: testTenant("acme"), Plan: testEmptyPlan()})
	if len(d.Cluster) != 2 {
		t.Fatalf("cluster-scoped objects %v, want the reader ClusterRole and ClusterRoleBinding", d.Cluster)
	}
	if got := ReaderName("acme"); got != "tenancy:acme:reader" {
		t.Errorf("ReaderName = %q, want tenancy:acme:reader", got)
	}

	cro := findObject(t, d, KindClusterRole, "", "tenancy:acme:reader")
	checkMeta(t, cro, "acme")
	cr := decodeAs[rbacv1.ClusterRole](t, cro.Apply)
	wantRules := []rbacv1.PolicyRule{{
		APIGroups:     []string{"tenancy.openplatform.io"},
		Resources:     []string{"tenants"},
		ResourceNames: []string{"acme"},
		Verbs:         []string{"get", "list", "watch"},
	}}
	if !reflect.DeepEqual(cr.Rules, wantRules) {
		t.Errorf("rules =\n%s\nwant\n%s", toJSON(cr.Rules), toJSON(wantRules))
	}

	crbo := findObject(t, d, KindClusterRoleBinding, "", "tenancy:acme:reader")
	checkMeta(t, crbo, "acme")
	crb := decodeAs[rbacv1.ClusterRoleBinding](t, crbo.Apply)
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "tenancy:acme:reader"}
	if crb.RoleRef != wantRef {
		t.Errorf("roleRef %+v, want %+v", crb.RoleRef, wantRef)
	}
	if !reflect.DeepEqual(crb.Subjects, testSubjects()) {
		t.Errorf("subjects =\n%s\nwant\n%s", toJSON(crb.Subjects), toJSON(testSubjects()))
	}
}

// --- the whole tenant -----------------------------------------------------------------

func TestTenantObjects(t *testing.T) {
	tests := []struct {
		name string
		plan *tenancyv1alpha1.ServicePlan
		// per-namespace objects, in order
		wantPerNS []string
	}{
		{
			name:      "full plan",
			plan:      testProPlan(),
			wantPerNS: []string{"ResourceQuota tenant-quota", "LimitRange tenant-limits", "NetworkPolicy tenant-isolation", "NetworkPolicy tenant-egress", "RoleBinding tenant-owners"},
		},
		{
			name:      "empty plan",
			plan:      testEmptyPlan(),
			wantPerNS: []string{"ResourceQuota tenant-quota", "NetworkPolicy tenant-isolation", "RoleBinding tenant-owners"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nss := []string{"acme", "acme-dev", "acme-prod"}
			tn := testTenant("acme",
				tenancyv1alpha1.TenantNamespace{Name: "acme", QuotaWeight: 3},
				tenancyv1alpha1.TenantNamespace{Name: "acme-dev"},
				tenancyv1alpha1.TenantNamespace{Name: "acme-prod", QuotaWeight: 1000})
			d := mustRender(t, Input{Tenant: tn, Plan: tc.plan})

			var want []string
			for _, ns := range nss {
				for _, k := range tc.wantPerNS {
					want = append(want, ns+" "+k)
				}
			}
			var got []string
			for _, o := range d.Namespaced {
				got = append(got, o.Namespace+" "+o.Kind+" "+o.Name)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("namespaced objects =\n%v\nwant\n%v", got, want)
			}

			seen := map[Key]bool{}
			for _, o := range allObjects(d) {
				if seen[o.Key()] {
					t.Errorf("duplicate key %+v", o.Key())
				}
				seen[o.Key()] = true
				if o.Apply == nil {
					t.Errorf("%+v has no apply configuration", o.Key())
					continue
				}
				checkMeta(t, o, "acme")
			}
			for _, o := range d.Cluster {
				if o.Namespace != "" {
					t.Errorf("cluster-scoped %+v has a namespace", o.Key())
				}
			}
		})
	}
}

func TestTenantAdopted(t *testing.T) {
	tn := testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"}, tenancyv1alpha1.TenantNamespace{Name: "acme-legacy"})
	d := mustRender(t, Input{Tenant: tn, Plan: testEmptyPlan(), Adopted: map[string]bool{"acme-legacy": true, "other": true}})
	for _, o := range d.Namespaces {
		ns := decodeAs[corev1.Namespace](t, o.Apply)
		_, marked := ns.Annotations[tenancyv1alpha1.AnnotationAdopted]
		if want := o.Name == "acme-legacy"; marked != want {
			t.Errorf("%s: adopted annotation = %v, want %v", o.Name, marked, want)
		}
	}
	if len(d.Namespaces) != 2 {
		t.Errorf("namespaces %v: Adopted must not add namespaces", d.Namespaces)
	}
}

// TestTenantDoesNotMutateInputs guards the Tenant and plan from the informer cache.
func TestTenantDoesNotMutateInputs(t *testing.T) {
	tn := testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme"}, tenancyv1alpha1.TenantNamespace{Name: "acme-dev"})
	plan := testProPlan()
	tnBefore, planBefore := tn.DeepCopy(), plan.DeepCopy()
	mustRender(t, Input{Tenant: tn, Plan: plan})
	if !reflect.DeepEqual(tn, tnBefore) {
		t.Errorf("Tenant changed:\n%s\nwas\n%s", toJSON(tn), toJSON(tnBefore))
	}
	if toJSON(plan) != toJSON(planBefore) {
		t.Errorf("plan changed:\n%s\nwas\n%s", toJSON(plan), toJSON(planBefore))
	}
}

// TestTenantDeterministic: rendering twice gives the same bytes, or the applier's hash
// would change on every reconcile.
func TestTenantDeterministic(t *testing.T) {
	in := Input{Tenant: testTenant("acme", tenancyv1alpha1.TenantNamespace{Name: "acme", QuotaWeight: 3},
		tenancyv1alpha1.TenantNamespace{Name: "acme-dev"}), Plan: testProPlan()}
	a, b := mustRender(t, in), mustRender(t, in)
	ja, jb := make([]string, 0), make([]string, 0)
	for _, o := range allObjects(a) {
		ja = append(ja, toJSON(o.Apply))
	}
	for _, o := range allObjects(b) {
		jb = append(jb, toJSON(o.Apply))
	}
	if !reflect.DeepEqual(ja, jb) {
		t.Error("two renders of the same input differ")
	}
}

// TestResourceQuotaRendersShare checks ResourceQuota on its own.
func TestResourceQuotaRendersShare(t *testing.T) {
	o := ResourceQuota(testTenant("acme"), "acme-dev", map[string]string{"requests.cpu": "1500m", "pods": "3"})
	if o.Key() != (Key{Kind: KindResourceQuota, Namespace: "acme-dev", Name: "tenant-quota"}) {
		t.Fatalf("identity %+v", o.Key())
	}
	checkMeta(t, o, "acme")
	rq := decodeAs[corev1.ResourceQuota](t, o.Apply)
	names := make([]string, 0, len(rq.Spec.Hard))
	for n := range rq.Spec.Hard {
		names = append(names, string(n))
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"pods", "requests.cpu"}) {
		t.Errorf("hard has %v", names)
	}
	cpu := rq.Spec.Hard["requests.cpu"]
	if cpu.MilliValue() != 1500 {
		t.Errorf("requests.cpu = %s, want 1500m", cpu.String())
	}
}

// TestGuardedServices: the entry Services of the tenant's products with gateway policies,
// which its own HTTPRoutes may not route to.
func TestGuardedServices(t *testing.T) {
	product := func(name string, policies tenancyv1alpha1.GatewayPolicies, exposed bool) *tenancyv1alpha1.ApiProduct {
		p := &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if exposed {
			p.Spec.Exposure = &tenancyv1alpha1.Exposure{Component: "api", Policies: policies}
		}
		return p
	}
	products := map[string]*tenancyv1alpha1.ApiProduct{
		"payments": product("payments", tenancyv1alpha1.GatewayPoliciesEnvoyGateway, true),
		"reports":  product("reports", tenancyv1alpha1.GatewayPoliciesNone, true),
		"internal": product("internal", "", false),
		"billing":  product("billing", tenancyv1alpha1.GatewayPoliciesEnvoyGateway, true),
	}
	plan := testEmptyPlan()
	plan.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: "payments"}, {Name: "reports"}, {Name: "internal"}, {Name: "billing"}, {Name: "missing"}}
	tn := testTenant("acme")
	if got, want := GuardedServices(tn, plan, products), []string{"billing-api", "payments-api"}; !slices.Equal(got, want) {
		t.Errorf("plan's products: %v, want %v", got, want)
	}
	tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: "reports"}, {Name: "payments"}}
	if got, want := GuardedServices(tn, plan, products), []string{"payments-api"}; !slices.Equal(got, want) {
		t.Errorf("tenant's spec.products: %v, want %v", got, want)
	}
}
