package render

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Availability and scaling of a tenant's product instance: with 2 or more replicas (or an
// autoscaler's minimum) each component gets a PodDisruptionBudget and Pods spread over
// nodes and zones; a plan's autoscaling gives it a HorizontalPodAutoscaler that owns the
// replica count; a component with metrics gets a ServiceMonitor when the
// prometheus-operator's CRD is installed.

// Kinds of availability and monitoring objects.
const (
	KindPodDisruptionBudget     = "PodDisruptionBudget"
	KindHorizontalPodAutoscaler = "HorizontalPodAutoscaler"
	KindServiceMonitor          = "ServiceMonitor"

	MonitoringGroup   = "monitoring.coreos.com"
	MonitoringVersion = "v1"
	ServiceMonitorCRD = "servicemonitors.monitoring.coreos.com"

	// metricsPortName names the Service and container port of a component's metrics when
	// they are not served on its port.
	metricsPortName = "metrics"

	// Topology keys the Pods of a highly available component are spread over.
	hostnameKey = "kubernetes.io/hostname"
	zoneKey     = "topology.kubernetes.io/zone"
)

// Replicas says how many replicas each component of a tenant's product gets: the plan
// entry's replicas (default 1), 0 while the tenant is suspended, and whether an autoscaler
// owns the count instead (then the number is its minimum).
func Replicas(t *tenancyv1alpha1.Tenant, r Resolved) (replicas int32, autoscaled bool) {
	switch {
	case t.Spec.Suspended:
		return 0, false
	case r.PlanEntry.Autoscaling != nil:
		return r.PlanEntry.Autoscaling.MinReplicas, true
	case r.PlanEntry.Replicas != nil:
		return *r.PlanEntry.Replicas, false
	}
	return 1, false
}

// highlyAvailable reports whether a product's components run at least two replicas, so
// that losing one Pod (a drain, a node) leaves the API up.
func highlyAvailable(t *tenancyv1alpha1.Tenant, r Resolved) bool {
	n, _ := Replicas(t, r)
	return n >= 2
}

// spread keeps a component's Pods apart, over nodes and over zones, where the scheduler
// can: ScheduleAnyway never leaves a Pod pending for it.
func spread(selector map[string]string) []*corev1ac.TopologySpreadConstraintApplyConfiguration {
	var out []*corev1ac.TopologySpreadConstraintApplyConfiguration
	for _, key := range []string{hostnameKey, zoneKey} {
		out = append(out, corev1ac.TopologySpreadConstraint().
			WithMaxSkew(1).
			WithTopologyKey(key).
			WithWhenUnsatisfiable(corev1.ScheduleAnyway).
			WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(selector)))
	}
	return out
}

// podDisruptionBudget lets evictions (a node drain) take one Pod of a component at a time.
func podDisruptionBudget(t *tenancyv1alpha1.Tenant, r Resolved, c *tenancyv1alpha1.Component) Object {
	return disruptionBudget(ComponentName(r.Product.Name, c.Name), r.Namespace, componentLabels(t, r, c.Name), selectorLabels(t, r.Product.Name, c.Name))
}

// disruptionBudget is a PodDisruptionBudget of maxUnavailable 1 for the Pods selector selects.
func disruptionBudget(name, namespace string, labels, selector map[string]string) Object {
	pdb := policyv1ac.PodDisruptionBudget(name, namespace).
		WithLabels(labels).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)))
	return Object{Kind: KindPodDisruptionBudget, Namespace: namespace, Name: name, Apply: pdb}
}

// horizontalPodAutoscaler scales a component's Deployment between the plan's bounds on CPU.
func horizontalPodAutoscaler(t *tenancyv1alpha1.Tenant, r Resolved, c *tenancyv1alpha1.Component) Object {
	name := ComponentName(r.Product.Name, c.Name)
	a := r.PlanEntry.Autoscaling
	target := a.TargetCPUUtilizationPercentage
	if target == 0 {
		target = 80
	}
	hpa := autoscalingv2ac.HorizontalPodAutoscaler(name, r.Namespace).
		WithLabels(componentLabels(t, r, c.Name)).
		WithSpec(autoscalingv2ac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
				WithAPIVersion("apps/v1").WithKind(KindDeployment).WithName(name)).
			WithMinReplicas(a.MinReplicas).
			WithMaxReplicas(a.MaxReplicas).
			WithMetrics(autoscalingv2ac.MetricSpec().
				WithType("Resource").
				WithResource(autoscalingv2ac.ResourceMetricSource().
					WithName(corev1.ResourceCPU).
					WithTarget(autoscalingv2ac.MetricTarget().WithType("Utilization").WithAverageUtilization(target)))))
	return Object{Kind: KindHorizontalPodAutoscaler, Namespace: r.Namespace, Name: name, Apply: hpa}
}

// metricsPort is the name of the Service port a component's metrics are scraped on: its
// port's when they share it.
func metricsPort(c *tenancyv1alpha1.Component) string {
	if c.Port != nil && *c.Port == c.Metrics.Port {
		return "http"
	}
	return metricsPortName
}

// metricsPath is the path of a component's metrics (default /metrics).
func metricsPath(c *tenancyv1alpha1.Component) string {
	if c.Metrics.Path != "" {
		return c.Metrics.Path
	}
	return "/metrics"
}

// serviceMonitor has Prometheus scrape a component's metrics, each series labelled with
// the tenant, plan and product (the Service's labels of those names).
func serviceMonitor(t *tenancyv1alpha1.Tenant, r Resolved, c *tenancyv1alpha1.Component) Object {
	name := ComponentName(r.Product.Name, c.Name)
	return Object{Kind: KindServiceMonitor, Namespace: r.Namespace, Name: name, Apply: &customObject{
		APIVersion: MonitoringGroup + "/" + MonitoringVersion,
		Kind:       KindServiceMonitor,
		Metadata:   customMetadata{Name: name, Namespace: r.Namespace, Labels: componentLabels(t, r, c.Name)},
		Spec: &serviceMonitorSpec{
			Selector:     monitorSelector{MatchLabels: selectorLabels(t, r.Product.Name, c.Name)},
			Endpoints:    []monitorEndpoint{{Port: metricsPort(c), Path: metricsPath(c)}},
			TargetLabels: []string{tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelPlan, tenancyv1alpha1.LabelProduct},
		},
	}}
}

type serviceMonitorSpec struct {
	Selector     monitorSelector   `json:"selector"`
	Endpoints    []monitorEndpoint `json:"endpoints"`
	TargetLabels []string          `json:"targetLabels"`
}

type monitorSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type monitorEndpoint struct {
	Port string `json:"port"`
	Path string `json:"path"`
}
