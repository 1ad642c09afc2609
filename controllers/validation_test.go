package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestCELValidation: the CRDs reject what needs no other object to judge, with a message
// that says what is wrong, and accept and default a valid object.
func TestCELValidation(t *testing.T) {
	const tenantHead = `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: t12-cel}
spec:
  plan: p12-any
`
	const owner = "  owners: [{kind: User, name: alice}]\n"
	const planHead = `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: p12-cel}
spec:
`
	const productHead = `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: ap12-cel}
spec:
`
	long := "t12-cel-" + strings.Repeat("a", 60)

	cases := []struct {
		name, yaml, want string
	}{
		{"tenant namespace not prefixed by the tenant name", tenantHead + owner + "  namespaces: [{name: someone-else}]\n",
			"must be the tenant's name or start with"},
		{"tenant namespace sharing only a prefix", tenantHead + owner + "  namespaces: [{name: t12-celx}]\n",
			"must be the tenant's name or start with"},
		{"tenant namespace not a DNS label", tenantHead + owner + "  namespaces: [{name: t12-cel-Dev_1}]\n",
			"should match"},
		{"tenant namespace longer than 63 characters", tenantHead + owner + "  namespaces: [{name: " + long + "}]\n",
			"Too long"},
		{"tenant name not a DNS label", strings.Replace(tenantHead, "t12-cel", "t12.cel", 1) + owner,
			"must be a DNS label"},
		{"owner kind not in the enum", tenantHead + "  owners: [{kind: Robot, name: r2d2}]\n",
			`Unsupported value: "Robot"`},
		{"ServiceAccount owner without namespace", tenantHead + "  owners: [{kind: ServiceAccount, name: deployer}]\n",
			"needs a namespace"},
		{"User owner with a namespace", tenantHead + "  owners: [{kind: User, name: alice, namespace: t12-cel}]\n",
			"only valid for a ServiceAccount"},
		{"no owners", tenantHead + "  owners: []\n",
			"should have at least 1 items"},
		{"duplicate namespace names", tenantHead + owner + "  namespaces: [{name: t12-cel}, {name: t12-cel}]\n",
			"Duplicate value"},
		{"product namespace not among the namespaces", tenantHead + owner +
			"  namespaces: [{name: t12-cel}]\n  products: [{name: payments, namespace: t12-cel-other}]\n",
			"must be one of the tenant's namespaces"},
		{"product namespace without namespaces is not the default one", tenantHead + owner +
			"  products: [{name: payments, namespace: t12-cel-other}]\n",
			"must be one of the tenant's namespaces"},
		{"deletionPolicy not in the enum", tenantHead + owner + "  deletionPolicy: Orphan\n",
			`Unsupported value: "Orphan"`},
		{"quotaWeight 0", tenantHead + owner + "  namespaces: [{name: t12-cel, quotaWeight: 0}]\n",
			"should be greater than or equal to 1"},
		{"plan maxNamespaces 0", planHead + "  maxNamespaces: 0\n",
			"should be greater than or equal to 1"},
		{"plan maxNamespaces 101", planHead + "  maxNamespaces: 101\n",
			"should be less than or equal to 100"},
		{"plan podSecurity not in the enum", planHead + "  podSecurity: strict\n",
			`Unsupported value: "strict"`},
		{"plan allowEgressTo with egress Open", planHead + "  network: {egress: Open, allowEgressTo: [10.20.0.0/16]}\n",
			"only applies with egress: Restricted"},
		{"plan allowEgressTo with egress defaulted to Open", planHead + "  network: {allowEgressTo: [10.20.0.0/16]}\n",
			"only applies with egress: Restricted"},
		// resource.ParseQuantity never returns on these: stored, they would hang the operator.
		{"plan quota with a ten-digit exponent", planHead + "  quota: {hard: {pods: \"7E7222222221\"}}\n",
			"should match"},
		{"plan limit with a three-digit negative exponent", planHead + "  limitRange: {max: {cpu: \"1e-100\"}}\n",
			"should match"},
		{"plan product resources with a three-digit exponent", planHead +
			"  products: [{name: payments, resources: {limits: {memory: \"1e100\"}}}]\n",
			"should match"},
		{"product component resources with a three-digit exponent", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x, resources: {requests: {memory: \"4E100\"}}}]}]\n",
			"should match"},
		{"product defaultVersion not among versions", productHead +
			"  defaultVersion: v3\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n",
			"defaultVersion must name one of spec.versions"},
		{"product exposure component missing from a version", productHead + `  defaultVersion: v1
  versions:
  - {name: v1, components: [{name: api, image: x, port: 8080}]}
  - {name: v2, components: [{name: gateway, image: x, port: 8080}]}
  exposure: {component: api, gateway: {name: public, namespace: gw}}
`, "exposure.component must name a component with a port in every version"},
		{"product exposure component without a port", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}}
`, "exposure.component must name a component with a port in every version"},
		{"product exposure hostname without {tenant}", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, hostname: api.example.com}
`, "exposure.hostname must contain {tenant}"},
		{"product exposure hostname with a wildcard", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, hostname: "*.{tenant}.example.com"}
`, "exposure.hostname must not contain a wildcard"},
		{"tenant named kube-system", strings.Replace(tenantHead, "t12-cel", "kube-system", 1) + owner,
			"a Tenant's name may not be default or start with kube-"},
		{"tenant named default", strings.Replace(tenantHead, "t12-cel", "default", 1) + owner,
			"a Tenant's name may not be default or start with kube-"},
		{"tenant kube listing kube-public", strings.Replace(tenantHead, "t12-cel", "kube", 1) + owner + "  namespaces: [{name: kube-public}]\n",
			"spec.namespaces[0].name: Invalid value: \"kube-public\": default and kube-* are Kubernetes' own namespaces"},
		{"product auth OAuth2 without oauth2", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  auth: {type: OAuth2}\n",
			"auth.oauth2 is required"},
		{"rollout wave with both tenantSelector and plans", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {waves: [{name: canary, tenantSelector: {matchLabels: {a: b}}, plans: [free]}]}\n",
			"by tenantSelector or by plans, not both"},
		{"rollout wave selector with an unknown operator", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {waves: [{name: canary, tenantSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}}]}\n",
			"each operator must be In or NotIn with at least one value"},
		{"rollout wave selector In without values", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {waves: [{name: canary, tenantSelector: {matchExpressions: [{key: a, operator: In}]}}]}\n",
			"each operator must be In or NotIn with at least one value"},
		{"rollout wave name not a DNS label", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {waves: [{name: Canary_1}]}\n",
			"should match"},
		{"rollout duplicate wave names", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {waves: [{name: a}, {name: a}]}\n",
			"Duplicate value"},
		{"rollout healthTimeout in days", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {healthTimeout: 1d}\n",
			"no days: write 24h"},
		{"rollout healthTimeout in words", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {healthTimeout: 2 hours}\n",
			"must be a duration of hours, minutes and seconds"},
		{"rollout healthTimeout over 24h", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {healthTimeout: 25h}\n",
			"must be between 1s and 24h"},
		{"rollout healthTimeout 0s", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {healthTimeout: 0s}\n",
			"must be between 1s and 24h"},
		{"rollout pauseBetweenWaves in days", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {pauseBetweenWaves: 7d}\n",
			"no days: write 168h"},
		{"rollout pauseBetweenWaves over a week", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {pauseBetweenWaves: 169h}\n",
			"must be at most 168h"},
		{"rollout maxConcurrentTenants 0", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {maxConcurrentTenants: 0}\n",
			"should be greater than or equal to 1"},
		{"rollout failurePolicy not in the enum", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  rollout: {failurePolicy: Ignore}\n",
			`Unsupported value: "Ignore"`},
		{"product without versions", productHead + "  defaultVersion: v1\n  versions: []\n",
			"should have at least 1 items"},
		{"product version with a sunset but not deprecated", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}], sunset: \"2027-06-30T00:00:00Z\"}]\n",
			"versions[].sunset needs deprecated: true"},
		{"product with duplicate component names", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}, {name: api, image: y}]}]\n",
			"Duplicate value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantRejected(t, tc.yaml, "", tc.want) })
	}
	for _, tc := range fieldCases(tenantHead, owner, planHead, productHead) {
		t.Run(tc.name, func(t *testing.T) { wantRejected(t, tc.yaml, tc.field, tc.want) })
	}
	for _, tc := range acceptedCases(tenantHead, planHead, productHead) {
		t.Run("accepted: "+tc.name, func(t *testing.T) {
			u := decodeTestYAML(t, tc.yaml)
			if err := k8s.Create(testCtx, u, client.DryRunAll); err != nil {
				t.Errorf("%s %s was rejected, want it accepted: %v", u.GetKind(), u.GetName(), err)
			}
		})
	}

	// Valid objects are accepted and defaulted: the rejections above are specific.
	t.Run("valid objects are accepted with defaults", func(t *testing.T) {
		plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "p12-defaults"}}
		mustCreate(t, plan)
		exponents := &tenancyv1alpha1.ServicePlan{
			ObjectMeta: metav1.ObjectMeta{Name: "p12-exponents"},
			Spec: tenancyv1alpha1.ServicePlanSpec{Quota: &tenancyv1alpha1.PlanQuota{Hard: corev1.ResourceList{
				corev1.ResourcePods: resource.MustParse("1e2"), corev1.ResourceRequestsMemory: resource.MustParse("64e9"),
				corev1.ResourceRequestsCPU: resource.MustParse("1e-1"),
			}}},
		}
		if err := k8s.Create(testCtx, exponents, client.DryRunAll); err != nil {
			t.Errorf("a plan with one- and two-digit exponents was rejected: %v", err)
		}
		s := plan.Spec
		if s.MaxNamespaces != 1 || s.PodSecurity != tenancyv1alpha1.PodSecurityRestricted ||
			s.OwnerRole != tenancyv1alpha1.OwnerRoleAdmin || s.Network.Egress != tenancyv1alpha1.EgressOpen {
			t.Errorf("plan defaults: maxNamespaces %d, podSecurity %q, ownerRole %q, egress %q; want 1, restricted, admin, Open",
				s.MaxNamespaces, s.PodSecurity, s.OwnerRole, s.Network.Egress)
		}

		port := int32(8080)
		product := &tenancyv1alpha1.ApiProduct{
			ObjectMeta: metav1.ObjectMeta{Name: "ap12-defaults"},
			Spec: tenancyv1alpha1.ApiProductSpec{
				DefaultVersion: "v2",
				Versions: []tenancyv1alpha1.ProductVersion{
					{Name: "v1", Components: []tenancyv1alpha1.Component{{Name: "api", Image: "x", Port: &port}, {Name: "worker", Image: "y"}}},
					{Name: "v2", Components: []tenancyv1alpha1.Component{{Name: "api", Image: "x", Port: &port}}},
				},
				Exposure: &tenancyv1alpha1.Exposure{Component: "api", Gateway: tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "gw"}},
			},
		}
		mustCreate(t, product)
		if product.Spec.Auth.Type != tenancyv1alpha1.AuthAPIKey {
			t.Errorf("product auth.type = %q, want the default APIKey", product.Spec.Auth.Type)
		}
		if p := product.Spec.Exposure.Policies; p != tenancyv1alpha1.GatewayPoliciesNone {
			t.Errorf("product exposure.policies = %q, want the default None", p)
		}

		// The gateway policy settings' defaults.
		gated := product.DeepCopy()
		gated.ObjectMeta = metav1.ObjectMeta{Name: "ap12-gateway-defaults"}
		gated.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
		gated.Spec.Auth = tenancyv1alpha1.Auth{APIKey: &tenancyv1alpha1.APIKeyAuth{}}
		if err := k8s.Create(testCtx, gated, client.DryRunAll); err != nil {
			t.Errorf("a product with an empty auth.apiKey was rejected: %v", err)
		} else if k := gated.Spec.Auth.APIKey; k.Header != "x-api-key" || k.RotationGracePeriod.Duration != 0 || gated.Spec.Auth.Type != tenancyv1alpha1.AuthAPIKey {
			t.Errorf("auth defaults: type %q, apiKey.header %q, apiKey.rotationGracePeriod %v; want APIKey, x-api-key, 0s",
				gated.Spec.Auth.Type, k.Header, k.RotationGracePeriod.Duration)
		}
		oauth := product.DeepCopy()
		oauth.ObjectMeta = metav1.ObjectMeta{Name: "ap12-oauth2-defaults"}
		oauth.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
		oauth.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthOAuth2, OAuth2: &tenancyv1alpha1.OAuth2{
			IssuerURL: "https://id.example.com", JWKSURI: "https://id.example.com/keys"}}
		if err := k8s.Create(testCtx, oauth, client.DryRunAll); err != nil {
			t.Errorf("a product with OAuth2 at the gateway was rejected: %v", err)
		} else if c := oauth.Spec.Auth.OAuth2.TenantClaim; c != "tenant" {
			t.Errorf("auth.oauth2.tenantClaim = %q, want the default tenant", c)
		}

		// The autoscaling target and the metrics path have defaults.
		scaled := &tenancyv1alpha1.ServicePlan{
			ObjectMeta: metav1.ObjectMeta{Name: "p12-autoscaling-defaults"},
			Spec: tenancyv1alpha1.ServicePlanSpec{Products: []tenancyv1alpha1.PlanProduct{{
				Name: "ap12-defaults", Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 5},
			}}},
		}
		if err := k8s.Create(testCtx, scaled, client.DryRunAll); err != nil {
			t.Errorf("a plan with autoscaling {minReplicas: 2, maxReplicas: 5} was rejected: %v", err)
		} else if a := scaled.Spec.Products[0].Autoscaling; a.TargetCPUUtilizationPercentage != 80 || a.MinReplicas != 2 || a.MaxReplicas != 5 {
			t.Errorf("autoscaling %+v, want minReplicas 2, maxReplicas 5 and the default targetCPUUtilizationPercentage 80", *a)
		}
		// tenancy defaults to Dedicated; spec.shared.replicas to 2.
		if got := scaled.Spec.Products[0].Tenancy; got != tenancyv1alpha1.TenancyDedicated {
			t.Errorf("plan products[0].tenancy = %q, want the default Dedicated", got)
		}
		shared := product.DeepCopy()
		shared.ObjectMeta = metav1.ObjectMeta{Name: "ap12-shared-defaults"}
		shared.Spec.Shared = &tenancyv1alpha1.SharedSpec{}
		if err := k8s.Create(testCtx, shared, client.DryRunAll); err != nil {
			t.Errorf("a product with an empty spec.shared was rejected: %v", err)
		} else if r := shared.Spec.Shared.Replicas; r == nil || *r != 2 || shared.Spec.Shared.Namespace != "" {
			t.Errorf("spec.shared %+v, want the default replicas 2 and no namespace (shared-<product> is the operator's default)", *shared.Spec.Shared)
		}
		monitored := product.DeepCopy()
		monitored.ObjectMeta = metav1.ObjectMeta{Name: "ap12-metrics-defaults"}
		monitored.Spec.Versions[0].Components[0].Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 9090}
		if err := k8s.Create(testCtx, monitored, client.DryRunAll); err != nil {
			t.Errorf("a product with metrics {port: 9090} was rejected: %v", err)
		} else if m := monitored.Spec.Versions[0].Components[0].Metrics; m.Path != "/metrics" || m.Port != 9090 {
			t.Errorf("metrics %+v, want port 9090 and the default path /metrics", *m)
		}

		tenant := &tenancyv1alpha1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Name: "t12-valid"},
			Spec: tenancyv1alpha1.TenantSpec{
				Plan: "p12-defaults",
				Owners: []tenancyv1alpha1.Owner{
					{Kind: tenancyv1alpha1.OwnerUser, Name: "alice"},
					{Kind: tenancyv1alpha1.OwnerServiceAccount, Name: "deployer", Namespace: "t12-valid"},
				},
				Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: "t12-valid"}, {Name: "t12-valid-dev", QuotaWeight: 2}},
				Products:   []tenancyv1alpha1.TenantProduct{{Name: "ap12-defaults", Namespace: "t12-valid-dev"}},
			},
		}
		if err := k8s.Create(testCtx, tenant, client.DryRunAll); err != nil {
			t.Fatalf("valid tenant rejected: %v", err)
		}
		if tenant.Spec.DeletionPolicy != tenancyv1alpha1.DeletionDelete {
			t.Errorf("tenant deletionPolicy = %q, want the default Delete", tenant.Spec.DeletionPolicy)
		}
		if w := tenant.Spec.Namespaces[0].QuotaWeight; w != 1 {
			t.Errorf("tenant namespaces[0].quotaWeight = %d, want the default 1", w)
		}
	})
}

// rejectedCase is input the CRDs refuse, with the field the error must name (as
// "<field>: ", so not "<nil>") and an excerpt of its message.
type rejectedCase struct{ name, yaml, field, want string }

// fieldCases are the rules that need no other object (issue 11): image references, env
// names the operator sets, hostname and path syntax, quota and limit resource names, whole
// numbers and 64-bit bounds of quota values, limitRange ordering, label selector operators
// and peers of allowIngressFrom, allowEgressTo CIDRs, and tenant owners.
func fieldCases(tenantHead, owner, planHead, productHead string) []rejectedCase {
	component := func(c string) string {
		return productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [" + c + "]}]\n"
	}
	exposure := func(e string) string {
		return productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]\n" +
			"  exposure: {component: api, gateway: {name: public, namespace: gw}, " + e + "}\n"
	}
	quota := func(hard string) string { return planHead + "  quota: {hard: {" + hard + "}}\n" }
	limits := func(lr string) string { return planHead + "  limitRange: {" + lr + "}\n" }
	ingress := func(peer string) string { return planHead + "  network: {allowIngressFrom: [" + peer + "]}\n" }
	owners := func(o string) string { return tenantHead + "  owners: [" + o + "]\n" }
	// auth of a product exposed with the given policies ("" for none: the default None).
	gatewayAuth := func(policies, auth string) string {
		e := "{component: api, gateway: {name: public, namespace: gw}}"
		if policies != "" {
			e = "{component: api, gateway: {name: public, namespace: gw}, policies: " + policies + "}"
		}
		return productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]\n" +
			"  exposure: " + e + "\n  auth: " + auth + "\n"
	}
	apiKeyAuth := func(k string) string { return gatewayAuth("EnvoyGateway", "{type: APIKey, apiKey: {"+k+"}}") }
	oauth2Auth := func(o string) string {
		return gatewayAuth("EnvoyGateway", "{type: OAuth2, oauth2: {issuerURL: \"https://id.example.com\", "+o+"}}")
	}

	const (
		image      = "spec.versions[0].components[0].image"
		env        = "spec.versions[0].components[0].env[0].name"
		hostname   = "spec.exposure.hostname"
		pathPrefix = "spec.exposure.pathPrefix"
		hard       = "spec.quota.hard"
		peer       = "spec.network.allowIngressFrom[0]"

		blank     = "image must not contain spaces, tabs or line breaks"
		reference = "image must be an image reference [registry[:port]/]path[:tag][@sha256:<64 lowercase hex digits>]"
		reserved  = "TENANT, PRODUCT_VERSION, RATE_LIMIT_RPM and API_KEY are set by the operator on every component"
		dnsName   = "exposure.hostname must be a DNS name once {tenant} is replaced"
		pathChars = "exposure.pathPrefix may only contain letters, digits, /, %XX escapes and the URL path characters"
		segments  = "exposure.pathPrefix must not contain an empty segment (//), a . or .. segment, or an encoded slash (%2F)"
		quotaName = "spec.quota.hard keys must be ResourceQuota resource names"
		whole     = "spec.quota.hard values that count objects"
		bits      = "spec.quota.hard values must fit in 64 bits when the operator splits them"
		limitName = "keys must be container resource names"
		operator  = "each operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values"
		saNS      = "a ServiceAccount owner's namespace must be one of the tenant's namespaces"
		group     = "a Group owner may not be a system: group"
		user      = "a User owner may not be named system:"

		header      = "spec.auth.apiKey.header"
		grace       = "spec.auth.apiKey.rotationGracePeriod"
		jwksURI     = "spec.auth.oauth2.jwksURI"
		claim       = "spec.auth.oauth2.tenantClaim"
		needsEG     = "auth.apiKey (header, rotationGracePeriod) is what the gateway checks: it needs exposure.policies EnvoyGateway"
		needsJWKS   = "auth.oauth2.jwksURI is required with exposure.policies EnvoyGateway and auth.type OAuth2"
		headerName  = "auth.apiKey.header must be an HTTP header name of letters, digits and - (no _: Envoy refuses requests with underscores in header names by default)"
		headerTaken = "auth.apiKey.header must not be a header that HTTP, Envoy or the platform gives another meaning"
		graceUnit   = "auth.apiKey.rotationGracePeriod must be a duration of hours, minutes and seconds"
		graceMax    = "auth.apiKey.rotationGracePeriod must be at most 720h (30 days)"
		https       = "auth.oauth2.jwksURI must be an https:// URL"
		claimName   = "auth.oauth2.tenantClaim must be a claim name of letters, digits, - and _, with . between the names of nested claims"
	)
	autoscaling := func(a string) string { return planHead + "  products: [{name: payments, autoscaling: {" + a + "}}]\n" }
	const (
		scaling = "spec.products[0].autoscaling"
		metrics = "spec.versions[0].components[0].metrics"
	)
	sixteen := strings.Repeat("{key: k, operator: Exists}, ", 16)
	return []rejectedCase{
		{"component resources with a quota key instead of a container resource", component("{name: api, image: x, resources: {requests: {requests.cpu: 100m}}}"),
			"spec.versions[0].components[0].resources.requests", "resources.requests keys must be container resource names"},
		{"plan product resources limits with an unknown resource", planHead + "  products: [{name: x, resources: {limits: {gpu: \"1\"}}}]\n",
			"spec.products[0].resources.limits", "resources.limits keys must be container resource names"},
		// ApiProduct components.
		{"image a blank", component(`{name: api, image: " "}`), image, blank},
		{"image with a trailing space", component(`{name: api, image: "registry.example.com/api:1.0 "}`), image, blank},
		{"image with a tab inside", component(`{name: api, image: "registry.example.com/api:\t1.0"}`), image, blank},
		{"image with an uppercase path", component(`{name: api, image: registry.example.com/Payments:1.0}`), image, reference},
		{"image with a URL scheme", component(`{name: api, image: "https://registry.example.com/api:1.0"}`), image, reference},
		{"image with an empty tag", component(`{name: api, image: "registry.example.com/api:"}`), image, reference},
		{"image with a tag longer than 128 characters", component(`{name: api, image: "api:` + strings.Repeat("a", 129) + `"}`), image, reference},
		{"image with a short sha256 digest", component(`{name: api, image: "registry.example.com/api@sha256:0123abcd"}`), image, reference},
		{"image with an uppercase sha256 digest", component(`{name: api, image: "api@sha256:` + strings.Repeat("ABCD", 16) + `"}`), image, reference},
		{"env TENANT", component(`{name: api, image: x, env: [{name: TENANT, value: other}]}`), env, reserved},
		{"env PRODUCT_VERSION", component(`{name: api, image: x, env: [{name: PRODUCT_VERSION, value: v9}]}`), env, reserved},
		{"env RATE_LIMIT_RPM", component(`{name: api, image: x, env: [{name: RATE_LIMIT_RPM, value: "0"}]}`), env, reserved},
		{"env API_KEY", component(`{name: api, image: x, env: [{name: API_KEY, value: leaked}]}`), env, reserved},

		// ApiProduct versions.
		{"version with a sunset and deprecated: false", productHead + `  defaultVersion: v1
  versions:
  - {name: v1, components: [{name: api, image: x}]}
  - {name: v2, deprecated: false, sunset: "2027-06-30T00:00:00Z", components: [{name: api, image: x}]}
`, "spec.versions[1]", "versions[].sunset needs deprecated: true"},

		// ApiProduct exposure.
		{"hostname with uppercase letters", exposure(`hostname: "{tenant}.API.example.com"`), hostname, dnsName},
		{"hostname with an underscore", exposure(`hostname: "{tenant}_api.example.com"`), hostname, dnsName},
		{"hostname with a port", exposure(`hostname: "{tenant}.example.com:8443"`), hostname, dnsName},
		{"hostname with an empty label", exposure(`hostname: "{tenant}..example.com"`), hostname, dnsName},
		{"hostname with a trailing dot", exposure(`hostname: "{tenant}.example.com."`), hostname, dnsName},
		{"pathPrefix without a leading slash", exposure(`pathPrefix: payments`), pathPrefix, "exposure.pathPrefix must start with /, e.g. /payments"},
		{"pathPrefix with a space", exposure(`pathPrefix: "/pay ments"`), pathPrefix, pathChars},
		{"pathPrefix with a query", exposure(`pathPrefix: "/payments?v=2"`), pathPrefix, pathChars},
		{"pathPrefix with a .. segment", exposure(`pathPrefix: /payments/../admin`), pathPrefix, segments},
		{"pathPrefix ending in a . segment", exposure(`pathPrefix: /payments/.`), pathPrefix, segments},
		{"pathPrefix with an empty segment", exposure(`pathPrefix: /payments//v2`), pathPrefix, segments},
		{"pathPrefix with an encoded slash", exposure(`pathPrefix: /payments%2Fadmin`), pathPrefix, segments},
		{"exposure policies not in the enum", exposure(`policies: Istio`), "spec.exposure.policies", `Unsupported value: "Istio"`},

		// ApiProduct gateway policies (exposure.policies EnvoyGateway, auth.apiKey, auth.oauth2).
		{"auth.apiKey with policies defaulted to None", gatewayAuth("", "{type: APIKey, apiKey: {header: x-key}}"), "spec", needsEG},
		{"auth.apiKey with policies None", gatewayAuth("None", "{apiKey: {rotationGracePeriod: 1h}}"), "spec", needsEG},
		{"auth.apiKey without exposure", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n" +
			"  auth: {type: APIKey, apiKey: {}}\n", "spec", needsEG},
		{"auth.apiKey with auth.type OAuth2", gatewayAuth("EnvoyGateway",
			"{type: OAuth2, apiKey: {header: x-key}, oauth2: {issuerURL: \"https://id.example.com\", jwksURI: \"https://id.example.com/keys\"}}"),
			"spec.auth", "auth.apiKey is only for auth.type APIKey: remove it, or set type APIKey"},
		{"auth.apiKey with auth.type None", gatewayAuth("EnvoyGateway", "{type: None, apiKey: {}}"),
			"spec.auth", "auth.apiKey is only for auth.type APIKey: remove it, or set type APIKey"},
		{"auth.oauth2 with auth.type APIKey", gatewayAuth("None", "{type: APIKey, oauth2: {issuerURL: \"https://id.example.com\"}}"),
			"spec.auth", "auth.oauth2 is only for auth.type OAuth2: remove it, or set type OAuth2"},
		{"auth.oauth2 with auth.type defaulted to APIKey", gatewayAuth("", "{oauth2: {issuerURL: \"https://id.example.com\"}}"),
			"spec.auth", "auth.oauth2 is only for auth.type OAuth2: remove it, or set type OAuth2"},
		{"policies EnvoyGateway with OAuth2 and no jwksURI", oauth2Auth(`audience: payments`), "spec", needsJWKS},
		{"header with a space", apiKeyAuth(`header: "x api key"`), header, headerName},
		{"header with a colon", apiKeyAuth(`header: "x-api-key:"`), header, headerName},
		{"header starting with -", apiKeyAuth(`header: -api-key`), header, headerName},
		{"header with a dot", apiKeyAuth(`header: x.api.key`), header, headerName},
		{"header with an underscore (Envoy refuses such requests)", apiKeyAuth(`header: x_api_key`), header, headerName},
		{"header Proxy-Authorization", apiKeyAuth(`header: Proxy-Authorization`), header, headerTaken},
		{"header x-envoy-*", apiKeyAuth(`header: x-envoy-original-path`), header, headerTaken},
		{"header empty", apiKeyAuth(`header: ""`), header, "should be at least 1 chars long"},
		{"header longer than 64 characters", apiKeyAuth(`header: x-` + strings.Repeat("k", 63)), header, "Too long: may not be more than 64 bytes"},
		{"header Authorization", apiKeyAuth(`header: Authorization`), header, headerTaken},
		{"header host", apiKeyAuth(`header: host`), header, headerTaken},
		{"header COOKIE", apiKeyAuth(`header: COOKIE`), header, headerTaken},
		{"header X-Tenant (the platform's)", apiKeyAuth(`header: X-Tenant`), header, headerTaken},
		{"header Content-Length", apiKeyAuth(`header: Content-Length`), header, headerTaken},
		{"header transfer-encoding", apiKeyAuth(`header: transfer-encoding`), header, headerTaken},
		{"rotationGracePeriod in days", apiKeyAuth(`rotationGracePeriod: 1d`), grace, graceUnit},
		{"rotationGracePeriod without a unit", apiKeyAuth(`rotationGracePeriod: "60"`), grace, graceUnit},
		{"rotationGracePeriod negative", apiKeyAuth(`rotationGracePeriod: -1h`), grace, graceUnit},
		{"rotationGracePeriod in words", apiKeyAuth(`rotationGracePeriod: 1 hour`), grace, graceUnit},
		{"rotationGracePeriod 721h", apiKeyAuth(`rotationGracePeriod: 721h`), grace, graceMax},
		{"rotationGracePeriod one second over 720h", apiKeyAuth(`rotationGracePeriod: 720h1s`), grace, graceMax},
		{"rotationGracePeriod 43201m", apiKeyAuth(`rotationGracePeriod: 43201m`), grace, graceMax},
		{"jwksURI over http", oauth2Auth(`jwksURI: "http://id.example.com/keys"`), jwksURI, https},
		{"jwksURI without a scheme", oauth2Auth(`jwksURI: id.example.com/keys`), jwksURI, https},
		{"jwksURI without a host", oauth2Auth(`jwksURI: "https:///keys"`), jwksURI, https},
		{"jwksURI with a space", oauth2Auth(`jwksURI: "https://id.example.com/my keys"`), jwksURI, https},
		{"tenantClaim with a space", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: "org id"`), claim, claimName},
		{"tenantClaim starting with -", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: -org`), claim, claimName},
		{"tenantClaim with a $", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: "org$"`), claim, claimName},
		{"tenantClaim URL-style (its dots would read as nesting)", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: "https://example.com/tenant"`), claim, claimName},
		{"tenantClaim with an empty nested name", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: "org..tenant"`), claim, claimName},
		{"tenantClaim empty", oauth2Auth(`jwksURI: "https://id.example.com/keys", tenantClaim: ""`), claim, "should be at least 1 chars long"},

		// ServicePlan quota.
		{"quota key request.cpu (a typo)", quota(`request.cpu: "1"`), hard, quotaName},
		{"quota key limits.storage (not a quota resource)", quota(`limits.storage: 10Gi`), hard, quotaName},
		{"quota key limits.hugepages-2Mi (only requests.hugepages-*)", quota(`limits.hugepages-2Mi: 1Gi`), hard, quotaName},
		{"quota key with an uppercase domain", quota(`Count/deployments.apps: "3"`), hard, quotaName},
		{"quota key with two slashes", quota(`count/deployments/apps: "3"`), hard, quotaName},
		{"quota pods 1.5", quota(`pods: "1.5"`), hard, whole},
		{"quota count/deployments.apps 2.5", quota(`count/deployments.apps: "2.5"`), hard, whole},
		{"quota services.loadbalancers 500m", quota(`services.loadbalancers: 500m`), hard, whole},
		{"quota secrets 0.9995", quota(`secrets: "0.9995"`), hard, whole},
		{"quota negative requests.cpu", quota(`requests.cpu: "-1"`), hard, "spec.quota.hard values must not be negative"},
		{"quota pods above 2^63-1", quota(`pods: "1E19"`), hard, bits},
		{"quota requests.memory one byte above 2^63-1", quota(`requests.memory: "9223372036854775808"`), hard, bits},
		{"quota requests.cpu one millicore above 2^63-1 millicores", quota(`requests.cpu: 9223372036854775808m`), hard, bits},
		{"quota non-whole requests.memory above 2^63-1 thousandths", quota(`requests.memory: "9223372036854776.5"`), hard, bits},
		{"quota value longer than 64 characters", quota(`pods: "1` + strings.Repeat("0", 64) + `"`), hard + ".pods", "Too long: may not be more than 64 bytes"},
		{"component resources value longer than 64 characters", component(`{name: api, image: x, resources: {requests: {cpu: "0.` + strings.Repeat("0", 63) + `1"}}}`),
			"spec.versions[0].components[0].resources.requests.cpu", "Too long: may not be more than 64 bytes"},

		// ServicePlan limitRange.
		{"limitRange key gpu without a domain", limits(`max: {gpu: "1"}`), "spec.limitRange.max", "limitRange.max " + limitName},
		{"limitRange key pods (a quota name)", limits(`min: {pods: "1"}`), "spec.limitRange.min", "limitRange.min " + limitName},
		{"limitRange key requests.example.com/gpu", limits(`default: {requests.example.com/gpu: "1"}`), "spec.limitRange.default", "limitRange.default " + limitName},
		{"limitRange key hugepages- without a size", limits(`defaultRequest: {"hugepages-": 2Mi}`), "spec.limitRange.defaultRequest", "limitRange.defaultRequest " + limitName},
		{"limitRange min above max", limits(`min: {cpu: "2"}, max: {cpu: "1"}`), "spec.limitRange.min",
			"limitRange.min is above limitRange.max for a resource: lower min or raise max"},
		{"limitRange defaultRequest below min", limits(`min: {memory: 1Gi}, defaultRequest: {memory: 512Mi}`), "spec.limitRange.defaultRequest",
			"limitRange.defaultRequest is below limitRange.min for a resource: raise defaultRequest or lower min"},
		{"limitRange defaultRequest above max", limits(`defaultRequest: {memory: 2Gi}, max: {memory: 1Gi}`), "spec.limitRange.defaultRequest",
			"limitRange.defaultRequest is above limitRange.max for a resource: lower defaultRequest or raise max"},
		{"limitRange defaultRequest above default", limits(`defaultRequest: {cpu: 500m}, default: {cpu: 200m}`), "spec.limitRange.defaultRequest",
			"limitRange.defaultRequest is above limitRange.default for a resource (a default request cannot exceed the default limit)"},
		{"limitRange default below min", limits(`min: {cpu: 200m}, default: {cpu: 100m}`), "spec.limitRange.default",
			"limitRange.default is below limitRange.min for a resource: raise default or lower min"},
		{"limitRange default above max", limits(`default: {cpu: "2"}, max: {cpu: "1"}`), "spec.limitRange.default",
			"limitRange.default is above limitRange.max for a resource: lower default or raise max"},
		{"limitRange default above max in one of two resources", limits(`default: {cpu: 500m, memory: 2Gi}, max: {cpu: "1", memory: 1Gi}`), "spec.limitRange.default",
			"limitRange.default is above limitRange.max"},

		// ServicePlan network.
		{"allowIngressFrom operator Equals", ingress(`{namespaceSelector: {matchExpressions: [{key: team, operator: Equals, values: [a]}]}}`),
			peer + ".namespaceSelector.matchExpressions", operator},
		{"allowIngressFrom operator In without values", ingress(`{podSelector: {matchExpressions: [{key: app, operator: In}]}}`),
			peer + ".podSelector.matchExpressions", operator},
		{"allowIngressFrom operator Exists with values", ingress(`{namespaceSelector: {matchExpressions: [{key: team, operator: Exists, values: [a]}]}}`),
			peer + ".namespaceSelector.matchExpressions", operator},
		{"allowIngressFrom operator lowercase in, second expression", ingress(`{podSelector: {matchExpressions: [{key: app, operator: Exists}, {key: tier, operator: in, values: [web]}]}}`),
			peer + ".podSelector.matchExpressions", operator},
		{"allowIngressFrom with 17 matchExpressions", ingress(`{namespaceSelector: {matchExpressions: [` + sixteen + `{key: k, operator: Exists}]}}`),
			peer + ".namespaceSelector.matchExpressions", "allowIngressFrom namespaceSelector.matchExpressions may have at most 16 entries"},
		{"allowIngressFrom empty peer", ingress(`{}`), peer, "each allowIngressFrom entry needs a podSelector, a namespaceSelector or an ipBlock"},
		{"allowIngressFrom ipBlock with a podSelector", ingress(`{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}`), peer,
			"an allowIngressFrom entry with an ipBlock may not also have a podSelector or a namespaceSelector"},
		{"allowIngressFrom ipBlock cidr not a CIDR", ingress(`{ipBlock: {cidr: 10.0.0.0}}`), peer + ".ipBlock.cidr",
			"allowIngressFrom ipBlock.cidr must be a CIDR such as 10.20.0.0/16"},
		{"allowEgressTo entry not a CIDR", planHead + "  network: {egress: Restricted, allowEgressTo: [10.20.0.0/16, 10.30.0.0]}\n",
			"spec.network.allowEgressTo[1]", "allowEgressTo entries must be CIDRs such as 10.20.0.0/16"},

		// ServicePlan product autoscaling and ApiProduct component metrics.
		{"autoscaling minReplicas above maxReplicas", autoscaling("minReplicas: 5, maxReplicas: 3"), scaling,
			"autoscaling.minReplicas must not be above autoscaling.maxReplicas"},
		{"autoscaling minReplicas 0", autoscaling("minReplicas: 0, maxReplicas: 3"), scaling + ".minReplicas", "should be greater than or equal to 1"},
		{"autoscaling maxReplicas 101", autoscaling("minReplicas: 2, maxReplicas: 101"), scaling + ".maxReplicas", "should be less than or equal to 100"},
		{"autoscaling without maxReplicas", autoscaling("minReplicas: 2"), scaling + ".maxReplicas", "Required value"},
		{"autoscaling targetCPUUtilizationPercentage 0", autoscaling("minReplicas: 2, maxReplicas: 3, targetCPUUtilizationPercentage: 0"),
			scaling + ".targetCPUUtilizationPercentage", "should be greater than or equal to 1"},
		{"autoscaling targetCPUUtilizationPercentage 101", autoscaling("minReplicas: 2, maxReplicas: 3, targetCPUUtilizationPercentage: 101"),
			scaling + ".targetCPUUtilizationPercentage", "should be less than or equal to 100"},
		// ServicePlan product tenancy and ApiProduct shared instances.
		{"tenancy Shared with autoscaling", planHead + "  products: [{name: payments, tenancy: Shared, autoscaling: {minReplicas: 2, maxReplicas: 3}}]\n",
			"spec.products[0]", "autoscaling is for Dedicated instances: a Shared product runs the replicas of the ApiProduct's spec.shared.replicas; remove autoscaling or set tenancy Dedicated"},
		{"tenancy not in the enum", planHead + "  products: [{name: payments, tenancy: Pooled}]\n", "spec.products[0].tenancy", `Unsupported value: "Pooled"`},
		{"tenancy lowercase shared", planHead + "  products: [{name: payments, tenancy: shared}]\n", "spec.products[0].tenancy", `Unsupported value: "shared"`},
		{"shared replicas 0", component("{name: api, image: x}") + "  shared: {replicas: 0}\n", "spec.shared.replicas", "should be greater than or equal to 1"},
		{"shared replicas 101", component("{name: api, image: x}") + "  shared: {replicas: 101}\n", "spec.shared.replicas", "should be less than or equal to 100"},
		{"shared namespace not a DNS label", component("{name: api, image: x}") + "  shared: {namespace: Shared_Payments}\n", "spec.shared.namespace", "should match"},
		{"shared namespace ending in a dash", component("{name: api, image: x}") + "  shared: {namespace: shared-}\n", "spec.shared.namespace", "should match"},
		{"shared namespace longer than 63 characters", component("{name: api, image: x}") + "  shared: {namespace: s" + strings.Repeat("a", 63) + "}\n",
			"spec.shared.namespace", "Too long"},
		{"metrics port 0", component("{name: api, image: x, metrics: {port: 0}}"), metrics + ".port", "should be greater than or equal to 1"},
		{"metrics port 70000", component("{name: api, image: x, metrics: {port: 70000}}"), metrics + ".port", "should be less than or equal to 65535"},
		{"metrics without a port", component("{name: api, image: x, metrics: {path: /metrics}}"), metrics + ".port", "Required value"},
		{"metrics path without a leading /", component("{name: api, image: x, metrics: {port: 9090, path: metrics}}"), metrics + ".path", "should match"},
		{"metrics path with a space", component(`{name: api, image: x, metrics: {port: 9090, path: "/me trics"}}`), metrics + ".path", "should match"},
		{"metrics path with a query", component(`{name: api, image: x, metrics: {port: 9090, path: "/metrics?format=text"}}`), metrics + ".path", "should match"},

		// Tenant owners.
		{"ServiceAccount owner in another namespace", owners(`{kind: ServiceAccount, name: deployer, namespace: ci}`), "spec.owners", saNS},
		{"ServiceAccount owner in the tenant's name while namespaces lists others",
			owners(`{kind: ServiceAccount, name: deployer, namespace: t12-cel}`) + "  namespaces: [{name: t12-cel-dev}]\n", "spec.owners", saNS},
		{"ServiceAccount owner name not a ServiceAccount name", owners(`{kind: ServiceAccount, name: Deployer_1, namespace: t12-cel}`),
			"spec.owners[0].name", "a ServiceAccount owner's name must be a ServiceAccount name"},
		{"Group owner system:authenticated", owners(`{kind: User, name: alice}, {kind: Group, name: "system:authenticated"}`), "spec.owners[1].name", group},
		{"Group owner system:serviceaccounts", owners(`{kind: Group, name: "system:serviceaccounts"}`), "spec.owners[0].name", group},
		{"Group owner system:masters", owners(`{kind: Group, name: "system:masters"}`), "spec.owners[0].name", group},
		{"User owner system:anonymous", owners(`{kind: User, name: "system:anonymous"}`), "spec.owners[0].name", user},
		{"User owner system:kube-controller-manager", owners(`{kind: User, name: "system:kube-controller-manager"}`), "spec.owners[0].name", user},
		{"User owner system:serviceaccount:<namespace>:<name>", owners(`{kind: User, name: "system:serviceaccount:t12-cel:deployer"}`),
			"spec.owners[0].name", "a service account is an owner of kind ServiceAccount with its name and namespace"},
	}
}

// acceptedCases are valid inputs close to the rules above: the rules are no stricter
// than Kubernetes and the operator need.
func acceptedCases(tenantHead, planHead, productHead string) []struct{ name, yaml string } {
	const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	return []struct{ name, yaml string }{
		{"images with a digest, a registry port, an IPv6 registry and separators", productHead + `  defaultVersion: v1
  versions:
  - name: v1
    components:
    - {name: digest, image: "registry.example.com/team/payments-api@sha256:` + sha + `"}
    - {name: both, image: "registry.example.com/payments-api:1.8.0@sha256:` + sha + `"}
    - {name: port, image: "localhost:5000/a__b/c.d/e--f:V1_rc.2"}
    - {name: ipv6, image: "[fd00::1]:5000/payments"}
    - {name: hub, image: nginx}
    - {name: env, image: x, env: [{name: LOG_LEVEL, value: info}, {name: TENANT_REGION, value: eu}]}
`},
		{"a rollout with every kind of wave and durations Go and CEL both read", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x}]}]
  rollout:
    waves:
    - {name: canary, tenantSelector: {matchLabels: {tenancy.openplatform.io/canary: "true"}, matchExpressions: [{key: tier, operator: NotIn, values: [gold]}, {key: beta, operator: Exists}]}}
    - {name: free, plans: [free, trial]}
    - {name: everyone}
    maxConcurrentTenants: 1000
    healthTimeout: 1h30m
    pauseBetweenWaves: 1.5h
    failurePolicy: Pause
    paused: true
`},
		{"hostname with {tenant} inside a label and a URL-safe pathPrefix", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, hostname: "api-{tenant}.eu-1.example.com", pathPrefix: "/v1/pay-ments_~:@!$&'()*+,;=%20/..x/"}
