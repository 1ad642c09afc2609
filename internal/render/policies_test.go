package render_test

// Unit tests of the gateway policies (internal/render/policies.go, envoygateway.go) against
// the "Gateway policies" section of the API contract: with exposure.policies EnvoyGateway a
// tenant's route is preceded by a SecurityPolicy (API key or JWT bound to the tenant, deny
// while suspended), the keys Secret of API key auth and a BackendTrafficPolicy (the plan's
// rate limit); without their CRDs there is no route at all. Objects are inspected as the
// API server receives them: marshalled to JSON and decoded into a map.

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// ---------------------------------------------------------------------------------------
// Fixtures. Names are prefixed with pg so they never clash with other test files.

// pgAPIKey is ptPayments with gateway policies and API key auth, header "" for the default.
func pgAPIKey(header string, grace time.Duration) *tenancyv1alpha1.ApiProduct {
	p := ptPayments()
	p.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
	p.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthAPIKey}
	if header != "" || grace != 0 {
		p.Spec.Auth.APIKey = &tenancyv1alpha1.APIKeyAuth{Header: header, RotationGracePeriod: metav1.Duration{Duration: grace}}
	}
	return p
}

// pgOAuth2 is ptPayments with gateway policies and OAuth2 auth.
func pgOAuth2(audience, claim string) *tenancyv1alpha1.ApiProduct {
	p := ptPayments()
	p.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
	p.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthOAuth2, OAuth2: &tenancyv1alpha1.OAuth2{
		IssuerURL: "https://id.example.com", Audience: audience, JWKSURI: "https://id.example.com/keys", TenantClaim: claim,
	}}
	return p
}

// pgNoAuth is ptPayments with gateway policies and no auth.
func pgNoAuth() *tenancyv1alpha1.ApiProduct {
	p := ptPayments()
	p.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
	p.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthNone}
	return p
}

// pgPlan is a plan with payments v1 and, when rpm > 0, a rate limit.
func pgPlan(rpm int32) *tenancyv1alpha1.ServicePlan {
	e := tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}
	if rpm > 0 {
		e.RateLimit = &tenancyv1alpha1.RateLimit{RequestsPerMinute: rpm}
	}
	return ptPlan(e)
}

// pgIn is the input the reconciler gives Product for a product with gateway policies whose
// CRDs are installed.
type pgIn struct {
	tenant    *tenancyv1alpha1.Tenant
	plan      *tenancyv1alpha1.ServicePlan
	product   *tenancyv1alpha1.ApiProduct
	keys      *render.GatewayKeys
	routes    bool
	policies  bool
	suspended bool
}

func pgRender(t *testing.T, in pgIn) []render.Object {
	t.Helper()
	tn := in.tenant
	if tn == nil {
		tn = ptTenant("acme", []string{"acme", "acme-dev"})
	}
	tn.Spec.Suspended = in.suspended
	plan := in.plan
	if plan == nil {
		plan = pgPlan(0)
	}
	r := ptResolveOne(t, tn, plan, in.product)
	pin := render.ProductInput{Tenant: tn, Resolved: r, Routes: in.routes, Policies: in.policies, GatewayKeys: in.keys}
	if render.UsesAPIKey(in.product) {
		pin.Credential = &render.Credential{Key: "current-key"}
	}
	return render.Product(pin)
}

// pgMap marshals an object's apply configuration and decodes it as a JSON map.
func pgMap(t *testing.T, o *render.Object) map[string]any {
	t.Helper()
	m := map[string]any{}
	ptDecode(t, o, &m)
	return m
}

// pgJSON decodes a JSON literal, failing the test on a typo.
func pgJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// pgSpec returns the spec of a rendered policy, failing the test when the object is missing
// or is not an Envoy Gateway object of its kind in the tenant's namespace.
func pgSpec(t *testing.T, objs []render.Object, kind string) map[string]any {
	t.Helper()
	o := ptFind(objs, kind, "payments")
	if o == nil {
		t.Fatalf("no %s payments in %v", kind, ptKeys(objs))
	}
	m := pgMap(t, o)
	if m["apiVersion"] != "gateway.envoyproxy.io/v1alpha1" || m["kind"] != kind {
		t.Errorf("%s renders as apiVersion %v kind %v, want gateway.envoyproxy.io/v1alpha1 %s", kind, m["apiVersion"], m["kind"], kind)
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta["name"] != "payments" || meta["namespace"] != "acme" || o.Namespace != "acme" {
		t.Errorf("%s is %v/%v (object key %s/%s), want acme/payments", kind, meta["namespace"], meta["name"], o.Namespace, o.Name)
	}
	spec, ok := m["spec"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no spec: %v", kind, m)
	}
	return spec
}

// pgEqual compares a decoded value with a JSON literal.
func pgEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	if w := pgJSON(t, want); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s\nwant %s", what, g, want)
	}
}

