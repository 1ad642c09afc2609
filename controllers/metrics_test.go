package controllers

import (
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestTenantMetrics: once a tenant is Ready, its readiness, products and quota usage are
// exported, the time to Ready is observed, a move to another plan leaves no series of the
// old plan or of a quota the new one lacks, and the series go away with the tenant. Not
// parallel: the time-to-Ready histogram has no tenant label, so a count that grew would
// prove nothing while other tenants become Ready.
func TestTenantMetrics(t *testing.T) {
	const name, planName = "t16-metrics", "p16-metrics"
	readyBefore := histogramCount(t)
	mustCreate(t, newPlan(planName, 1)) // quota: requests.cpu 4, pods 20
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)

	eventually(t, 0, func() error {
		if v := gaugeValue(t, "tenant_operator_tenant_ready", "tenant", name, "plan", planName); v != 1 {
			return fmt.Errorf("tenant_operator_tenant_ready = %v, want 1", v)
		}
		if v := gaugeValue(t, "tenant_operator_tenant_products_total", "tenant", name); v != 0 {
			return fmt.Errorf("tenant_operator_tenant_products_total = %v, want 0", v)
		}
		if n := histogramCount(t); n <= readyBefore {
			return fmt.Errorf("tenant_operator_tenant_time_to_ready_seconds count = %d, want more than %d", n, readyBefore)
		}
		return nil
	})

	// The quota controller is absent in envtest: play it by writing the quota's usage.
	eventually(t, 0, func() error {
		rq := &corev1.ResourceQuota{}
		if err := get(rq, name, "tenant-quota"); err != nil {
			return err
		}
		rq.Status.Hard = rq.Spec.Hard
		rq.Status.Used = corev1.ResourceList{"pods": resource.MustParse("5")}
		return k8s.Status().Update(testCtx, rq)
	})
	eventually(t, 0, func() error {
		if v := gaugeValue(t, "tenant_operator_tenant_quota_usage_ratio", "tenant", name, "resource", "pods"); v != 0.25 {
			return fmt.Errorf("tenant_operator_tenant_quota_usage_ratio{resource=pods} = %v, want 0.25 (5 of 20)", v)
		}
		return nil
	})

	// A move to a plan without a quota: the series of the old plan and of the quota go.
	const otherPlan = "p16-metrics-noquota"
	noQuota := newPlan(otherPlan, 1)
	noQuota.Spec.Quota = nil
	mustCreate(t, noQuota)
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Plan = otherPlan })
	eventually(t, 0, func() error {
		if v := gaugeValue(t, "tenant_operator_tenant_ready", "tenant", name, "plan", otherPlan); v != 1 {
			return fmt.Errorf("tenant_operator_tenant_ready{plan=%s} = %v, want 1", otherPlan, v)
		}
		if n := seriesFor(t, "tenant_operator_tenant_ready", name); n != 1 {
			return fmt.Errorf("%d tenant_operator_tenant_ready series for %s, want 1 (none left on plan %s)", n, name, planName)
		}
		if n := seriesFor(t, "tenant_operator_tenant_quota_usage_ratio", name); n != 0 {
			return fmt.Errorf("%d quota usage series for %s on a plan without a quota, want 0", n, name)
		}
		return nil
	})

	tn, err := fetchTenant(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(testCtx, tn); err != nil {
		t.Fatal(err)
	}
	// envtest never finishes namespace deletion: let the tenant go by hand.
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return nil
		}
		tn.Finalizers = nil
		return k8s.Update(testCtx, tn)
	})
	eventually(t, 0, func() error {
		if seriesFor(t, "tenant_operator_tenant_ready", name) != 0 || seriesFor(t, "tenant_operator_tenant_products_total", name) != 0 {
			return fmt.Errorf("series for deleted tenant %s are still exported", name)
		}
		return nil
	})
}

// family gathers a metric family from the registry the manager serves on /metrics.
func family(t *testing.T, name string) *dto.MetricFamily {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// hasLabels reports whether a series carries every label pair of kv.
func hasLabels(m *dto.Metric, kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || (l.GetName() == kv[i] && l.GetValue() == kv[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

// gaugeValue is the value of the gauge series with the labels kv (-1 when there is none).
func gaugeValue(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	for _, m := range family(t, name).GetMetric() {
		if hasLabels(m, kv...) {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// histogramCount is the number of observations of the time-to-Ready histogram.
func histogramCount(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	for _, m := range family(t, "tenant_operator_tenant_time_to_ready_seconds").GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// seriesFor counts the series of a metric labelled with the tenant.
func seriesFor(t *testing.T, name, tenant string) int {
	t.Helper()
	n := 0
	for _, m := range family(t, name).GetMetric() {
		if hasLabels(m, "tenant", tenant) {
			n++
		}
	}
	return n
}
