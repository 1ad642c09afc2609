package tenant

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/inuse"
)

// recordingQueue is a priority queue that records what is added to it.
type recordingQueue struct {
	workqueue.TypedRateLimitingInterface[reconcile.Request]
	adds []queued
}

type queued struct {
	name     string
	priority int
	after    time.Duration
}

func (q *recordingQueue) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	for _, it := range items {
		p := 0
		if o.Priority != nil {
			p = *o.Priority
		}
		q.adds = append(q.adds, queued{name: it.Name, priority: p, after: o.After})
	}
}

func (q *recordingQueue) GetWithPriority() (reconcile.Request, int, bool) {
	return reconcile.Request{}, 0, true
}

var _ priorityqueue.PriorityQueue[reconcile.Request] = &recordingQueue{}

// fakeIndexer registers the reconcilers' field indexes with a fake client's builder.
type fakeIndexer struct{ b *fake.ClientBuilder }

func (f fakeIndexer) IndexField(_ context.Context, o client.Object, field string, fn client.IndexerFunc) error {
	f.b.WithIndex(o, field, fn)
	return nil
}

func newTenantOn(name, plan string) *tenancyv1alpha1.Tenant {
	return &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.TenantSpec{Plan: plan}}
}

// tenantDeployment is a Deployment of tenant acme in its namespace, at generation 1 with
// ready of 2 replicas ready.
func tenantDeployment(name string, ready int32) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "acme", Generation: 1, ResourceVersion: "1",
		Labels: map[string]string{tenancyv1alpha1.LabelTenant: "acme", tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue}}}
	two := int32(2)
	d.Spec.Replicas = &two
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: ready, AvailableReplicas: ready}
	return d
}

// TestWorkQueuePriorities: a tenant whose last Deployment became available goes ahead of
// other work; the first of two does not (the tenant would write a status that is still on
// its way); Pods on their way wait a little; initial lists go last; a shared instance's
// change reaches every tenant of the product, batched.
func TestWorkQueuePriorities(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := tenancyv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	api, worker := tenantDeployment("payments-api", 0), tenantDeployment("payments-worker", 0)
	free := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "free"},
		Spec: tenancyv1alpha1.ServicePlanSpec{Products: []tenancyv1alpha1.PlanProduct{{Name: "payments", Tenancy: tenancyv1alpha1.TenancyShared}}}}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(api, worker, free,
		newTenantOn("globex", "free"), newTenantOn("initech", "free"), newTenantOn("hooli", "pro"))
	if err := index.Setup(context.Background(), fakeIndexer{b}); err != nil {
		t.Fatal(err)
	}
	c := b.Build()
	r := &Reconciler{Client: c}
	h := r.byOwner()
	ctx := context.Background()

	update := func(old, cur client.Object) []queued {
		q := &recordingQueue{}
		cur.SetResourceVersion("2")
		h.Update(ctx, event.UpdateEvent{ObjectOld: old, ObjectNew: cur}, q)
		return q.adds
	}
	// The order among the tenants of one event is not the test's concern.
	byName := func(qs []queued) []queued {
		out := slices.Clone(qs)
		sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
		return out
	}
	want := func(what string, got []queued, w ...queued) {
		t.Helper()
		got, w = byName(got), byName(w)
		if len(got) != len(w) {
			t.Errorf("%s: queued %+v, want %+v", what, got, w)
			return
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s: queued %+v, want %+v", what, got, w)
			}
		}
	}

	want("one Pod of two ready", update(api, tenantDeployment("payments-api", 1)),
		queued{"acme", priorityNormal, progressDelay}, queued{"acme", priorityNormal, progressDelay})
	want("the first Deployment available, the other not yet", update(api, tenantDeployment("payments-api", 2)),
		queued{"acme", priorityNormal, progressDelay}, queued{"acme", priorityNormal, progressDelay})

	// The worker becomes available in the cache too: the api completing now settles the tenant.
	done := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(worker), done); err != nil {
		t.Fatal(err)
	}
	done.Status = tenantDeployment("payments-worker", 2).Status
	if err := c.Status().Update(ctx, done); err != nil {
		t.Fatal(err)
	}
	want("the last Deployment available", update(api, tenantDeployment("payments-api", 2)),
		queued{"acme", priorityProgress, 0}, queued{"acme", priorityProgress, 0})
	want("an available Deployment loses a Pod", update(tenantDeployment("payments-api", 2), tenantDeployment("payments-api", 1)),
		queued{"acme", priorityProgress, 0}, queued{"acme", priorityProgress, 0})
	resync := tenantDeployment("payments-api", 2)
	q := &recordingQueue{}
	h.Update(ctx, event.UpdateEvent{ObjectOld: resync, ObjectNew: resync}, q)
	want("a resync", q.adds, queued{"acme", handler.LowPriority, 0}, queued{"acme", handler.LowPriority, 0})

	q = &recordingQueue{}
	h.Create(ctx, event.CreateEvent{Object: api, IsInInitialList: true}, q)
	want("the initial list", q.adds, queued{"acme", handler.LowPriority, 0})
	q = &recordingQueue{}
	h.Create(ctx, event.CreateEvent{Object: api}, q)
	want("a create", q.adds, queued{"acme", priorityNormal, 0})

	q = &recordingQueue{}
	h.Delete(ctx, event.DeleteEvent{Object: api}, q)
	want("a delete", q.adds, queued{"acme", priorityNormal, goneDelay})
	going := tenantDeployment("payments-api", 1)
	going.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	want("going with its namespace", update(tenantDeployment("payments-api", 2), going),
		queued{"acme", priorityNormal, goneDelay}, queued{"acme", priorityNormal, goneDelay})

	// A shared instance's Deployment: every tenant of the product, batched.
	shared := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "payments-v1-api", Namespace: "shared-payments",
		Labels: map[string]string{tenancyv1alpha1.LabelSharedProduct: "payments", tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue}}}
	q = &recordingQueue{}
	h.Create(ctx, event.CreateEvent{Object: shared}, q)
	want("a shared Deployment made", q.adds, queued{"globex", priorityProgress, inuse.StatusBatchDelay}, queued{"initech", priorityProgress, inuse.StatusBatchDelay})
	q = &recordingQueue{}
	meta := shared.DeepCopy()
	meta.Annotations = map[string]string{"example.com/note": "x"}
	meta.ResourceVersion = "2"
	h.Update(ctx, event.UpdateEvent{ObjectOld: shared, ObjectNew: meta}, q)
	want("a shared Deployment's metadata", q.adds)
}
