package tenant

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/index"
)

// Reconciler turns a Tenant into isolated, quota-bounded namespaces.
type Reconciler struct {
	client.Client
	// APIReader reads from the API server directly, for the few reads a stale cache must
	// not answer (an existing credentials Secret).
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Concurrency is how many tenants are reconciled at once (default 8). Each tenant's
	// objects are its own, so tenants do not contend.
	Concurrency int
	// OperatorNamespace is the operator's own namespace, reserved: it never becomes a
	// tenant namespace.
	OperatorNamespace string
	// NamespaceGonePoll is how often a deleting tenant checks that its namespaces are gone
	// besides the namespace watch (default NamespaceGoneRequeue).
	NamespaceGonePoll time.Duration

	// controller and cache start the watches of kinds whose CRD is installed after start.
	controller controller.Controller
	cache      cache.Cache
	// watching holds the names of the kinds with a CRD that are watched.
	watching sync.Map
	// indexed holds the names of the kinds whose cache has the index.TenantLabel index.
	indexed sync.Map
}

// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=tenants,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=tenants/status,verbs=patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=serviceplans,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=admin;edit;view
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=tenancy.openplatform.io,resources=apiproducts,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.envoyproxy.io,resources=securitypolicies;backendtrafficpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// staleStatusRequeue is how soon a pass whose status write found the Tenant changed since
// the cache read it runs again: the cache catches up within milliseconds.
const staleStatusRequeue = 200 * time.Millisecond

// Reconcile brings one Tenant's namespaces and their contents to the desired state and
// records what it found in the Tenant's status, which it writes at most once per pass.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	t := &tenancyv1alpha1.Tenant{}
	if err := r.Get(ctx, req.NamespacedName, t); err != nil {
		if apierrors.IsNotFound(err) {
			forgetTenantMetrics(req.Name, "")
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	origStatus := t.Status.DeepCopy()
	wasReady := meta.IsStatusConditionTrue(origStatus.Conditions, tenancyv1alpha1.ConditionReady)
	defer func() {
		// observedGeneration says the status is a verdict on this generation: only a pass
		// that computed the conditions for it (Ready carries the generation it was set for)
		// may write it, so that a pass cut short by a transient error leaves kstatus reading
		// InProgress, not Current with the previous generation's conditions.
		if c := meta.FindStatusCondition(t.Status.Conditions, tenancyv1alpha1.ConditionReady); c != nil && c.ObservedGeneration == t.Generation {
			t.Status.ObservedGeneration = t.Generation
		}
		if t.DeletionTimestamp.IsZero() {
			recordTenantMetrics(t, wasReady, time.Now())
		} else if !controllerutil.ContainsFinalizer(t, tenancyv1alpha1.TenantFinalizer) {
			forgetTenantMetrics(t.Name, t.UID)
		}
		if equality.Semantic.DeepEqual(origStatus, &t.Status) {
			return
		}
		// The status the pass started from is the precondition of the write: a pass that
		// worked from a cache behind the operator's own last write is retried at once
		// instead of writing (and reporting) what it cannot know.
		base := t.DeepCopy()
		base.Status = *origStatus
		err := r.Status().Patch(ctx, t, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case apierrors.IsConflict(err):
			if retErr == nil {
				res = ctrl.Result{RequeueAfter: staleStatusRequeue}
			}
			return
		case apierrors.IsNotFound(err):
			return
		case err != nil:
			if retErr == nil {
				retErr = fmt.Errorf("writing the status of tenant %s: %w", t.Name, err)
			}
			return
		}
		for _, e := range conditions.TenantEvents(origStatus, &t.Status) {
			r.event(t, e.Related, e.Type, e.Reason, e.Action, "%s", e.Note)
		}
		r.deprecatedVersionEvents(ctx, t, origStatus)
	}()

	if !t.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, t)
	}
	if !controllerutil.ContainsFinalizer(t, tenancyv1alpha1.TenantFinalizer) {
		base := t.DeepCopy()
		controllerutil.AddFinalizer(t, tenancyv1alpha1.TenantFinalizer)
		if err := r.Patch(ctx, t, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer to tenant %s: %w", t.Name, err)
		}
	}
	if len(t.Status.Conditions) == 0 {
		conditions.MarkProgressing(t, "Provisioning the tenant for the first time.")
	}
	return r.reconcileNormal(ctx, t)
}

