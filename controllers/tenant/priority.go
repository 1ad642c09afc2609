package tenant

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/health"
	"github.com/openplatform/tenant-operator/internal/inuse"
)

// Work-queue priorities of the tenant controller (controller-runtime's priority queue;
// higher first, the same priority first in, first out).
//
// A tenant is Ready in its second pass, once its Deployments are available. When a thousand
// tenants arrive at once, the first passes of the later ones would all run before any
// second pass in a first-in, first-out queue, so every tenant would become Ready in the
// last seconds. A Deployment whose status changed is what a tenant waits on: its tenant goes
// ahead of the tenants still waiting for their first pass, so tenants finish as they go.
const (
	// priorityProgress: a Deployment of the tenant became available (or failed), or the
	// shared instance serving it changed: the tenant's next pass decides whether it is Ready.
	priorityProgress = 10
	// priorityNormal: everything else that changed (a create, a spec change, a deletion).
	priorityNormal = 0
)

// progressDelay is how long a Deployment's progress short of settling (Pods created or
// started, one by one) waits before its tenant is reconciled: the replica counts in the
// tenant's status follow within it, and a Deployment that settles sooner costs one status
// write, not one per step.
const progressDelay = 2 * time.Second

// goneDelay batches the deletions of a tenant's objects: a namespace being deleted takes its
// objects one by one, and a tenant whose object someone deleted gets it back a moment later.
const goneDelay = time.Second

// byOwner maps one of the operator's objects to its tenant, and an object of a product's
// shared instances to the tenants of the product, with the priorities above. Events of the
// informers' initial lists and resyncs (nothing changed) get controller-runtime's low
// priority. The shared instances are the ApiProduct reconciler's to keep: their tenants hear
// of an object made or deleted (a tenant moving onto the instance waits for its Deployments
// and its ReferenceGrant), of a Deployment's progress (its replicas and readiness are in
// every Shared tenant's status) and of a spec change, not of metadata-only updates; and each
// is batched for inuse.StatusBatchDelay, since one change reaches every tenant of the
// product.
func (r *Reconciler) byOwner() handler.EventHandler {
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if isShared(e.Object) {
				if !e.IsInInitialList {
					add(q, priorityProgress, inuse.StatusBatchDelay, r.sharedTenants(ctx, e.Object)...)
				}
				return
			}
			p := priorityNormal
			if e.IsInInitialList {
				p = handler.LowPriority
			}
			add(q, p, 0, r.ownerOf(e.Object)...)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, cur := e.ObjectOld, e.ObjectNew
			if isShared(cur) {
				if progressed(old, cur) || old.GetGeneration() != cur.GetGeneration() {
					add(q, priorityProgress, inuse.StatusBatchDelay, r.sharedTenants(ctx, cur)...)
				}
				return
			}
			p, after := priorityNormal, time.Duration(0)
			switch {
			case old.GetResourceVersion() == cur.GetResourceVersion():
				p = handler.LowPriority
			case !cur.GetDeletionTimestamp().IsZero():
				// Going with its namespace (or deleted by someone): its tenant hears of it
				// once the deletions of a moment are over.
				after = goneDelay
			case r.settled(ctx, old, cur):
				p = priorityProgress
			case progressed(old, cur) && old.GetGeneration() == cur.GetGeneration():
				// Pods on their way: the tenant's status shows the ready replicas, a little
				// later; when the Deployment settles first, that pass covers this one.
				after = progressDelay
			}
			add(q, p, after, append(r.ownerOf(old), r.ownerOf(cur)...)...)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if isShared(e.Object) {
				add(q, priorityNormal, inuse.StatusBatchDelay, r.sharedTenants(ctx, e.Object)...)
				return
			}
			add(q, priorityNormal, goneDelay, r.ownerOf(e.Object)...)
		},
		GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(q, priorityNormal, 0, r.ownerOf(e.Object)...)
		},
	}
}

// ownerOf is the tenant an object of the operator's is labelled with.
func (r *Reconciler) ownerOf(o client.Object) []reconcile.Request {
	if name := o.GetLabels()[tenancyv1alpha1.LabelTenant]; name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// isShared reports an object of a product's shared instances.
func isShared(o client.Object) bool {
	return o.GetLabels()[tenancyv1alpha1.LabelTenant] == "" && o.GetLabels()[tenancyv1alpha1.LabelSharedProduct] != ""
}

// sharedTenants are the tenants of the product whose shared instances the object is part of.
func (r *Reconciler) sharedTenants(ctx context.Context, o client.Object) []reconcile.Request {
	p := &tenancyv1alpha1.ApiProduct{}
	p.Name = o.GetLabels()[tenancyv1alpha1.LabelSharedProduct]
	return r.tenantsForProduct(ctx, p)
}

// progressed reports a Deployment whose status changed in what its tenant's status shows:
// replicas created, ready or refused, a generation observed. Other kinds have no progress a
// tenant waits on.
func progressed(old, cur client.Object) bool {
	o, ok1 := old.(*appsv1.Deployment)
	c, ok2 := cur.(*appsv1.Deployment)
	return ok1 && ok2 && !equality.Semantic.DeepEqual(deploymentProgress(o), deploymentProgress(c))
}

// deploymentProgress is what of a Deployment's status the tenant's health reads.
func deploymentProgress(d *appsv1.Deployment) []any {
	out := []any{d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas}
	for _, c := range d.Status.Conditions {
		out = append(out, string(c.Type), c.Status == corev1.ConditionTrue, c.Reason, c.Message)
	}
	return out
}

// settled reports whether a tenant Deployment's change decides something for its tenant:
// it became available and so are the tenant's other Deployments in its namespace (as the
// cache has them), it stopped being available, or its Pods were refused or its progress
// deadline passed (or that cleared). Pods being created and started one by one, and the
// first of a tenant's Deployments to become available, do not: the tenant's next pass
// would find it still on its way, and write that into its status (its ready replicas) only
// to write Ready a moment later.
func (r *Reconciler) settled(ctx context.Context, old, cur client.Object) bool {
	o, ok1 := old.(*appsv1.Deployment)
	c, ok2 := cur.(*appsv1.Deployment)
	if !ok1 || !ok2 {
		return false
	}
	or, od := health.Trouble(o)
	cr, cd := health.Trouble(c)
	switch {
	case or != cr || od != cd:
		return true
	case complete(o) == complete(c):
		return false
	case !complete(c):
		return true
	}
	siblings := &appsv1.DeploymentList{}
	if err := r.List(ctx, siblings, client.InNamespace(c.Namespace),
		client.MatchingLabels{tenancyv1alpha1.LabelTenant: c.Labels[tenancyv1alpha1.LabelTenant]}); err != nil {
		return true
	}
	for i := range siblings.Items {
		if d := &siblings.Items[i]; d.Name != c.Name && !complete(d) {
			return false
		}
	}
	return true
}

// complete: every replica of the Deployment's current generation is updated and ready.
func complete(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
		d.Status.ReadyReplicas == want && d.Status.Replicas == want
}

// add queues the requests with a priority, after a delay, on controller-runtime's priority
// queue; on another queue (a test's) just after the delay.
func add(q workqueue.TypedRateLimitingInterface[reconcile.Request], priority int, after time.Duration, reqs ...reconcile.Request) {
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		for _, req := range reqs {
			q.AddAfter(req, after)
		}
		return
	}
	if len(reqs) > 0 {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: &priority, After: after}, reqs...)
	}
}
