package conditions

// Table tests of PlanReady.

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

func TestPlanStatusReady(t *testing.T) {
	// plan builds a plan with the given quota keys (pairs), limitRange and products.
	plan := func(quota []string, lr *tenancyv1alpha1.PlanLimitRange, products ...tenancyv1alpha1.PlanProduct) *tenancyv1alpha1.ServicePlan {
		p := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "gold", Generation: 3}}
		if quota != nil {
			p.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: rl(quota...)}
		}
		p.Spec.LimitRange = lr
		p.Spec.Products = products
		return p
	}
	res := func(requests, limits []string) *tenancyv1alpha1.ComputeResources {
		r := &tenancyv1alpha1.ComputeResources{}
		if requests != nil {
			r.Requests = rl(requests...)
		}
		if limits != nil {
			r.Limits = rl(limits...)
		}
		return r
	}
	component := func(name string, r *tenancyv1alpha1.ComputeResources) tenancyv1alpha1.Component {
		c := productComponent(name, "registry.example.com/"+name+":1.0.0", 0)
		c.Resources = r
		return c
	}
	// product has one version v1 with one component api with resources r.
	product := func(name string, r *tenancyv1alpha1.ComputeResources) *tenancyv1alpha1.ApiProduct {
		return newAPIProduct(name, "v1", productVersion("v1", component("api", r)))
	}
	entry := func(name string) tenancyv1alpha1.PlanProduct { return tenancyv1alpha1.PlanProduct{Name: name} }
	withResources := func(e tenancyv1alpha1.PlanProduct, r *tenancyv1alpha1.ComputeResources) tenancyv1alpha1.PlanProduct {
		e.Resources = r
		return e
	}
	products := func(ps ...*tenancyv1alpha1.ApiProduct) map[string]*tenancyv1alpha1.ApiProduct {
		m := map[string]*tenancyv1alpha1.ApiProduct{}
		for _, p := range ps {
			m[p.Name] = p
		}
		return m
	}
	cpuReq := []string{"requests.cpu", "4", "pods", "20"}
	bare := product("pay", nil)
	twoVersions := newAPIProduct("pay", "v2",
		productVersion("v1", component("api", nil)),
		productVersion("v2", component("api", res([]string{"cpu", "100m"}, nil))))

	for _, tc := range []struct {
		name     string
		plan     *tenancyv1alpha1.ServicePlan
		products map[string]*tenancyv1alpha1.ApiProduct
		tenants  []string
		deleting bool
		status   metav1.ConditionStatus
		reason   string
		// contains and absent are substrings the message must and must not have.
		contains, absent []string
	}{
		{
			name: "deleting while in use", plan: plan(cpuReq, nil, entry("pay")), products: products(bare),
			tenants: []string{"acme", "globex"}, deleting: true,
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInUse, contains: []string{"acme, globex"},
		},
		{
			name: "a missing product comes before everything but deletion", plan: plan(cpuReq,
				&tenancyv1alpha1.PlanLimitRange{Default: rl("cpu", "2"), Max: rl("cpu", "1")}, entry("pay"), entry("gone")),
			products: products(bare),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonProductNotFound, contains: []string{"gone"}, absent: []string{"pay"},
		},
		{
			name: "no products, no quota", plan: plan(nil, nil),
			status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled, contains: []string{"in use by 0 tenants"},
		},
		{
			name: "counts the tenants", plan: plan(cpuReq, nil), tenants: []string{"a", "b"},
			status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled, contains: []string{"in use by 2 tenants"},
		},
		{
			name: "quota without compute keys needs no defaults", plan: plan([]string{"pods", "10", "count/deployments.apps", "5"}, nil, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},

		// MissingResourceDefaults, each key kind.
		{
			name: "requests.cpu, component sets nothing, no limitRange", plan: plan(cpuReq, nil, entry("pay")), products: products(bare),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"must specify requests.cpu", "quota.hard requests.cpu", "ApiProduct pay", "component api", "version v1",
				"spec.limitRange.defaultRequest.cpu", "default.cpu", "component's resources", "spec.products[pay].resources"},
			absent: []string{"pods"},
		},
		{
			name: "requests.memory", plan: plan([]string{"requests.memory", "1Gi"}, nil, entry("pay")), products: products(bare),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"quota.hard requests.memory", "spec.limitRange.defaultRequest.memory", "requests.memory in the component's resources"},
		},
		{
			name: "bare cpu counts as requests", plan: plan([]string{"cpu", "4"}, nil, entry("pay")), products: products(bare),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"must specify cpu", "quota.hard cpu", "spec.limitRange.defaultRequest.cpu", "requests.cpu in the component's resources"},
		},
		{
			name: "bare memory counts as requests", plan: plan([]string{"memory", "1Gi"}, nil, entry("pay")), products: products(bare),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"quota.hard memory", "spec.limitRange.defaultRequest.memory"},
		},
		{
			name: "bare cpu is satisfied by a request", plan: plan([]string{"cpu", "4"}, nil, entry("pay")),
			products: products(product("pay", res([]string{"cpu", "100m"}, nil))),
			status:   metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "limits.cpu, the component sets only requests", plan: plan([]string{"limits.cpu", "8"}, nil, entry("pay")),
			products: products(product("pay", res([]string{"cpu", "100m"}, nil))),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"no cpu limit (quota.hard limits.cpu)", "spec.limitRange.default.cpu", "limits.cpu in the component's resources"},
			absent:   []string{"defaultRequest"},
		},
		{
			name: "limits.memory", plan: plan([]string{"limits.memory", "8Gi"}, nil, entry("pay")), products: products(bare),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"quota.hard limits.memory", "spec.limitRange.default.memory"},
		},
		{
			name: "every key the component misses is named", plan: plan([]string{"requests.cpu", "4", "limits.memory", "8Gi"}, nil, entry("pay")),
			products: products(bare),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			// In the order of the keys, as quota admission names them.
			contains: []string{"must specify limits.memory",
				"no memory limit (quota.hard limits.memory) and no cpu request (quota.hard requests.cpu)",
				"set spec.limitRange.default.memory and spec.limitRange.defaultRequest.cpu (or default.cpu) on the plan",
				"or limits.memory and requests.cpu in the component's resources"},
		},
		{
			name: "a limit stands in for the request (Pod defaulting copies it)", plan: plan([]string{"requests.cpu", "4", "limits.cpu", "8"}, nil, entry("pay")),
			products: products(product("pay", res(nil, []string{"cpu", "1"}))),
			status:   metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "the component sets everything", plan: plan([]string{"requests.cpu", "4", "requests.memory", "4Gi", "limits.cpu", "8", "limits.memory", "8Gi"}, nil, entry("pay")),
			products: products(product("pay", res([]string{"cpu", "100m", "memory", "64Mi"}, []string{"cpu", "200m", "memory", "128Mi"}))),
			status:   metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},

		// MissingResourceDefaults: what the limitRange defaults.
		{
			name: "defaultRequest fills the request", plan: plan(cpuReq, &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("cpu", "100m")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "default fills the request when defaultRequest is unset", plan: plan(cpuReq, &tenancyv1alpha1.PlanLimitRange{Default: rl("cpu", "500m")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "max fills the limit (and so the request)", plan: plan([]string{"requests.cpu", "4", "limits.cpu", "8"}, &tenancyv1alpha1.PlanLimitRange{Max: rl("cpu", "2")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "min fills the request", plan: plan(cpuReq, &tenancyv1alpha1.PlanLimitRange{Min: rl("cpu", "10m")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "defaultRequest does not fill a limit", plan: plan([]string{"limits.cpu", "8"}, &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("cpu", "100m")}, entry("pay")),
			products: products(bare), status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"quota.hard limits.cpu"},
		},
		{
			name: "default fills the limit", plan: plan([]string{"limits.cpu", "8"}, &tenancyv1alpha1.PlanLimitRange{Default: rl("cpu", "1")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "a default of another resource does not help", plan: plan(cpuReq, &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("memory", "64Mi")}, entry("pay")),
			products: products(bare), status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"quota.hard requests.cpu"},
		},

		// MissingResourceDefaults: the plan entry's resources replace the component's.
		{
			name: "the plan's resources heal a bare component", plan: plan(cpuReq, nil, withResources(entry("pay"), res([]string{"cpu", "250m"}, nil))),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "the plan's resources replace the component's, which set the key", plan: plan(cpuReq, nil, withResources(entry("pay"), res([]string{"memory", "64Mi"}, nil))),
			products: products(product("pay", res([]string{"cpu", "100m"}, nil))),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"component api (with the plan's spec.products[pay].resources, which replace the component's)",
				"requests.cpu in the plan's spec.products[pay].resources"},
			absent: []string{"in the component's resources"},
		},
		{
			name: "every version is checked, not only the default", plan: plan(cpuReq, nil, entry("pay")),
			products: products(twoVersions),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"ApiProduct pay version v1 component api"}, absent: []string{"version v2"},
		},
		{
			name: "every component and product is named", plan: plan(cpuReq, nil, entry("pay"), entry("reports")),
			products: products(
				newAPIProduct("pay", "v1", productVersion("v1", component("api", res([]string{"cpu", "1"}, nil)), component("worker", nil))),
				product("reports", nil)),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"ApiProduct pay version v1 component worker", "ApiProduct reports version v1 component api"},
			absent:   []string{"ApiProduct pay version v1 component api "},
		},
		{
			name: "long lists are cut", plan: plan(cpuReq, nil, entry("pay")),
			products: products(newAPIProduct("pay", "v1", productVersion("v1",
				component("c1", nil), component("c2", nil), component("c3", nil), component("c4", nil),
				component("c5", nil), component("c6", nil), component("c7", nil)))),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonMissingResourceDefaults,
			contains: []string{"component c5", "; and 2 more."}, absent: []string{"component c6"},
		},

		// InvalidLimitRange: what the API server's LimitRange validation refuses.
		{
			name: "default above max", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{Default: rl("cpu", "2"), Max: rl("cpu", "1")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.default.cpu (2) is above spec.limitRange.max.cpu (1)", "tenant-limits"},
		},
		{
			name: "defaultRequest above default", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("memory", "1Gi"), Default: rl("memory", "512Mi")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.defaultRequest.memory (1Gi) is above spec.limitRange.default.memory (512Mi)"},
		},
		{
			name: "defaultRequest above max (no default)", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("cpu", "2"), Max: rl("cpu", "1")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.defaultRequest.cpu (2) is above spec.limitRange.max.cpu (1)"},
		},
		{
			name: "min above max", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{Min: rl("cpu", "2"), Max: rl("cpu", "1")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.min.cpu (2) is above spec.limitRange.max.cpu (1)"},
		},
		{
			name: "min above defaultRequest", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{Min: rl("cpu", "200m"), DefaultRequest: rl("cpu", "100m")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.min.cpu (200m) is above spec.limitRange.defaultRequest.cpu (100m)"},
		},
		{
			name: "min above default", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{Min: rl("memory", "1Gi"), Default: rl("memory", "1Mi")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"spec.limitRange.min.memory (1Gi) is above spec.limitRange.default.memory (1Mi)"},
		},
		{
			name: "quantities compare by value, not by text", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{
				Min: rl("cpu", "0.1"), DefaultRequest: rl("cpu", "100m"), Default: rl("cpu", "1"), Max: rl("cpu", "1000m")}),
			status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
		{
			name: "1Gi is above 1G", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{Default: rl("memory", "1Gi"), Max: rl("memory", "1G")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"default.memory (1Gi) is above spec.limitRange.max.memory (1G)"},
		},
		{
			name: "every problem of every resource is listed", plan: plan(nil, &tenancyv1alpha1.PlanLimitRange{
				Default: rl("cpu", "2", "memory", "2Gi"), Max: rl("cpu", "1", "memory", "1Gi")}),
			status: metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
			contains: []string{"default.cpu (2) is above spec.limitRange.max.cpu (1); spec.limitRange.default.memory"},
		},
		{
			name: "an invalid limitRange comes before missing defaults", plan: plan(cpuReq,
				&tenancyv1alpha1.PlanLimitRange{Default: rl("memory", "2Gi"), Max: rl("memory", "1Gi")}, entry("pay")),
			products: products(bare),
			status:   metav1.ConditionFalse, reason: tenancyv1alpha1.ReasonInvalidLimitRange,
		},
		{
			name: "a valid limitRange with every field", plan: plan(cpuReq, &tenancyv1alpha1.PlanLimitRange{
				Min: rl("cpu", "10m"), DefaultRequest: rl("cpu", "100m"), Default: rl("cpu", "500m"), Max: rl("cpu", "4")}, entry("pay")),
			products: products(bare), status: metav1.ConditionTrue, reason: tenancyv1alpha1.ReasonReconciled,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanReady(tc.plan, tc.products, tc.tenants, tc.deleting)
			if got.Type != tenancyv1alpha1.ConditionReady || got.Status != tc.status || got.Reason != tc.reason {
				t.Fatalf("got %s=%s reason %s (%s), want %s reason %s", got.Type, got.Status, got.Reason, got.Message, tc.status, tc.reason)
			}
			if got.ObservedGeneration != tc.plan.Generation {
				t.Errorf("observedGeneration %d, want the plan's generation %d", got.ObservedGeneration, tc.plan.Generation)
			}
			if got.Message == "" {
				t.Error("empty message")
			}
			for _, s := range tc.contains {
				if !strings.Contains(got.Message, s) {
					t.Errorf("message %q does not contain %q", got.Message, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(got.Message, s) {
					t.Errorf("message %q contains %q", got.Message, s)
				}
			}
		})
	}
}

// Builders of the table tests.

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func productComponent(name, image string, port int32) tenancyv1alpha1.Component {
	c := tenancyv1alpha1.Component{Name: name, Image: image}
	if port != 0 {
		c.Port = &port
	}
	return c
}

func productVersion(name string, components ...tenancyv1alpha1.Component) tenancyv1alpha1.ProductVersion {
	return tenancyv1alpha1.ProductVersion{Name: name, Components: components}
}

func newAPIProduct(name, defaultVersion string, versions ...tenancyv1alpha1.ProductVersion) *tenancyv1alpha1.ApiProduct {
	return &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1alpha1.ApiProductSpec{DefaultVersion: defaultVersion, Versions: versions},
	}
}
