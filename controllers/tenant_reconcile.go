package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/quota"
	"github.com/openplatform/tenant-operator/internal/render"
)

// namespacedKinds are the kinds the operator writes inside tenant namespaces.
var namespacedKinds = []string{render.KindResourceQuota, render.KindLimitRange, render.KindNetworkPolicy, render.KindRoleBinding,
	render.KindDeployment, render.KindService, render.KindSecret, render.KindHTTPRoute}

// routesPendingRequeue is how soon a tenant with an exposed product looks again for the
// HTTPRoute API after its CRD appeared.
const routesPendingRequeue = 2 * time.Second

// productKinds are the kinds that make up a tenant's products.
var productKinds = map[string]bool{render.KindDeployment: true, render.KindService: true, render.KindSecret: true, render.KindHTTPRoute: true}

// conditionOf says which condition reports the state of an object of a kind.
var conditionOf = map[string]string{
	render.KindNamespace:          tenancyv1alpha1.ConditionNamespacesReady,
	render.KindResourceQuota:      tenancyv1alpha1.ConditionQuotaReady,
	render.KindLimitRange:         tenancyv1alpha1.ConditionQuotaReady,
	render.KindNetworkPolicy:      tenancyv1alpha1.ConditionNetworkIsolated,
	render.KindRoleBinding:        tenancyv1alpha1.ConditionAccessGranted,
	render.KindClusterRole:        tenancyv1alpha1.ConditionAccessGranted,
	render.KindClusterRoleBinding: tenancyv1alpha1.ConditionAccessGranted,
	render.KindDeployment:         tenancyv1alpha1.ConditionProductsReady,
	render.KindService:            tenancyv1alpha1.ConditionProductsReady,
	render.KindSecret:             tenancyv1alpha1.ConditionProductsReady,
	render.KindHTTPRoute:          tenancyv1alpha1.ConditionProductsReady,
}

