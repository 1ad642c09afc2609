package render

// Benchmarks of rendering everything a tenant becomes, as one reconcile does: the tenant's
// namespaces and their contents (Tenant), then its products (ResolveProducts and
// Product for each). Run with: go test -run '^$' -bench . -benchmem ./internal/render/

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// benchCase is a tenant with its plan and the products the plan offers.
type benchCase struct {
	tenant  *tenancyv1alpha1.Tenant
	plan    *tenancyv1alpha1.ServicePlan
	catalog map[string]*tenancyv1alpha1.ApiProduct
}

// newBenchCase builds a tenant with namespaces namespaces on the contract's pro plan (quota,
// limit range, restricted egress, an extra ingress peer) with products products, each an
// exposed APIKey product of two components (an api with a port, probe, env and resources,
// and a worker).
func newBenchCase(namespaces, products int) benchCase {
	bc := benchCase{tenant: testTenant("acme"), plan: testProPlan(), catalog: map[string]*tenancyv1alpha1.ApiProduct{}}
	bc.plan.Spec.MaxNamespaces = int32(namespaces)
	for i := range namespaces {
		name := "acme"
		if i > 0 {
			name = fmt.Sprintf("acme-%d", i)
		}
		bc.tenant.Spec.Namespaces = append(bc.tenant.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: name, QuotaWeight: int32(1 + i%3)})
	}
	for i := range products {
		name := fmt.Sprintf("product%d", i)
		bc.catalog[name] = &tenancyv1alpha1.ApiProduct{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: tenancyv1alpha1.ApiProductSpec{
				DefaultVersion: "v1",
				Versions: []tenancyv1alpha1.ProductVersion{{Name: "v1", Components: []tenancyv1alpha1.Component{
					{
						Name: "api", Image: "registry.example.com/" + name + "-api:1.0.0", Port: ptr.To[int32](8080), HealthPath: "/healthz",
						Env:       []tenancyv1alpha1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
						Resources: &tenancyv1alpha1.ComputeResources{Requests: rlist("cpu", "100m", "memory", "128Mi")},
					},
					{Name: "worker", Image: "registry.example.com/" + name + "-worker:1.0.0"},
				}}},
				Exposure: &tenancyv1alpha1.Exposure{
					Component: "api",
					Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
					Hostname:  "{tenant}.api.example.com",
				},
			},
		}
		bc.plan.Spec.Products = append(bc.plan.Spec.Products, tenancyv1alpha1.PlanProduct{
			Name: name, Replicas: ptr.To[int32](2), RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 1200},
		})
	}
	return bc
}

// renderAll renders every object of the tenant and returns how many there are.
func renderAll(bc benchCase) (int, error) {
	d, err := Tenant(Input{Tenant: bc.tenant, Plan: bc.plan})
	if err != nil {
		return 0, err
	}
	n := len(d.Namespaces) + len(d.Namespaced) + len(d.Cluster)
	resolved, rerr := ResolveProducts(bc.tenant, bc.plan, bc.catalog)
	if rerr != nil {
		return 0, rerr
	}
	cred := &Credential{Key: "0123456789abcdef0123456789abcdef0123456789abcdef"}
	for _, rp := range resolved {
		n += len(Product(ProductInput{Tenant: bc.tenant, Resolved: rp, Credential: cred, Routes: true}))
	}
	return n, nil
}

func benchmarkTenant(b *testing.B, namespaces, products, wantObjects int) {
	bc := newBenchCase(namespaces, products)
	n, err := renderAll(bc)
	if err != nil {
		b.Fatal(err)
	}
	if n != wantObjects {
		b.Fatalf("rendered %d objects, want %d", n, wantObjects)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderAll(bc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "objects/op")
}

// BenchmarkTenantSmall: one namespace (namespace, quota, limits, two policies, owners) and
// one product (Secret, two Deployments, a Service, an HTTPRoute), plus the reader RBAC.
func BenchmarkTenantSmall(b *testing.B) { benchmarkTenant(b, 1, 1, 6+5+2) }

// BenchmarkTenantLarge: 20 namespaces and 5 products.
func BenchmarkTenantLarge(b *testing.B) { benchmarkTenant(b, 20, 5, 20*6+5*5+2) }

// BenchmarkProduct: one product of two components on its own.
func BenchmarkProduct(b *testing.B) {
	bc := newBenchCase(1, 1)
	resolved, rerr := ResolveProducts(bc.tenant, bc.plan, bc.catalog)
	if rerr != nil {
		b.Fatal(rerr)
	}
	in := ProductInput{Tenant: bc.tenant, Resolved: resolved[0], Credential: &Credential{Key: "k"}, Routes: true}
	b.ReportAllocs()
	for b.Loop() {
		Product(in)
	}
}
