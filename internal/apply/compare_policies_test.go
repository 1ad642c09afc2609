package apply

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// policyObjects renders the Envoy Gateway policies of an exposed product, as the reconciler
// does, by kind: API key auth (suspended or not) or OAuth2, with the plan's rate limit.
func policyObjects(t *testing.T, auth tenancyv1alpha1.AuthType, suspended bool) map[string]map[string]any {
	t.Helper()
	tn := &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec: tenancyv1alpha1.TenantSpec{Plan: "pro", Suspended: suspended,
			Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: "acme"}}}}
	plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "pro"},
		Spec: tenancyv1alpha1.ServicePlanSpec{Products: []tenancyv1alpha1.PlanProduct{{
			Name: "payments", RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 1200}}}}}
	product := &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v1",
			Versions: []tenancyv1alpha1.ProductVersion{{Name: "v1", Components: []tenancyv1alpha1.Component{
				{Name: "api", Image: "registry.example.com/payments-api:1.0.0", Port: ptr(int32(8080))}}}},
			Exposure: &tenancyv1alpha1.Exposure{Component: "api", Hostname: "{tenant}.api.example.com",
				Gateway:  tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
				Policies: tenancyv1alpha1.GatewayPoliciesEnvoyGateway},
			Auth: tenancyv1alpha1.Auth{Type: auth},
		}}
	if auth == tenancyv1alpha1.AuthOAuth2 {
		product.Spec.Auth.OAuth2 = &tenancyv1alpha1.OAuth2{IssuerURL: "https://id.example.com", Audience: "payments",
			JWKSURI: "https://id.example.com/keys"}
	}
	resolved, rerr := render.ResolveProducts(tn, plan, map[string]*tenancyv1alpha1.ApiProduct{"payments": product})
	if rerr != nil {
		t.Fatalf("ResolveProducts: %v", rerr)
	}
	in := render.ProductInput{Tenant: tn, Resolved: resolved[0], Routes: true, Policies: true}
	if auth == tenancyv1alpha1.AuthAPIKey {
		in.Credential = &render.Credential{Key: "k3y"}
		in.GatewayKeys = &render.GatewayKeys{Current: "k3y"}
	}
	out := map[string]map[string]any{}
	for _, o := range render.Product(in) {
		if o.Kind != render.KindSecurityPolicy && o.Kind != render.KindBackendTrafficPolicy {
			continue
		}
		m, err := toMap(o.Apply)
		if err != nil {
			t.Fatal(err)
		}
		setHash(m)
		out[o.Kind] = m
	}
	if len(out) != 2 {
		t.Fatalf("rendered policies %v, want a SecurityPolicy and a BackendTrafficPolicy", out)
	}
	return out
}

// deepCopy copies a decoded JSON object.
func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// at returns the map at a path, failing the test when it is missing.
func at(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("no map at %s in %v", strings.Join(path, "."), m)
		}
		m = next
	}
	return m
}

// list returns the list at a path, failing the test when it is missing or empty.
func list(t *testing.T, m map[string]any, path ...string) []any {
	t.Helper()
	parent := at(t, m, path[:len(path)-1]...)
	l, ok := parent[path[len(path)-1]].([]any)
	if !ok || len(l) == 0 {
		t.Fatalf("no list at %s in %v", strings.Join(path, "."), m)
	}
	return l
}

// served is what the API server adds to a stored object: server metadata, annotations and
// labels of others, a status.
func served(t *testing.T, desired map[string]any) map[string]any {
	t.Helper()
	live := deepCopy(t, desired)
	meta := at(t, live, "metadata")
	meta["uid"] = "7f1c2a8e-0000-4000-8000-000000000001"
	meta["resourceVersion"] = "4711"
	meta["generation"] = int64(3) // the cache decodes integers as int64
	meta["creationTimestamp"] = "2026-12-01T10:00:00Z"
	meta["managedFields"] = []any{map[string]any{"manager": tenancyv1alpha1.FieldManager, "operation": "Apply"}}
	at(t, live, "metadata", "annotations")["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
	at(t, live, "metadata", "labels")["team"] = "payments"
	live["status"] = map[string]any{"ancestors": []any{map[string]any{
		"ancestorRef":    map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "platform-gateway"},
		"controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
		"conditions":     []any{map[string]any{"type": "Accepted", "status": "True", "reason": "Accepted"}},
	}}}
	return live
}