// pgKinds are the kinds of the rendered objects, in order.
func pgKinds(objs []render.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Kind)
	}
	return out
}

const pgTarget = `[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute","name":"payments"}]`

// ---------------------------------------------------------------------------------------
// Auth types.

// TestPoliciesAPIKey: API key auth checks the key in the product's header (x-api-key unless
// the product names one) against the keys Secret; a suspended tenant is refused whatever
// key it sends, with its keys still on record.
func TestPoliciesAPIKey(t *testing.T) {
	cases := []struct {
		name       string
		header     string
		suspended  bool
		wantHeader string
	}{
		{name: "default header", wantHeader: "x-api-key"},
		{name: "custom header", header: "x-payments-key", wantHeader: "x-payments-key"},
		{name: "default header, suspended", suspended: true, wantHeader: "x-api-key"},
		{name: "custom header, suspended", header: "x-payments-key", suspended: true, wantHeader: "x-payments-key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := pgRender(t, pgIn{product: pgAPIKey(tc.header, 0), routes: true, policies: true, suspended: tc.suspended,
				keys: &render.GatewayKeys{Current: "current-key"}})
			spec := pgSpec(t, objs, render.KindSecurityPolicy)
			pgEqual(t, "targetRefs", spec["targetRefs"], pgTarget)
			pgEqual(t, "apiKeyAuth", spec["apiKeyAuth"], `{
				"credentialRefs":[{"group":"","kind":"Secret","name":"payments-gateway-keys"}],
				"extractFrom":[{"headers":["`+tc.wantHeader+`"]}]}`)
			if _, ok := spec["jwt"]; ok {
				t.Errorf("API key auth renders a jwt: %v", spec["jwt"])
			}
			if tc.suspended {
				pgEqual(t, "authorization", spec["authorization"], `{"defaultAction":"Deny"}`)
			} else if a, ok := spec["authorization"]; ok {
				t.Errorf("authorization = %v, want none (a valid key is enough)", a)
			}
			// The keys stay on record while suspended.
			ks := ptFind(objs, render.KindSecret, "payments-gateway-keys")
			if ks == nil {
				t.Fatalf("no Secret payments-gateway-keys in %v", ptKeys(objs))
			}
			s := &corev1.Secret{}
			ptDecode(t, ks, s)
			if !reflect.DeepEqual(s.Data, map[string][]byte{"acme": []byte("current-key")}) || s.Type != corev1.SecretTypeOpaque {
				t.Errorf("keys Secret: type %q data %q, want Opaque with acme = current-key", s.Type, s.Data)
			}
			if _, ok := s.Annotations[render.AnnotationKeyRotatedAt]; ok {
				t.Errorf("keys Secret without a previous key has annotation %s", render.AnnotationKeyRotatedAt)
			}
		})
	}
}

