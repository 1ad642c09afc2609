package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestMissingPlanStallsThenHeals: a tenant applied before its plan (GitOps applies in any
// order) reports the missing plan, creates nothing, and heals once the plan exists.
func TestMissingPlanStallsThenHeals(t *testing.T) {
	const name, planName = "t06-early", "p06-late"
	mustCreate(t, newTenant(name, planName))

	tn := waitTenantStalled(t, name, tenancyv1alpha1.ReasonPlanNotFound)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, planName) {
		t.Errorf("Ready message = %q, want it to name plan %s", messageOf(c), planName)
	}
	consistently(t, time.Second, func() error { return gone(&corev1.Namespace{}, "", name) })

	mustCreate(t, newPlan(planName, 1))
	tn = waitTenantReady(t, name)
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
	if err := get(&corev1.Namespace{}, "", name); err != nil {
		t.Errorf("namespace %s: %v", name, err)
	}
}

// TestTooManyNamespaces: a tenant listing more namespaces than its plan allows is reported
// and left alone until the plan allows them.
func TestTooManyNamespaces(t *testing.T) {
	const name, planName = "t07-greedy", "p07-small"
	second := name + "-two"
	plan := newPlan(planName, 1)
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName, name, second))

	tn := waitTenantStalled(t, name, tenancyv1alpha1.ReasonTooManyNamespaces)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, planName) {
		t.Errorf("Ready message = %q, want it to name plan %s", messageOf(c), planName)
	}
	consistently(t, time.Second, func() error {
		if err := gone(&corev1.Namespace{}, "", name); err != nil {
			return err
		}
		return gone(&corev1.Namespace{}, "", second)
	})

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.MaxNamespaces = 2 })
	tn = waitTenantReady(t, name)
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
	if tn.Status.NamespaceCount != 2 {
		t.Errorf("status.namespaceCount = %d, want 2", tn.Status.NamespaceCount)
	}
}

// TestUnsplittableQuotaStallsThenHeals: a plan whose quota is larger than Kubernetes
// supports is reported on the tenant (nothing is created from it) and heals once fixed.
func TestUnsplittableQuotaStallsThenHeals(t *testing.T) {
	const name, planName = "t14-huge", "p14-huge"
	plan := newPlan(planName, 1)
	plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: corev1.ResourceList{"pods": resource.MustParse("1E19")}}
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName))

	tn := waitTenantStalled(t, name, tenancyv1alpha1.ReasonInvalidQuota)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil ||
		!strings.Contains(c.Message, "spec.quota.hard") || !strings.Contains(c.Message, "pods") {
		t.Errorf("Ready message = %q, want it to name the quota key and spec.quota.hard", messageOf(c))
	}
	consistently(t, time.Second, func() error { return gone(&corev1.Namespace{}, "", name) })

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Quota.Hard = corev1.ResourceList{"pods": resource.MustParse("10")}
	})
	waitTenantReady(t, name)
}