// reconcileNormal provisions the tenant: plan lookup, namespaces, their contents, the
// cluster-wide RBAC, pruning, and status.
func (r *TenantReconciler) reconcileNormal(ctx context.Context, t *tenancyv1alpha1.Tenant) (ctrl.Result, error) {
	plan := &tenancyv1alpha1.ServicePlan{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.Plan}, plan); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("reading plan %s: %w", t.Spec.Plan, err)
		}
		r.stall(ctx, t, tenancyv1alpha1.ReasonPlanNotFound, fmt.Sprintf(
			"ServicePlan %q does not exist: create it, or set spec.plan to an existing plan (kubectl get serviceplans).", t.Spec.Plan))
		return ctrl.Result{}, nil
	}

	want := t.DesiredNamespaces()
	maxNS := plan.Spec.MaxNamespaces
	if maxNS < 1 {
		maxNS = 1
	}
	if len(want) > int(maxNS) {
		r.stall(ctx, t, tenancyv1alpha1.ReasonTooManyNamespaces, fmt.Sprintf(
			"spec.namespaces lists %d namespaces but plan %s allows %d: remove namespaces or move the tenant to a plan with a larger maxNamespaces.",
			len(want), plan.Name, maxNS))
		return ctrl.Result{}, nil
	}

	states, err := r.classifyNamespaces(ctx, t)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, s := range states {
		if !s.releaseReserved {
			continue
		}
		if err := r.releaseNamespace(ctx, t, s.name); err != nil {
			return ctrl.Result{}, err
		}
		r.event(t, namespaceRef(s.name), corev1.EventTypeWarning, tenancyv1alpha1.ReasonReservedNamespace, "Release",
			"Released namespace %s: it is reserved (%s)", s.name, s.reserved)
	}
	adopted := map[string]bool{}
	usable := map[string]bool{}
	desiredNS := map[string]bool{}
	for _, s := range states {
		desiredNS[s.name] = true
		if s.adopted {
			adopted[s.name] = true
		}
		if s.usable() {
			usable[s.name] = true
		}
	}

	productsByName, err := r.fetchProducts(ctx, t, plan)
	if err != nil {
		return ctrl.Result{}, err
	}
	desired, err := render.Tenant(render.Input{Tenant: t, Plan: plan, Adopted: adopted,
		Hostnames: render.Hostnames(t, plan, productsByName)})
	if err != nil {
		r.stall(ctx, t, tenancyv1alpha1.ReasonInvalidQuota, fmt.Sprintf(
			"The quota of plan %s cannot be split: %v. Fix the plan's spec.quota.hard.", plan.Name, err))
		return ctrl.Result{}, nil
	}
	r.setPlan(ctx, t, plan)

	failures := map[string]error{} // condition type -> first failure
	fail := func(kind string, err error) {
		if c := conditionOf[kind]; failures[c] == nil {
			failures[c] = err
		}
	}

	// One applier for the pass: it remembers the namespaces it created, in which nothing
	// but the operator's objects can be yet.
	ap := r.applier()
	// Namespaces first: their contents need them.
	for i, o := range desired.Namespaces {
		if !usable[o.Name] {
			continue
		}
		wrote, err := ap.Ensure(ctx, o)
		if err != nil {
			// Lost to another tenant (a race for the name, or a cache that lagged):
			// nothing of this tenant is written into it.
			var conflict *apply.ConflictError
			if errors.As(err, &conflict) {
				states[i].phase, states[i].conflictOwner = tenancyv1alpha1.NamespaceConflict, conflict.Owner
			} else {
				fail(o.Kind, err)
			}
			delete(usable, o.Name)
			continue
		}
		if wrote && states[i].phase == tenancyv1alpha1.NamespacePending {
			states[i].phase = tenancyv1alpha1.NamespaceActive
			r.event(t, namespaceRef(o.Name), corev1.EventTypeNormal, "NamespaceCreated", "Create", "Created namespace %s", o.Name)
		} else if wrote && states[i].adopting {
			r.event(t, namespaceRef(o.Name), corev1.EventTypeNormal, "NamespaceAdopted", "Adopt", "Adopted namespace %s", o.Name)
		}
	}
	desiredKeys := map[render.Key]bool{}
	for _, o := range desired.Namespaced {
		desiredKeys[o.Key()] = true
		if !usable[o.Namespace] {
			continue
		}
		if _, err := ap.Ensure(ctx, o); err != nil {
			fail(o.Kind, err)
		}
	}
	for _, o := range desired.Cluster {
		if _, err := ap.Ensure(ctx, o); err != nil {
			fail(o.Kind, err)
		}
	}

	// Products: while they cannot be resolved (a missing product or version) nothing of
	// them is written or pruned, so a typo in a plan never deletes a running product.
	products, err := r.planProducts(ctx, t, plan, productsByName, usable)
	if err != nil {
		fail(render.KindDeployment, err)
	}
	keepProducts := products == nil || products.err != nil
	if !keepProducts {
		for _, o := range products.objects {
			desiredKeys[o.Key()] = true
			if !usable[o.Namespace] {
				continue
			}
			if _, err := ap.Ensure(ctx, o); err != nil {
				fail(o.Kind, err)
			}
		}
	}

	if err := r.pruneNamespaces(ctx, t, desiredNS); err != nil {
		fail(render.KindNamespace, err)
	}
	r.pruneChildren(ctx, t, desiredKeys, usable, lost(states), keepProducts, fail)
	outcome := productOutcome{}
	if products != nil {
		outcome.err = products.err
		if products.err == nil {
			outcome.total = len(products.resolved)
			if outcome.ready, outcome.health, err = r.productStatus(ctx, t, products); err != nil {
				fail(render.KindDeployment, err)
			}
		}
	}

	r.setNamespaceStatus(t, states)
	over, err := r.setQuotaStatus(ctx, t, plan, usable)
	if err != nil {
		fail(render.KindResourceQuota, err)
	}
	if msg := conflictMessage(t, states); msg != "" {
		if !r.reported(ctx, t, func(s *tenancyv1alpha1.TenantStatus) bool {
			return conditionIs(s, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonNamespaceConflict)
		}) {
			r.event(t, nil, corev1.EventTypeWarning, tenancyv1alpha1.ReasonNamespaceConflict, "Reconcile", "%s", msg)
		}
	}
	zero := ""
	if products != nil && products.err == nil {
		zero = zeroShares(t, plan, products.resolved)
	}
	setConditions(t, plan, states, failures, over, zero, outcome)

	var errs []error
	for _, err := range failures {
		errs = append(errs, err)
	}
	result := ctrl.Result{}
	if products != nil && products.routesPending {
		// The HTTPRoute CRD was just installed and its API is not served yet.
		result.RequeueAfter = routesPendingRequeue
	}
	return result, errors.Join(errs...)
}

