package apiproduct

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/inuse"
)

// Reconciler reports which tenants run a product and on which versions, and keeps
// a product that tenants still run from being deleted.
type Reconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts/status,verbs=patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts/finalizers,verbs=update

// Reconcile computes the product's status from the tenants that use it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &tenancyv1alpha1.ApiProduct{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	tenants := &tenancyv1alpha1.TenantList{}
	if err := r.List(ctx, tenants, client.MatchingFields{index.TenantProduct: p.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the tenants of product %s: %w", p.Name, err)
	}
	perVersion := map[string]int32{}
	var names []string
	for _, t := range tenants.Items {
		names = append(names, t.Name)
		for _, s := range t.Status.Products {
			if s.Name == p.Name && s.Version != "" {
				perVersion[s.Version]++
			}
		}
	}
	sort.Strings(names)

	if err := inuse.EnsureFinalizer(ctx, r.Client, p, len(names)); err != nil {
		return ctrl.Result{}, err
	}
	orig := p.DeepCopy()
	p.Status.Tenants = int32(len(names))
	p.Status.TenantNames = inuse.CapNames(names)
	p.Status.Versions = nil
	for _, v := range p.Spec.Versions {
		p.Status.Versions = append(p.Status.Versions, tenancyv1alpha1.VersionStatus{Name: v.Name, Tenants: perVersion[v.Name]})
	}
	cond := metav1.Condition{Type: tenancyv1alpha1.ConditionReady, ObservedGeneration: p.Generation,
		Status: metav1.ConditionTrue, Reason: tenancyv1alpha1.ReasonReconciled,
		Message: fmt.Sprintf("The product runs for %d tenants.", len(names))}
	if !p.DeletionTimestamp.IsZero() {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonInUse
		cond.Message = conditions.InUseMessage("ApiProduct", names)
	}
	meta.SetStatusCondition(&p.Status.Conditions, cond)
	p.Status.ObservedGeneration = p.Generation
	if equality.Semantic.DeepEqual(orig.Status, p.Status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Status().Patch(ctx, p, client.MergeFrom(orig)))
}

// SetupWithManager watches products and the tenants that use them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], t *tenancyv1alpha1.Tenant) {
		for _, name := range index.TenantProducts(t) {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}, inuse.StatusBatchDelay)
		}
	}
	tenantEvents := handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object.(*tenancyv1alpha1.Tenant))
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, cur := e.ObjectOld.(*tenancyv1alpha1.Tenant), e.ObjectNew.(*tenancyv1alpha1.Tenant)
			if equality.Semantic.DeepEqual(index.TenantProducts(old), index.TenantProducts(cur)) &&
				equality.Semantic.DeepEqual(old.Status.Products, cur.Status.Products) {
				return
			}
			enqueue(q, old)
			enqueue(q, cur)
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if t, ok := e.Object.(*tenancyv1alpha1.Tenant); ok {
				enqueue(q, t)
			}
		},
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("apiproduct").
		For(&tenancyv1alpha1.ApiProduct{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&tenancyv1alpha1.Tenant{}, tenantEvents).
		Complete(r)
}