// SetupWithManager wires the reconciler: Tenants, the objects it manages (mapped back by the
// tenant label), namespaces that a Tenant asks for, and the ServicePlans tenants are on.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	workers := r.Concurrency
	if workers < 1 {
		workers = 8
	}
	// A tenant's namespaces and objects are listed through the tenant label index; kinds
	// with a CRD get it when their watch starts (see watch).
	ctx := context.Background()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Namespace{}, index.TenantLabel, index.TenantOf); err != nil {
		return fmt.Errorf("indexing Namespaces by tenant: %w", err)
	}
	for _, k := range namespacedKinds() {
		if k.CRD != "" {
			continue
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, k.New(), index.TenantLabel, index.TenantOf); err != nil {
			return fmt.Errorf("indexing %s by tenant: %w", k.Name, err)
		}
		r.indexed.Store(k.Name, true)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		For(&tenancyv1alpha1.Tenant{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{},
			finalizerRemoved))).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForNamespace))
	for _, k := range apply.Kinds {
		if k.Watched && k.CRD == "" {
			b = b.Watches(k.New(), r.byOwner())
		}
	}
	crds := map[string]bool{}
	for _, k := range apply.Kinds {
		if k.CRD != "" {
			crds[k.CRD] = true
		}
	}
	c, err := b.
		Watches(&tenancyv1alpha1.ServicePlan{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForPlan),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&tenancyv1alpha1.ApiProduct{}, r.productEvents()).
		WatchesMetadata(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.tenantsForCRD),
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return crds[o.GetName()] }))).
		Build(r)
	if err != nil {
		return err
	}
	r.controller, r.cache = c, mgr.GetCache()
	return nil
}

// watch starts watching a kind whose CRD is installed (once): a change to one of the
// operator's objects of the kind reconciles its tenant, as for the built-in kinds.
func (r *Reconciler) watch(ctx context.Context, k apply.Kind) {
	if r.controller == nil || !k.Watched {
		return
	}
	if _, started := r.watching.LoadOrStore(k.Name, true); started {
		return
	}
	// The index first: adding one to a running informer indexes what it holds already.
	if err := r.cache.IndexField(ctx, k.New(), index.TenantLabel, index.TenantOf); err != nil {
		log.FromContext(ctx).Error(err, "indexing a kind whose CRD was installed by tenant (its objects are listed by label instead)", "kind", k.Name)
	} else {
		r.indexed.Store(k.Name, true)
	}
	if err := r.controller.Watch(source.Kind(r.cache, k.New(), r.byOwner())); err != nil {
		r.watching.Delete(k.Name)
		log.FromContext(ctx).Error(err, "watching a kind whose CRD was installed", "kind", k.Name)
	}
}

// finalizerRemoved passes updates that take the cleanup finalizer off a Tenant that is not
// being deleted, so that it is put back at once, not at the Tenant's next change.
var finalizerRemoved = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectNew.GetDeletionTimestamp().IsZero() &&
			controllerutil.ContainsFinalizer(e.ObjectOld, tenancyv1alpha1.TenantFinalizer) &&
			!controllerutil.ContainsFinalizer(e.ObjectNew, tenancyv1alpha1.TenantFinalizer)
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// tenantsForNamespace maps a namespace to the tenants that own it, are asked to adopt it, or
// list it in spec.namespaces (so a conflict heals when the namespace is deleted).
func (r *Reconciler) tenantsForNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	names := map[string]bool{}
	if n := o.GetLabels()[tenancyv1alpha1.LabelTenant]; n != "" {
		names[n] = true
	}
	if n := o.GetAnnotations()[tenancyv1alpha1.AnnotationAdopt]; n != "" {
		names[n] = true
	}
	r.addTenants(ctx, names, client.MatchingFields{index.TenantNamespace: o.GetName()})
	return requests(names)
}

// tenantsForPlan maps a ServicePlan to every tenant on it, and to the tenants that list a
// namespace the plan admits as a peer (it is reserved now).
func (r *Reconciler) tenantsForPlan(ctx context.Context, o client.Object) []reconcile.Request {
	names := map[string]bool{}
	r.addTenants(ctx, names, client.MatchingFields{index.TenantPlan: o.GetName()})
	for _, ns := range peerNamespaces(o.(*tenancyv1alpha1.ServicePlan)) {
		r.addTenants(ctx, names, client.MatchingFields{index.TenantNamespace: ns})
	}
	return requests(names)
}

// tenantsForProduct maps an ApiProduct to the tenants that list it and the tenants on plans
// that include it.
func (r *Reconciler) tenantsForProduct(ctx context.Context, o client.Object) []reconcile.Request {
	names := map[string]bool{}
	r.addTenants(ctx, names, client.MatchingFields{index.TenantProduct: o.GetName()})
	plans := &tenancyv1alpha1.ServicePlanList{}
	if err := r.List(ctx, plans, client.MatchingFields{index.PlanProduct: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "listing plans by product", "product", o.GetName())
	}
	for _, p := range plans.Items {
		r.addTenants(ctx, names, client.MatchingFields{index.TenantPlan: p.Name})
	}
	// A gateway namespace is reserved: the tenants that list it learn so.
	if e := o.(*tenancyv1alpha1.ApiProduct).Spec.Exposure; e != nil && e.Gateway.Namespace != "" {
		r.addTenants(ctx, names, client.MatchingFields{index.TenantNamespace: e.Gateway.Namespace})
	}
	return requests(names)
}

