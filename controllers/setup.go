// Package controllers holds the reconcilers of ServicePlan, ApiProduct and Tenant.
package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
)

// CacheOptions limits the informer caches to what the operator manages: the namespaced and
// cluster-scoped kinds it writes are cached only when they carry the managed-by label, so
// memory grows with tenants, not with the cluster. Namespaces are cached whole: the operator
// must see existing namespaces to detect conflicts and adoption annotations.
func CacheOptions() cache.Options {
	managed, _ := labels.NewRequirement(tenancyv1alpha1.LabelManagedBy, selection.Equals,
		[]string{tenancyv1alpha1.ManagedByValue})
	sel := labels.NewSelector().Add(*managed)
	byLabel := cache.ByObject{Label: sel}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ResourceQuota{}:       byLabel,
			&corev1.LimitRange{}:          byLabel,
			&networkingv1.NetworkPolicy{}: byLabel,
			&rbacv1.RoleBinding{}:         byLabel,
			&rbacv1.ClusterRole{}:         byLabel,
			&rbacv1.ClusterRoleBinding{}:  byLabel,
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
	return idx.IndexField(ctx, &tenancyv1alpha1.ServicePlan{}, indexPlanProduct, func(o client.Object) []string {
		p := o.(*tenancyv1alpha1.ServicePlan)
		names := make([]string, 0, len(p.Spec.Products))
		for _, pr := range p.Spec.Products {
			names = append(names, pr.Name)
		}
		return names
	})
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager) error {
	if err := SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := (&TenantReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("tenant-operator"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&ServicePlanReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
}
