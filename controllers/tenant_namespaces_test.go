package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestConflictingNamespaceIsLeftUntouched: a namespace that exists and is not the tenant's
// is never taken over; the tenant says why and how to fix it, and its other namespaces are
// provisioned all the same.
func TestConflictingNamespaceIsLeftUntouched(t *testing.T) {
	t.Parallel()
	const name, planName = "t04-conflict", "p04-conflict"
	dev := name + "-dev"
	mustCreate(t, newPlan(planName, 2))
	createNamespace(t, dev, map[string]string{"foo": "bar"}, nil)
	mustCreate(t, newTenant(name, planName, name, dev))

	tn := waitTenantStalled(t, name, tenancyv1alpha1.ReasonNamespaceConflict)
	if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse,
		tenancyv1alpha1.ReasonNamespaceConflict); err != nil {
		t.Error(err)
	}
	for _, typ := range []string{tenancyv1alpha1.ConditionNamespacesReady, tenancyv1alpha1.ConditionReady} {
		c := findCondition(tn, typ)
		if c == nil || !strings.Contains(c.Message, dev) || !strings.Contains(c.Message, tenancyv1alpha1.AnnotationAdopt) {
			t.Errorf("%s message = %q, want it to name namespace %s and the annotation %s", typ, messageOf(c), dev, tenancyv1alpha1.AnnotationAdopt)
		}
	}
	if s, ok := namespaceStatus(tn, dev); !ok || s.Phase != tenancyv1alpha1.NamespaceConflict {
		t.Errorf("status.namespaces entry for %s = %+v (found %v), want phase Conflict", dev, s, ok)
	}
	if s, ok := namespaceStatus(tn, name); !ok || s.Phase != tenancyv1alpha1.NamespaceActive {
		t.Errorf("status.namespaces entry for %s = %+v (found %v), want phase Active", name, s, ok)
	}

	// The other namespace is provisioned.
	ns := &corev1.Namespace{}
	if err := get(ns, "", name); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	if err := hasTenantLabels(ns, name); err != nil {
		t.Error(err)
	}
	waitQuota(t, name, "requests.cpu", "2", "pods", "10")
	if err := get(&rbacv1.RoleBinding{}, name, "tenant-owners"); err != nil {
		t.Errorf("tenant-owners in %s: %v", name, err)
	}

	// The conflicting namespace stays as it was.
	consistently(t, 2*time.Second, func() error { return untouched(dev, "foo", "bar") })

	// A namespace that belongs to another tenant is a conflict too.
	const other = "t04-taken"
	createNamespace(t, other, map[string]string{tenancyv1alpha1.LabelTenant: "other"}, nil)
	mustCreate(t, newTenant(other, planName))
	tn = waitTenantStalled(t, other, tenancyv1alpha1.ReasonNamespaceConflict)
	if c := findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady); c == nil || !strings.Contains(c.Message, other) {
		t.Errorf("NamespacesReady message = %q, want it to name namespace %s", messageOf(c), other)
	}
	consistently(t, time.Second, func() error { return untouched(other, tenancyv1alpha1.LabelTenant, "other") })
}