// TestPoliciesAPIKeyPrevious: during the rotation grace the keys Secret holds the previous
// key as "<tenant>-previous" and records when it was replaced.
func TestPoliciesAPIKeyPrevious(t *testing.T) {
	at := time.Date(2026, time.December, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	objs := pgRender(t, pgIn{product: pgAPIKey("", time.Hour), routes: true, policies: true,
		keys: &render.GatewayKeys{Current: "new", Previous: "old", RotatedAt: at}})
	ks := ptFind(objs, render.KindSecret, render.GatewayKeysName("payments"))
	if ks == nil {
		t.Fatalf("no keys Secret in %v", ptKeys(objs))
	}
	s := &corev1.Secret{}
	ptDecode(t, ks, s)
	if want := map[string][]byte{"acme": []byte("new"), "acme-previous": []byte("old")}; !reflect.DeepEqual(s.Data, want) {
		t.Errorf("keys Secret data = %q, want %q", s.Data, want)
	}
	if got := s.Annotations[render.AnnotationKeyRotatedAt]; got != "2026-12-01T09:00:00Z" {
		t.Errorf("annotation %s = %q, want 2026-12-01T09:00:00Z (RFC 3339, UTC)", render.AnnotationKeyRotatedAt, got)
	}
	// The Secret the gateway has then keeps the previous key on the next pass, from the
	// same rotation time.
	keys, until := render.NextGatewayKeys("acme", "new", s, time.Hour, at.Add(10*time.Minute))
	if keys.Previous != "old" || !keys.RotatedAt.Equal(at) || !until.Equal(at.Add(time.Hour)) {
		t.Errorf("next pass on the rendered Secret: %+v until %v, want previous old from %v until %v", keys, until, at, at.Add(time.Hour))
	}
}

// TestPoliciesOAuth2: OAuth2 verifies tokens of the product's issuer (and audience, when
// set) with the remote JWKS, and admits only tokens whose tenant claim names the tenant; a
// suspended tenant is refused with any token.
func TestPoliciesOAuth2(t *testing.T) {
	cases := []struct {
		name      string
		tenant    string
		audience  string
		claim     string
		suspended bool
		wantClaim string
	}{
		{name: "with audience", tenant: "acme", audience: "payments", wantClaim: "tenant"},
		{name: "without audience", tenant: "acme", wantClaim: "tenant"},
		{name: "custom tenant claim", tenant: "acme", audience: "payments", claim: "org_id", wantClaim: "org_id"},
		{name: "another tenant gets its own rule", tenant: "globex", audience: "payments", wantClaim: "tenant"},
		{name: "with audience, suspended", tenant: "acme", audience: "payments", suspended: true},
		{name: "without audience, suspended", tenant: "acme", suspended: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := ptTenant(tc.tenant, []string{"acme"})
			objs := pgRender(t, pgIn{tenant: tn, product: pgOAuth2(tc.audience, tc.claim), routes: true, policies: true, suspended: tc.suspended})
			spec := pgSpec(t, objs, render.KindSecurityPolicy)
			pgEqual(t, "targetRefs", spec["targetRefs"], pgTarget)
			audiences := ""
			if tc.audience != "" {
				audiences = `"audiences":["` + tc.audience + `"],`
			}
			pgEqual(t, "jwt", spec["jwt"], `{"providers":[{"name":"payments","issuer":"https://id.example.com",`+audiences+
				`"remoteJWKS":{"uri":"https://id.example.com/keys","cacheDuration":"300s"}}]}`)
			if tc.suspended {
				pgEqual(t, "authorization", spec["authorization"], `{"defaultAction":"Deny"}`)
			} else {
				pgEqual(t, "authorization", spec["authorization"], `{"defaultAction":"Deny","rules":[{
					"name":"tenant-`+tc.tenant+`","action":"Allow",
					"principal":{"jwt":{"provider":"payments","claims":[{"name":"`+tc.wantClaim+`","valueType":"String","values":["`+tc.tenant+`"]}]}}}]}`)
			}
			if _, ok := spec["apiKeyAuth"]; ok {
				t.Errorf("OAuth2 renders apiKeyAuth: %v", spec["apiKeyAuth"])
			}
			if o := ptFind(objs, render.KindSecret, render.GatewayKeysName("payments")); o != nil {
				t.Errorf("OAuth2 renders a keys Secret")
			}
		})
	}
}

// TestPoliciesAuthNone: without auth there is nothing to check, so no SecurityPolicy, except
// while the tenant is suspended: then one that refuses every request.
func TestPoliciesAuthNone(t *testing.T) {
	for _, suspended := range []bool{false, true} {
		objs := pgRender(t, pgIn{product: pgNoAuth(), plan: pgPlan(60), routes: true, policies: true, suspended: suspended})
		if ptFind(objs, render.KindHTTPRoute, "payments") == nil {
			t.Fatalf("suspended %v: no HTTPRoute in %v", suspended, ptKeys(objs))
		}
		if ptFind(objs, render.KindSecret, render.GatewayKeysName("payments")) != nil {
			t.Errorf("suspended %v: auth None renders a keys Secret", suspended)
		}
		if ptFind(objs, render.KindBackendTrafficPolicy, "payments") == nil {
			t.Errorf("suspended %v: auth None drops the plan's rate limit", suspended)
		}
		if !suspended {
			if o := ptFind(objs, render.KindSecurityPolicy, "payments"); o != nil {
				t.Errorf("auth None, not suspended: SecurityPolicy %v rendered, want none", pgMap(t, o))
			}
			continue
		}
		spec := pgSpec(t, objs, render.KindSecurityPolicy)
		pgEqual(t, "suspended, auth None: SecurityPolicy spec", spec,
			`{"targetRefs":`+pgTarget+`,"authorization":{"defaultAction":"Deny"}}`)
	}
}

