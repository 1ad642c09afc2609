// Package index holds the field indexes the reconcilers fan events out with, and names
// they share.
package index

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// Field indexes on Tenants and ServicePlans.
const (
	// TenantPlan indexes Tenants by spec.plan.
	TenantPlan = "spec.plan"
	// TenantNamespace indexes Tenants by the namespaces they ask for.
	TenantNamespace = "spec.namespaces"
	// PlanProduct indexes ServicePlans by the products they include.
	PlanProduct = "spec.products"
	// TenantProduct indexes Tenants by the products they list or run.
	TenantProduct = "products"

	// TenantLabel indexes objects by their tenant label, so that a tenant's namespaces and
	// objects are found without looking at every object of the kind in the cache: a label
	// selector alone makes the cache test each one, and with every pass doing that for
	// each kind, the cost of a pass grew with the number of tenants.
	TenantLabel = "metadata.labels.tenant"

	// HTTPRouteCRD is the name of the Gateway API HTTPRoute CRD.
	HTTPRouteCRD = render.HTTPRouteCRD
)

// TenantOf is the TenantLabel index's value of an object: its tenant label, if it has one.
func TenantOf(o client.Object) []string {
	if t := o.GetLabels()[tenancyv1alpha1.LabelTenant]; t != "" {
		return []string{t}
	}
	return nil
}

// Setup registers the field indexes the reconcilers use to fan out events.
func Setup(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, TenantPlan, func(o client.Object) []string {
		return []string{o.(*tenancyv1alpha1.Tenant).Spec.Plan}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, TenantNamespace, func(o client.Object) []string {
		t := o.(*tenancyv1alpha1.Tenant)
		var names []string
		for _, ns := range t.DesiredNamespaces() {
			names = append(names, ns.Name)
		}
		return names
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, TenantProduct, func(o client.Object) []string {
		return TenantProducts(o.(*tenancyv1alpha1.Tenant))
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &tenancyv1alpha1.ServicePlan{}, PlanProduct, func(o client.Object) []string {
		p := o.(*tenancyv1alpha1.ServicePlan)
		names := make([]string, 0, len(p.Spec.Products))
		for _, pr := range p.Spec.Products {
			names = append(names, pr.Name)
		}
		return names
	})
}

// TenantProducts are the products a tenant lists in spec.products or runs (status).
func TenantProducts(t *tenancyv1alpha1.Tenant) []string {
	seen := map[string]bool{}
	var names []string
	for _, p := range t.Spec.Products {
		if !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	for _, p := range t.Status.Products {
		if !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	return names
}