// TestChangesEnvoyGatewayPolicies: an Envoy Gateway policy as the API server stores it is no
// change; a spec field that is missing or differs, or a list item that differs, is.
func TestChangesEnvoyGatewayPolicies(t *testing.T) {
	type edit func(t *testing.T, live map[string]any)
	cases := []struct {
		name   string
		auth   tenancyv1alpha1.AuthType
		kind   string
		edit   edit
		change bool
	}{
		{"SecurityPolicy (API key) as stored", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy, nil, false},
		{"SecurityPolicy (OAuth2) as stored", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy, nil, false},
		{"BackendTrafficPolicy as stored", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy, nil, false},
		{"BackendTrafficPolicy as stored, requests an int64 from the cache", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) {
				limit := at(t, list(t, live, "spec", "rateLimit", "local", "rules")[0].(map[string]any), "limit")
				limit["requests"] = int64(1200)
			}, false},
		{"a spec field others added to a map", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, live, "spec", "apiKeyAuth")["forwardClientIDHeader"] = "x-client"
			}, false},

		{"apiKeyAuth missing", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) { delete(at(t, live, "spec"), "apiKeyAuth") }, true},
		{"a header that differs", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				list(t, live, "spec", "apiKeyAuth", "extractFrom")[0].(map[string]any)["headers"] = []any{"x-other"}
			}, true},
		{"another credentials Secret", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				list(t, live, "spec", "apiKeyAuth", "credentialRefs")[0].(map[string]any)["name"] = "globex-keys"
			}, true},
		{"an extra credentials Secret (lists are atomic)", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				s := at(t, live, "spec", "apiKeyAuth")
				s["credentialRefs"] = append(s["credentialRefs"].([]any), map[string]any{"group": "", "kind": "Secret", "name": "extra"})
			}, true},
		{"another route targeted", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				list(t, live, "spec", "targetRefs")[0].(map[string]any)["name"] = "reports"
			}, true},
		{"an authorization others added (allow all)", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				// Maps merge, so a field the operator does not set is not caught by the
				// comparison; the API key policy sets none, so this is no change.
				at(t, live, "spec")["authorization"] = map[string]any{"defaultAction": "Allow"}
			}, false},
		{"the tenant's rule admits another tenant", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				rule := list(t, live, "spec", "authorization", "rules")[0].(map[string]any)
				claim := list(t, rule, "principal", "jwt", "claims")[0].(map[string]any)
				claim["values"] = []any{"acme", "globex"}
			}, true},
		{"defaultAction Allow", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, live, "spec", "authorization")["defaultAction"] = "Allow"
			}, true},
		{"an extra authorization rule", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				a := at(t, live, "spec", "authorization")
				a["rules"] = append(a["rules"].([]any), map[string]any{"name": "all", "action": "Allow", "principal": map[string]any{}})
			}, true},
		{"another JWKS", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				p := list(t, live, "spec", "jwt", "providers")[0].(map[string]any)
				at(t, p, "remoteJWKS")["uri"] = "https://evil.example.com/keys"
			}, true},
		{"no audience", tenancyv1alpha1.AuthOAuth2, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				delete(list(t, live, "spec", "jwt", "providers")[0].(map[string]any), "audiences")
			}, true},
		{"a raised rate limit", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, list(t, live, "spec", "rateLimit", "local", "rules")[0].(map[string]any), "limit")["requests"] = int64(100000)
			}, true},
		{"another unit", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, list(t, live, "spec", "rateLimit", "local", "rules")[0].(map[string]any), "limit")["unit"] = "Hour"
			}, true},
		{"an extra rate limit rule", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) {
				l := at(t, live, "spec", "rateLimit", "local")
				l["rules"] = append(l["rules"].([]any), map[string]any{"limit": map[string]any{"requests": int64(1), "unit": "Second"}})
			}, true},
		{"no rate limit", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) { delete(at(t, live, "spec"), "rateLimit") }, true},
		{"a changed label", tenancyv1alpha1.AuthAPIKey, render.KindBackendTrafficPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, live, "metadata", "labels")[tenancyv1alpha1.LabelProduct] = "reports"
			}, true},
		{"another hash (the operator's last apply was another object)", tenancyv1alpha1.AuthAPIKey, render.KindSecurityPolicy,
			func(t *testing.T, live map[string]any) {
				at(t, live, "metadata", "annotations")[AnnotationHash] = "0000000000000000"
			}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			desired := policyObjects(t, tc.auth, false)[tc.kind]
			live := served(t, desired)
			if tc.edit != nil {
				tc.edit(t, live)
			}
			got, err := Changes(live, desired)
			if err != nil {
				t.Fatalf("Changes: %v", err)
			}
			if got != tc.change {
				lb, _ := json.Marshal(live)
				db, _ := json.Marshal(desired)
				t.Errorf("Changes = %v, want %v\nlive:    %s\ndesired: %s", got, tc.change, lb, db)
			}
		})
	}
}

