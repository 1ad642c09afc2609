package controllers

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestKstatus: tools that read kstatus (kubectl wait, Flux, Argo CD, cli-utils) see a Ready
// tenant as Current and a tenant whose plan is missing as Failed.
func TestKstatus(t *testing.T) {
	t.Parallel()
	const ready, broken, planName = "t13-ready", "t13-broken", "p13-kstatus"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(ready, planName))
	mustCreate(t, newTenant(broken, "p13-does-not-exist"))

	waitTenantReady(t, ready)
	waitKstatus(t, ready, status.CurrentStatus)

	waitTenantStalled(t, broken, tenancyv1alpha1.ReasonPlanNotFound)
	waitKstatus(t, broken, status.FailedStatus)
}

// waitKstatus waits until kstatus computes want for the live Tenant.
func waitKstatus(t *testing.T, name string, want status.Status) *status.Result {
	t.Helper()
	var res *status.Result
	eventually(t, 0, func() error {
		var err error
		if res, err = kstatusOf(name); err != nil {
			return err
		}
		if res.Status != want {
			return fmt.Errorf("kstatus of tenant %s = %s (%s), want %s", name, res.Status, res.Message, want)
		}
		return nil
	})
	return res
}

// kstatusOf computes kstatus for the live Tenant, as kubectl wait, Flux and Argo CD read it.
func kstatusOf(name string) (*status.Result, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(tenancyv1alpha1.GroupVersion.WithKind("Tenant"))
	if err := get(u, "", name); err != nil {
		return nil, err
	}
	res, err := status.Compute(u)
	if err != nil {
		return nil, fmt.Errorf("kstatus of tenant %s: %w", name, err)
	}
	return res, nil
}