`},
		{"quota keys ResourceQuota accepts, whole numbers written in any form", planHead + `  quota:
    hard:
      requests.cpu: 9223372036854775807m
      limits.memory: "9223372036854775807"
      requests.ephemeral-storage: 1Ti
      requests.storage: 12.5Pi
      gold.storageclass.storage.k8s.io/requests.storage: 500Gi
      gold.storageclass.storage.k8s.io/persistentvolumeclaims: "10"
      count/deployments.apps: "20"
      count/pods: "1e2"
      requests.nvidia.com/gpu: "2.5"
      requests.hugepages-2Mi: 1Gi
      hugepages-1Gi: 2Gi
      pods: "9223372036854775807"
      services: 1000m
      secrets: "10.0"
      configmaps: 10
      services.nodeports: "0"
`},
		{"limitRange with hugepages and an extended resource in order", planHead + `  limitRange:
    min: {cpu: 10m, memory: 16Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi, hugepages-2Mi: 2Mi}
    default: {cpu: 500m, memory: 512Mi, hugepages-2Mi: 2Mi, example.com/gpu: "1"}
    max: {cpu: "4", memory: 8Gi, hugepages-2Mi: 1Gi, example.com/gpu: "2", ephemeral-storage: 10Gi, kubernetes.io/batteries: "1"}
