package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestObservedGenerationOnlyFromAVerdict: a pass cut short by a transient error (reading
// the plan fails) leaves observedGeneration where it was, so kstatus reads InProgress, not
// Current with the old generation's conditions; a pass that fails to prune a NetworkPolicy
// reports it on NetworkIsolated, not on QuotaReady. Against a fake client, so that the
// errors can be injected.
func TestObservedGenerationOnlyFromAVerdict(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, tenancyv1alpha1.AddToScheme, gatewayv1.Install} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	tn := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "og"},
		Spec:       tenancyv1alpha1.TenantSpec{Plan: "p-og", Owners: []tenancyv1alpha1.Owner{{Kind: tenancyv1alpha1.OwnerUser, Name: "owner@og.example"}}},
	}
	tn.Generation = 2
	tn.Finalizers = []string{tenancyv1alpha1.TenantFinalizer}
	tn.Status.ObservedGeneration = 1
	meta.SetStatusCondition(&tn.Status.Conditions, metav1.Condition{Type: tenancyv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: tenancyv1alpha1.ReasonReconciled, ObservedGeneration: 1})
	plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "p-og"}}

	build := func(funcs interceptor.Funcs) (*Reconciler, client.Client) {
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(tn.DeepCopy(), plan.DeepCopy()).
			WithStatusSubresource(&tenancyv1alpha1.Tenant{}).WithInterceptorFuncs(funcs).Build()
		return &Reconciler{Client: c, OperatorNamespace: "tenant-operator-system"}, c
	}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Name: "og"}}

	transient := errors.New("the API server is restarting")
	r, c := build(interceptor.Funcs{Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*tenancyv1alpha1.ServicePlan); ok {
			return transient
		}
		return cl.Get(ctx, key, obj, opts...)
	}})
	if _, err := r.Reconcile(ctx, req); !errors.Is(err, transient) {
		t.Fatalf("Reconcile = %v, want the transient error", err)
	}
	got := &tenancyv1alpha1.Tenant{}
	if err := c.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.ObservedGeneration != 1 {
		t.Errorf("after a pass cut short, status.observedGeneration = %d, want 1 (no verdict on generation 2)", got.Status.ObservedGeneration)
	}

	// A NetworkPolicy the tenant no longer needs cannot be deleted: the failure is the
	// NetworkPolicy's, so NetworkIsolated reports it (conditionOf), not QuotaReady.
	stale := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "tenant-egress", Namespace: "og", Labels: render.Labels("og")}}
	pruneFails := errors.New("etcd timeout")
	r, c = build(interceptor.Funcs{Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
		if _, ok := obj.(*networkingv1.NetworkPolicy); ok {
			return pruneFails
		}
		return cl.Delete(ctx, obj, opts...)
	}})
	if err := c.Create(ctx, stale); err != nil {
		t.Fatal(err)
	}
	failed := map[string]error{}
	r.pruneChildren(ctx, tn, map[render.Key]bool{}, map[string]bool{"og": true}, nil, false, func(kind string, err error) {
		failed[conditionOf(kind)] = err
	})
	if err := failed[tenancyv1alpha1.ConditionNetworkIsolated]; err == nil || !strings.Contains(err.Error(), pruneFails.Error()) ||
		!strings.Contains(err.Error(), "og/tenant-egress") {
		t.Errorf("failures %v, want the failed prune of og/tenant-egress on NetworkIsolated", failed)
	}
	if err := failed[tenancyv1alpha1.ConditionQuotaReady]; err != nil {
		t.Errorf("a failed prune of a NetworkPolicy is reported on QuotaReady: %v", err)
	}
}