// ---------------------------------------------------------------------------------------
// Rate limit.

func TestPoliciesRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		product *tenancyv1alpha1.ApiProduct
	}{
		{"APIKey", pgAPIKey("", 0)}, {"OAuth2", pgOAuth2("payments", "")}, {"None", pgNoAuth()},
	} {
		t.Run(tc.name+", plan rate limit", func(t *testing.T) {
			objs := pgRender(t, pgIn{product: tc.product, plan: pgPlan(1200), routes: true, policies: true})
			pgEqual(t, "BackendTrafficPolicy spec", pgSpec(t, objs, render.KindBackendTrafficPolicy), `{
				"targetRefs":`+pgTarget+`,
				"rateLimit":{"local":{"rules":[{"limit":{"requests":1200,"unit":"Minute"}}]}}}`)
		})
		t.Run(tc.name+", no plan rate limit", func(t *testing.T) {
			objs := pgRender(t, pgIn{product: tc.product, plan: pgPlan(0), routes: true, policies: true})
			if o := ptFind(objs, render.KindBackendTrafficPolicy, "payments"); o != nil {
				t.Errorf("BackendTrafficPolicy rendered without a plan rate limit: %v", pgMap(t, o))
			}
			if ptFind(objs, render.KindHTTPRoute, "payments") == nil {
				t.Errorf("no HTTPRoute without a plan rate limit: %v", ptKeys(objs))
			}
		})
	}
	// The limit follows the plan.
	objs := pgRender(t, pgIn{product: pgAPIKey("", 0), plan: pgPlan(7), routes: true, policies: true})
	spec := pgSpec(t, objs, render.KindBackendTrafficPolicy)
	pgEqual(t, "rateLimit", spec["rateLimit"], `{"local":{"rules":[{"limit":{"requests":7,"unit":"Minute"}}]}}`)
}

// ---------------------------------------------------------------------------------------
// Provider, CRDs, route.

// TestPoliciesProviderAndCRDs: exposure.policies None (or unset) renders as before, whether
// or not the Envoy Gateway CRDs are installed; EnvoyGateway renders the policies before the
// route, and without its CRDs neither (fail closed), while the rest of the product stays.
func TestPoliciesProviderAndCRDs(t *testing.T) {
	cases := []struct {
		name         string
		policies     tenancyv1alpha1.GatewayPolicies
		routes, crds bool
		// want are the kinds after the Deployments, Services and credentials.
		want []string
	}{
		{name: "None, CRDs installed", policies: tenancyv1alpha1.GatewayPoliciesNone, routes: true, crds: true,
			want: []string{render.KindHTTPRoute}},
		{name: "None, CRDs missing", policies: tenancyv1alpha1.GatewayPoliciesNone, routes: true,
			want: []string{render.KindHTTPRoute}},
		{name: "unset, CRDs missing", routes: true, want: []string{render.KindHTTPRoute}},
		{name: "EnvoyGateway, CRDs installed", policies: tenancyv1alpha1.GatewayPoliciesEnvoyGateway, routes: true, crds: true,
			want: []string{render.KindSecret, render.KindSecurityPolicy, render.KindBackendTrafficPolicy, render.KindHTTPRoute}},
		{name: "EnvoyGateway, CRDs missing: no route, no policies", policies: tenancyv1alpha1.GatewayPoliciesEnvoyGateway, routes: true},
		{name: "EnvoyGateway, no Gateway API", policies: tenancyv1alpha1.GatewayPoliciesEnvoyGateway, crds: true},
		{name: "None, no Gateway API", policies: tenancyv1alpha1.GatewayPoliciesNone, crds: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pgAPIKey("", 0)
			p.Spec.Exposure.Policies = tc.policies
			objs := pgRender(t, pgIn{product: p, plan: pgPlan(1200), routes: tc.routes, policies: tc.crds,
				keys: &render.GatewayKeys{Current: "current-key"}})
			// payments v1: credentials, api Deployment and Service, worker Deployment.
			base := []string{render.KindSecret, render.KindDeployment, render.KindService, render.KindDeployment}
			if got, want := pgKinds(objs), append(base, tc.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("kinds = %v, want %v", got, want)
			}
			if made := ptFind(objs, render.KindHTTPRoute, "payments") != nil; made != render.RouteMade(ptResolveOne(t,
				ptTenant("acme", []string{"acme"}), pgPlan(0), p), tc.routes, tc.crds) {
				t.Errorf("route rendered = %v, RouteMade disagrees", made)
			}
			if tc.policies != tenancyv1alpha1.GatewayPoliciesEnvoyGateway {
				if ptFind(objs, render.KindSecret, render.GatewayKeysName("payments")) != nil {
					t.Errorf("policies %q renders a keys Secret", tc.policies)
				}
			}
		})
	}
}