// productEvents maps ApiProduct events to tenants: a created or deleted product and a spec
// change to every tenant of it (tenantsForProduct); a change of the rollout's phase or
// revisions, which can move or return every tenant, and of when a version was deprecated
// (the date of the routes' Deprecation header), likewise; and a rollout that tells more
// tenants to move to just those tenants, so that a wave of ten does not reconcile ten
// thousand.
func (r *Reconciler) productEvents() handler.TypedEventHandler[client.Object, reconcile.Request] {
	all := handler.EnqueueRequestsFromMapFunc(r.tenantsForProduct)
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: all.Create,
		DeleteFunc: all.Delete,
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, cur := e.ObjectOld.(*tenancyv1alpha1.ApiProduct), e.ObjectNew.(*tenancyv1alpha1.ApiProduct)
			if old.Generation != cur.Generation || rolloutTurned(old.Status.Rollout, cur.Status.Rollout) ||
				!equality.Semantic.DeepEqual(deprecations(old), deprecations(cur)) {
				all.Update(ctx, e, q)
				return
			}
			for _, name := range newlyMoving(old.Status.Rollout, cur.Status.Rollout) {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
			}
		},
	}
}

// deprecations are the product's deprecated versions and since when: the Deprecation header
// of the tenants' routes carries the date.
func deprecations(p *tenancyv1alpha1.ApiProduct) map[string]string {
	out := map[string]string{}
	for _, v := range p.Status.Versions {
		if v.Deprecated && v.DeprecatedSince != nil {
			out[v.Name] = v.DeprecatedSince.UTC().String()
		}
	}
	return out
}

// rolloutTurned reports a change of a rollout's phase or revisions: what Pick decides for
// tenants that are not moving depends on them.
func rolloutTurned(old, cur *tenancyv1alpha1.RolloutStatus) bool {
	if old == nil || cur == nil {
		return (old == nil) != (cur == nil)
	}
	return old.Phase != cur.Phase || old.StableRevision != cur.StableRevision || old.Revision != cur.Revision ||
		!equality.Semantic.DeepEqual(old.TargetRevisions, cur.TargetRevisions)
}

// newlyMoving are the tenants cur tells to move that old did not.
func newlyMoving(old, cur *tenancyv1alpha1.RolloutStatus) []string {
	if cur == nil {
		return nil
	}
	before := map[string]bool{}
	if old != nil {
		for _, m := range old.MovingTenants {
			before[m.Name] = true
		}
	}
	var names []string
	for _, m := range cur.MovingTenants {
		if !before[m.Name] {
			names = append(names, m.Name)
		}
	}
	return names
}

// tenantsForCRD maps the CRD of a kind the operator writes (installed or removed) to every
// tenant, so that routes of exposed products appear once the Gateway API is installed, and
// disappear with their gateway policies' CRDs.
func (r *Reconciler) tenantsForCRD(ctx context.Context, _ client.Object) []reconcile.Request {
	names := map[string]bool{}
	r.addTenants(ctx, names)
	return requests(names)
}

// addTenants adds the names of the tenants the list options select to names. A failed list
// is logged: a map function cannot return an error.
func (r *Reconciler) addTenants(ctx context.Context, names map[string]bool, opts ...client.ListOption) {
	list := &tenancyv1alpha1.TenantList{}
	if err := r.List(ctx, list, opts...); err != nil {
		log.FromContext(ctx).Error(err, "listing tenants to reconcile")
		return
	}
	for _, t := range list.Items {
		names[t.Name] = true
	}
}

// requests turns tenant names into reconcile requests.
func requests(names map[string]bool) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(names))
	for n := range names {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
	}
	return reqs
}

func (r *Reconciler) applier() *apply.Applier {
	return &apply.Applier{Client: r.Client, Reader: r.APIReader}
}

// event records a Kubernetes Event on the tenant for a real change. related is the object
// the change is about (a namespace, a Secret, a plan), or nil. The recorder folds Events
// with the same regarding, related, type, reason and action into one series whatever their
// note, so two changes in one pass (two namespaces created) need their related object to
// show as two Events.
func (r *Reconciler) event(t *tenancyv1alpha1.Tenant, related client.Object, eventType, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(t, related, eventType, reason, action, note, args...)
	}
}
