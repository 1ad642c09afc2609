package tenant

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Metrics of the tenants, served with controller-runtime's on the manager's metrics endpoint.
var (
	tenantReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_tenant_ready",
		Help: "1 when the tenant's Ready condition is True, else 0; sum by plan for tenants per plan and readiness.",
	}, []string{"tenant", "plan"})
	tenantProductsReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_tenant_products_ready",
		Help: "Number of the tenant's API products whose Deployments are all available.",
	}, []string{"tenant"})
	tenantProductsTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_tenant_products_total",
		Help: "Number of the tenant's API products.",
	}, []string{"tenant"})
	tenantQuotaUsage = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_tenant_quota_usage_ratio",
		Help: "Usage of a quota resource summed over the tenant's namespaces, divided by the plan's tenant-wide budget.",
	}, []string{"tenant", "resource"})
	tenantTimeToReady = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tenant_operator_tenant_time_to_ready_seconds",
		Help:    "Time from a Tenant's creation to its first Ready=True seen by this operator process.",
		Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600},
	})
)

func init() {
	metrics.Registry.MustRegister(tenantReady, tenantProductsReady, tenantProductsTotal, tenantQuotaUsage, tenantTimeToReady)
}

// readySeen remembers the tenants whose first Ready was observed, so the histogram counts
// each tenant once. After a restart tenants already Ready do not transition, so they are
// not counted again.
var readySeen sync.Map // types.UID -> struct{}

// recordTenantMetrics updates the tenant's series from its status. wasReady is whether the
// Ready condition was True before this pass.
func recordTenantMetrics(t *tenancyv1alpha1.Tenant, wasReady bool, now time.Time) {
	ready := meta.IsStatusConditionTrue(t.Status.Conditions, tenancyv1alpha1.ConditionReady)
	// A tenant that moved to another plan leaves no series behind on the old one.
	tenantReady.DeletePartialMatch(prometheus.Labels{"tenant": t.Name})
	v := 0.0
	if ready {
		v = 1
	}
	tenantReady.WithLabelValues(t.Name, t.Spec.Plan).Set(v)

	var readyProducts, totalProducts int
	if _, err := fmt.Sscanf(t.Status.ProductsReady, "%d/%d", &readyProducts, &totalProducts); err == nil {
		tenantProductsReady.WithLabelValues(t.Name).Set(float64(readyProducts))
		tenantProductsTotal.WithLabelValues(t.Name).Set(float64(totalProducts))
	}

	tenantQuotaUsage.DeletePartialMatch(prometheus.Labels{"tenant": t.Name})
	if q := t.Status.Quota; q != nil {
		for name, hard := range q.Hard {
			if hard.IsZero() {
				continue
			}
			used := q.Used[name]
			tenantQuotaUsage.WithLabelValues(t.Name, string(name)).Set(used.AsApproximateFloat64() / hard.AsApproximateFloat64())
		}
	}

	if ready && !wasReady {
		if _, seen := readySeen.LoadOrStore(t.UID, struct{}{}); !seen {
			tenantTimeToReady.Observe(now.Sub(t.CreationTimestamp.Time).Seconds())
		}
	}
}

// forgetTenantMetrics removes a deleted tenant's series.
func forgetTenantMetrics(name string, uid types.UID) {
	for _, v := range []*prometheus.GaugeVec{tenantReady, tenantProductsReady, tenantProductsTotal, tenantQuotaUsage} {
		v.DeletePartialMatch(prometheus.Labels{"tenant": name})
	}
	if uid != "" {
		readySeen.Delete(uid)
	}
}
