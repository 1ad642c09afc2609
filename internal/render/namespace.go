package render

import (
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Pod Security admission labels.
const (
	psaEnforce = "pod-security.kubernetes.io/enforce"
	psaAudit   = "pod-security.kubernetes.io/audit"
	psaWarn    = "pod-security.kubernetes.io/warn"
)

// Namespace renders a tenant namespace: the tenant labels and the plan's Pod Security level
// for enforce, audit and warn. An adopted namespace is marked so that deleting the tenant
// releases it instead of deleting it. The namespace also carries what the admission
// policies of config/policy need to know about the tenant: its egress mode and allowed
// CIDRs (tenant-written NetworkPolicies stay within them), whether Pods always pull their
// images, the hostnames of its exposed products (the only hosts its own HTTPRoutes may
// claim), and the Services behind gateway policies (which its own HTTPRoutes may not
// route to, around the policies).
func Namespace(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, name string, adopted bool, hostnames, guarded []string) Object {
	level := string(plan.Spec.PodSecurity)
	if level == "" {
		level = string(tenancyv1alpha1.PodSecurityRestricted)
	}
	labels := Labels(t.Name)
	labels[psaEnforce] = level
	labels[psaAudit] = level
	labels[psaWarn] = level
	egress := plan.Spec.Network.Egress
	if egress == "" {
		egress = tenancyv1alpha1.EgressOpen
	}
	labels[tenancyv1alpha1.LabelEgress] = string(egress)
	if AlwaysPullImages(plan) {
		labels[tenancyv1alpha1.LabelAlwaysPullImages] = "true"
	}
	annotations := map[string]string{}
	if adopted {
		annotations[tenancyv1alpha1.AnnotationAdopted] = "true"
	}
	if egress == tenancyv1alpha1.EgressRestricted && len(plan.Spec.Network.AllowEgressTo) > 0 {
		annotations[tenancyv1alpha1.AnnotationAllowEgressTo] = strings.Join(plan.Spec.Network.AllowEgressTo, ",")
	}
	if len(hostnames) > 0 {
		annotations[tenancyv1alpha1.AnnotationHostnames] = strings.Join(hostnames, ",")
	}
	if len(guarded) > 0 {
		annotations[tenancyv1alpha1.AnnotationGuardedServices] = strings.Join(guarded, ",")
	}
	ns := corev1ac.Namespace(name).WithLabels(labels)
	if len(annotations) > 0 {
		ns.WithAnnotations(annotations)
	}
	return Object{Kind: KindNamespace, Name: name, Apply: ns}
}

// AlwaysPullImages reports whether the plan makes Pods pull their images on every start
// (spec.alwaysPullImages, default true).
func AlwaysPullImages(plan *tenancyv1alpha1.ServicePlan) bool {
	return plan.Spec.AlwaysPullImages == nil || *plan.Spec.AlwaysPullImages
}

// ReleasedNamespace is what the operator keeps owning of a namespace it lets go of: nothing.
// Applying it removes the tenant and Pod Security labels the operator set, and leaves the
// namespace and whatever others set on it in place.
func ReleasedNamespace(name string) Object {
	return Object{Kind: KindNamespace, Name: name, Apply: corev1ac.Namespace(name)}
}