// TestPoliciesOrderLabelsNames: every gateway policy and the keys Secret come before the
// HTTPRoute (a route is never written before what guards it), carry the product's labels,
// and are named after the product in the product's namespace.
func TestPoliciesOrderLabelsNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		product *tenancyv1alpha1.ApiProduct
		guards  []string
	}{
		{"APIKey", pgAPIKey("x-k", time.Hour), []string{render.KindSecret + "/payments-gateway-keys", render.KindSecurityPolicy + "/payments", render.KindBackendTrafficPolicy + "/payments"}},
		{"OAuth2", pgOAuth2("", ""), []string{render.KindSecurityPolicy + "/payments", render.KindBackendTrafficPolicy + "/payments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The tenant puts the product in its second namespace.
			tn := ptTenant("acme", []string{"acme", "acme-dev"}, tenancyv1alpha1.TenantProduct{Name: "payments", Namespace: "acme-dev"})
			objs := pgRender(t, pgIn{tenant: tn, product: tc.product, plan: pgPlan(100), routes: true, policies: true, suspended: true,
				keys: &render.GatewayKeys{Current: "c", Previous: "p", RotatedAt: time.Unix(1_800_000_000, 0)}})
			route := -1
			pos := map[string]int{}
			for i, o := range objs {
				pos[o.Kind+"/"+o.Name] = i
				if o.Kind == render.KindHTTPRoute {
					route = i
				}
			}
			if route < 0 {
				t.Fatalf("no HTTPRoute in %v", ptKeys(objs))
			}
			for _, g := range tc.guards {
				i, ok := pos[g]
				if !ok {
					t.Errorf("%s not rendered: %v", g, ptKeys(objs))
				} else if i > route {
					t.Errorf("%s comes after the HTTPRoute: %v", g, ptKeys(objs))
				}
			}
			for i := range objs {
				o := &objs[i]
				m := pgMap(t, o)
				meta, _ := m["metadata"].(map[string]any)
				if o.Namespace != "acme-dev" || meta["namespace"] != "acme-dev" || meta["name"] != o.Name || m["kind"] != o.Kind {
					t.Errorf("%s %s/%s renders as %v %v/%v, want it in acme-dev", o.Kind, o.Namespace, o.Name, m["kind"], meta["namespace"], meta["name"])
				}
				labels, _ := meta["labels"].(map[string]any)
				for k, v := range map[string]string{
					tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
					tenancyv1alpha1.LabelTenant:    "acme",
					tenancyv1alpha1.LabelProduct:   "payments",
					render.LabelAppVersion:         "v1",
				} {
					if labels[k] != v {
						t.Errorf("%s %s: label %s = %v, want %s (labels %v)", o.Kind, o.Name, k, labels[k], v, labels)
					}
				}
			}
		})
	}
}

