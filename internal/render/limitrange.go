package render

import (
	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// LimitRange renders the container defaults and bounds of the plan. It reports false when
// the plan sets none, in which case the namespace has no tenant-limits.
func LimitRange(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, namespace string) (Object, bool) {
	lr := plan.Spec.LimitRange
	if lr == nil || (len(lr.Default) == 0 && len(lr.DefaultRequest) == 0 && len(lr.Max) == 0 && len(lr.Min) == 0) {
		return Object{}, false
	}
	item := corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer)
	if len(lr.Default) > 0 {
		item.WithDefault(lr.Default.DeepCopy())
	}
	if len(lr.DefaultRequest) > 0 {
		item.WithDefaultRequest(lr.DefaultRequest.DeepCopy())
	}
	if len(lr.Max) > 0 {
		item.WithMax(lr.Max.DeepCopy())
	}
	if len(lr.Min) > 0 {
		item.WithMin(lr.Min.DeepCopy())
	}
	obj := corev1ac.LimitRange(LimitRangeName, namespace).
		WithLabels(Labels(t.Name)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(item))
	return Object{Kind: KindLimitRange, Namespace: namespace, Name: LimitRangeName, Apply: obj}, true
}