// TestAdoptionByAnnotation: an admin hands an existing namespace over with the adopt
// annotation; deleting the tenant later releases it instead of deleting it.
func TestAdoptionByAnnotation(t *testing.T) {
	t.Parallel()
	const name, planName = "t05-adopt", "p05-adopt"
	legacy := name + "-legacy"
	mustCreate(t, newPlan(planName, 2))
	createNamespace(t, legacy, map[string]string{"foo": "bar"}, nil)
	tenant := newTenant(name, planName, name, legacy)
	mustCreate(t, tenant)
	waitTenantStalled(t, name, tenancyv1alpha1.ReasonNamespaceConflict)

	mustUpdate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: legacy}}, func(ns *corev1.Namespace) {
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		ns.Annotations[tenancyv1alpha1.AnnotationAdopt] = name
	})

	tn := waitTenantReady(t, name)
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
	if s, ok := namespaceStatus(tn, legacy); !ok || !s.Adopted || s.Phase != tenancyv1alpha1.NamespaceActive {
		t.Errorf("status.namespaces entry for %s = %+v (found %v), want Active and adopted", legacy, s, ok)
	}
	if s, ok := namespaceStatus(tn, name); !ok || s.Adopted {
		t.Errorf("status.namespaces entry for %s = %+v (found %v), want not adopted", name, s, ok)
	}
	ns := &corev1.Namespace{}
	if err := get(ns, "", legacy); err != nil {
		t.Fatal(err)
	}
	if err := hasTenantLabels(ns, name); err != nil {
		t.Error(err)
	}
	if ns.Annotations[tenancyv1alpha1.AnnotationAdopted] != "true" {
		t.Errorf("namespace %s annotations = %v, want %s=true", legacy, ns.Annotations, tenancyv1alpha1.AnnotationAdopted)
	}
	if ns.Labels["foo"] != "bar" {
		t.Errorf("namespace %s lost its label foo=bar: %v", legacy, ns.Labels)
	}
	waitQuota(t, legacy, "requests.cpu", "2", "pods", "10")
	if err := get(&rbacv1.RoleBinding{}, legacy, "tenant-owners"); err != nil {
		t.Errorf("tenant-owners in %s: %v", legacy, err)
	}

	// Deleting the tenant deletes the namespace it created and releases the adopted one.
	mustDelete(t, tenant)
	eventually(t, 0, func() error { return terminating(name) })
	eventually(t, 0, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", legacy); err != nil {
			return err
		}
		if !ns.DeletionTimestamp.IsZero() {
			return fmt.Errorf("adopted namespace %s is being deleted", legacy)
		}
		for _, l := range []string{tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelManagedBy} {
			if v, ok := ns.Labels[l]; ok {
				return fmt.Errorf("released namespace %s still has %s=%s", legacy, l, v)
			}
		}
		if _, ok := ns.Annotations[tenancyv1alpha1.AnnotationAdopted]; ok {
			return fmt.Errorf("released namespace %s is still marked %s", legacy, tenancyv1alpha1.AnnotationAdopted)
		}
		if ns.Labels["foo"] != "bar" {
			return fmt.Errorf("adopted namespace %s lost foo=bar: %v", legacy, ns.Labels)
		}
		if err := gone(&corev1.ResourceQuota{}, legacy, "tenant-quota"); err != nil {
			return err
		}
		return gone(&rbacv1.RoleBinding{}, legacy, "tenant-owners")
	})
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting)
	})
	removeFinalizers(t, name)
}

// untouched checks that a namespace carries the label key=value and nothing of a tenant's:
// no managed-by label, no tenant-quota and no tenant-owners.
func untouched(name, key, value string) error {
	ns := &corev1.Namespace{}
	if err := get(ns, "", name); err != nil {
		return err
	}
	if ns.Labels[key] != value {
		return fmt.Errorf("namespace %s: label %s = %q, want %q", name, key, ns.Labels[key], value)
	}
	if key != tenancyv1alpha1.LabelTenant {
		if v, ok := ns.Labels[tenancyv1alpha1.LabelTenant]; ok {
			return fmt.Errorf("namespace %s was labelled %s=%s", name, tenancyv1alpha1.LabelTenant, v)
		}
	}
	if _, ok := ns.Labels[tenancyv1alpha1.LabelManagedBy]; ok {
		return fmt.Errorf("namespace %s was labelled %s", name, tenancyv1alpha1.LabelManagedBy)
	}
	if err := gone(&corev1.ResourceQuota{}, name, "tenant-quota"); err != nil {
		return err
	}
	return gone(&rbacv1.RoleBinding{}, name, "tenant-owners")
}

func findCondition(tn *tenancyv1alpha1.Tenant, typ string) *metav1.Condition {
	return meta.FindStatusCondition(tn.Status.Conditions, typ)
}

// messageOf is a condition's message, for error messages.
func messageOf(c *metav1.Condition) string {
	if c == nil {
		return "<no condition>"
	}
	return c.Message
}
