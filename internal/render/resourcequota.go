package render

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// ResourceQuota renders the namespace's share of the plan's tenant-wide budget.
func ResourceQuota(t *tenancyv1alpha1.Tenant, namespace string, share map[string]string) Object {
	hard := make(corev1.ResourceList, len(share))
	for name, q := range share {
		hard[corev1.ResourceName(name)] = resource.MustParse(q)
	}
	rq := corev1ac.ResourceQuota(QuotaName, namespace).
		WithLabels(Labels(t.Name)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
	return Object{Kind: KindResourceQuota, Namespace: namespace, Name: QuotaName, Apply: rq}
}
