package render

import (
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// OwnersRoleBinding renders tenant-owners: the plan's ownerRole for every owner.
func OwnersRoleBinding(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, namespace string) Object {
	role := string(plan.Spec.OwnerRole)
	if role == "" {
		role = string(tenancyv1alpha1.OwnerRoleAdmin)
	}
	rb := rbacv1ac.RoleBinding(OwnersBindingName, namespace).
		WithLabels(Labels(t.Name)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
		WithSubjects(subjects(t)...)
	return Object{Kind: KindRoleBinding, Namespace: namespace, Name: OwnersBindingName, Apply: rb}
}

// ReaderName is the name of the cluster-wide ClusterRole and ClusterRoleBinding that let a
// tenant's owners read their own Tenant.
func ReaderName(tenant string) string { return "tenancy:" + tenant + ":reader" }

// ReaderClusterRole renders tenancy:<tenant>:reader: get, list and watch of the tenant's
// own Tenant object, so that tenants can read their status conditions.
func ReaderClusterRole(t *tenancyv1alpha1.Tenant) Object {
	name := ReaderName(t.Name)
	cr := rbacv1ac.ClusterRole(name).
		WithLabels(Labels(t.Name)).
		WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(tenancyv1alpha1.GroupVersion.Group).
			WithResources("tenants").
			WithResourceNames(t.Name).
			WithVerbs("get", "list", "watch"))
	return Object{Kind: KindClusterRole, Name: name, Apply: cr}
}

// ReaderClusterRoleBinding binds tenancy:<tenant>:reader to the tenant's owners.
func ReaderClusterRoleBinding(t *tenancyv1alpha1.Tenant) Object {
	name := ReaderName(t.Name)
	crb := rbacv1ac.ClusterRoleBinding(name).
		WithLabels(Labels(t.Name)).
		WithRoleRef(rbacv1ac.RoleRef().
			WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(name)).
		WithSubjects(subjects(t)...)
	return Object{Kind: KindClusterRoleBinding, Name: name, Apply: crb}
}

func subjects(t *tenancyv1alpha1.Tenant) []*rbacv1ac.SubjectApplyConfiguration {
	out := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(t.Spec.Owners))
	for _, o := range t.Spec.Owners {
		s := rbacv1ac.Subject().WithKind(string(o.Kind)).WithName(o.Name)
		switch o.Kind {
		case tenancyv1alpha1.OwnerServiceAccount:
			s.WithNamespace(o.Namespace)
		default:
			s.WithAPIGroup(rbacv1.GroupName)
		}
		out = append(out, s)
	}
	return out
}
