package offline

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// policiesInput holds products with exposure.policies EnvoyGateway (API key with a custom
// header and a rotation grace period, OAuth2), a plan rate limit for one of them, and a
// served and a suspended tenant.
var policiesInput = filepath.Join("testdata", "gateway-policies", "input.yaml")

// renderPolicies renders policiesInput with opts.
func renderPolicies(t *testing.T, opts Options) string {
	t.Helper()
	in, err := ReadPaths([]string{policiesInput})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, in, opts); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestRenderGatewayPoliciesGolden renders the gateway policies input with and without the
// Envoy Gateway CRDs and compares with the reviewed output.
func TestRenderGatewayPoliciesGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		opts   Options
	}{
		{"gateway-policies.golden.yaml", Options{GatewayAPI: true, GatewayPolicies: true}},
		{"gateway-policies-no-crds.golden.yaml", Options{GatewayAPI: true, GatewayPolicies: false}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out := renderPolicies(t, tc.opts)
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./internal/offline -run TestRenderGatewayPoliciesGolden -update)", err)
			}
			if out != string(want) {
				t.Errorf("rendered gateway policies differ from %s; review the change and run go test ./internal/offline -update\n%s",
					path, firstDifference(out, string(want)))
			}
		})
	}
}

// TestRenderGatewayPoliciesProperties checks, on the gateway policies input, what a reviewer
// relies on: each tenant's policies and keys Secret before its route, the keys shown as
// placeholders, the tenant bound in the token rule, the suspended tenant refused, and no
// route at all without the CRDs.
func TestRenderGatewayPoliciesProperties(t *testing.T) {
	docs := decodeStream(t, renderPolicies(t, Options{GatewayAPI: true, GatewayPolicies: true}))
	pos := map[string]int{}
	byKey := map[string]decoded{}
	for i, d := range docs {
		k := d.Kind + " " + d.Metadata.Namespace + "/" + d.Metadata.Name
		if _, dup := pos[k]; dup {
			t.Errorf("%s rendered twice", k)
		}
		pos[k], byKey[k] = i, d
	}
	for _, tenant := range []string{"acme", "globex"} {
		for _, product := range []string{"payments", "ledger"} {
			route := "HTTPRoute " + tenant + "/" + product
			if _, ok := pos[route]; !ok {
				t.Fatalf("no %s in the output", route)
			}
			guards := []string{"SecurityPolicy " + tenant + "/" + product}
			if product == "payments" {
				guards = append(guards, "Secret "+tenant+"/payments-gateway-keys", "BackendTrafficPolicy "+tenant+"/payments")
			} else if _, ok := pos["BackendTrafficPolicy "+tenant+"/"+product]; ok {
				t.Errorf("BackendTrafficPolicy %s/%s rendered without a plan rate limit", tenant, product)
			}
			for _, g := range guards {
				i, ok := pos[g]
				if !ok {
					t.Errorf("no %s in the output", g)
				} else if i > pos[route] {
					t.Errorf("%s comes after %s", g, route)
				}
				if d := byKey[g]; d.Metadata.Labels["tenancy.openplatform.io/tenant"] != tenant ||
					d.Metadata.Labels["tenancy.openplatform.io/product"] != product {
					t.Errorf("%s labels %v, want tenant %s and product %s", g, d.Metadata.Labels, tenant, product)
				}
			}
		}

		// The keys Secret: one placeholder per key the gateway accepts (offline, only the
		// current one: no rotation is under way), never a value.
		keys := byKey["Secret "+tenant+"/payments-gateway-keys"]
		if keys.Data != nil {
			t.Errorf("%s keys Secret carries data %v", tenant, keys.Data)
		}
		if want := map[string]any{tenant: "<generated-by-the-operator>"}; !reflect.DeepEqual(keys.StringData, want) {
			t.Errorf("%s keys Secret stringData = %v, want %v", tenant, keys.StringData, want)
		}
		creds := byKey["Secret "+tenant+"/payments-credentials"]
		if want := map[string]any{"api-key": "<generated-by-the-operator>"}; creds.Data != nil || !reflect.DeepEqual(creds.StringData, want) {
			t.Errorf("%s credentials Secret data %v stringData %v, want stringData %v only", tenant, creds.Data, creds.StringData, want)
		}

		sp := byKey["SecurityPolicy "+tenant+"/payments"].Spec
		ak, _ := sp["apiKeyAuth"].(map[string]any)
		if got, _ := yaml.Marshal(ak["extractFrom"]); string(got) != "- headers:\n  - x-payments-key\n" {
			t.Errorf("%s payments extractFrom = %s, want the header x-payments-key", tenant, got)
		}
		auth, _ := byKey["SecurityPolicy "+tenant+"/ledger"].Spec["authorization"].(map[string]any)
		rules, _ := auth["rules"].([]any)
		switch tenant {
		case "globex": // suspended
			for _, product := range []string{"payments", "ledger"} {
				a := byKey["SecurityPolicy "+tenant+"/"+product].Spec["authorization"]
				if !reflect.DeepEqual(a, map[string]any{"defaultAction": "Deny"}) {
					t.Errorf("suspended %s: %s authorization = %v, want deny all", tenant, product, a)
				}
			}
		default:
			if auth["defaultAction"] != "Deny" || len(rules) != 1 {
				t.Fatalf("%s ledger authorization = %v, want deny but one rule", tenant, auth)
			}
			rule, _ := rules[0].(map[string]any)
			principal, _ := rule["principal"].(map[string]any)
			jwt, _ := principal["jwt"].(map[string]any)
			want := []any{map[string]any{"name": "org", "valueType": "String", "values": []any{tenant}}}
			if rule["action"] != "Allow" || jwt["provider"] != "ledger" || !reflect.DeepEqual(jwt["claims"], want) {
				b, _ := yaml.Marshal(rule)
				t.Errorf("%s ledger rule does not admit only tokens with org = %s:\n%s", tenant, tenant, b)
			}
			if _, ok := sp["authorization"]; ok {
				t.Errorf("%s payments SecurityPolicy has an authorization: %v", tenant, sp["authorization"])
			}
		}
		btp := byKey["BackendTrafficPolicy "+tenant+"/payments"].Spec
		if b, _ := yaml.Marshal(btp["rateLimit"]); !strings.Contains(string(b), "requests: 600\n") || !strings.Contains(string(b), "unit: Minute\n") {
			t.Errorf("%s payments rate limit:\n%s\nwant 600 per Minute", tenant, b)
		}
	}

	// Without the Envoy Gateway CRDs: no route and no policies (fail closed); the rest stays.
	without := decodeStream(t, renderPolicies(t, Options{GatewayAPI: true, GatewayPolicies: false}))
	kinds := map[string]int{}
	for _, d := range without {
		kinds[d.Kind]++
		if d.Kind == "Secret" && d.Metadata.Name == "payments-gateway-keys" {
			t.Errorf("keys Secret %s/%s rendered without the CRDs", d.Metadata.Namespace, d.Metadata.Name)
		}
	}
	for _, k := range []string{"HTTPRoute", "SecurityPolicy", "BackendTrafficPolicy"} {
		if kinds[k] != 0 {
			t.Errorf("%d %s rendered without the Envoy Gateway CRDs, want none", kinds[k], k)
		}
	}
	if kinds["Deployment"] != 4 || kinds["Service"] != 4 || kinds["Secret"] != 2 {
		t.Errorf("without the CRDs: kinds %v, want the 4 Deployments, 4 Services and 2 credentials Secrets still", kinds)
	}
}
