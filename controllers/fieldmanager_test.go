package controllers

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
)

// TestOneFieldManager: everything the operator writes (children, status, finalizers) is
// recorded under the field manager tenant-operator, so a GitOps tool's diff can tell the
// operator's fields from its own.
func TestOneFieldManager(t *testing.T) {
	t.Parallel()
	const name, planName = "t21-fields", "p21-fields"
	plan := newPlan(planName, 1)
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	eventually(t, 0, func() error {
		p := &tenancyv1alpha1.ServicePlan{}
		if err := get(p, "", planName); err != nil {
			return err
		}
		if p.Status.Tenants != 1 {
			return fmt.Errorf("plan %s counts %d tenants, want 1", planName, p.Status.Tenants)
		}
		return nil
	})

	for _, o := range []objRef{
		{&tenancyv1alpha1.Tenant{}, "", name},
		{&tenancyv1alpha1.ServicePlan{}, "", planName},
		{&corev1.ResourceQuota{}, name, "tenant-quota"},
		{&corev1.Namespace{}, "", name},
	} {
		if err := get(o.obj, o.namespace, o.name); err != nil {
			t.Fatal(err)
		}
		if err := operatorFieldsOwned(o.obj); err != nil {
			t.Errorf("%T %s: %v", o.obj, objName(o.namespace, o.name), err)
		}
	}
}

// operatorFieldsOwned checks that no other field manager wrote the status or the
// finalizers of a tenancy object, or applied fields of an object the operator made, and
// that tenant-operator owns something.
func operatorFieldsOwned(o client.Object) error {
	tenancy := false
	switch o.(type) {
	case *tenancyv1alpha1.Tenant, *tenancyv1alpha1.ServicePlan, *tenancyv1alpha1.ApiProduct:
		tenancy = true
	}
	operatorMade := o.GetLabels()[tenancyv1alpha1.LabelManagedBy] == tenancyv1alpha1.ManagedByValue
	owns := false
	var managers []string
	for _, e := range o.GetManagedFields() {
		managers = append(managers, fmt.Sprintf("%s (%s %s)", e.Manager, e.Operation, e.Subresource))
	}
	for _, e := range o.GetManagedFields() {
		if e.Manager == tenancyv1alpha1.FieldManager {
			owns = true
			continue
		}
		fields := ""
		if e.FieldsV1 != nil {
			fields = string(e.FieldsV1.Raw)
		}
		switch {
		case operatorMade && e.Operation == metav1.ManagedFieldsOperationApply:
			return fmt.Errorf("applied by %s as well: %v", e.Manager, managers)
		case tenancy && e.Subresource == "status":
			return fmt.Errorf("status written by %s: %v", e.Manager, managers)
		case tenancy && strings.Contains(fields, `"f:finalizers"`):
			return fmt.Errorf("finalizers written by %s: %v", e.Manager, managers)
		}
	}
	if !owns {
		return fmt.Errorf("no field owned by %s: %v", tenancyv1alpha1.FieldManager, managers)
	}
	return nil
}

// TestCreatedNamespaceLosesWhatThePlanDrops: the operator makes a tenant's namespace with
// one create request (marked tenancy.openplatform.io/created), so its labels belong to that
// request's Update entry in managedFields, not to a server-side apply. When the plan stops
// asking for a label (alwaysPullImages turned off), the operator's next apply first moves
// those fields to its apply entry, so the apply removes the label, and the mark with it.
func TestCreatedNamespaceLosesWhatThePlanDrops(t *testing.T) {
	t.Parallel()
	const name, planName = "t22-created", "p22-created"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	ns := &corev1.Namespace{}
	if err := get(ns, "", name); err != nil {
		t.Fatal(err)
	}
	if ns.Labels[tenancyv1alpha1.LabelAlwaysPullImages] != "true" || ns.Annotations[apply.AnnotationCreated] != "true" {
		t.Fatalf("namespace %s: labels %v, annotations %v; want %s=true and %s=true (made with a create request)",
			name, ns.Labels, ns.Annotations, tenancyv1alpha1.LabelAlwaysPullImages, apply.AnnotationCreated)
	}

	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.AlwaysPullImages = ptrTo(false)
	})
	eventually(t, 0, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", name); err != nil {
			return err
		}
		if _, ok := ns.Labels[tenancyv1alpha1.LabelAlwaysPullImages]; ok {
			return fmt.Errorf("namespace %s still has the label %s: %v", name, tenancyv1alpha1.LabelAlwaysPullImages, ns.Labels)
		}
		if _, ok := ns.Annotations[apply.AnnotationCreated]; ok {
			return fmt.Errorf("namespace %s still has the annotation %s", name, apply.AnnotationCreated)
		}
		for _, e := range ns.ManagedFields {
			if e.Manager == tenancyv1alpha1.FieldManager && e.Operation == metav1.ManagedFieldsOperationUpdate {
				return fmt.Errorf("namespace %s: %s still has an Update entry in managedFields", name, e.Manager)
			}
		}
		if ns.Labels[tenancyv1alpha1.LabelTenant] != name {
			return fmt.Errorf("namespace %s lost its tenant label: %v", name, ns.Labels)
		}
		return nil
	})
	waitTenantReady(t, name)
}