// TestChangesEnvoyGatewayFieldDropped: when the operator stops setting a field (a tenant
// resumed: the SecurityPolicy loses its deny-all authorization), merging alone cannot tell,
// as maps merge; the hash of the desired object does, so the policy is applied again and
// server-side apply removes the field.
func TestChangesEnvoyGatewayFieldDropped(t *testing.T) {
	for _, auth := range []tenancyv1alpha1.AuthType{tenancyv1alpha1.AuthAPIKey, tenancyv1alpha1.AuthOAuth2} {
		suspended := policyObjects(t, auth, true)[render.KindSecurityPolicy]
		resumed := policyObjects(t, auth, false)[render.KindSecurityPolicy]
		if hashOf(t, suspended) == hashOf(t, resumed) {
			t.Fatalf("%s: the suspended and resumed SecurityPolicies have the same hash", auth)
		}
		got, err := Changes(served(t, suspended), resumed)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("%s: a suspended tenant's SecurityPolicy is no change for the resumed one: the tenant would stay refused", auth)
		}
		got, err = Changes(served(t, resumed), suspended)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			t.Errorf("%s: a resumed tenant's SecurityPolicy is no change for the suspended one: the tenant would stay served", auth)
		}
	}
}

// TestEnvoyGatewayKinds: the policies are product kinds with their CRD, written before the
// route they guard (and so pruned after it), read as unstructured objects of their group.
func TestEnvoyGatewayKinds(t *testing.T) {
	pos := map[string]int{}
	for i, k := range Kinds {
		pos[k.Name] = i
	}
	for kind, crd := range map[string]string{
		render.KindSecurityPolicy:       "securitypolicies.gateway.envoyproxy.io",
		render.KindBackendTrafficPolicy: "backendtrafficpolicies.gateway.envoyproxy.io",
	} {
		k, ok := KindOf(kind)
		if !ok || !k.Product || !k.Namespaced || !k.Watched || k.CRD != crd {
			t.Errorf("kind %s: %+v, want a watched namespaced product kind with CRD %s", kind, k, crd)
			continue
		}
		if pos[kind] > pos[render.KindHTTPRoute] || pos[kind] < pos[render.KindSecret] {
			t.Errorf("kind %s is written at %d, want after Secrets (%d) and before HTTPRoutes (%d)", kind, pos[kind], pos[render.KindSecret], pos[render.KindHTTPRoute])
		}
		o, err := NewObject(kind)
		if err != nil {
			t.Fatal(err)
		}
		if gvk := o.GetObjectKind().GroupVersionKind(); gvk.Group != "gateway.envoyproxy.io" || gvk.Version != "v1alpha1" || gvk.Kind != kind {
			t.Errorf("NewObject(%s) is %v", kind, gvk)
		}
		l, err := NewList(kind)
		if err != nil {
			t.Fatal(err)
		}
		if gvk := l.GetObjectKind().GroupVersionKind(); gvk.Group != "gateway.envoyproxy.io" || gvk.Kind != kind+"List" {
			t.Errorf("NewList(%s) is %v", kind, gvk)
		}
	}
}
