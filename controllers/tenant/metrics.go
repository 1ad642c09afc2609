package tenant

import (
	"fmt"
	"slices"
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

// recorded holds, by tenant name, the label values of the tenant's series this process set
// last (a tenantSeries), so that a pass removes exactly the series that went: a delete by
// partial match looks at every tenant's series, and each pass would cost more the more
// tenants there are.
var recorded sync.Map

// tenantSeries are the label values of one tenant's series besides its name.
type tenantSeries struct {
	plan     string
	products bool
	quota    []string
}

// recordTenantMetrics updates the tenant's series from its status. wasReady is whether the
// Ready condition was True before this pass.
func recordTenantMetrics(t *tenancyv1alpha1.Tenant, wasReady bool, now time.Time) {
	var prev tenantSeries
	if v, ok := recorded.Load(t.Name); ok {
		prev = v.(tenantSeries)
	}
	cur := tenantSeries{plan: t.Spec.Plan, products: prev.products}
	ready := meta.IsStatusConditionTrue(t.Status.Conditions, tenancyv1alpha1.ConditionReady)
	// A tenant that moved to another plan leaves no series behind on the old one.
	if prev.plan != "" && prev.plan != cur.plan {
		tenantReady.DeleteLabelValues(t.Name, prev.plan)
	}
	v := 0.0
	if ready {
		v = 1
	}
	tenantReady.WithLabelValues(t.Name, t.Spec.Plan).Set(v)

	var readyProducts, totalProducts int
	if _, err := fmt.Sscanf(t.Status.ProductsReady, "%d/%d", &readyProducts, &totalProducts); err == nil {
		tenantProductsReady.WithLabelValues(t.Name).Set(float64(readyProducts))
		tenantProductsTotal.WithLabelValues(t.Name).Set(float64(totalProducts))
		cur.products = true
	}

	if q := t.Status.Quota; q != nil {
		for name, hard := range q.Hard {
			if hard.IsZero() {
				continue
			}
			used := q.Used[name]
			tenantQuotaUsage.WithLabelValues(t.Name, string(name)).Set(used.AsApproximateFloat64() / hard.AsApproximateFloat64())
			cur.quota = append(cur.quota, string(name))
		}
	}
	for _, name := range prev.quota {
		if !slices.Contains(cur.quota, name) {
			tenantQuotaUsage.DeleteLabelValues(t.Name, name)
		}
	}
	recorded.Store(t.Name, cur)

	if ready && !wasReady {
		if _, seen := readySeen.LoadOrStore(t.UID, struct{}{}); !seen {
			tenantTimeToReady.Observe(now.Sub(t.CreationTimestamp.Time).Seconds())
		}
	}
}

// forgetTenantMetrics removes a deleted tenant's series.
func forgetTenantMetrics(name string, uid types.UID) {
	if v, ok := recorded.LoadAndDelete(name); ok {
		prev := v.(tenantSeries)
		tenantReady.DeleteLabelValues(name, prev.plan)
		if prev.products {
			tenantProductsReady.DeleteLabelValues(name)
			tenantProductsTotal.DeleteLabelValues(name)
		}
		for _, q := range prev.quota {
			tenantQuotaUsage.DeleteLabelValues(name, q)
		}
	}
	if uid != "" {
		readySeen.Delete(uid)
	}
}