// TestPoliciesLookup: Policies names the provider of exposure.policies, nil for None and
// for a product that is not exposed; the provider needs the two Envoy Gateway CRDs.
func TestPoliciesLookup(t *testing.T) {
	eg := pgAPIKey("", 0)
	none := ptPayments()
	none.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesNone
	unset := ptPayments()
	internal := pgAPIKey("", 0)
	internal.Spec.Exposure = nil
	for name, p := range map[string]*tenancyv1alpha1.ApiProduct{"None": none, "unset": unset, "not exposed": internal} {
		if got := render.Policies(p); got != nil {
			t.Errorf("%s: Policies = %T, want nil", name, got)
		}
	}
	p := render.Policies(eg)
	if p == nil {
		t.Fatal("EnvoyGateway: Policies = nil")
	}
	want := []string{"backendtrafficpolicies.gateway.envoyproxy.io", "securitypolicies.gateway.envoyproxy.io"}
	if got := p.CRDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvoyGateway CRDs = %v, want %v", got, want)
	}
	if got := render.PolicyCRDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("PolicyCRDs = %v, want %v", got, want)
	}
}

// TestPoliciesDefaults: the header, grace period and tenant claim the product leaves unset.
func TestPoliciesDefaults(t *testing.T) {
	if got := render.APIKeyHeader(pgAPIKey("", 0)); got != "x-api-key" {
		t.Errorf("APIKeyHeader default = %q", got)
	}
	if got := render.APIKeyHeader(pgAPIKey("x-k", 0)); got != "x-k" {
		t.Errorf("APIKeyHeader = %q, want x-k", got)
	}
	if got := render.RotationGracePeriod(pgAPIKey("", 0)); got != 0 {
		t.Errorf("RotationGracePeriod default = %v", got)
	}
	if got := render.RotationGracePeriod(pgAPIKey("", 90*time.Minute)); got != 90*time.Minute {
		t.Errorf("RotationGracePeriod = %v, want 1h30m", got)
	}
	if got := render.RotationGracePeriod(pgOAuth2("", "")); got != 0 {
		t.Errorf("RotationGracePeriod of OAuth2 = %v", got)
	}
	if got := render.TenantClaim(nil); got != "tenant" {
		t.Errorf("TenantClaim(nil) = %q", got)
	}
	if got := render.TenantClaim(&tenancyv1alpha1.OAuth2{TenantClaim: "org"}); got != "org" {
		t.Errorf("TenantClaim = %q, want org", got)
	}
	if got := render.GatewayKeysName("payments"); got != "payments-gateway-keys" {
		t.Errorf("GatewayKeysName = %q", got)
	}
}

