package apply

import (
	"encoding/json"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// obj parses a JSON object literal, failing the test on a typo.
func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestContains(t *testing.T) {
	tests := []struct {
		name       string
		live, want string
		ok         bool
	}{
		{"equal maps", `{"metadata":{"name":"a","labels":{"x":"1"}},"spec":{"n":3}}`, `{"metadata":{"name":"a","labels":{"x":"1"}},"spec":{"n":3}}`, true},
		{"live with extra fields", `{"metadata":{"name":"a","uid":"123","labels":{"x":"1","y":"2"}},"spec":{"n":3,"m":4},"status":{}}`, `{"metadata":{"name":"a","labels":{"x":"1"}},"spec":{"n":3}}`, true},
		{"differing string", `{"metadata":{"labels":{"x":"a"}}}`, `{"metadata":{"labels":{"x":"b"}}}`, false},
		{"differing number", `{"spec":{"replicas":2}}`, `{"spec":{"replicas":3}}`, false},
		{"differing bool", `{"spec":{"suspend":true}}`, `{"spec":{"suspend":false}}`, false},
		{"equal numbers", `{"spec":{"port":53}}`, `{"spec":{"port":53}}`, true},
		{"number is not its string", `{"spec":{"port":53}}`, `{"spec":{"port":"53"}}`, false},
		{"list of different length: longer live", `{"l":[1,2,3]}`, `{"l":[1,2]}`, false},
		{"list of different length: shorter live", `{"l":[1]}`, `{"l":[1,2]}`, false},
		{"list in another order", `{"l":["a","b"]}`, `{"l":["b","a"]}`, false},
		{"list elements with extra live fields", `{"subjects":[{"kind":"User","name":"u","apiGroup":"g"},{"kind":"Group","name":"g","apiGroup":"g"}]}`, `{"subjects":[{"kind":"User","name":"u"},{"kind":"Group","name":"g"}]}`, true},
		{"list element differs", `{"subjects":[{"kind":"User","name":"u"}]}`, `{"subjects":[{"kind":"User","name":"v"}]}`, false},
		{"quantities 0.5 vs 500m", `{"spec":{"hard":{"cpu":"500m"}}}`, `{"spec":{"hard":{"cpu":"0.5"}}}`, true},
		{"quantities 1Gi vs bytes", `{"spec":{"hard":{"memory":"1073741824"}}}`, `{"spec":{"hard":{"memory":"1Gi"}}}`, true},
		{"quantities 1 vs 2", `{"spec":{"hard":{"pods":"1"}}}`, `{"spec":{"hard":{"pods":"2"}}}`, false},
		{"quantities 1 vs 1001m", `{"spec":{"hard":{"cpu":"1"}}}`, `{"spec":{"hard":{"cpu":"1001m"}}}`, false},
		{"a quantity and a non-quantity", `{"v":"1"}`, `{"v":"one"}`, false},
		{"top-level apiVersion and kind are ignored", `{"metadata":{"name":"a"}}`, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}`, true},
		{"top-level apiVersion and kind are ignored even when they differ", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}}`, true},
		{"nested kind is compared", `{"roleRef":{"kind":"Role","name":"admin"}}`, `{"roleRef":{"kind":"ClusterRole","name":"admin"}}`, false},
		{"nested missing key", `{"metadata":{"name":"a"}}`, `{"metadata":{"name":"a","labels":{"x":"1"}}}`, false},
		{"missing nested string", `{"metadata":{"name":"a"}}`, `{"metadata":{"name":"a","namespace":"acme"}}`, false},
		{"missing top-level key", `{"metadata":{"name":"a"}}`, `{"metadata":{"name":"a"},"spec":{"n":1}}`, false},
		{"deep missing scalar", `{"spec":{"template":{"spec":{}}}}`, `{"spec":{"template":{"spec":{"automount":false}}}}`, false},
		{"empty desired map vs missing live", `{"spec":{}}`, `{"spec":{"podSelector":{}}}`, true},
		{"empty desired map vs empty live map", `{"spec":{"podSelector":{}}}`, `{"spec":{"podSelector":{}}}`, true},
		{"empty desired map vs non-map live", `{"spec":{"podSelector":"x"}}`, `{"spec":{"podSelector":{}}}`, false},
		{"desired map vs scalar live", `{"metadata":"x"}`, `{"metadata":{"name":"a"}}`, false},
		{"desired scalar vs map live", `{"v":{"a":"b"}}`, `{"v":"a"}`, false},
		{"empty desired list vs missing live", `{}`, `{"l":[]}`, true},
		{"empty desired list vs non-empty live", `{"l":[1]}`, `{"l":[]}`, false},
		{"desired list vs missing live", `{}`, `{"l":[1]}`, false},
		{"desired empty string vs missing live", `{"env":[{"name":"A"}]}`, `{"env":[{"name":"A","value":""}]}`, true},
		{"desired empty string vs non-empty live", `{"env":[{"name":"A","value":"x"}]}`, `{"env":[{"name":"A","value":""}]}`, false},
		{"desired empty string vs non-string live", `{"v":0}`, `{"v":""}`, false},
		{"desired null vs missing live", `{}`, `{"v":null}`, true},
		{"desired null vs present live", `{"v":"x"}`, `{"v":null}`, false},
		{"empty desired", `{"a":1}`, `{}`, true},
		{"different hash annotation", `{"metadata":{"annotations":{"tenancy.openplatform.io/applied-hash":"00000000000000aa"}}}`, `{"metadata":{"annotations":{"tenancy.openplatform.io/applied-hash":"00000000000000ab"}}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Contains(obj(t, tc.live), obj(t, tc.want)); got != tc.ok {
				t.Errorf("Contains(%s, %s) = %v, want %v", tc.live, tc.want, got, tc.ok)
			}
		})
	}
}

func TestContainsNilLive(t *testing.T) {
	if !Contains(nil, map[string]any{}) {
		t.Error("Contains(nil, {}) = false, want true")
	}
	if !Contains(nil, map[string]any{"kind": "Namespace"}) {
		t.Error("Contains(nil, {kind}) = false, want true: kind is not compared")
	}
	if Contains(nil, map[string]any{"metadata": map[string]any{"name": "a"}}) {
		t.Error("Contains(nil, {metadata.name}) = true, want false")
	}
}

var hashRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func hashOf(t *testing.T, m map[string]any) string {
	t.Helper()
	meta, _ := m["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	h, _ := ann[AnnotationHash].(string)
	if !hashRE.MatchString(h) {
		t.Fatalf("annotation %s = %q, want 16 hex digits (object %v)", AnnotationHash, h, m)
	}
	return h
}

func TestSetHash(t *testing.T) {
	base := `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme","labels":{"a":"1","b":"2"}},"spec":{"hard":{"pods":"10","requests.cpu":"2"}}}`

	t.Run("same input gives the same hash", func(t *testing.T) {
		a, b := obj(t, base), obj(t, base)
		setHash(a)
		setHash(b)
		if ha, hb := hashOf(t, a), hashOf(t, b); ha != hb {
			t.Errorf("hashes %s and %s of equal objects differ", ha, hb)
		}
	})

	t.Run("key order does not matter", func(t *testing.T) {
		a := obj(t, base)
		b := obj(t, `{"spec":{"hard":{"requests.cpu":"2","pods":"10"}},"metadata":{"labels":{"b":"2","a":"1"},"namespace":"acme","name":"tenant-quota"},"kind":"ResourceQuota","apiVersion":"v1"}`)
		setHash(a)
		setHash(b)
		if ha, hb := hashOf(t, a), hashOf(t, b); ha != hb {
			t.Errorf("hashes %s and %s of equal objects differ", ha, hb)
		}
	})

	variants := map[string]string{
		"a value changes":       `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme","labels":{"a":"1","b":"2"}},"spec":{"hard":{"pods":"11","requests.cpu":"2"}}}`,
		"a field is removed":    `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme","labels":{"a":"1","b":"2"}},"spec":{"hard":{"pods":"10"}}}`,
		"a label is added":      `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme","labels":{"a":"1","b":"2","c":"3"}},"spec":{"hard":{"pods":"10","requests.cpu":"2"}}}`,
		"the namespace changes": `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme-dev","labels":{"a":"1","b":"2"}},"spec":{"hard":{"pods":"10","requests.cpu":"2"}}}`,
	}
	ref := obj(t, base)
	setHash(ref)
	for name, v := range variants {
		t.Run("different input gives a different hash: "+name, func(t *testing.T) {
			m := obj(t, v)
			setHash(m)
			if h := hashOf(t, m); h == hashOf(t, ref) {
				t.Errorf("hash %s is the same as the original's", h)
			}
		})
	}

	t.Run("hash is stored under AnnotationHash and other annotations are kept", func(t *testing.T) {
		m := obj(t, `{"metadata":{"name":"acme","annotations":{"tenancy.openplatform.io/adopted":"true"}}}`)
		setHash(m)
		hashOf(t, m)
		ann := m["metadata"].(map[string]any)["annotations"].(map[string]any)
		if ann[tenancyv1alpha1.AnnotationAdopted] != "true" {
			t.Errorf("annotations %v lost %s", ann, tenancyv1alpha1.AnnotationAdopted)
		}
		if len(ann) != 2 {
			t.Errorf("annotations %v, want the adopted mark and the hash", ann)
		}
		if AnnotationHash != "tenancy.openplatform.io/applied-hash" {
			t.Errorf("AnnotationHash = %q", AnnotationHash)
		}
	})

	t.Run("metadata and annotations are created when absent", func(t *testing.T) {
		m := obj(t, `{"kind":"Namespace"}`)
		setHash(m)
		hashOf(t, m)
		if m["kind"] != "Namespace" {
			t.Errorf("setHash changed the object: %v", m)
		}
	})

	t.Run("a live object holding the hashed desired object is contained; one with an old hash is not", func(t *testing.T) {
		desired := obj(t, base)
		setHash(desired)
		live := obj(t, base)
		setHash(live)
		live["status"] = map[string]any{"used": map[string]any{"pods": "3"}}
		if !Contains(live, desired) {
			t.Error("live object with the same hash is not contained")
		}
		changed := obj(t, variants["a field is removed"])
		setHash(changed)
		if Contains(live, changed) {
			t.Error("dropping a field did not make the live object stale: the field would never be removed")
		}
	})
}

func TestNewObject(t *testing.T) {
	for _, kind := range []string{
		render.KindNamespace, render.KindResourceQuota, render.KindLimitRange, render.KindNetworkPolicy,
		render.KindRoleBinding, render.KindClusterRole, render.KindClusterRoleBinding,
		render.KindDeployment, render.KindService, render.KindSecret, render.KindHTTPRoute,
	} {
		o, err := NewObject(kind)
		if err != nil || o == nil {
			t.Errorf("NewObject(%s) = %v, %v", kind, o, err)
		}
		l, err := NewList(kind)
		if err != nil || l == nil {
			t.Errorf("NewList(%s) = %v, %v", kind, l, err)
		}
	}
	if _, err := NewObject("Pod"); err == nil {
		t.Error("NewObject(Pod) succeeded: the operator writes no Pods")
	}
	if _, err := NewList("Pod"); err == nil {
		t.Error("NewList(Pod) succeeded")
	}
}

// --- steady state ----------------------------------------------------------------------

func ptr[T any](v T) *T { return &v }

// steadyStateObjects renders a tenant and a product the way the reconciler does.
func steadyStateObjects(t *testing.T) []render.Object {
	t.Helper()
	tn := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec: tenancyv1alpha1.TenantSpec{
			Plan: "pro",
			Owners: []tenancyv1alpha1.Owner{
				{Kind: tenancyv1alpha1.OwnerUser, Name: "alice@acme.example"},
				{Kind: tenancyv1alpha1.OwnerServiceAccount, Name: "deployer", Namespace: "acme"},
			},
			Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: "acme", QuotaWeight: 3}, {Name: "acme-dev"}},
		},
	}
	q := resource.MustParse
	plan := &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: "pro"},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			Quota: &tenancyv1alpha1.PlanQuota{Hard: corev1.ResourceList{
				"requests.cpu": q("1.5"), "requests.memory": q("16Gi"), "pods": q("100")}},
			LimitRange: &tenancyv1alpha1.PlanLimitRange{
				Default: corev1.ResourceList{"cpu": q("0.5"), "memory": q("512Mi")},
				Max:     corev1.ResourceList{"cpu": q("4")},
			},
			Network: tenancyv1alpha1.PlanNetwork{
				AllowIngressFrom: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"kubernetes.io/metadata.name": "platform-gateway"}}}},
				Egress:        tenancyv1alpha1.EgressRestricted,
				AllowEgressTo: []string{"10.20.0.0/16"},
			},
			Products: []tenancyv1alpha1.PlanProduct{{
				Name: "payments", Replicas: ptr(int32(2)),
				Resources: &tenancyv1alpha1.ComputeResources{Requests: corev1.ResourceList{"cpu": q("0.2")}},
				RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 1200},
			}},
		},
	}
	product := &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v2",
			Versions: []tenancyv1alpha1.ProductVersion{{
				Name: "v2",
				Components: []tenancyv1alpha1.Component{
					{
						Name: "api", Image: "registry.example.com/payments-api:2.0.0", Port: ptr(int32(8080)),
						HealthPath: "/healthz",
						// The API allows an env var without a value.
						Env: []tenancyv1alpha1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "FEATURE_FLAGS"}},
					},
					{Name: "worker", Image: "registry.example.com/payments-worker:2.0.0", Args: []string{"--queue", "payments"}},
				},
			}},
			Exposure: &tenancyv1alpha1.Exposure{
				Component: "api",
				Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
				Hostname:  "{tenant}.api.example.com",
			},
			Auth: tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthAPIKey},
		},
	}
	d, err := render.Tenant(render.Input{Tenant: tn, Plan: plan})
	if err != nil {
		t.Fatalf("render.Tenant: %v", err)
	}
	objs := append(append(append([]render.Object{}, d.Namespaces...), d.Namespaced...), d.Cluster...)
	resolved, rerr := render.ResolveProducts(tn, plan, map[string]*tenancyv1alpha1.ApiProduct{"payments": product})
	if rerr != nil {
		t.Fatalf("ResolveProducts: %v", rerr)
	}
	for _, r := range resolved {
		objs = append(objs, render.Product(render.ProductInput{
			Tenant: tn, Resolved: r, Credential: &render.Credential{Key: "k3y"}, Routes: true,
		})...)
	}
	return objs
}

