package apiproduct

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"

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
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/inuse"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// Reconciler stores the product's revisions, rolls a change out to its tenants in waves
// (spec.rollout), reports which tenants run it and on which versions, and keeps a product
// that tenants still run from being deleted.
type Reconciler struct {
	client.Client
	// APIReader reads from the API server, for what the cache cannot answer (whose an
	// existing shared namespace is).
	APIReader client.Reader
	Recorder  events.EventRecorder
	// OperatorNamespace holds the product revisions.
	OperatorNamespace string
	// RevisionHistory is how many revisions no tenant needs are kept per product.
	RevisionHistory int
	// now is the clock of the rollout (time.Now unless a test sets it).
	now func() time.Time
	// batch spaces the recounts that tenant changes trigger by how long the last one took.
	batch inuse.Batcher
}

// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts/status,verbs=patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts/finalizers,verbs=update
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=serviceplans,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list;watch;create;patch;delete

// Reconcile computes the product's status from the tenants that use it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	p := &tenancyv1alpha1.ApiProduct{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			forgetRolloutMetrics(req.Name)
			r.batch.Forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The cache's own tenants, not copies (with thousands of tenants, copying them was most
	// of a pass): everything below only reads them.
	tenants := &tenancyv1alpha1.TenantList{}
	if err := r.List(ctx, tenants, client.MatchingFields{index.TenantProduct: p.Name}, client.UnsafeDisableDeepCopy); err != nil {
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
	var result ctrl.Result
	var revs []appsv1.ControllerRevision
	var events []rollout.Event
	if p.DeletionTimestamp.IsZero() {
		var err error
		if revs, err = r.ensureRevisions(ctx, p); err != nil {
			return ctrl.Result{}, err
		}
		if result, events, err = r.stepRollout(ctx, p, tenants.Items); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Shared instances stay while a tenant still uses them, also while the product is being
	// deleted (its in-use finalizer holds it until then); the namespace goes with the last.
	shared, grantsPending, err := r.reconcileShared(ctx, p, tenants.Items)
	// An object of the shared instances that is not the operator's (the shared namespace
	// made by someone else) is the product's condition, not a retried error nobody sees.
	var conflict *apply.ConflictError
	if errors.As(err, &conflict) {
		err = nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if grantsPending && (result.RequeueAfter == 0 || result.RequeueAfter > grantsPendingRequeue) {
		result.RequeueAfter = grantsPendingRequeue
	}
	p.Status.SharedInstances = shared
	p.Status.Tenants = int32(len(names))
	p.Status.TenantNames = inuse.CapNames(names)
	newlyDeprecated := r.versionStatus(p, perVersion)
	cond := metav1.Condition{Type: tenancyv1alpha1.ConditionReady, ObservedGeneration: p.Generation,
		Status: metav1.ConditionTrue, Reason: tenancyv1alpha1.ReasonReconciled,
		Message: fmt.Sprintf("The product runs for %d tenants.", len(names))}
	if !p.DeletionTimestamp.IsZero() {
		cond.Status, cond.Reason = metav1.ConditionFalse, tenancyv1alpha1.ReasonInUse
		cond.Message = conditions.InUseMessage("ApiProduct", names)
	}
	if conflict != nil && p.DeletionTimestamp.IsZero() {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, conflictReason(conflict), conflict.Error()
	}
	rolloutConditions(p, cond)
	if conflict != nil && p.DeletionTimestamp.IsZero() {
		meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{Type: tenancyv1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
			Reason: cond.Reason, Message: cond.Message, ObservedGeneration: p.Generation})
	}
	p.Status.ObservedGeneration = p.Generation
	// How long the pass took without its status write: the next recount a tenant triggers
	// waits ten times that (inuse.Batcher).
	r.batch.Observe(p.Name, time.Since(start))
	if !equality.Semantic.DeepEqual(orig.Status, p.Status) {
		// The rollout's state is written with the resourceVersion it was computed from: a
		// pass that read a stale product must not overwrite what a newer one decided.
		if err := r.Status().Patch(ctx, p, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{Requeue: true}, nil
			}
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if conflict != nil {
		if c := meta.FindStatusCondition(orig.Status.Conditions, tenancyv1alpha1.ConditionReady); c == nil || c.Reason != conflictReason(conflict) {
			r.event(p, corev1.EventTypeWarning, conflictReason(conflict), "Reconcile", "%s", conflict.Error())
		}
	}
	// The rollout's Events are recorded once its state is written: a pass that read a stale
	// product and lost the write would otherwise tell of the same step twice.
	r.recordEvents(p, tenants.Items, events)
	r.deprecationEvents(p, tenants.Items, newlyDeprecated)
	recordRolloutMetrics(p)
	if revs != nil {
		if err := r.pruneRevisions(ctx, p, revs, tenants.Items); err != nil {
			return ctrl.Result{}, err
		}
	}
	return result, nil
}

// stepRollout advances the product's rollout one pass (rollout.Step) and returns the
// Events of what changed. Without spec.rollout there is none: every tenant moves at once.
func (r *Reconciler) stepRollout(ctx context.Context, p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant) (ctrl.Result, []rollout.Event, error) {
	if p.Spec.Rollout == nil {
		p.Status.Rollout = nil
		return ctrl.Result{}, nil, nil
	}
	states, err := r.rolloutTenants(ctx, p, tenants)
	if err != nil {
		return ctrl.Result{}, nil, err
	}
	res := rollout.Step(rollout.Input{Spec: p.Spec.Rollout, Generation: p.Generation, Status: p.Status.Rollout, Tenants: states, Now: r.clock()()})
	p.Status.Rollout = res.Status
	return ctrl.Result{RequeueAfter: res.RequeueAfter}, res.Events, nil
}

// versionStatus sets status.versions: the tenants on each version and whether it is
// deprecated, since when (the time this is first seen, kept while it stays deprecated). It
// returns the versions deprecated since the last status.
func (r *Reconciler) versionStatus(p *tenancyv1alpha1.ApiProduct, perVersion map[string]int32) map[string]bool {
	before := map[string]tenancyv1alpha1.VersionStatus{}
	for _, v := range p.Status.Versions {
		before[v.Name] = v
	}
	now := metav1.NewTime(r.clock()().Truncate(time.Second))
	newly := map[string]bool{}
	p.Status.Versions = nil
	for _, v := range p.Spec.Versions {
		st := tenancyv1alpha1.VersionStatus{Name: v.Name, Tenants: perVersion[v.Name], Deprecated: v.Deprecated}
		if v.Deprecated {
			if old := before[v.Name]; old.Deprecated && old.DeprecatedSince != nil {
				st.DeprecatedSince = old.DeprecatedSince
			} else {
				st.DeprecatedSince = now.DeepCopy()
				newly[v.Name] = true
			}
		}
		p.Status.Versions = append(p.Status.Versions, st)
	}
	return newly
}

// deprecationEvents tells each tenant on a version that became deprecated, with a Warning
// Event on the Tenant, once the status that records it is written.
func (r *Reconciler) deprecationEvents(p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant, newly map[string]bool) {
	if r.Recorder == nil || len(newly) == 0 {
		return
	}
	for i := range tenants {
		t := &tenants[i]
		for _, s := range t.Status.Products {
			if s.Name != p.Name || !newly[s.Version] {
				continue
			}
			others := otherVersions(p, s.Version)
			sunset := ""
			for _, v := range p.Spec.Versions {
				if v.Name == s.Version && v.Sunset != nil {
					sunset = ", and is to go away on " + v.Sunset.UTC().Format(time.RFC3339)
				}
			}
			r.Recorder.Eventf(t, p, corev1.EventTypeWarning, "VersionDeprecated", "Deprecate",
				"Version %s of product %s, which the tenant runs, is deprecated%s: its API clients get the Deprecation header; move to %s",
				s.Version, p.Name, sunset, others)
		}
	}
}

// otherVersions names the versions a tenant on version could move to: the product's
// versions that are not deprecated.
func otherVersions(p *tenancyv1alpha1.ApiProduct, version string) string {
	var names []string
	for _, v := range p.Spec.Versions {
		if v.Name != version && !v.Deprecated {
			names = append(names, v.Name)
		}
	}
	if len(names) == 0 {
		return "a version the product adds (it has no other that is not deprecated)"
	}
	return "version " + strings.Join(names, " or ") + " (spec.products[].version of the Tenant, or the plan's)"
}

func (r *Reconciler) clock() func() time.Time {
	if r.now != nil {
		return r.now
	}
	return time.Now
}

// recordEvents records a rollout's Events on the product. An Event about a tenant relates to
// it: the recorder folds Events that differ only in their message into one, so each failed
// tenant needs its own.
func (r *Reconciler) recordEvents(p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant, events []rollout.Event) {
	if r.Recorder == nil || len(events) == 0 {
		return
	}
	byName := map[string]*tenancyv1alpha1.Tenant{}
	for i := range tenants {
		byName[tenants[i].Name] = &tenants[i]
	}
	for _, e := range events {
		if t := byName[e.Tenant]; t != nil {
			r.Recorder.Eventf(p, t, e.Type, e.Reason, "Rollout", "%s", e.Message)
			continue
		}
		r.Recorder.Eventf(p, nil, e.Type, e.Reason, "Rollout", "%s", e.Message)
	}
}

// SetupWithManager watches products and the tenants that use them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], t *tenancyv1alpha1.Tenant) {
		for _, name := range index.TenantProducts(t) {
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}, r.batch.Delay(name))
		}
	}
	tenantEvents := handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(q, e.Object.(*tenancyv1alpha1.Tenant))
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, cur := e.ObjectOld.(*tenancyv1alpha1.Tenant), e.ObjectNew.(*tenancyv1alpha1.Tenant)
			// A rollout waits on the tenants' products: their revisions, replicas and the
			// reason they are not ready (Pods refused); its waves select by label and plan.
			if equality.Semantic.DeepEqual(index.TenantProducts(old), index.TenantProducts(cur)) &&
				equality.Semantic.DeepEqual(old.Status.Products, cur.Status.Products) &&
				productsReadyReason(old) == productsReadyReason(cur) &&
				equality.Semantic.DeepEqual(old.Labels, cur.Labels) && old.Spec.Plan == cur.Spec.Plan {
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
		// The shared instances' Deployments: their readiness is in the status.
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(sharedProductOf)).
		// A plan's products[].version changes the target of its tenants.
		Watches(&tenancyv1alpha1.ServicePlan{}, handler.EnqueueRequestsFromMapFunc(productsOfPlan),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A shared namespace made, deleted or handed over by someone else.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.productsOfSharedNamespace)).
		// The ReferenceGrant CRD installed (or removed): the shared instances' grants.
		WatchesMetadata(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.productsWithSharedInstances),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == render.ReferenceGrantCRD }))).
		Complete(r)
}

