package controllers

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestTenantMetrics: once a tenant is Ready, its readiness, products and quota usage are
// exported, the time to Ready is observed, and the series go away with the tenant. Not
// parallel: the time-to-Ready histogram has no tenant label, so a count that grew would
// prove nothing while other tenants become Ready.
func TestTenantMetrics(t *testing.T) {
	const name, planName = "t16-metrics", "p16-metrics"
	readyBefore := histogramCount(t)
	mustCreate(t, newPlan(planName, 1)) // quota: requests.cpu 4, pods 20
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)

	eventually(t, 0, func() error {
		if v := testutil.ToFloat64(tenantReady.WithLabelValues(name, planName)); v != 1 {
			return fmt.Errorf("tenant_operator_tenant_ready = %v, want 1", v)
		}
		if v := testutil.ToFloat64(tenantProductsTotal.WithLabelValues(name)); v != 0 {
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
		if v := testutil.ToFloat64(tenantQuotaUsage.WithLabelValues(name, "pods")); v != 0.25 {
			return fmt.Errorf("tenant_operator_tenant_quota_usage_ratio{resource=pods} = %v, want 0.25 (5 of 20)", v)
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
		if seriesFor(tenantReady, name) != 0 || seriesFor(tenantProductsTotal, name) != 0 {
			return fmt.Errorf("series for deleted tenant %s are still exported", name)
		}
		return nil
	})
}

// histogramCount is the number of observations of the time-to-Ready histogram.
func histogramCount(t *testing.T) uint64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	tenantTimeToReady.Collect(ch)
	m := &dto.Metric{}
	if err := (<-ch).Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// seriesFor counts a vector's series labelled with the tenant.
func seriesFor(v *prometheus.GaugeVec, tenant string) int {
	ch := make(chan prometheus.Metric, 100)
	v.Collect(ch)
	close(ch)
	n := 0
	for m := range ch {
		d := &dto.Metric{}
		_ = m.Write(d)
		for _, l := range d.GetLabel() {
			if l.GetName() == "tenant" && l.GetValue() == tenant {
				n++
			}
		}
	}
	return n
}
