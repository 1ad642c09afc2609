// Package render computes every object the operator makes for a Tenant. The functions are
// pure: they take the Tenant, its ServicePlan (and, for products, the ApiProducts) and
// return server-side apply configurations, so they are unit-testable without a cluster and
// reusable by an offline render command.
package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/quota"
)

// Kinds of the objects the operator writes.
const (
	KindNamespace          = "Namespace"
	KindResourceQuota      = "ResourceQuota"
	KindLimitRange         = "LimitRange"
	KindNetworkPolicy      = "NetworkPolicy"
	KindRoleBinding        = "RoleBinding"
	KindClusterRole        = "ClusterRole"
	KindClusterRoleBinding = "ClusterRoleBinding"
)

// Object names from the contract.
const (
	QuotaName           = "tenant-quota"
	LimitRangeName      = "tenant-limits"
	IsolationPolicyName = "tenant-isolation"
	EgressPolicyName    = "tenant-egress"
	OwnersBindingName   = "tenant-owners"
)

// Object is one desired object: its identity and the apply configuration that makes it.
type Object struct {
	Kind      string
	Namespace string // empty for cluster-scoped objects
	Name      string
	Apply     runtime.ApplyConfiguration
	// LeftToOthers are the paths of fields the operator does not set but someone else
	// does (a Deployment's replicas under an autoscaler): before the operator stops
	// applying one it once set, the live value is handed to another field manager, so
	// that server-side apply does not remove it.
	LeftToOthers [][]string
}

// Key identifies an object by kind, namespace and name.
type Key struct {
	Kind, Namespace, Name string
}

// Key returns the object's identity.
func (o Object) Key() Key { return Key{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name} }

// Desired is everything a Tenant becomes.
type Desired struct {
	// Namespaces, in spec order.
	Namespaces []Object
	// Namespaced objects, grouped by namespace in spec order.
	Namespaced []Object
	// Cluster-scoped objects.
	Cluster []Object
}

// Input is what rendering a tenant needs.
type Input struct {
	Tenant *tenancyv1alpha1.Tenant
	Plan   *tenancyv1alpha1.ServicePlan
	// Adopted names the namespaces that were handed over by annotation rather than created.
	Adopted map[string]bool
	// Hostnames are the hostnames of the tenant's exposed products (see Hostnames).
	Hostnames []string
	// GuardedServices are the Services behind gateway policies (see GuardedServices).
	GuardedServices []string
}

// Tenant renders every object of a tenant: its namespaces and, in each, the quota share,
// limit range, network policies and owners' RoleBinding; and the cluster-wide reader RBAC.
func Tenant(in Input) (*Desired, error) {
	t, plan := in.Tenant, in.Plan
	namespaces := t.DesiredNamespaces()
	weights := make([]int64, len(namespaces))
	for i, ns := range namespaces {
		weights[i] = int64(ns.QuotaWeight)
	}
	split, err := quota.Split(QuotaHard(plan), weights)
	if err != nil {
		return nil, fmt.Errorf("splitting the quota of plan %s: %w", plan.Name, err)
	}
	shares := make([]map[string]string, len(split))
	for i, s := range split {
		shares[i] = make(map[string]string, len(s))
		for name, q := range s {
			shares[i][string(name)] = q.String()
		}
	}

	d := &Desired{}
	for i, ns := range namespaces {
		d.Namespaces = append(d.Namespaces, Namespace(t, plan, ns.Name, in.Adopted[ns.Name], in.Hostnames, in.GuardedServices))
		d.Namespaced = append(d.Namespaced, ResourceQuota(t, ns.Name, shares[i]))
		if lr, ok := LimitRange(t, plan, ns.Name); ok {
			d.Namespaced = append(d.Namespaced, lr)
		}
		d.Namespaced = append(d.Namespaced, IsolationPolicy(t, plan, ns.Name))
		if eg, ok := EgressPolicy(t, plan, ns.Name); ok {
			d.Namespaced = append(d.Namespaced, eg)
		}
		d.Namespaced = append(d.Namespaced, OwnersRoleBinding(t, plan, ns.Name))
	}
	d.Cluster = append(d.Cluster, ReaderClusterRole(t), ReaderClusterRoleBinding(t))
	return d, nil
}

// Labels returns the labels every object of the tenant carries.
func Labels(tenant string) map[string]string {
	return map[string]string{
		tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelTenant:    tenant,
	}
}