// conflictReason is the reason of a product whose shared instances cannot be written.
func conflictReason(c *apply.ConflictError) string {
	if c.Kind == render.KindNamespace {
		return tenancyv1alpha1.ReasonNamespaceConflict
	}
	return tenancyv1alpha1.ReasonObjectConflict
}

// productsOfSharedNamespace maps a namespace to the products whose shared namespace it is
// (by name: one the operator did not make has no label), so that a conflict over it heals
// when it is deleted or handed over.
func (r *Reconciler) productsOfSharedNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	products := &tenancyv1alpha1.ApiProductList{}
	if err := r.List(ctx, products); err != nil {
		log.FromContext(ctx).Error(err, "listing products")
		return nil
	}
	var out []reconcile.Request
	for i := range products.Items {
		if p := &products.Items[i]; render.SharedNamespace(p) == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
		}
	}
	return out
}

// grantsPendingRequeue is how soon a product is reconciled again while the ReferenceGrant
// CRD is installed but its API is not served yet.
const grantsPendingRequeue = 2 * time.Second

// sharedProductOf maps an object of a product's shared instances to the product.
func sharedProductOf(_ context.Context, o client.Object) []reconcile.Request {
	if name := o.GetLabels()[tenancyv1alpha1.LabelSharedProduct]; name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// productsOfPlan maps a ServicePlan to its products.
func productsOfPlan(_ context.Context, o client.Object) []reconcile.Request {
	var out []reconcile.Request
	for _, p := range o.(*tenancyv1alpha1.ServicePlan).Spec.Products {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
	}
	return out
}

// productsReadyReason is the reason of a tenant's ProductsReady condition.
func productsReadyReason(t *tenancyv1alpha1.Tenant) string {
	if c := meta.FindStatusCondition(t.Status.Conditions, tenancyv1alpha1.ConditionProductsReady); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}