`},
		{"limitRange bounds equal to each other", planHead + "  limitRange: {min: {cpu: 500m}, defaultRequest: {cpu: 500m}, default: {cpu: \"0.5\"}, max: {cpu: 500m}}\n"},
		{"allowIngressFrom with every operator, 16 matchExpressions and an ipBlock with except", planHead + `  network:
    allowIngressFrom:
    - namespaceSelector:
        matchExpressions:
        - {key: team, operator: In, values: [payments]}
        - {key: env, operator: NotIn, values: [dev, test]}
        - {key: gateway, operator: Exists}
        - {key: legacy, operator: DoesNotExist}
      podSelector: {matchLabels: {app: gateway}}
    - namespaceSelector: {matchExpressions: [` + strings.Repeat("{key: k, operator: Exists}, ", 15) + `{key: k, operator: Exists}]}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
`},
		{"a deprecated version with a sunset, next to a deprecated one without", productHead + `  defaultVersion: v3
  versions:
  - {name: v1, deprecated: true, sunset: "2027-06-30T00:00:00Z", components: [{name: api, image: x}]}
  - {name: v2, deprecated: true, components: [{name: api, image: x}]}
  - {name: v3, components: [{name: api, image: x}]}
`},
		{"gateway policies with API keys: a custom header and a grace period of exactly 720h", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, policies: EnvoyGateway}
  auth: {type: APIKey, apiKey: {header: X-Tenant-Key-2, rotationGracePeriod: 720h}}
`},
		{"gateway policies with API keys: a grace period in mixed and fractional units Go and CEL both read", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, policies: EnvoyGateway}
  auth: {apiKey: {header: x-tenant-tenancy, rotationGracePeriod: 1.5h30m10s500ms}}
