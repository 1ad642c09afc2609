package tenant

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestWaitingForNamespacesYieldsTheWorkers: a deleting tenant whose namespace is still
// terminating deletes it once, and then checks again only after NamespaceGoneRequeue and
// at the work queue's low priority, behind tenants with something to do: in a mass deletion
// (10,000 tenants) checks every few seconds at the normal priority kept the workers from
// the tenants that had yet to delete their namespaces. The namespace going is what the
// namespace watch reports at once.
func TestWaitingForNamespacesYieldsTheWorkers(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, tenancyv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	tn := &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "del", Finalizers: []string{tenancyv1alpha1.TenantFinalizer}}}
	// A pass went on with the deletion already: no question about the CRD being deleted.
	meta.SetStatusCondition(&tn.Status.Conditions, metav1.Condition{Type: tenancyv1alpha1.ConditionReady,
		Status: metav1.ConditionFalse, Reason: tenancyv1alpha1.ReasonDeleting})
	// Its namespace's finalizer keeps it terminating, as the namespace controller would.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "del", Labels: render.Labels("del"), Finalizers: []string{"example.com/hold"}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(tn.DeepCopy(), ns).
		WithIndex(&corev1.Namespace{}, index.TenantLabel, index.TenantOf).Build()

	for _, poll := range []time.Duration{0, 3 * time.Second} {
		r := &Reconciler{Client: c, NamespaceGonePoll: poll}
		res, err := r.reconcileDelete(ctx, tn.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		want := poll
		if poll == 0 {
			want = NamespaceGoneRequeue
		}
		if res.RequeueAfter != want {
			t.Errorf("NamespaceGonePoll %v: requeued after %v, want %v", poll, res.RequeueAfter, want)
		}
		if res.Priority == nil || *res.Priority != handler.LowPriority {
			t.Errorf("NamespaceGonePoll %v: requeued at priority %v, want the low priority %d", poll, res.Priority, handler.LowPriority)
		}
		got := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ns), got); err != nil {
			t.Fatal(err)
		}
		if got.DeletionTimestamp.IsZero() {
			t.Errorf("NamespaceGonePoll %v: namespace del not being deleted", poll)
		}
	}
}
