package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// benchPlan is the plan every benchmark tenant is on.
const benchPlan = "bench"

// workload is what a run creates: the plan, the products, and the tenants' shape.
type workload struct {
	cfg      Config
	plan     *tenancyv1alpha1.ServicePlan
	products []*tenancyv1alpha1.ApiProduct
}

// newWorkload builds the plan "bench" from the sample plan "pro" (its quota, limits, Pod
// Security level and network rules) and the products from the sample "payments": the first
// is payments itself, further ones are copies named payments-2, payments-3, ...
func newWorkload(cfg Config) (*workload, error) {
	pro := &tenancyv1alpha1.ServicePlan{}
	if err := readSample(cfg.Root, "tenancy_v1alpha1_serviceplan_pro.yaml", pro); err != nil {
		return nil, err
	}
	payments := &tenancyv1alpha1.ApiProduct{}
	if err := readSample(cfg.Root, "tenancy_v1alpha1_apiproduct_payments.yaml", payments); err != nil {
		return nil, err
	}
	// The bench cluster has neither the Gateway API nor Envoy Gateway: routes and gateway
	// policies are not what it measures, and with policies EnvoyGateway the operator would
	// (rightly) report GatewayPoliciesUnavailable. The product keeps its API keys.
	if payments.Spec.Exposure != nil {
		payments.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesNone
	}
	payments.Spec.Auth.APIKey = nil
	w := &workload{cfg: cfg}
	for i := range cfg.ProductsPerTenant {
		p := payments.DeepCopy()
		if i > 0 {
			p.Name = fmt.Sprintf("%s-%d", payments.Name, i+1)
		}
		w.products = append(w.products, p)
	}
	plan := &tenancyv1alpha1.ServicePlan{
		TypeMeta:   metav1.TypeMeta{APIVersion: tenancyv1alpha1.GroupVersion.String(), Kind: "ServicePlan"},
		ObjectMeta: metav1.ObjectMeta{Name: benchPlan},
		Spec:       *pro.Spec.DeepCopy(),
	}
	plan.Spec.DisplayName = "Benchmark (from the sample plan pro)"
	plan.Spec.MaxNamespaces = max(plan.Spec.MaxNamespaces, int32(cfg.NamespacesPerTenant))
	plan.Spec.Products = nil
	for _, p := range w.products {
		plan.Spec.Products = append(plan.Spec.Products, tenancyv1alpha1.PlanProduct{
			Name: p.Name, Version: p.Spec.DefaultVersion, Replicas: ptr(int32(cfg.Replicas)),
		})
	}
	w.plan = plan
	return w, nil
}

func readSample(root, file string, into any) error {
	b, err := os.ReadFile(filepath.Join(root, "config", "samples", file))
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// components is the number of Deployments (and so of Pods per replica) of one tenant.
func (w *workload) components() int {
	n := 0
	for _, p := range w.products {
		for _, v := range p.Spec.Versions {
			if v.Name == p.Spec.DefaultVersion {
				n += len(v.Components)
			}
		}
	}
	return n
}

// pods is how many Pods N tenants run.
func (w *workload) pods(tenants int) int {
	return tenants * w.components() * w.cfg.Replicas
}

// tenant is the Tenant object of the i-th tenant of a run, named prefix-0001 and so on.
func (w *workload) tenant(prefix string, i int) *tenancyv1alpha1.Tenant {
	name := fmt.Sprintf("%s-%04d", prefix, i)
	t := &tenancyv1alpha1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: tenancyv1alpha1.GroupVersion.String(), Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1alpha1.TenantSpec{
			Plan:           benchPlan,
			Owners:         []tenancyv1alpha1.Owner{{Kind: "User", Name: name + "@bench.example"}},
			DeletionPolicy: tenancyv1alpha1.DeletionDelete,
		},
	}
	if w.cfg.NamespacesPerTenant > 1 {
		for j := range w.cfg.NamespacesPerTenant {
			t.Spec.Namespaces = append(t.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: fmt.Sprintf("%s-%d", name, j+1), QuotaWeight: 1})
		}
	}
	return t
}

// rendered is every object the operator makes for t, in the order it applies them, made by
// the operator's own render package; API keys are random as the operator's are.
func (w *workload) rendered(t *tenancyv1alpha1.Tenant) ([]render.Object, error) {
	d, err := render.Tenant(render.Input{Tenant: t, Plan: w.plan})
	if err != nil {
		return nil, err
	}
	objects := append(append(append([]render.Object{}, d.Namespaces...), d.Namespaced...), d.Cluster...)
	byName := map[string]*tenancyv1alpha1.ApiProduct{}
	for _, p := range w.products {
		byName[p.Name] = p
	}
	resolved, rerr := render.ResolveProducts(t, w.plan, byName)
	if rerr != nil {
		return nil, rerr
	}
	for _, rp := range resolved {
		in := render.ProductInput{Tenant: t, Resolved: rp}
		if render.UsesAPIKey(rp.Product) {
			buf := make([]byte, 24)
			if _, err := rand.Read(buf); err != nil {
				return nil, err
			}
			in.Credential = &render.Credential{Key: hex.EncodeToString(buf)}
		}
		objects = append(objects, render.Product(in)...)
	}
	return objects, nil
}

func ptr[T any](v T) *T { return &v }