// TestSteadyState: once the API server holds what the operator applied, Ensure must find
// nothing to do, or the operator sends a write for that object on every reconcile. The live
// object is simulated the way Ensure reads it: the applied object decoded into its Go type
// (which drops omitempty zero values and canonicalises quantities) and turned back into a
// map.
func TestSteadyState(t *testing.T) {
	for _, o := range steadyStateObjects(t) {
		t.Run(o.Kind+"/"+o.Namespace+"/"+o.Name, func(t *testing.T) {
			desired, err := toMap(o.Apply)
			if err != nil {
				t.Fatal(err)
			}
			setHash(desired)
			b, err := json.Marshal(desired)
			if err != nil {
				t.Fatal(err)
			}
			typed, err := NewObject(o.Kind)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, typed); err != nil {
				t.Fatalf("decoding %s into %T: %v", b, typed, err)
			}
			live, err := toMap(typed)
			if err != nil {
				t.Fatal(err)
			}
			if !Contains(live, desired) {
				lb, _ := json.Marshal(live)
				t.Errorf("the live object does not contain the applied one, so it would be applied again on every reconcile\napplied: %s\nlive:    %s", b, lb)
			}
		})
	}
}

// TestToMap: the map sent to the API server carries apiVersion, kind and metadata.
func TestToMap(t *testing.T) {
	objs := steadyStateObjects(t)
	for _, o := range objs {
		m, err := toMap(o.Apply)
		if err != nil {
			t.Fatalf("%v: %v", o.Key(), err)
		}
		if m["kind"] != o.Kind || m["apiVersion"] == nil {
			t.Errorf("%v: apiVersion %v kind %v", o.Key(), m["apiVersion"], m["kind"])
		}
		meta, _ := m["metadata"].(map[string]any)
		if meta["name"] != o.Name {
			t.Errorf("%v: metadata.name %v", o.Key(), meta["name"])
		}
		if ns, _ := meta["namespace"].(string); ns != o.Namespace {
			t.Errorf("%v: metadata.namespace %q", o.Key(), ns)
		}
	}
}

// TestChangedImmutable: only a binding's roleRef makes the applier replace an object, and
// only when the desired role differs from the live one.
func TestChangedImmutable(t *testing.T) {
	const edit = `{"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"},"subjects":[{"kind":"User","name":"a"}]}`
	const admin = `{"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"a"}]}`
	const adminOtherSubjects = `{"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"b"}]}`
	tests := []struct {
		kind, live, desired, want string
	}{
		{render.KindRoleBinding, edit, admin, "roleRef"},
		{render.KindClusterRoleBinding, edit, admin, "roleRef"},
		{render.KindRoleBinding, admin, admin, ""},
		{render.KindRoleBinding, admin, adminOtherSubjects, ""}, // subjects change in place
		{render.KindResourceQuota, `{"spec":{"hard":{"pods":"1"}}}`, `{"spec":{"hard":{"pods":"2"}}}`, ""},
	}
	for _, tc := range tests {
		if got := changedImmutable(tc.kind, obj(t, tc.live), obj(t, tc.desired)); got != tc.want {
			t.Errorf("%s %s -> %s: changedImmutable = %q, want %q", tc.kind, tc.live, tc.desired, got, tc.want)
		}
	}
}