// setPlan records in status.plan the plan the tenant is applied with, and a PlanChanged
// Event when the tenant was applied with another plan before (a new tenant has none).
func (r *TenantReconciler) setPlan(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan) {
	var prev string
	if !r.reported(ctx, t, func(s *tenancyv1alpha1.TenantStatus) bool {
		prev = s.Plan
		return s.Plan == "" || s.Plan == plan.Name
	}) {
		r.event(t, plan, corev1.EventTypeNormal, "PlanChanged", "ChangePlan", "Plan changed from %s to %s", prev, plan.Name)
	}
	t.Status.Plan = plan.Name
}

// namespaceRef names a namespace as the related object of an Event.
func namespaceRef(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// lost are the namespaces the tenant lists that belong to another tenant.
func lost(states []namespaceState) map[string]bool {
	out := map[string]bool{}
	for _, s := range states {
		if s.phase == tenancyv1alpha1.NamespaceConflict && s.reserved == "" {
			out[s.name] = true
		}
	}
	return out
}

// pruneChildren deletes the tenant's objects that are no longer desired (for example
// tenant-egress after a plan opens egress, or tenant-limits after it drops its limitRange)
// in namespaces the tenant keeps, and every object of the tenant in a namespace it lost to
// another tenant (nothing of one tenant stays in another's namespace).
func (r *TenantReconciler) pruneChildren(ctx context.Context, t *tenancyv1alpha1.Tenant, desired map[render.Key]bool, usable, lost map[string]bool, keepProducts bool, fail func(kind string, err error)) {
	for _, kind := range namespacedKinds {
		// While products cannot be resolved, their objects are kept, except in lost namespaces.
		keep := keepProducts && productKinds[kind]
		if keep && len(lost) == 0 {
			continue
		}
		if kind == render.KindHTTPRoute && !r.routesInstalled(ctx) {
			continue // no Gateway API, no routes
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

// listManaged lists the objects of a kind that carry the tenant's label.
func (r *TenantReconciler) listManaged(ctx context.Context, kind, tenant string, opts ...client.ListOption) ([]client.Object, error) {
	list, err := apply.NewList(kind)
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.MatchingLabels{
		tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelTenant:    tenant,
	})
	if err := r.List(ctx, list, opts...); err != nil {
		if kind == render.KindHTTPRoute && meta.IsNoMatchError(err) { // no Gateway API, no routes
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
func (r *TenantReconciler) setNamespaceStatus(t *tenancyv1alpha1.Tenant, states []namespaceState) {
	t.Status.Namespaces = make([]tenancyv1alpha1.NamespaceStatus, len(states))
	t.Status.NamespaceCount = 0
	for i, s := range states {
		t.Status.Namespaces[i] = tenancyv1alpha1.NamespaceStatus{Name: s.name, Phase: s.phase, Adopted: s.adopted}
		if s.phase == tenancyv1alpha1.NamespaceActive {
			t.Status.NamespaceCount++
		}
	}
}

// setQuotaStatus records the plan's budget and the usage summed over the tenant's quotas. It
// returns a message naming the namespaces whose usage is above their share.
func (r *TenantReconciler) setQuotaStatus(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, usable map[string]bool) (string, error) {
	if plan.Spec.Quota == nil || len(plan.Spec.Quota.Hard) == 0 {
		t.Status.Quota = nil
		return "", nil
	}
	list := &corev1.ResourceQuotaList{}
	if err := r.List(ctx, list, client.MatchingLabels{tenancyv1alpha1.LabelTenant: t.Name}); err != nil {
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
