package e2e

// Gateway policies (docs: design/api.md, "Gateway policies"): with exposure.policies
// EnvoyGateway the operator writes, beside each tenant's HTTPRoute, an Envoy Gateway
// SecurityPolicy (API key, or JWT bound to the tenant; deny while suspended), the keys
// Secret it reads, and a BackendTrafficPolicy with the plan's rate limit. The suite installs
// Envoy Gateway's real CRDs, so the API server checks these objects against Envoy Gateway's
// schema and CEL rules; Envoy Gateway's own translator (egctl, built from the same release)
// then turns what is in the cluster into the Envoy configuration a gateway would run, and the
// test reads the enforcement there. Last, the tenant's owner tries to get around it.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	gwPlan        = "gw-plan"
	gwKeys        = "gw-keys"   // APIKey product, custom header, plan rate limit
	gwTokens      = "gw-tokens" // OAuth2 product, no plan rate limit
	gwKeyHeader   = "x-acme-key"
	gwRPM         = 120
	gwTenant      = "gw-acme"   // active
	gwSuspended   = "gw-globex" // created suspended, resumed at the end
	gwOwner       = "ada@gw-acme.example"
	gwGatewayNS   = "gateway-system" // the Gateway's namespace: not a tenant's
	gwGatewayName = "eg"
	gwIssuer      = "https://id.example.com"
	gwAudience    = "gw-tokens-api"
	gwJWKS        = "https://id.example.com/.well-known/jwks.json"
	gwClaim       = "org"
)

var gwSetup = fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: %[1]s}
spec:
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - {name: api, image: registry.example.com/gw-keys:1.0.0, port: 8080}
  exposure:
    component: api
    gateway: {name: %[5]s, namespace: %[4]s}
    hostname: "{tenant}.api.example.com"
    policies: EnvoyGateway
  auth:
    type: APIKey
    apiKey: {header: %[3]s}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: %[2]s}
spec:
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - {name: api, image: registry.example.com/gw-tokens:1.0.0, port: 8080}
  exposure:
    component: api
    gateway: {name: %[5]s, namespace: %[4]s}
    hostname: "{tenant}.tokens.example.com"
    policies: EnvoyGateway
  auth:
    type: OAuth2
    oauth2: {issuerURL: %[6]q, audience: %[7]s, jwksURI: %[8]q, tenantClaim: %[9]s}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: %[10]s}
spec:
  maxNamespaces: 1
  quota:
    hard: {requests.cpu: "2", requests.memory: 2Gi, pods: "20"}
  ownerRole: admin
  products:
  - name: %[1]s
    rateLimit: {requestsPerMinute: %[11]d}
  - name: %[2]s
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: %[12]s}
spec:
  plan: %[10]s
  owners: [{kind: User, name: %[14]s}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: %[13]s}
spec:
  plan: %[10]s
  owners: [{kind: User, name: owner@gw-globex.example}]
  suspended: true
