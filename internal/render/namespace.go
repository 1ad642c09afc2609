package render

import (
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
// releases it instead of deleting it.
func Namespace(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, name string, adopted bool) Object {
	level := string(plan.Spec.PodSecurity)
	if level == "" {
		level = string(tenancyv1alpha1.PodSecurityRestricted)
	}
	labels := Labels(t.Name)
	labels[psaEnforce] = level
	labels[psaAudit] = level
	labels[psaWarn] = level
	ns := corev1ac.Namespace(name).WithLabels(labels)
	if adopted {
		ns.WithAnnotations(map[string]string{tenancyv1alpha1.AnnotationAdopted: "true"})
	}
	return Object{Kind: KindNamespace, Name: name, Apply: ns}
}

// ReleasedNamespace is what the operator keeps owning of a namespace it lets go of: nothing.
// Applying it removes the tenant and Pod Security labels the operator set, and leaves the
// namespace and whatever others set on it in place.
func ReleasedNamespace(name string) Object {
	return Object{Kind: KindNamespace, Name: name, Apply: corev1ac.Namespace(name)}
}
