// Package rollout decides, as pure functions, how a change of an ApiProduct reaches its
// tenants: which wave each tenant is in (Assign), which revision a tenant runs (Pick), and
// what a rollout does next from its recorded state and what the tenants report (Step). The
// ApiProduct reconciler feeds Step and writes its result to status.rollout; the Tenant
// reconciler renders each product from the revision Pick gives it.
package rollout

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// RemainingWave is the name of the implicit last wave: the tenants no wave selects.
const RemainingWave = "(remaining)"

// Wave is a wave as the rollout uses it: its name and a function that says whether it
// selects a tenant.
type Wave struct {
	Name    string
	selects func(labels map[string]string, plan string) bool
}

// Waves are the waves of spec.rollout, followed by the implicit "(remaining)" wave unless a
// wave already selects every tenant. A wave whose tenantSelector cannot be parsed (the CRD's
// rules refuse such selectors, so only an object stored before them could hold one) selects
// nobody, and its tenants move in a later wave.
func Waves(spec *tenancyv1alpha1.RolloutSpec) []Wave {
	var out []Wave
	catchAll := false
	for _, w := range spec.Waves {
		w := w
		switch {
		case w.TenantSelector != nil:
			sel, err := metav1.LabelSelectorAsSelector(w.TenantSelector)
			if err != nil {
				sel = labels.Nothing()
			}
			out = append(out, Wave{Name: w.Name, selects: func(l map[string]string, _ string) bool {
				return sel.Matches(labels.Set(l))
			}})
		case len(w.Plans) > 0:
			plans := map[string]bool{}
			for _, p := range w.Plans {
				plans[p] = true
			}
			out = append(out, Wave{Name: w.Name, selects: func(_ map[string]string, plan string) bool { return plans[plan] }})
		default:
			catchAll = true
			out = append(out, Wave{Name: w.Name, selects: func(map[string]string, string) bool { return true }})
		}
		if catchAll {
			break
		}
	}
	if !catchAll {
		out = append(out, Wave{Name: RemainingWave, selects: func(map[string]string, string) bool { return true }})
	}
	return out
}

// Assign is the index in waves of the first wave that selects a tenant with these labels
// on this plan. waves always ends with a wave that selects everyone.
func Assign(waves []Wave, tenantLabels map[string]string, plan string) int {
	for i, w := range waves {
		if w.selects(tenantLabels, plan) {
			return i
		}
	}
	return len(waves) - 1
}
