package serviceplan

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/inuse"
)

// Reconciler reports how many tenants are on a plan and whether the plan can
// work: the products it names exist, its limitRange can be applied, and its quota does not
// make Kubernetes refuse the Pods of its products (conditions.PlanReady).
type Reconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=serviceplans,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=serviceplans/finalizers,verbs=update
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=serviceplans/status,verbs=patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts,verbs=get;list;watch

// Reconcile computes the plan's status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	plan := &tenancyv1alpha1.ServicePlan{}
	if err := r.Get(ctx, req.NamespacedName, plan); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Only the names are read: the cache's objects, not copies of them (a copy of every
	// tenant at every recount made the plan's status cost more the more tenants it has).
	tenants := &tenancyv1alpha1.TenantList{}
	if err := r.List(ctx, tenants, client.MatchingFields{index.TenantPlan: plan.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the tenants of plan %s: %w", plan.Name, err)
	}
	names := make([]string, 0, len(tenants.Items))
	for _, t := range tenants.Items {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	if err := inuse.EnsureFinalizer(ctx, r.Client, plan, len(names)); err != nil {
		return ctrl.Result{}, err
	}
	orig := plan.DeepCopy()
	plan.Status.Tenants = int32(len(names))
	plan.Status.TenantNames = inuse.CapNames(names)

	// The products the plan names that exist, for the Ready condition (a missing one is
	// absent from the map).
	products := make(map[string]*tenancyv1alpha1.ApiProduct, len(plan.Spec.Products))
	for _, p := range plan.Spec.Products {
		product := &tenancyv1alpha1.ApiProduct{}
		err := r.Get(ctx, client.ObjectKey{Name: p.Name}, product)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("reading product %s: %w", p.Name, err)
		}
		products[p.Name] = product
	}
	cond := conditions.PlanReady(plan, products, names, !plan.DeletionTimestamp.IsZero())
	meta.SetStatusCondition(&plan.Status.Conditions, cond)
	conditions.SetPlanPrivileged(plan)
	plan.Status.ObservedGeneration = plan.Generation

	if equality.Semantic.DeepEqual(orig.Status, plan.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Patch(ctx, plan, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches plans, the tenants on them (a tenant moving between plans updates
// both), and the products they name (a change of a product's components, e.g. their
// resources, re-evaluates the plans that name it).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], plan string) {
		if plan != "" {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: plan}}, inuse.StatusBatchDelay)
		}
	}
	tenantEvents := handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object.(*tenancyv1alpha1.Tenant).Spec.Plan)
		},
		// The plan's status names its tenants: only a tenant changing plans changes it, not
		// every status write of its tenants.
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if old, cur := e.ObjectOld.(*tenancyv1alpha1.Tenant).Spec.Plan, e.ObjectNew.(*tenancyv1alpha1.Tenant).Spec.Plan; old != cur {
				enqueue(q, old)
				enqueue(q, cur)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if t, ok := e.Object.(*tenancyv1alpha1.Tenant); ok {
				enqueue(q, t.Spec.Plan)
			}
		},
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("serviceplan").
		For(&tenancyv1alpha1.ServicePlan{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&tenancyv1alpha1.Tenant{}, tenantEvents, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// The plan's status reads its products' spec and whether they exist, not their status,
		// which every tenant's progress rewrites.
		Watches(&tenancyv1alpha1.ApiProduct{}, handler.EnqueueRequestsFromMapFunc(r.plansForProduct),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// plansForProduct maps an ApiProduct to the plans that include it.
func (r *Reconciler) plansForProduct(ctx context.Context, o client.Object) []reconcile.Request {
	list := &tenancyv1alpha1.ServicePlanList{}
	if err := r.List(ctx, list, client.MatchingFields{index.PlanProduct: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing plans by product", "product", o.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i, p := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}}
	}
	return reqs
}
