package apiproduct

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Metrics of the products' rollouts, served on the manager's metrics endpoint.
var (
	rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_rollout_phase",
		Help: "1 for the phase the product's rollout is in (Progressing, Paused, Succeeded, Failed, RolledBack), 0 for the others.",
	}, []string{"product", "phase"})
	rolloutUpdated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_rollout_updated_tenants",
		Help: "Tenants of the product's rollout that run its new revision, available.",
	}, []string{"product"})
	rolloutTenants = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenant_operator_rollout_tenants",
		Help: "Tenants the product's rollout moves.",
	}, []string{"product"})
)

func init() {
	metrics.Registry.MustRegister(rolloutPhase, rolloutUpdated, rolloutTenants)
}

var phases = []tenancyv1alpha1.RolloutPhase{
	tenancyv1alpha1.RolloutProgressing, tenancyv1alpha1.RolloutPaused, tenancyv1alpha1.RolloutSucceeded,
	tenancyv1alpha1.RolloutFailed, tenancyv1alpha1.RolloutRolledBack,
}

// recordRolloutMetrics sets the product's series from its status; a product without a
// rollout, or being deleted, has none.
func recordRolloutMetrics(p *tenancyv1alpha1.ApiProduct) {
	ro := p.Status.Rollout
	if ro == nil || !p.DeletionTimestamp.IsZero() {
		forgetRolloutMetrics(p.Name)
		return
	}
	for _, ph := range phases {
		v := 0.0
		if ro.Phase == ph {
			v = 1
		}
		rolloutPhase.WithLabelValues(p.Name, string(ph)).Set(v)
	}
	rolloutUpdated.WithLabelValues(p.Name).Set(float64(ro.UpdatedTenants))
	rolloutTenants.WithLabelValues(p.Name).Set(float64(ro.Tenants))
}

func forgetRolloutMetrics(product string) {
	rolloutPhase.DeletePartialMatch(prometheus.Labels{"product": product})
	rolloutUpdated.DeleteLabelValues(product)
	rolloutTenants.DeleteLabelValues(product)
}
