package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestMissingPlanStallsThenHeals: a tenant applied before its plan (GitOps applies in any
// order) reports the missing plan, creates nothing, and heals once the plan exists.
func TestMissingPlanStallsThenHeals(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// TestUnsplittableQuotaIsRefused: a plan quota the operator could not split in 64 bits is
// refused when applied, naming spec.quota.hard and the bound. (A plan stored before that
// rule stalls its tenants with InvalidQuota; render.TestTenantQuotaError covers the split.)
func TestUnsplittableQuotaIsRefused(t *testing.T) {
	t.Parallel()
	plan := newPlan("p14-huge", 1)
	plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: corev1.ResourceList{"pods": resource.MustParse("1E19")}}
	err := k8s.Create(testCtx, plan)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.quota.hard: ") || !strings.Contains(err.Error(), "must fit in 64 bits") {
		t.Errorf("creating a plan with pods: 1E19: %v, want it refused naming spec.quota.hard and the 64-bit bound", err)
	}
}

// TestOverBudgetIsReported: a namespace using more than its share (the quota controller,
// absent in envtest, is played by the test writing the quota's status) is reported as
// QuotaReady=False, reason OverBudget, without making the tenant unready; status.quota.used
// sums the namespaces' usage.
func TestOverBudgetIsReported(t *testing.T) {
	t.Parallel()
	const name, planName = "t15-busy", "p15-busy"
	mustCreate(t, newPlan(planName, 2)) // pods 20: 10 per namespace
	mustCreate(t, newTenant(name, planName, name, name+"-dev"))
	waitTenantReady(t, name)

	setUsed := func(ns, pods string) {
		eventually(t, 0, func() error {
			rq := &corev1.ResourceQuota{}
			if err := get(rq, ns, "tenant-quota"); err != nil {
				return err
			}
			rq.Status.Hard = rq.Spec.Hard
			rq.Status.Used = corev1.ResourceList{"pods": resource.MustParse(pods)}
			return k8s.Status().Update(testCtx, rq)
		})
	}
	setUsed(name, "12")
	setUsed(name+"-dev", "3")

	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionQuotaReady,
			metav1.ConditionFalse, tenancyv1alpha1.ReasonOverBudget); err != nil {
			return err
		}
		if c := findCondition(tn, tenancyv1alpha1.ConditionQuotaReady); !strings.Contains(c.Message, name+" uses 12 pods") {
			return fmt.Errorf("QuotaReady message %q does not name the namespace and its usage", c.Message)
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if used := tn.Status.Quota.Used["pods"]; used.Cmp(resource.MustParse("15")) != 0 {
			return fmt.Errorf("status.quota.used.pods = %s, want 15", used.String())
		}
		return nil
	})

	setUsed(name, "9")
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionTrue, "")
	})
}
