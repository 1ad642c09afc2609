// Package controllers holds the reconcilers of ServicePlan, ApiProduct and Tenant.
package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Field indexes on Tenants.
const (
	// indexTenantPlan indexes Tenants by spec.plan.
	indexTenantPlan = "spec.plan"
	// indexTenantNamespace indexes Tenants by the namespaces they ask for.
	indexTenantNamespace = "spec.namespaces"
	// indexPlanProduct indexes ServicePlans by the products they include.
	indexPlanProduct = "spec.products"
	// indexTenantProduct indexes Tenants by the products they list or run.
	indexTenantProduct = "products"

	// httpRouteCRD is the name of the Gateway API HTTPRoute CRD.
	httpRouteCRD = "httproutes.gateway.networking.k8s.io"
)

// CacheOptions limits the informer caches to what the operator manages: every kind it writes
// is cached only when it carries the managed-by label (the default selector, which also
// covers HTTPRoutes once the Gateway API is installed), so memory grows with tenants, not with
// the cluster. Seen whole: the tenancy kinds, and namespaces, because the operator must see
// existing namespaces to detect conflicts and adoption annotations. Of the CRDs only the
// HTTPRoute CRD is watched, to notice the Gateway API being installed.
func CacheOptions() cache.Options {
	managed, _ := labels.NewRequirement(tenancyv1alpha1.LabelManagedBy, selection.Equals,
		[]string{tenancyv1alpha1.ManagedByValue})
	everything := cache.ByObject{Label: labels.Everything()}
	return cache.Options{
		DefaultTransform:     cache.TransformStripManagedFields(),
		DefaultLabelSelector: labels.NewSelector().Add(*managed),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:            everything,
			&tenancyv1alpha1.Tenant{}:      everything,
			&tenancyv1alpha1.ServicePlan{}: everything,
			&tenancyv1alpha1.ApiProduct{}:  everything,
			&apiextensionsv1.CustomResourceDefinition{}: {
				Label: labels.Everything(),
				Field: fields.OneTermEqualSelector("metadata.name", httpRouteCRD),
			},
		},
	}
}

// SetupIndexes registers the field indexes the reconcilers use to fan out events.
func SetupIndexes(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, indexTenantPlan, func(o client.Object) []string {
		return []string{o.(*tenancyv1alpha1.Tenant).Spec.Plan}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, indexTenantNamespace, func(o client.Object) []string {
		t := o.(*tenancyv1alpha1.Tenant)
		var names []string
		for _, ns := range t.DesiredNamespaces() {
			names = append(names, ns.Name)
		}
		return names
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &tenancyv1alpha1.Tenant{}, indexTenantProduct, func(o client.Object) []string {
		return tenantProductNames(o.(*tenancyv1alpha1.Tenant))
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &tenancyv1alpha1.ServicePlan{}, indexPlanProduct, func(o client.Object) []string {
		p := o.(*tenancyv1alpha1.ServicePlan)
		names := make([]string, 0, len(p.Spec.Products))
		for _, pr := range p.Spec.Products {
			names = append(names, pr.Name)
		}
		return names
	})
}

// Options tune the reconcilers.
type Options struct {
	// TenantConcurrency is how many tenants are reconciled at once (default 8).
	TenantConcurrency int
	// OperatorNamespace is the namespace the operator runs in. It can never become a tenant
	// namespace: the admission policies exempt the operator's ServiceAccount by name, so a
	// tenant that could create that ServiceAccount would be exempt too.
	OperatorNamespace string
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	// Every write, status and finalizers included, under one field manager, so that what the
	// operator owns is plain to see next to a GitOps tool's fields.
	c := client.WithFieldOwner(mgr.GetClient(), tenancyv1alpha1.FieldManager)
	if err := (&TenantReconciler{
		Client:            c,
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("tenant-operator"),
		Concurrency:       opts.TenantConcurrency,
		OperatorNamespace: opts.OperatorNamespace,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ApiProductReconciler{Client: c}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&ServicePlanReconciler{Client: c}).SetupWithManager(mgr)
}

// AddToScheme registers every kind the operator reads or writes.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, tenancyv1alpha1.AddToScheme, gatewayv1.Install, apiextensionsv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}

// tenantProductNames are the products a tenant lists in spec.products or runs (status).
func tenantProductNames(t *tenancyv1alpha1.Tenant) []string {
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
