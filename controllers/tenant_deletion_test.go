package controllers

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestRetainDeletionKeepsNamespacesAndDropsLabels: with deletionPolicy Retain, deleting the
// Tenant keeps every namespace and its contents, unmarked, and removes the reader RBAC.
func TestRetainDeletionKeepsNamespacesAndDropsLabels(t *testing.T) {
	t.Parallel()
	const name, planName = "t08-retain", "p08-retain"
	second := name + "-data"
	reader := "tenancy:" + name + ":reader"
	mustCreate(t, newPlan(planName, 2))
	tenant := newTenant(name, planName, name, second)
	tenant.Spec.DeletionPolicy = tenancyv1alpha1.DeletionRetain
	mustCreate(t, tenant)
	waitTenantReady(t, name)
	waitQuota(t, second, "requests.cpu", "2", "pods", "10")

	mustDelete(t, tenant)
	eventually(t, 0, func() error { return gone(&tenancyv1alpha1.Tenant{}, "", name) })

	for _, nsName := range []string{name, second} {
		ns := &corev1.Namespace{}
		if err := get(ns, "", nsName); err != nil {
			t.Errorf("namespace %s: %v", nsName, err)
			continue
		}
		if !ns.DeletionTimestamp.IsZero() {
			t.Errorf("namespace %s is being deleted, want it retained", nsName)
		}
		for _, l := range []string{tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelManagedBy} {
			if v, ok := ns.Labels[l]; ok {
				t.Errorf("namespace %s still has %s=%s", nsName, l, v)
			}
		}
		rq := &corev1.ResourceQuota{}
		if err := get(rq, nsName, "tenant-quota"); err != nil {
			t.Errorf("tenant-quota in %s: %v, want it retained", nsName, err)
		} else if v, ok := rq.Labels[tenancyv1alpha1.LabelTenant]; ok {
			t.Errorf("tenant-quota in %s still has %s=%s", nsName, tenancyv1alpha1.LabelTenant, v)
		}
	}
	if err := gone(&rbacv1.ClusterRole{}, "", reader); err != nil {
		t.Error(err)
	}
	if err := gone(&rbacv1.ClusterRoleBinding{}, "", reader); err != nil {
		t.Error(err)
	}
}

// TestDeleteTenantDeletesCreatedNamespaces: with deletionPolicy Delete, deleting the Tenant
// deletes its namespaces and reader RBAC and holds the Tenant until the namespaces are gone.
func TestDeleteTenantDeletesCreatedNamespaces(t *testing.T) {
	t.Parallel()
	const name, planName = "t09-delete", "p09-delete"
	second := name + "-dev"
	reader := "tenancy:" + name + ":reader"
	mustCreate(t, newPlan(planName, 2))
	tenant := newTenant(name, planName, name, second)
	mustCreate(t, tenant)
	if tn := waitTenantReady(t, name); tn.Spec.DeletionPolicy != tenancyv1alpha1.DeletionDelete {
		t.Errorf("spec.deletionPolicy = %q, want the default Delete", tn.Spec.DeletionPolicy)
	}

	mustDelete(t, tenant)
	for _, ns := range []string{name, second} {
		eventually(t, 0, func() error { return terminating(ns) })
	}
	eventually(t, 0, func() error {
		if err := gone(&rbacv1.ClusterRole{}, "", reader); err != nil {
			return err
		}
		return gone(&rbacv1.ClusterRoleBinding{}, "", reader)
	})
	// envtest never finishes deleting namespaces: the Tenant waits for them.
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if tn.DeletionTimestamp.IsZero() {
			return fmt.Errorf("tenant %s has no deletionTimestamp", name)
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting)
	})
	removeFinalizers(t, name)
}

// TestRemovedFinalizerIsRestored: a Tenant whose cleanup finalizer someone removes gets it
// back at once, so deleting it later still cleans up its namespaces.
func TestRemovedFinalizerIsRestored(t *testing.T) {
	t.Parallel()
	const name, planName = "t08-finalizer", "p08-finalizer"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)

	tn, err := fetchTenant(name)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, tn, func(tn *tenancyv1alpha1.Tenant) { tn.Finalizers = nil })
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if !slices.Contains(tn.Finalizers, tenancyv1alpha1.TenantFinalizer) {
			return fmt.Errorf("tenant %s has finalizers %v, want %s back", name, tn.Finalizers, tenancyv1alpha1.TenantFinalizer)
		}
		return nil
	})
}
