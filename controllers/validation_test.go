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
		{"plan allowEgressTo not a CIDR", planHead + "  network: {egress: Restricted, allowEgressTo: [10.20.0.0]}\n",
			"must be CIDRs"},
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
		{"product without versions", productHead + "  defaultVersion: v1\n  versions: []\n",
			"should have at least 1 items"},
		{"product with duplicate component names", productHead +
			"  defaultVersion: v1\n  versions: [{name: v1, components: [{name: api, image: x}, {name: api, image: y}]}]\n",
			"Duplicate value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.yaml), &u.Object); err != nil {
				t.Fatalf("bad test YAML: %v", err)
			}
			err := k8s.Create(testCtx, u, client.DryRunAll)
			if err == nil {
				t.Fatalf("%s %s was accepted, want it rejected with %q", u.GetKind(), u.GetName(), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rejected with %q, want a message containing %q", err.Error(), tc.want)
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
