package controllers

// User stories of plans that cannot work: a quota on compute resources that the plan's
// products do not set and its limitRange does not default (Kubernetes refuses every Pod),
// and a limitRange Kubernetes refuses. The plan says so in Ready and heals once fixed.

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// waitPlanReady waits until the plan's Ready condition, computed for its current
// generation, has status and reason and a message that contains every one of texts.
func waitPlanReady(t *testing.T, plan string, status metav1.ConditionStatus, reason string, texts ...string) {
	t.Helper()
	eventually(t, 0, func() error {
		p, err := fetchPlan(plan)
		if err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, status, reason); err != nil {
			return fmt.Errorf("plan %s: %w", plan, err)
		}
		c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady)
		if c.ObservedGeneration != p.Generation || p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("plan %s: Ready is for generation %d (status %d), the plan is at %d",
				plan, c.ObservedGeneration, p.Status.ObservedGeneration, p.Generation)
		}
		for _, s := range texts {
			if !strings.Contains(c.Message, s) {
				return fmt.Errorf("plan %s: Ready message %q does not contain %q", plan, c.Message, s)
			}
		}
		return nil
	})
}

// TestSprMissingResourceDefaults: a plan whose quota limits requests.cpu, with no
// limitRange, and a product whose component sets no resources is Ready=False,
// MissingResourceDefaults, naming the key, the product and the component. A limitRange
// defaultRequest heals it; so does the plan entry's resources override.
func TestSprMissingResourceDefaults(t *testing.T) {
	t.Parallel()
	const planName, product = "spr-missing", "spr-bare"
	mustCreate(t, newAPIProduct(product, "v1",
		productVersion("v1", productComponent("api", "registry.example.com/spr-bare:1.0.0", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}) // quota requests.cpu: 4, pods: 20
	mustCreate(t, plan)
	waitPlanReady(t, planName, metav1.ConditionFalse, tenancyv1alpha1.ReasonMissingResourceDefaults,
		"quota.hard requests.cpu", "ApiProduct "+product, "component api", "spec.limitRange.defaultRequest.cpu")

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.LimitRange = &tenancyv1alpha1.PlanLimitRange{DefaultRequest: rl("cpu", "100m")}
	})
	waitPlanReady(t, planName, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)

	// Without the default it is broken again; the plan's resources for the product heal it
	// too, as they replace the component's.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.LimitRange = nil })
	waitPlanReady(t, planName, metav1.ConditionFalse, tenancyv1alpha1.ReasonMissingResourceDefaults, "component api")
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Resources = &tenancyv1alpha1.ComputeResources{Requests: rl("cpu", "250m")}
	})
	waitPlanReady(t, planName, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
}

// TestSprProductChangeReevaluatesPlan: the plan's verdict follows its products. A product
// whose component drops its resources breaks the plan, a limit (which Kubernetes copies
// into the request) heals it, and a new version that tenants could pin is checked too.
func TestSprProductChangeReevaluatesPlan(t *testing.T) {
	t.Parallel()
	const planName, product = "spr-follows", "spr-sized"
	sized := productComponent("api", "registry.example.com/spr-sized:1.0.0", 8080)
	sized.Resources = &tenancyv1alpha1.ComputeResources{Requests: rl("cpu", "100m")}
	ap := newAPIProduct(product, "v1", productVersion("v1", sized))
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	waitPlanReady(t, planName, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)

	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) { p.Spec.Versions[0].Components[0].Resources = nil })
	waitPlanReady(t, planName, metav1.ConditionFalse, tenancyv1alpha1.ReasonMissingResourceDefaults,
		"ApiProduct "+product+" version v1 component api", "quota.hard requests.cpu")

	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Versions[0].Components[0].Resources = &tenancyv1alpha1.ComputeResources{Limits: rl("cpu", "200m")}
	})
	waitPlanReady(t, planName, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)

	// A version that is not the default still counts: a tenant may pin it.
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Versions = append(p.Spec.Versions,
			productVersion("v2", productComponent("api", "registry.example.com/spr-sized:2.0.0", 8080)))
	})
	waitPlanReady(t, planName, metav1.ConditionFalse, tenancyv1alpha1.ReasonMissingResourceDefaults,
		"ApiProduct "+product+" version v2 component api")
}
