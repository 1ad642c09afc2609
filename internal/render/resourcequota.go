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

// fencedServiceKinds are the quota keys that every tenant-quota holds, at 0 unless the plan
// names them: NodePort and LoadBalancer Services reach the tenant from outside the fence.
var fencedServiceKinds = []corev1.ResourceName{corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers}

// QuotaHard is the tenant-wide budget that is split across the namespaces: the plan's
// quota.hard plus services.nodeports and services.loadbalancers at 0 unless the plan names
// them.
func QuotaHard(plan *tenancyv1alpha1.ServicePlan) corev1.ResourceList {
	hard := corev1.ResourceList{}
	if plan.Spec.Quota != nil && plan.Spec.Quota.Hard != nil {
		hard = plan.Spec.Quota.Hard.DeepCopy()
	}
	for _, name := range fencedServiceKinds {
		if _, ok := hard[name]; !ok {
			hard[name] = resource.MustParse("0")
		}
	}
	return hard
}