`, gwKeys, gwTokens, gwKeyHeader, gwGatewayNS, gwGatewayName, gwIssuer, gwAudience, gwJWKS, gwClaim,
	gwPlan, gwRPM, gwTenant, gwSuspended, gwOwner)

// gwObject is an object as kubectl returns it, and as egctl reads it.
type gwObject map[string]any

func (o gwObject) kind() string { s, _ := o["kind"].(string); return s }
func (o gwObject) meta(field string) string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m[field].(string)
	return s
}
func (o gwObject) key() string { return o.kind() + "/" + o.meta("namespace") + "/" + o.meta("name") }

// gwGet returns the objects of the kinds in a namespace, by key.
func gwGet(t *testing.T, namespace, kinds string) map[string]gwObject {
	t.Helper()
	var list struct {
		Items []gwObject `json:"items"`
	}
	kubectlJSON(t, &list, "get", kinds, "-n", namespace)
	out := map[string]gwObject{}
	for _, o := range list.Items {
		out[o.key()] = o
	}
	return out
}

// egctlBinary is Envoy Gateway's CLI, $E2E_EGCTL (set by `make test-e2e` to bin/egctl).
func egctlBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("E2E_EGCTL")
	if p == "" {
		t.Fatal("E2E_EGCTL is not set: run the e2e tests with `make test-e2e`, which builds Envoy Gateway's egctl " +
			"into bin/egctl (`make envoy-gateway`) and passes its path; or set E2E_EGCTL to an egctl of Envoy Gateway v1.9")
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("E2E_EGCTL=%s: %v: run `make envoy-gateway` to build it", p, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("E2E_EGCTL=%s is not an executable file: run `make envoy-gateway` to build egctl", p)
	}
	return p
}

// renderedObjects are the objects `manager render` prints for the YAML, by key.
func renderedObjects(t *testing.T, yaml string) map[string]gwObject {
	t.Helper()
	in := filepath.Join(t.TempDir(), "input.yaml")
	if err := os.WriteFile(in, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(env.manager, "render", in).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("manager render: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("manager render: %v", err)
	}
	objs := map[string]gwObject{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var o gwObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding manager render's output: %v", err)
		}
		if o != nil {
			objs[o.key()] = o
		}
	}
	return objs
}

// jsonAt follows a path of map keys and list indices into decoded JSON; nil when absent.
func jsonAt(v any, path ...any) any {
	for _, p := range path {
		if o, ok := v.(gwObject); ok {
			v = map[string]any(o)
		}
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// jsonString is jsonAt's string, "" when absent.
func jsonString(v any, path ...any) string { s, _ := jsonAt(v, path...).(string); return s }

// jsonFind returns every JSON object under v (v included) for which match holds.
func jsonFind(v any, match func(map[string]any) bool) []map[string]any {
	var out []map[string]any
	var walk func(any)
	walk = func(v any) {
		if o, ok := v.(gwObject); ok {
			v = map[string]any(o)
		}
		switch x := v.(type) {
		case map[string]any:
			if match(x) {
				out = append(out, x)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// withoutTypes is decoded JSON without the "@type" entries of protobuf Any values.
func withoutTypes(v any) any {
	return rebuildJSON(v, func(k string) bool { return k == "@type" }, func(leaf any) any { return leaf })
}

// translated is egctl's output: the Gateway API resources with the status Envoy Gateway
// gives them, and the xDS configuration of the Gateway.
type translated struct {
	raw map[string]any
}

// route is the xDS route of a tenant's HTTPRoute (its one rule).
func (tr translated) route(t *testing.T, namespace, name string) map[string]any {
	t.Helper()
	prefix := "httproute/" + namespace + "/" + name + "/rule/0/match/"
	routes := jsonFind(tr.raw["xds"], func(m map[string]any) bool {
		n, _ := m["name"].(string)
		_, isRoute := m["match"]
		return isRoute && strings.HasPrefix(n, prefix)
	})
	if len(routes) != 1 {
		t.Fatalf("egctl's xDS has %d routes named %s*, want 1", len(routes), prefix)
	}
	return routes[0]
}

// jwtProvider is the jwt_authn provider a route's per-route config requires.
func (tr translated) jwtProvider(t *testing.T, route map[string]any) map[string]any {
	t.Helper()
	req := jsonString(route, "typedPerFilterConfig", "envoy.filters.http.jwt_authn", "requirementName")
	if req == "" {
		t.Fatalf("route %s has no jwt_authn requirement: %v", route["name"], route["typedPerFilterConfig"])
	}
	filters := jsonFind(tr.raw["xds"], func(m map[string]any) bool {
		return m["name"] == "envoy.filters.http.jwt_authn" && jsonAt(m, "typedConfig", "requirementMap", req) != nil
	})
	if len(filters) != 1 {
		t.Fatalf("%d jwt_authn filters hold requirement %s, want 1", len(filters), req)
	}
	name := jsonString(filters[0], "typedConfig", "requirementMap", req, "providerName")
	p, _ := jsonAt(filters[0], "typedConfig", "providers", name).(map[string]any)
	if p == nil {
		t.Fatalf("the jwt_authn filter has no provider %q (requirement %s)", name, req)
	}
	return p
}

// rbacRules reads a route's RBAC: the allow matchers as "metadata path = value" (the JWT
// claim matchers Envoy Gateway makes of authorization rules) and the action when none
// matches.
func rbacRules(t *testing.T, route map[string]any) (allow []string, onNoMatch string) {
	t.Helper()
	m := jsonAt(route, "typedPerFilterConfig", "envoy.filters.http.rbac", "rbac", "matcher")
	if m == nil {
		t.Fatalf("route %s has no RBAC matcher: %v", route["name"], route["typedPerFilterConfig"])
	}
	matchers, _ := jsonAt(m, "matcherList", "matchers").([]any)
	for _, mt := range matchers {
		action := jsonString(mt, "onMatch", "action", "typedConfig", "action")
		if action != "" && action != "ALLOW" {
			continue
		}
		var path []string
		keys, _ := jsonAt(mt, "predicate", "singlePredicate", "input", "typedConfig", "path").([]any)
		for _, k := range keys {
			path = append(path, jsonString(k, "key"))
		}
		allow = append(allow, strings.Join(path, ".")+" = "+
			jsonString(mt, "predicate", "singlePredicate", "customMatch", "typedConfig", "value", "stringMatch", "exact"))
	}
	return allow, jsonString(m, "onNoMatch", "action", "typedConfig", "action")
}

// egctlInput is what egctl translates: a GatewayClass of Envoy Gateway, a Gateway with an
// HTTP listener that admits routes from every namespace, and the tenants' objects as the
// cluster holds them (without status and server-set metadata).
func egctlInput(t *testing.T, objs []gwObject) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: %[1]s}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  gatewayClassName: %[1]s
  listeners:
  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
`, gwGatewayName, gwGatewayNS)
	for _, o := range objs {
		c := gwObject{}
		for k, v := range o {
			if k != "status" {
				c[k] = v
			}
		}
		if m, ok := c["metadata"].(map[string]any); ok {
			meta := map[string]any{}
			for _, k := range []string{"name", "namespace", "labels"} {
				if v, ok := m[k]; ok {
					meta[k] = v
				}
			}
			c["metadata"] = meta
		}
		j, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(j)
		b.WriteString("\n")
	}
	return b.Bytes()
}