`},
		{"gateway policies with OAuth2: a JWKS URI with a port and query, a nested tenant claim", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, policies: EnvoyGateway}
  auth: {type: OAuth2, oauth2: {issuerURL: "https://id.example.com", audience: payments, jwksURI: "https://id.example.com:8443/.well-known/jwks.json?v=2", tenantClaim: "org.tenant_id"}}
`},
		{"OAuth2 without jwksURI when nothing at the gateway checks tokens", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, policies: None}
  auth: {type: OAuth2, oauth2: {issuerURL: "https://id.example.com"}}
`},
		{"gateway policies with auth None", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}, policies: EnvoyGateway}
  auth: {type: None}
`},
		{"autoscaling at its bounds, minReplicas equal to maxReplicas", planHead + `  products:
  - {name: a, autoscaling: {minReplicas: 1, maxReplicas: 100, targetCPUUtilizationPercentage: 1}}
  - {name: b, replicas: 0, autoscaling: {minReplicas: 100, maxReplicas: 100, targetCPUUtilizationPercentage: 100}}
  - {name: c, autoscaling: {minReplicas: 3, maxReplicas: 3}}
`},
		{"tenancy Shared with replicas, next to Dedicated with autoscaling and a defaulted tenancy", planHead + `  products:
  - {name: a, tenancy: Shared, replicas: 3}
  - {name: b, tenancy: Dedicated, autoscaling: {minReplicas: 2, maxReplicas: 4}}
  - {name: c, autoscaling: {minReplicas: 2, maxReplicas: 4}}
`},
		{"shared namespace and replicas at their bounds", productHead + `  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: gw}}
  auth: {type: None}
  shared: {namespace: ` + strings.Repeat("s", 63) + `, replicas: 100}
`},
		{"shared with one replica", productHead + "  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}]}]\n  shared: {namespace: p-1, replicas: 1}\n"},
		{"metrics on a port of their own, on the component's port, at the port bounds and with URL path characters", productHead + `  defaultVersion: v1
  versions:
  - name: v1
    components:
    - {name: api, image: x, port: 8080, metrics: {port: 9090}}
    - {name: web, image: x, port: 8080, metrics: {port: 8080, path: /stats}}
    - {name: low, image: x, metrics: {port: 1, path: /}}
    - {name: high, image: x, metrics: {port: 65535, path: "/-._~/Prom/metrics.v2/"}}
`},
		{"ServiceAccount owner in the tenant's own namespace without spec.namespaces",
			tenantHead + "  owners: [{kind: ServiceAccount, name: ci.deployer, namespace: t12-cel}, {kind: User, name: \"alice@example.com\"}, {kind: Group, name: \"acme:admins\"}]\n"},
	}
}

// wantRejected creates doc (dry run) and wants it refused with a message containing want
// and, when field is set, naming field.
func wantRejected(t *testing.T, doc, field, want string) {
	t.Helper()
	u := decodeTestYAML(t, doc)
	err := k8s.Create(testCtx, u, client.DryRunAll)
	if err == nil {
		t.Fatalf("%s %s was accepted, want it rejected with %q", u.GetKind(), u.GetName(), want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("rejected with %q, want a message containing %q", err.Error(), want)
	}
	if field != "" && !strings.Contains(err.Error(), field+": ") {
		t.Errorf("rejected with %q, want the error to name the field %s", err.Error(), field)
	}
}

func decodeTestYAML(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	return u
}
