package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestKstatusInProgressWhileGenerationLags: a spec change that the operator has not seen
// yet makes a Ready tenant InProgress (the Ready condition alone would say Current), until
// the operator has reconciled the new generation. Not parallel: it stops the manager.
func TestKstatusInProgressWhileGenerationLags(t *testing.T) {
	const name, planName = "t42-lag", "p42-lag"
	mustCreate(t, newPlan(planName, 2))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)
	// Only the Ready condition here: waitTenantReady would check observedGeneration itself.
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, "")
	})
	waitKstatus(t, name, status.CurrentStatus)

	withManagerStopped(t, func() {
		mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.DisplayName = "Lagging Corp" })
		tn, err := fetchTenant(name)
		if err != nil {
			t.Fatal(err)
		}
		if tn.Status.ObservedGeneration >= tn.Generation {
			t.Fatalf("status.observedGeneration %d, generation %d: want the status behind", tn.Status.ObservedGeneration, tn.Generation)
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, ""); err != nil {
			t.Fatalf("the status should still say Ready for the old generation: %v", err)
		}
		res, err := kstatusOf(name)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != status.InProgressStatus || !strings.Contains(res.Message, fmt.Sprint(tn.Generation)) {
			t.Errorf("kstatus = %s (%s), want InProgress because generation %d is not observed", res.Status, res.Message, tn.Generation)
		}
	})

	waitTenantReady(t, name)
	waitKstatus(t, name, status.CurrentStatus)
}

// TestKstatusInProgressWhileReconciling: a tenant whose product Deployments have not rolled
// out, or whose namespace is still terminating, is Reconciling=True and InProgress (not
// Failed: it gets there by itself), and Current once the work is done.
func TestKstatusInProgressWhileReconciling(t *testing.T) {
	t.Parallel()
	const name, planName, product = "t42-rollout", "p42-rollout", "a42-rollout"
	deploy := product + "-api"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/rollout:1.0.0", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product})
	plan.Spec.MaxNamespaces = 2
	mustCreate(t, plan)
	tenant := newTenant(name, planName, name)
	mustCreate(t, tenant)

	// envtest runs no deployment controller: the Deployment never becomes available.
	eventually(t, 0, func() error { _, err := fetchDeployment(name, deploy); return err })
	waitReconcilingInProgress(t, name, tenancyv1alpha1.ReasonProgressing)
	consistently(t, time.Second, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing); err != nil {
			return err
		}
		if res, err := kstatusOf(name); err != nil || res.Status != status.InProgressStatus {
			return fmt.Errorf("kstatus %v (err %v) while the Deployment rolls out, want InProgress", res, err)
		}
		return nil
	})

	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	waitKstatus(t, name, status.CurrentStatus)

	// A namespace dropped from the tenant and listed again while it is still terminating
	// (envtest never finishes deleting namespaces).
	extra := name + "-extra"
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: extra})
	})
	waitTenantReady(t, name)
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Namespaces = tn.Spec.Namespaces[:1] })
	eventually(t, 0, func() error { return terminating(extra) })
	waitTenantReady(t, name)
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: extra})
	})
	waitReconcilingInProgress(t, name, tenancyv1alpha1.ReasonNamespaceTerminating)
}

// waitReconcilingInProgress waits until the tenant, at its current generation, says
// Reconciling=True with reason and kstatus reads that as InProgress with the same reason.
func waitReconcilingInProgress(t *testing.T, name, reason string) {
	t.Helper()
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", tn.Status.ObservedGeneration, tn.Generation)
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason); err != nil {
			return err
		}
		if meta.IsStatusConditionTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled) {
			return fmt.Errorf("Stalled is True: %s", describeConditions(tn.Status.Conditions))
		}
		res, err := kstatusOf(name)
		if err != nil {
			return err
		}
		if res.Status != status.InProgressStatus || len(res.Conditions) == 0 || res.Conditions[0].Reason != reason {
			return fmt.Errorf("kstatus = %s (%s, conditions %+v), want InProgress with reason %s", res.Status, res.Message, res.Conditions, reason)
		}
		return nil
	})
}

// withManagerStopped runs f while no operator runs, then starts a new manager (as after an
// outage of the operator's Pod).
func withManagerStopped(t *testing.T, f func()) {
	t.Helper()
	managerMu.Lock()
	defer managerMu.Unlock()
	if err := stopManager(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	defer func() {
		stop, err := startManager(testCtx, restConfig, k8s.Scheme())
		if err != nil {
			t.Fatalf("starting a new manager: %v", err)
		}
		stopManager = stop
	}()
	f()
}
