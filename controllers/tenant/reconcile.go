package tenant

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/quota"
	"github.com/openplatform/tenant-operator/internal/render"
)

// crdsPendingRequeue is how soon a tenant with an exposed product, or with metrics, looks
// again for the HTTPRoute, gateway policy or ServiceMonitor API after its CRD appeared.
const crdsPendingRequeue = 2 * time.Second

// conditionOf says which condition reports the state of an object of a kind.
func conditionOf(kind string) string {
	k, _ := apply.KindOf(kind)
	return k.Condition
}

// namespacedKinds are the kinds the operator writes inside tenant namespaces.
func namespacedKinds() []apply.Kind {
	var out []apply.Kind
	for _, k := range apply.Kinds {
		if k.Namespaced && !k.SharedOnly {
			out = append(out, k)
		}
	}
	return out
}

// namespaceRef names a namespace as the related object of an Event.
func namespaceRef(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// lost are the namespaces the tenant lists that belong to another tenant.
func lost(states []conditions.Namespace) map[string]bool {
	out := map[string]bool{}
	for _, s := range states {
		if s.Phase == tenancyv1alpha1.NamespaceConflict && s.Reserved == "" {
			out[s.Name] = true
		}
	}
	return out
}

// pruneChildren deletes the tenant's objects that are no longer desired (for example
// tenant-egress after a plan opens egress, or tenant-limits after it drops its limitRange)
// in namespaces the tenant keeps, and every object of the tenant in a namespace it lost to
// another tenant (nothing of one tenant stays in another's namespace).
//
// Kinds are pruned in the reverse of the order they are written, so that a route goes
// before the gateway policies that guard it.
func (r *Reconciler) pruneChildren(ctx context.Context, t *tenancyv1alpha1.Tenant, desired map[render.Key]bool, usable, lost map[string]bool, keepProducts bool, fail func(kind string, err error)) {
	kinds := namespacedKinds()
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		kind := k.Name
		// While products cannot be resolved, their objects are kept, except in lost namespaces.
		keep := keepProducts && k.Product
		if keep && len(lost) == 0 {
			continue
		}
		if !r.served(ctx, k) {
			continue // not installed: there are none
		}
		list, err := r.listManaged(ctx, kind, t.Name)
		if err != nil {
			fail(kind, err)
			continue
		}
		for _, o := range list {
			key := render.Key{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
			if !lost[key.Namespace] && (keep || desired[key] || !usable[key.Namespace]) {
				continue
			}
			log.FromContext(ctx).Info("deleting an object the tenant no longer needs", "kind", kind,
				"namespace", key.Namespace, "name", key.Name)
			if err := r.Delete(ctx, o); err != nil {
				if !apierrors.IsNotFound(err) {
					fail(kind, fmt.Errorf("deleting %s %s/%s: %w", kind, key.Namespace, key.Name, err))
				}
				continue
			}
			why := "the tenant no longer needs it"
			if lost[key.Namespace] {
				why = "the namespace belongs to another tenant"
			}
			r.event(t, o, corev1.EventTypeNormal, "Pruned", "Delete", "Deleted %s %s/%s: %s", kind, key.Namespace, key.Name, why)
		}
	}
}

// ofTenant selects the objects with the tenant's label, looked up in the tenant label index
// (registered at setup for Namespaces and the built-in namespaced kinds).
func ofTenant(tenant string) []client.ListOption {
	return []client.ListOption{client.MatchingLabels{tenancyv1alpha1.LabelTenant: tenant}, client.MatchingFields{index.TenantLabel: tenant}}
}

// listManaged lists the objects of a kind that carry the tenant's label.
func (r *Reconciler) listManaged(ctx context.Context, kind, tenant string, opts ...client.ListOption) ([]client.Object, error) {
	list, err := apply.NewList(kind)
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.MatchingLabels{
		tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelTenant:    tenant,
	})
	if _, ok := r.indexed.Load(kind); ok {
		opts = append(opts, client.MatchingFields{index.TenantLabel: tenant})
	}
	if err := r.List(ctx, list, opts...); err != nil {
		if k, _ := apply.KindOf(kind); k.CRD != "" && meta.IsNoMatchError(err) { // not installed: there are none
			return nil, nil
		}
		return nil, fmt.Errorf("listing %s of tenant %s: %w", kind, tenant, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, item := range items {
		out = append(out, item.(client.Object))
	}
	return out, nil
}

// setNamespaceStatus records the namespaces and how many are Active.
func (r *Reconciler) setNamespaceStatus(t *tenancyv1alpha1.Tenant, states []conditions.Namespace) {
	t.Status.Namespaces = make([]tenancyv1alpha1.NamespaceStatus, len(states))
	t.Status.NamespaceCount = 0
	for i, s := range states {
		t.Status.Namespaces[i] = tenancyv1alpha1.NamespaceStatus{Name: s.Name, Phase: s.Phase, Adopted: s.Adopted}
		if s.Phase == tenancyv1alpha1.NamespaceActive {
			t.Status.NamespaceCount++
		}
	}
}

// setQuotaStatus records the plan's budget and the usage summed over the tenant's quotas. It
// returns a message naming the namespaces whose usage is above their share.
func (r *Reconciler) setQuotaStatus(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, usable map[string]bool) (string, error) {
	if plan.Spec.Quota == nil || len(plan.Spec.Quota.Hard) == 0 {
		t.Status.Quota = nil
		return "", nil
	}
	list := &corev1.ResourceQuotaList{}
	if err := r.List(ctx, list, ofTenant(t.Name)...); err != nil {
		return "", fmt.Errorf("listing the quotas of tenant %s: %w", t.Name, err)
	}
	var used []corev1.ResourceList
	var over []string
	for _, rq := range list.Items {
		if rq.Name != render.QuotaName || !usable[rq.Namespace] {
			continue
		}
		used = append(used, rq.Status.Used)
		for name, u := range rq.Status.Used {
			if h, ok := rq.Spec.Hard[name]; ok && u.Cmp(h) > 0 {
				over = append(over, fmt.Sprintf("%s uses %s %s, above its share of %s", rq.Namespace, u.String(), name, h.String()))
			}
		}
	}
	sort.Strings(over)
	t.Status.Quota = &tenancyv1alpha1.QuotaStatus{Hard: plan.Spec.Quota.Hard.DeepCopy()}
	if sum := quota.Sum(used...); len(sum) > 0 {
		// The keys of the plan's budget: tenant-quota also holds NodePort and LoadBalancer
		// Services at 0, which are no part of what the plan sells.
		for name := range sum {
			if _, ok := plan.Spec.Quota.Hard[name]; !ok {
				delete(sum, name)
			}
		}
		t.Status.Quota.Used = sum
	}
	if len(over) == 0 {
		return "", nil
	}
	return "Namespace " + strings.Join(over, "; ") +
		": Kubernetes evicts nothing, but new pods are refused until usage drops or the plan's quota grows.", nil
}