// TestPoliciesRouteMade: a product gets a route when exposed, with the Gateway API served
// and, when it asks for gateway policies, their CRDs installed; the endpoint follows.
func TestPoliciesRouteMade(t *testing.T) {
	internal := pgAPIKey("", 0)
	internal.Spec.Exposure = nil
	none := ptPayments()
	none.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesNone
	cases := []struct {
		name             string
		product          *tenancyv1alpha1.ApiProduct
		routes, policies bool
		want             bool
	}{
		{"EnvoyGateway, both installed", pgAPIKey("", 0), true, true, true},
		{"EnvoyGateway, CRDs missing", pgAPIKey("", 0), true, false, false},
		{"EnvoyGateway, Gateway API missing", pgAPIKey("", 0), false, true, false},
		{"None, CRDs missing", none, true, false, true},
		{"None, Gateway API missing", none, false, true, false},
		{"not exposed", internal, true, true, false},
	}
	tn := ptTenant("acme", nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ptResolveOne(t, tn, pgPlan(0), tc.product)
			got := render.RouteMade(r, tc.routes, tc.policies)
			if got != tc.want {
				t.Errorf("RouteMade = %v, want %v", got, tc.want)
			}
			want := "http://payments-api.acme.svc:8080"
			if tc.want {
				want = "https://acme.api.example.com/payments"
			}
			if e := render.Endpoint(tn, r, got); e != want {
				t.Errorf("Endpoint = %q, want %q", e, want)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// Keys after a pass.

func pgSecret(annotation string, data ...string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "payments-gateway-keys", Namespace: "acme"}, Data: map[string][]byte{}}
	if annotation != "" {
		s.Annotations = map[string]string{render.AnnotationKeyRotatedAt: annotation}
	}
	for i := 0; i+1 < len(data); i += 2 {
		s.Data[data[i]] = []byte(data[i+1])
	}
	return s
}

// TestNextGatewayKeys: the previous key stays accepted for the grace period from the pass
// that saw the rotation, and is dropped after it; NextGatewayKeys says when.
func TestNextGatewayKeys(t *testing.T) {
	now := time.Date(2026, time.December, 1, 10, 0, 0, 789_000_000, time.UTC)
	rotated := time.Date(2026, time.December, 1, 10, 0, 0, 0, time.UTC) // now, to the second
	earlier := rotated.Add(-30 * time.Minute)
	const rfc = time.RFC3339
	cases := []struct {
		name         string
		live         *corev1.Secret
		grace        time.Duration
		now          time.Time
		wantPrevious string
		wantRotated  time.Time
		wantUntil    time.Time
	}{
		{name: "no live Secret", grace: time.Hour, now: now},
		{name: "live with the same current key", live: pgSecret("", "acme", "new"), grace: time.Hour, now: now},
		{name: "live without an entry for the tenant", live: pgSecret(""), grace: time.Hour, now: now},
		{name: "rotation in this pass", live: pgSecret("", "acme", "old"), grace: time.Hour, now: now,
			wantPrevious: "old", wantRotated: rotated, wantUntil: rotated.Add(time.Hour)},
		{name: "rotation in this pass, an older previous key is replaced",
			live: pgSecret(earlier.Format(rfc), "acme", "old", "acme-previous", "older"), grace: time.Hour, now: now,
			wantPrevious: "old", wantRotated: rotated, wantUntil: rotated.Add(time.Hour)},
		{name: "within the window on a later pass",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "old"), grace: time.Hour, now: now,
			wantPrevious: "old", wantRotated: earlier, wantUntil: earlier.Add(time.Hour)},
		{name: "at the end of the window",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "old"), grace: time.Hour, now: earlier.Add(time.Hour)},
		{name: "after the window",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "old"), grace: time.Hour, now: earlier.Add(time.Hour + time.Second)},
		{name: "grace 0, rotation in this pass", live: pgSecret("", "acme", "old"), grace: 0, now: now},
		{name: "grace 0, previous on record",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "old"), grace: 0, now: now},
		{name: "negative grace", live: pgSecret("", "acme", "old"), grace: -time.Hour, now: now},
		{name: "grace shortened below the time since the rotation",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "old"), grace: 10 * time.Minute, now: now},
		{name: "a rotation time to come is not trusted (it would stretch the grace period)",
			live: pgSecret(now.Add(24*time.Hour).Format(rfc), "acme", "new", "acme-previous", "old"), grace: time.Hour, now: now},
		{name: "bad annotation", live: pgSecret("yesterday", "acme", "new", "acme-previous", "old"), grace: time.Hour, now: now},
		{name: "no annotation", live: pgSecret("", "acme", "new", "acme-previous", "old"), grace: time.Hour, now: now},
		{name: "previous equal to current",
			live: pgSecret(earlier.Format(rfc), "acme", "new", "acme-previous", "new"), grace: time.Hour, now: now},
		{name: "another tenant's entries are not this tenant's keys",
			live: pgSecret(earlier.Format(rfc), "globex", "old", "globex-previous", "older"), grace: time.Hour, now: now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys, until := render.NextGatewayKeys("acme", "new", tc.live, tc.grace, tc.now)
			if keys == nil {
				t.Fatal("NextGatewayKeys returned nil keys")
			}
			if keys.Current != "new" {
				t.Errorf("Current = %q, want new", keys.Current)
			}
			if keys.Previous != tc.wantPrevious {
				t.Errorf("Previous = %q, want %q", keys.Previous, tc.wantPrevious)
			}
			if !keys.RotatedAt.Equal(tc.wantRotated) || keys.RotatedAt.IsZero() != tc.wantRotated.IsZero() {
				t.Errorf("RotatedAt = %v, want %v", keys.RotatedAt, tc.wantRotated)
			}
			if !until.Equal(tc.wantUntil) || until.IsZero() != tc.wantUntil.IsZero() {
				t.Errorf("expiry = %v, want %v", until, tc.wantUntil)
			}
			if keys.Previous != "" && keys.RotatedAt.Nanosecond() != 0 {
				t.Errorf("RotatedAt %v is not whole seconds: the annotation (RFC 3339) would not round-trip", keys.RotatedAt)
			}
		})
	}
}