// translate runs Envoy Gateway's translator on the input.
func translate(t *testing.T, egctl string, input []byte, objects int) translated {
	t.Helper()
	return startTranslate(t, egctl, input, fmt.Sprintf("a Gateway and %d objects of the tenants", objects))()
}

// startTranslate starts Envoy Gateway's translator on the input and returns a function that
// waits for it and returns its output, logging how long it took to translate what.
func startTranslate(t *testing.T, egctl string, input []byte, what string) func() translated {
	t.Helper()
	path := filepath.Join(t.TempDir(), "egctl-input.yaml")
	if err := os.WriteFile(path, input, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(egctl, "x", "translate", "--from", "gateway-api", "--to", "gateway-api,xds",
		"-t", "all", "-o", "json", "-f", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("egctl x translate: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return func() translated {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("egctl x translate: %v: %s\ninput:\n%s", err, stderr.String(), input)
		}
		var tr translated
		if err := json.Unmarshal(stdout.Bytes(), &tr.raw); err != nil {
			t.Fatalf("decoding egctl's output: %v", err)
		}
		if tr.raw["xds"] == nil {
			t.Fatalf("egctl's output has no xds: %.2000s", stdout.String())
		}
		t.Logf("egctl translated %s in %v", what, time.Since(start).Round(100*time.Millisecond))
		return tr
	}
}

// TestGatewayPolicies: on a cluster with Envoy Gateway's CRDs, a plan with a rate-limited
// API-key product and an OAuth2 product, one active and one suspended tenant. The operator's
// policies are accepted by the CRDs as rendered; Envoy Gateway translates them into the
// tenant's key and header, the issuer, audience, JWKS and tenant claim, the plan's token
// bucket, and deny-all for the suspended tenant; the owner can neither write policies of its
// own nor change or remove the operator's.
func TestGatewayPolicies(t *testing.T) {
	parallelStory(t)
	egctl := egctlBinary(t)
	dumpOnFailure(t)
	start := time.Now()
	installHTTPRouteCRD(t)
	kubectlApply(t, gwSetup)
	t.Cleanup(func() {
		_, _ = runKubectl(nil, "delete", "tenants", gwTenant, gwSuspended, "--ignore-not-found", "--wait=false")
	})

	// The operator writes the policies before each route: once the four routes are there,
	// everything is.
	namespaces := []string{gwTenant, gwSuspended}
	eventually(t, 60*time.Second, func() error {
		for _, ns := range namespaces {
			out, err := runKubectl(nil, "get", "httproutes.gateway.networking.k8s.io", "-n", ns, "-o", "name")
			if err != nil {
				return err
			}
			if n := len(strings.Fields(out)); n != 2 {
				return fmt.Errorf("namespace %s has %d HTTPRoutes, want 2 (%s, %s)", ns, n, gwKeys, gwTokens)
			}
		}
		return nil
	})
	t.Logf("the tenants' routes and policies exist after %v", time.Since(start).Round(100*time.Millisecond))

	const kinds = "httproutes.gateway.networking.k8s.io,securitypolicies.gateway.envoyproxy.io," +
		"backendtrafficpolicies.gateway.envoyproxy.io,secrets,services"
	cluster := map[string]gwObject{}
	for _, ns := range namespaces {
		for k, o := range gwGet(t, ns, kinds) {
			cluster[k] = o
		}
	}
	// The key the gateway accepts for each tenant, from the keys Secret.
	gatewayKey := map[string]string{}
	for _, ns := range namespaces {
		s := cluster["Secret/"+ns+"/"+gwKeys+"-gateway-keys"]
		if s == nil {
			t.Fatalf("no Secret %s/%s-gateway-keys", ns, gwKeys)
		}
		data, _ := s["data"].(map[string]any)
		if len(data) != 1 {
			t.Errorf("Secret %s/%s-gateway-keys holds %d keys, want 1 (the tenant's current one): %v", ns, gwKeys, len(data), slices.Sorted(maps.Keys(data)))
		}
		enc, _ := data[ns].(string)
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(key) == 0 {
			t.Fatalf("Secret %s/%s-gateway-keys has no key for client %s: %v", ns, gwKeys, ns, err)
		}
		// The key the gateway accepts is the one the tenant's clients are given.
		cred := cluster["Secret/"+ns+"/"+gwKeys+"-credentials"]
		if got := jsonString(cred, "data", "api-key"); got != enc {
			t.Errorf("the gateway key of %s is not the key of its credentials Secret %s-credentials", ns, gwKeys)
		}
		gatewayKey[ns] = string(key)
	}

	t.Run("the policies are accepted by Envoy Gateway's CRDs as rendered", func(t *testing.T) {
		want := renderedObjects(t, gwSetup)
		for _, ns := range namespaces {
			for _, k := range []string{"SecurityPolicy/" + ns + "/" + gwKeys, "SecurityPolicy/" + ns + "/" + gwTokens,
				"BackendTrafficPolicy/" + ns + "/" + gwKeys} {
				got, w := cluster[k], want[k]
				switch {
				case w == nil:
					t.Errorf("manager render makes no %s", k)
				case got == nil:
					t.Errorf("the cluster has no %s", k)
				case !reflect.DeepEqual(got["spec"], w["spec"]):
					// The operator writes every field the CRD would default, so that a pass
					// with nothing to change writes nothing.
					g, _ := json.Marshal(got["spec"])
					r, _ := json.Marshal(w["spec"])
					t.Errorf("%s: the cluster holds spec %s, manager render says %s", k, g, r)
				case jsonString(got, "metadata", "labels", "app.kubernetes.io/managed-by") != "tenant-operator":
					t.Errorf("%s is not labelled managed-by tenant-operator: %v", k, jsonAt(got, "metadata", "labels"))
				}
			}
			if k := "BackendTrafficPolicy/" + ns + "/" + gwTokens; cluster[k] != nil {
				t.Errorf("%s exists, but the plan gives %s no rate limit", k, gwTokens)
			}
		}
		sp := kubectl(t, "get", "securitypolicies.gateway.envoyproxy.io", gwTokens, "-n", gwTenant, "-o", "jsonpath={.spec}")
		t.Logf("kubectl get securitypolicy %s -n %s: spec %s", gwTokens, gwTenant, sp)
	})

	var objs []gwObject
	for _, k := range slices.Sorted(maps.Keys(cluster)) {
		objs = append(objs, cluster[k])
	}
	tr := translate(t, egctl, egctlInput(t, objs), len(objs))

	t.Run("Envoy Gateway accepts the routes and policies", func(t *testing.T) {
		for _, list := range []string{"httpRoutes", "securityPolicies", "backendTrafficPolicies"} {
			items, _ := tr.raw[list].([]any)
			if len(items) == 0 {
				t.Errorf("egctl's output lists no %s", list)
			}
			for _, it := range items {
				name := jsonString(it, "metadata", "namespace") + "/" + jsonString(it, "metadata", "name")
				conds := jsonFind(it, func(m map[string]any) bool { return m["type"] == "Accepted" })
				if len(conds) == 0 {
					t.Errorf("%s %s: no Accepted condition in its status %v", list, name, jsonAt(it, "status"))
				}
				for _, c := range conds {
					if c["status"] != "True" {
						t.Errorf("%s %s: Accepted %v (%v): %v", list, name, c["status"], c["reason"], c["message"])
					}
				}
			}
		}
	})

	t.Run("API key: the tenant's current key, from the configured header, rate limited", func(t *testing.T) {
		for _, ns := range namespaces {
			r := tr.route(t, ns, gwKeys)
			auth := jsonAt(r, "typedPerFilterConfig", "envoy.filters.http.api_key_auth")
			creds, _ := jsonAt(auth, "credentials").([]any)
			if len(creds) != 1 || jsonString(creds, 0, "client") != ns || jsonString(creds, 0, "key") != gatewayKey[ns] {
				t.Errorf("%s/%s: api_key_auth credentials %v, want exactly client %s with its current key", ns, gwKeys, creds, ns)
			}
			if srcs, _ := jsonAt(auth, "keySources").([]any); len(srcs) != 1 || jsonString(srcs, 0, "header") != gwKeyHeader {
				t.Errorf("%s/%s: api_key_auth keySources %v, want the header %s alone", ns, gwKeys, jsonAt(auth, "keySources"), gwKeyHeader)
			}
			bucket := jsonAt(r, "typedPerFilterConfig", "envoy.filters.http.local_ratelimit", "tokenBucket")
			if jsonAt(bucket, "maxTokens") != float64(gwRPM) || jsonAt(bucket, "tokensPerFill") != float64(gwRPM) ||
				jsonAt(bucket, "fillInterval") != "60s" {
				t.Errorf("%s/%s: local_ratelimit tokenBucket %v, want maxTokens and tokensPerFill %d, fillInterval 60s", ns, gwKeys, bucket, gwRPM)
			}
		}
		// The active tenant's key route: authentication only, no authorization that denies.
		if rb := jsonAt(tr.route(t, gwTenant, gwKeys), "typedPerFilterConfig", "envoy.filters.http.rbac"); rb != nil {
			t.Errorf("%s/%s: an RBAC config on the active tenant's route: %v", gwTenant, gwKeys, rb)
		}
		// The other product has no plan rate limit.
		if b := jsonAt(tr.route(t, gwTenant, gwTokens), "typedPerFilterConfig", "envoy.filters.http.local_ratelimit"); b != nil {
			t.Errorf("%s/%s: a local rate limit %v, but the plan sets none", gwTenant, gwTokens, b)
		}
	})

	t.Run("OAuth2: issuer, audience and JWKS, and only the tenant's own tokens", func(t *testing.T) {
		for _, ns := range namespaces {
			r := tr.route(t, ns, gwTokens)
			p := tr.jwtProvider(t, r)
			if jsonString(p, "issuer") != gwIssuer || !reflect.DeepEqual(jsonAt(p, "audiences"), []any{gwAudience}) ||
				jsonString(p, "remoteJwks", "httpUri", "uri") != gwJWKS {
				t.Errorf("%s/%s: jwt provider issuer %v, audiences %v, remote JWKS %v; want %s, [%s], %s", ns, gwTokens,
					p["issuer"], p["audiences"], jsonAt(p, "remoteJwks", "httpUri", "uri"), gwIssuer, gwAudience, gwJWKS)
			}
		}
		allow, noMatch := rbacRules(t, tr.route(t, gwTenant, gwTokens))
		payload := jsonString(tr.jwtProvider(t, tr.route(t, gwTenant, gwTokens)), "payloadInMetadata")
		if want := []string{payload + "." + gwClaim + " = " + gwTenant}; !reflect.DeepEqual(allow, want) || noMatch != "DENY" {
			t.Errorf("%s/%s: RBAC allows %q and otherwise %q; want it to allow only %q and deny the rest", gwTenant, gwTokens, allow, noMatch, want)
		}
	})

	t.Run("suspended: every route of the tenant denies", func(t *testing.T) {
		for _, name := range []string{gwKeys, gwTokens} {
			allow, noMatch := rbacRules(t, tr.route(t, gwSuspended, name))
			if len(allow) != 0 || noMatch != "DENY" {
				t.Errorf("%s/%s (suspended): RBAC allows %q and otherwise %q; want it to deny every request", gwSuspended, name, allow, noMatch)
			}
		}
	})

	// For the closing note: what the gateway runs for the tenants (keys shortened, without
	// the protobuf type URLs).
	short := func(v any) string {
		b, _ := json.Marshal(withoutTypes(v))
		out := string(b)
		for _, k := range gatewayKey {
			out = strings.ReplaceAll(out, k, k[:min(6, len(k))]+"...")
		}
		return out
	}
	keysRoute := tr.route(t, gwTenant, gwKeys)["typedPerFilterConfig"]
	tokensRoute := tr.route(t, gwTenant, gwTokens)
	p := tr.jwtProvider(t, tokensRoute)
	t.Logf("egctl x translate: Envoy's filter config of the routes (keys shortened)\n"+
		"  %s/%s api_key_auth:     %s\n"+
		"  %s/%s local_ratelimit:  %s\n"+
		"  %s/%s jwt_authn provider: %s\n"+
		"  %s/%s rbac:             %s\n"+
		"  %s/%s (suspended) rbac: %s",
		gwTenant, gwKeys, short(jsonAt(keysRoute, "envoy.filters.http.api_key_auth")),
		gwTenant, gwKeys, short(jsonAt(keysRoute, "envoy.filters.http.local_ratelimit", "tokenBucket")),
		gwTenant, gwTokens, short(map[string]any{"issuer": p["issuer"], "audiences": p["audiences"],
			"remoteJwks.httpUri.uri": jsonAt(p, "remoteJwks", "httpUri", "uri"), "payloadInMetadata": p["payloadInMetadata"]}),
		gwTenant, gwTokens, short(jsonAt(tokensRoute, "typedPerFilterConfig", "envoy.filters.http.rbac", "rbac", "matcher")),
		gwSuspended, gwKeys, short(jsonAt(tr.route(t, gwSuspended, gwKeys), "typedPerFilterConfig", "envoy.filters.http.rbac", "rbac", "matcher")))

	t.Run("the owner can neither write gateway policies nor change the operator's", func(t *testing.T) {
		hostileOwnerCases(t)
	})

	t.Run("resumed: the key and the tenant's tokens are accepted again", func(t *testing.T) {
		kubectl(t, "patch", "tenant", gwSuspended, "--type=merge", "-p", `{"spec":{"suspended":false}}`)
		eventually(t, 30*time.Second, func() error {
			k := gwGet(t, gwSuspended, "securitypolicies.gateway.envoyproxy.io")
			if a := jsonAt(k["SecurityPolicy/"+gwSuspended+"/"+gwKeys], "spec", "authorization"); a != nil {
				return fmt.Errorf("%s/%s still has authorization %v", gwSuspended, gwKeys, a)
			}
			rules, _ := jsonAt(k["SecurityPolicy/"+gwSuspended+"/"+gwTokens], "spec", "authorization", "rules").([]any)
			if len(rules) != 1 || !reflect.DeepEqual(jsonAt(rules, 0, "principal", "jwt", "claims", 0, "values"), []any{gwSuspended}) {
				return fmt.Errorf("%s/%s authorization rules %v, want the one allowing claim %s %s", gwSuspended, gwTokens, rules, gwClaim, gwSuspended)
			}
			return nil
		})
	})
	t.Logf("TestGatewayPolicies took %v", time.Since(start).Round(100*time.Millisecond))
}

// hostileOwnerCases: the owner of gw-acme tries to put its own Envoy Gateway policies in
// front of its routes, and to change or remove the operator's. Its plan's owner role (admin)
// grants nothing of gateway.envoyproxy.io; with a Role that grants it all (an admin's
// likely mistake), the admission policies still refuse.
func hostileOwnerCases(t *testing.T) {
	ns := gwTenant
	as := func(stdin []byte, args ...string) error {
		_, err := kubectlAs(gwOwner, stdin, args...)
		return err
	}
	route := fmt.Sprintf("[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: %s}]", gwKeys)
	// Valid objects (the admin's dry run below proves the schema takes them), each a way
	// around the plan: open auth, no rate limit, a backend anywhere, code in the gateway.
	own := []struct{ kind, resource, spec string }{
		{"SecurityPolicy", "securitypolicies", "targetRefs: " + route + "\n  authorization: {defaultAction: Allow}"},
		{"BackendTrafficPolicy", "backendtrafficpolicies", "targetRefs: " + route + "\n  rateLimit: {type: Local, local: {rules: [{limit: {requests: 1000000, unit: Second}}]}}"},
		{"Backend", "backends", "endpoints: [{ip: {address: 169.254.169.254, port: 80}}]"},
		{"ClientTrafficPolicy", "clienttrafficpolicies", fmt.Sprintf("targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: %s}]\n  headers: {xForwardedClientCert: {mode: Sanitize}}", gwGatewayName)},
		{"EnvoyExtensionPolicy", "envoyextensionpolicies", "targetRefs: " + route + "\n  lua: [{type: Inline, inline: \"function envoy_on_request(h) end\"}]"},
		{"EnvoyPatchPolicy", "envoypatchpolicies", fmt.Sprintf("targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: %s}\n  type: JSONPatch\n  jsonPatches: [{type: type.googleapis.com/envoy.config.listener.v3.Listener, name: x, operation: {op: add, path: /x, value: 1}}]", gwGatewayName)},
	}
	manifest := func(kind, spec string) []byte {
		return []byte(fmt.Sprintf("apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: %s\nmetadata: {name: owner-own, namespace: %s}\nspec:\n  %s\n", kind, ns, spec))
	}

	// The owner role grants none of it: RBAC refuses first.
	for _, o := range own {
		can, _ := kubectlAs(gwOwner, nil, "auth", "can-i", "create", o.resource+".gateway.envoyproxy.io", "-n", ns)
		if strings.TrimSpace(can) != "no" {
			t.Errorf("the owner role (admin) lets the owner create %s: can-i says %q", o.resource, can)
		}
	}
	wantRefused(t, "the owner creating a SecurityPolicy with its owner role", as(manifest(own[0].kind, own[0].spec), "create", "--dry-run=server", "-f", "-"),
		"forbidden", "cannot create resource")

	// A Role that grants every Envoy Gateway kind: now admission is what refuses.
	var resources []string
	for _, o := range own {
		resources = append(resources, o.resource)
	}
	kubectlApply(t, fmt.Sprintf(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: owner-envoy-gateway, namespace: %[1]s}
rules: [{apiGroups: [gateway.envoyproxy.io], resources: [%[2]s], verbs: [get, list, create, update, patch, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owner-envoy-gateway, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: owner-envoy-gateway}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[3]s}]
`, ns, strings.Join(resources, ", "), gwOwner))
	eventually(t, 30*time.Second, func() error {
		can, _ := kubectlAs(gwOwner, nil, "auth", "can-i", "delete", "securitypolicies.gateway.envoyproxy.io", "-n", ns)
		if strings.TrimSpace(can) != "yes" {
			return fmt.Errorf("the owner's extra Role is not in effect yet (can-i delete securitypolicies: %q)", can)
		}
		return nil
	})

	for _, o := range own {
		m := manifest(o.kind, o.spec)
		// The platform admin (system:masters) may: the object is valid.
		_, err := runKubectl(m, "create", "--dry-run=server", "-f", "-")
		wantAllowed(t, "the cluster admin creating a "+o.kind, err)
		wantRefused(t, "the owner creating its own "+o.kind, as(m, "create", "--dry-run=server", "-f", "-"),
			"tenant-operator-tenant-gateway-policies", o.kind+" "+ns+"/owner-own is refused", "written by the tenant-operator alone")
	}

	// The operator's policies and keys: not to be changed or removed.
	managed := func(kind string) []string {
		return []string{"tenant-operator-managed-objects", kind + " " + ns + "/", "is managed by the tenant-operator for Tenant " + ns}
	}
	for _, o := range []struct{ kind, resource, name, patch string }{
		{"SecurityPolicy", "securitypolicies.gateway.envoyproxy.io", gwKeys, `{"spec":{"authorization":{"defaultAction":"Allow"}}}`},
		{"SecurityPolicy", "securitypolicies.gateway.envoyproxy.io", gwTokens, `{"spec":{"authorization":{"defaultAction":"Allow","rules":null}}}`},
		{"BackendTrafficPolicy", "backendtrafficpolicies.gateway.envoyproxy.io", gwKeys, `{"spec":{"rateLimit":{"local":{"rules":[{"limit":{"requests":1000000,"unit":"Second"}}]}}}}`},
	} {
		err := as(nil, "patch", o.resource, o.name, "-n", ns, "--type=merge", "-p", o.patch, "--dry-run=server")
		// Both managed-objects and tenant-gateway-policies match an update; the API server
		// answers with one of them.
		switch {
		case err == nil:
			t.Errorf("the owner updating the operator's %s %s: allowed, want it refused", o.kind, o.name)
		case strings.Contains(err.Error(), "tenant-operator-managed-objects"):
			wantRefused(t, "the owner updating the operator's "+o.kind+" "+o.name, err, managed(o.kind)...)
			t.Logf("the owner's update of %s %s was refused by managed-objects", o.kind, o.name)
		default:
			wantRefused(t, "the owner updating the operator's "+o.kind+" "+o.name, err,
				"tenant-operator-tenant-gateway-policies", "written by the tenant-operator alone")
			t.Logf("the owner's update of %s %s was refused by tenant-gateway-policies", o.kind, o.name)
		}
		wantRefused(t, "the owner deleting the operator's "+o.kind+" "+o.name,
			as(nil, "delete", o.resource, o.name, "-n", ns, "--dry-run=server"), managed(o.kind)...)
	}
	secret := gwKeys + "-gateway-keys"
	forged := base64.StdEncoding.EncodeToString([]byte("owner-chosen-key"))
	wantRefused(t, "the owner adding a key to "+secret,
		as(nil, "patch", "secret", secret, "-n", ns, "--type=merge", "-p", `{"data":{"extra-client":"`+forged+`"}}`, "--dry-run=server"),
		managed("Secret")...)
	wantRefused(t, "the owner replacing its key in "+secret,
		as(nil, "patch", "secret", secret, "-n", ns, "--type=merge", "-p", `{"data":{"`+ns+`":"`+forged+`"}}`, "--dry-run=server"),
		managed("Secret")...)
	wantRefused(t, "the owner deleting "+secret, as(nil, "delete", "secret", secret, "-n", ns, "--dry-run=server"), managed("Secret")...)

	// Nor can a route of the owner's own reach the product around the operator's route and
	// its policies (where an admin lets owners write HTTPRoutes); another Service it may.
	kubectlApply(t, fmt.Sprintf(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: owner-routes, namespace: %[1]s}
rules: [{apiGroups: [gateway.networking.k8s.io], resources: [httproutes], verbs: [create, get, update, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owner-routes, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: owner-routes}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[2]s}]
`, ns, gwOwner))
	bypass := func(service string) []byte {
		return []byte(fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: owner-bypass, namespace: %s}
spec:
  parentRefs: [{name: %s, namespace: %s}]
  hostnames: [%s.api.example.com]
  rules: [{matches: [{path: {type: PathPrefix, value: /%s}}], backendRefs: [{name: %s, port: 8080}]}]
`, ns, gwGatewayName, gwGatewayNS, ns, gwKeys, service))
	}
	eventually(t, 30*time.Second, func() error {
		return as(bypass("owner-own-api"), "create", "--dry-run=server", "-f", "-")
	})
	wantRefused(t, "the owner routing to "+gwKeys+"-api around its gateway policies",
		as(bypass(gwKeys+"-api"), "create", "--dry-run=server", "-f", "-"),
		"tenant-operator-tenant-httproutes", "routes to a Service behind gateway policies")
}
