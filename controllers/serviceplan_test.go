package controllers

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestServicePlanStatus: a plan reports missing products and the tenants on it.
func TestServicePlanStatus(t *testing.T) {
	t.Parallel()
	const planA, planB, product = "p11-gold", "p11-silver", "p11-missing-product"
	const a, b = "t11-one", "t11-two"
	gold := newPlan(planA, 1)
	gold.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: product}}
	mustCreate(t, gold)
	mustCreate(t, newPlan(planB, 1))

	eventually(t, 0, func() error {
		p, err := fetchPlan(planA)
		if err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProductNotFound); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady); !strings.Contains(c.Message, product) {
			return fmt.Errorf("Ready message %q does not name product %s", c.Message, product)
		}
		return nil
	})

	mustCreate(t, &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: product},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v1",
			Versions: []tenancyv1alpha1.ProductVersion{{
				Name: "v1",
				// The plan's quota limits requests.cpu: without a request the plan would be
				// MissingResourceDefaults (TestSprMissingResourceDefaults).
				Components: []tenancyv1alpha1.Component{{Name: "api", Image: "registry.example.com/api:1.0.0",
					Resources: &tenancyv1alpha1.ComputeResources{Requests: rl("cpu", "100m")}}},
			}},
		},
	})
	eventually(t, 0, func() error {
		p, err := fetchPlan(planA)
		if err != nil {
			return err
		}
		return wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, "")
	})

	mustCreate(t, newTenant(a, planA))
	tb := newTenant(b, planA)
	mustCreate(t, tb)
	waitPlanTenants(t, planA, a, b)
	waitPlanTenants(t, planB)

	// Moving a tenant to another plan updates both plans.
	mustUpdate(t, tb, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Plan = planB })
	waitPlanTenants(t, planA, a)
	waitPlanTenants(t, planB, b)
}

func fetchPlan(name string) (*tenancyv1alpha1.ServicePlan, error) {
	p := &tenancyv1alpha1.ServicePlan{}
	return p, get(p, "", name)
}

// waitPlanTenants waits until the plan's status counts and lists exactly the tenants.
func waitPlanTenants(t *testing.T, plan string, tenants ...string) {
	t.Helper()
	eventually(t, 0, func() error {
		p, err := fetchPlan(plan)
		if err != nil {
			return err
		}
		names := slices.Clone(p.Status.TenantNames)
		slices.Sort(names)
		if int(p.Status.Tenants) != len(tenants) || !slices.Equal(names, tenants) {
			return fmt.Errorf("plan %s: status.tenants = %d, tenantNames = %v; want %d, %v",
				plan, p.Status.Tenants, p.Status.TenantNames, len(tenants), tenants)
		}
		if p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("plan %s: status.observedGeneration %d, generation %d", plan, p.Status.ObservedGeneration, p.Generation)
		}
		return nil
	})
}
