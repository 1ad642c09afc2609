package apply

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

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
		if changes, err := Changes(live, desired); err != nil || changes {
			t.Errorf("live object with the same hash: Changes = %v, %v, want false", changes, err)
		}
		changed := obj(t, variants["a field is removed"])
		setHash(changed)
		if changes, err := Changes(live, changed); err != nil || !changes {
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
			changes, err := Changes(live, desired)
			if err != nil {
				t.Fatal(err)
			}
			if changes {
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

// TestChanges: whether applying the desired object would change the live one, by the
// kind's schema. A superset is no change where server-side apply merges (labels, keyed
// lists such as containers) and is drift where it replaces (label selectors, atomic lists
// such as a NetworkPolicy's rules or a binding's subjects).
func TestChanges(t *testing.T) {
	const np = `"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"tenant-isolation","namespace":"acme"`
	const rb = `"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"tenant-owners","namespace":"acme"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"}`
	const dep = `"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"payments-api","namespace":"acme"}`
	const svc = `"apiVersion":"v1","kind":"Service","metadata":{"name":"payments-api","namespace":"acme"}`
	const rq = `"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme"}`
	const route = `"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"payments","namespace":"acme"}`
	hashed := func(hash string) string {
		return `{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"tenant-quota","namespace":"acme",` +
			`"annotations":{"` + AnnotationHash + `":"` + hash + `"}},"spec":{"hard":{"pods":"10"}}}`
	}
	tests := []struct {
		name          string
		live, desired string
		want          bool
	}{
		// Label selectors are atomic.
		{"podSelector {} against a selector that matches nothing",
			`{` + np + `},"spec":{"podSelector":{"matchLabels":{"nothing":"matches"}},"policyTypes":["Ingress"]}}`,
			`{` + np + `},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}`, true},
		{"podSelector {} against {}",
			`{` + np + `},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}`,
			`{` + np + `},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}`, false},
		{"a peer's namespaceSelector with an extra label",
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"tenancy.openplatform.io/tenant":"acme","x":"y"}}}]}]}}`,
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"tenancy.openplatform.io/tenant":"acme"}}}]}]}}`, true},
		{"a peer's namespaceSelector with an extra expression",
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"t":"acme"},"matchExpressions":[{"key":"k","operator":"Exists"}]}}]}]}}`,
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"t":"acme"}}}]}]}}`, true},
		// Atomic lists: the rules of a NetworkPolicy, the subjects of a binding.
		{"an extra ingress rule",
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]},{}]}}`,
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]}]}}`, true},
		{"an extra peer in a rule",
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"podSelector":{}},{"namespaceSelector":{}}]}]}}`,
			`{` + np + `},"spec":{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]}]}}`, true},
		{"an extra policy type",
			`{` + np + `},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}`,
			`{` + np + `},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}`, true},
		{"an extra subject",
			`{` + rb + `,"subjects":[{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"},{"kind":"User","name":"mallory","apiGroup":"rbac.authorization.k8s.io"}]}`,
			`{` + rb + `,"subjects":[{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"}]}`, true},
		{"the same subjects",
			`{` + rb + `,"subjects":[{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"}]}`,
			`{` + rb + `,"subjects":[{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"}]}`, false},
		{"subjects in another order",
			`{` + rb + `,"subjects":[{"kind":"User","name":"b","apiGroup":"rbac.authorization.k8s.io"},{"kind":"User","name":"a","apiGroup":"rbac.authorization.k8s.io"}]}`,
			`{` + rb + `,"subjects":[{"kind":"User","name":"a","apiGroup":"rbac.authorization.k8s.io"},{"kind":"User","name":"b","apiGroup":"rbac.authorization.k8s.io"}]}`, true},
		// Granular maps: labels, annotations, quota keys others add stay theirs.
		{"an extra label",
			`{` + np + `,"labels":{"tenancy.openplatform.io/tenant":"acme","team":"x"}},"spec":{"podSelector":{}}}`,
			`{` + np + `,"labels":{"tenancy.openplatform.io/tenant":"acme"}},"spec":{"podSelector":{}}}`, false},
		{"a changed label",
			`{` + np + `,"labels":{"tenancy.openplatform.io/tenant":"other"}},"spec":{"podSelector":{}}}`,
			`{` + np + `,"labels":{"tenancy.openplatform.io/tenant":"acme"}},"spec":{"podSelector":{}}}`, true},
		{"an extra quota key",
			`{` + rq + `,"spec":{"hard":{"pods":"10","count/secrets":"5"}}}`,
			`{` + rq + `,"spec":{"hard":{"pods":"10"}}}`, false},
		{"a raised quota",
			`{` + rq + `,"spec":{"hard":{"pods":"1000"}}}`,
			`{` + rq + `,"spec":{"hard":{"pods":"10"}}}`, true},
		{"quantities by value",
			`{` + rq + `,"spec":{"hard":{"requests.cpu":"500m","requests.memory":"1Gi"}}}`,
			`{` + rq + `,"spec":{"hard":{"requests.cpu":"0.5","requests.memory":"1073741824"}}}`, false},
		{"quantities with a decimal exponent by value",
			`{` + rq + `,"spec":{"hard":{"pods":"1e3","requests.memory":"1E+9","requests.cpu":"1e-1"}}}`,
			`{` + rq + `,"spec":{"hard":{"pods":"1000","requests.memory":"1G","requests.cpu":"100m"}}}`, false},
		{"exa and exbi are suffixes, not exponents",
			`{` + rq + `,"spec":{"hard":{"requests.storage":"1E","limits.storage":"2Ei"}}}`,
			`{` + rq + `,"spec":{"hard":{"requests.storage":"1000P","limits.storage":"2048Pi"}}}`, false},
		// A hex hash can read as a quantity with a huge exponent (33605 × 10^2222045540):
		// the strings differ, whatever they would be worth.
		{"a new hash where the old one reads as a quantity",
			hashed("33605e2222045540"),
			hashed("0b3f9a7c5d1e2f40"), true},
		{"a new hash that reads as a quantity",
			hashed("0b3f9a7c5d1e2f40"),
			hashed("7e72222222104567"), true},
		{"two hashes that read as the same huge quantity",
			hashed("1e22222222222222"),
			hashed("10e2222222222221"), true},
		// A Deployment: its selector is atomic, its containers a list keyed by name.
		{"a Deployment selector with an extra label",
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a","x":"y"}},"template":{"spec":{"containers":[{"name":"api","image":"i"}]}}}}`,
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"api","image":"i"}]}}}}`, true},
		{"a sidecar container added by someone else",
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"api","image":"i"},{"name":"sidecar","image":"s"}]}}}}`,
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"api","image":"i"}]}}}}`, false},
		{"a changed image",
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"api","image":"evil"}]}}}}`,
			`{` + dep + `,"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"containers":[{"name":"api","image":"i"}]}}}}`, true},
		{"an extra argument (args are atomic)",
			`{` + dep + `,"spec":{"template":{"spec":{"containers":[{"name":"api","image":"i","args":["--a","--b"]}]}}}}`,
			`{` + dep + `,"spec":{"template":{"spec":{"containers":[{"name":"api","image":"i","args":["--a"]}]}}}}`, true},
		{"replicas scaled by someone else",
			`{` + dep + `,"spec":{"replicas":5}}`, `{` + dep + `,"spec":{"replicas":2}}`, true},
		{"defaults the API server added",
			`{` + dep + `,"spec":{"replicas":2,"progressDeadlineSeconds":600,"strategy":{"type":"RollingUpdate"}},"status":{"readyReplicas":2}}`,
			`{` + dep + `,"spec":{"replicas":2}}`, false},
		{"an env var without a value, omitted by the typed object",
			`{` + dep + `,"spec":{"template":{"spec":{"containers":[{"name":"api","image":"i","env":[{"name":"A"}]}]}}}}`,
			`{` + dep + `,"spec":{"template":{"spec":{"containers":[{"name":"api","image":"i","env":[{"name":"A","value":""}]}]}}}}`, false},
		// A Service's selector is an atomic map.
		{"a Service selector with an extra label",
			`{` + svc + `,"spec":{"selector":{"app":"a","tenancy.openplatform.io/tenant":"other"}}}`,
			`{` + svc + `,"spec":{"selector":{"app":"a"}}}`, true},
		// HTTPRoute, by the Gateway API's schema: hostnames are an atomic list.
		{"an extra hostname",
			`{` + route + `,"spec":{"hostnames":["acme.api.example.com","globex.api.example.com"]}}`,
			`{` + route + `,"spec":{"hostnames":["acme.api.example.com"]}}`, true},
		{"the same route",
			`{` + route + `,"spec":{"hostnames":["acme.api.example.com"]}}`,
			`{` + route + `,"spec":{"hostnames":["acme.api.example.com"]}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			live, desired := obj(t, tc.live), obj(t, tc.desired)
			var got bool
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				got, err = Changes(live, desired)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				// Not a speed limit: a compare that reads a string as 10^(10^9) never ends.
				t.Fatalf("Changes has not returned after a minute\nlive:    %s\ndesired: %s", tc.live, tc.desired)
			}
			if err != nil {
				t.Fatalf("Changes: %v", err)
			}
			if got != tc.want {
				t.Errorf("Changes = %v, want %v\nlive:    %s\ndesired: %s", got, tc.want, tc.live, tc.desired)
			}
		})
	}
}

// TestChangesLiveWithoutTypeMeta: objects from the cache carry no apiVersion and kind; the
// desired object's are used.
func TestChangesLiveWithoutTypeMeta(t *testing.T) {
	live := obj(t, `{"metadata":{"name":"a"},"spec":{"podSelector":{"matchLabels":{"x":"y"}}}}`)
	desired := obj(t, `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"a"},"spec":{"podSelector":{}}}`)
	if got, err := Changes(live, desired); err != nil || !got {
		t.Errorf("Changes = %v, %v, want true", got, err)
	}
	if _, err := Changes(live, obj(t, `{"metadata":{"name":"a"}}`)); err == nil {
		t.Error("Changes without apiVersion and kind in desired: no error")
	}
}

// TestKinds: the registry holds every kind the operator writes once, each with an object and
// list constructor of the same type, the condition that reports on it, and the kinds of a
// product marked as such.
func TestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds {
		if seen[k.Name] {
			t.Errorf("kind %s listed twice", k.Name)
		}
		seen[k.Name] = true
		if k.Condition == "" {
			t.Errorf("kind %s reports on no condition", k.Name)
		}
		obj, list := k.New(), k.NewList()
		if got := fmt.Sprintf("%T", obj) + "List"; got != fmt.Sprintf("%T", list) {
			t.Errorf("kind %s: object %T, list %T", k.Name, obj, list)
		}
	}
	for _, name := range []string{render.KindDeployment, render.KindService, render.KindSecret, render.KindHTTPRoute} {
		if k, ok := KindOf(name); !ok || !k.Product || !k.Namespaced {
			t.Errorf("kind %s: %+v, want a namespaced product kind", name, k)
		}
	}
	for _, name := range []string{render.KindNamespace, render.KindClusterRole, render.KindClusterRoleBinding} {
		if k, _ := KindOf(name); k.Namespaced {
			t.Errorf("kind %s is marked namespaced", name)
		}
	}
}
