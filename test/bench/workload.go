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
	"github.com/openplatform/tenant-operator/internal/revision"
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
	switch tenancyv1alpha1.Tenancy(cfg.Tenancy) {
	case tenancyv1alpha1.TenancyDedicated, tenancyv1alpha1.TenancyShared:
	default:
		return nil, fmt.Errorf("-tenancy %q: want Dedicated or Shared", cfg.Tenancy)
	}
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
	// A shared instance cannot check each tenant's key: with exposure.policies None only
	// auth None can be Shared (else SharedNotPossible). -auth None gives a Dedicated run the
	// same product, for a comparison.
	switch tenancyv1alpha1.AuthType(cfg.Auth) {
	case "":
		if cfg.shared() {
			payments.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthNone}
		}
	case tenancyv1alpha1.AuthNone, tenancyv1alpha1.AuthAPIKey:
		payments.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthType(cfg.Auth)}
	default:
		return nil, fmt.Errorf("-auth %q: want APIKey or None", cfg.Auth)
	}
	if cfg.shared() && payments.Spec.Auth.Type != tenancyv1alpha1.AuthNone {
		return nil, fmt.Errorf("-tenancy Shared needs -auth None: the bench cluster has no Envoy Gateway to check keys in front of a shared instance")
	}
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
		if cfg.shared() {
			// A plan entry's replicas do not apply to a Shared product: its instance runs the
			// ApiProduct's spec.shared.replicas (default 2).
			plan.Spec.Products = append(plan.Spec.Products, tenancyv1alpha1.PlanProduct{
				Name: p.Name, Version: p.Spec.DefaultVersion, Tenancy: tenancyv1alpha1.TenancyShared,
			})
			continue
		}
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

// shared reports whether the run's plan gives its products with tenancy Shared.
func (c Config) shared() bool { return c.Tenancy == string(tenancyv1alpha1.TenancyShared) }

// components is the number of components of the products one tenant gets: its Deployments
// (and so of Pods per replica) with Dedicated, the shared instances' with Shared.
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

// tenantDeployments is how many Deployments of their own N tenants run: none with Shared.
func (w *workload) tenantDeployments(tenants int) int {
	if w.cfg.shared() {
		return 0
	}
	return tenants * w.components()
}

// sharedDeployments is how many Deployments the shared instances run (one per component of
// each product's default version): none with Dedicated.
func (w *workload) sharedDeployments() int {
	if !w.cfg.shared() {
		return 0
	}
	return w.components()
}

// pods is how many Pods N tenants run: their own with Dedicated, the shared instances'
// replicas with Shared.
func (w *workload) pods(tenants int) int {
	if w.cfg.shared() {
		n := 0
		for _, p := range w.products {
			for _, v := range p.Spec.Versions {
				if v.Name == p.Spec.DefaultVersion {
					n += len(v.Components) * int(render.SharedReplicas(p))
				}
			}
		}
		return n
	}
	return tenants * w.components() * w.cfg.Replicas
}

// sharedNamespaces are the namespaces of the products' shared instances; none with
// Dedicated.
func (w *workload) sharedNamespaces() []string {
	if !w.cfg.shared() {
		return nil
	}
	var out []string
	for _, p := range w.products {
		out = append(out, render.SharedNamespace(p))
	}
	return out
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
		if rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared {
			// Served by the shared instance of its version: no Deployments or Services of
			// its own (and no route either, without the Gateway API).
			in.SharedVersion, in.NoInstance = rp.Version.Name, true
		}
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

// renderedShared is every object of the products' shared instances for the tenants whose
// namespaces are given, as the ApiProduct reconciler makes them: each product's shared
// namespace, then what is in it (render.Shared; no ReferenceGrants, the bench cluster has
// no Gateway API). None with Dedicated.
func (w *workload) renderedShared(tenantNamespaces []string) []render.Object {
	if !w.cfg.shared() {
		return nil
	}
	var out []render.Object
	for _, p := range w.products {
		in := render.SharedInput{Product: p, RouteNamespaces: tenantNamespaces, Peers: w.plan.Spec.Network.AllowIngressFrom}
		for i := range p.Spec.Versions {
			if v := &p.Spec.Versions[i]; v.Name == p.Spec.DefaultVersion {
				in.Versions = append(in.Versions, render.SharedVersion{Version: v, Revision: revision.Name(p.Name, v)})
			}
		}
		out = append(out, render.SharedNamespaceObject(p))
		out = append(out, render.Shared(in)...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
