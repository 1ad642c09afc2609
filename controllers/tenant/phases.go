package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/render"
)

// tenantScope is one provisioning pass over a tenant: what each phase found and decided,
// for the phases after it and for the conditions at the end.
type tenantScope struct {
	t    *tenancyv1alpha1.Tenant
	plan *tenancyv1alpha1.ServicePlan

	// states are the tenant's namespaces as classified, in spec order.
	states []conditions.Namespace
	// usable are the namespaces the operator may write (and has not lost in this pass);
	// adopted those handed over by annotation; listed every namespace the tenant lists.
	usable, adopted, listed map[string]bool

	// products are the tenant's ApiProducts that exist, by name.
	products map[string]*tenancyv1alpha1.ApiProduct
	// desired is what the tenant becomes, apart from its products.
	desired *render.Desired
	// desiredKeys are the objects the pass wants, for pruning.
	desiredKeys map[render.Key]bool
	// planned is the outcome of resolving and rendering the products (nil when reading
	// them failed).
	planned *productPlan

	// ap applies the pass's objects; it remembers the namespaces it created.
	ap *apply.Applier
	// routeNotMoved is set when the route of a product that a shared instance now serves
	// could not be written: the route may still go to the tenant's own instance, which
	// this pass therefore does not prune.
	routeNotMoved bool

	// What the observe phase read.
	outcome    conditions.ProductOutcome
	overBudget string
	zeroShare  string

	// failures holds, by condition type, the first failure of the objects it reports on.
	failures map[string]error
	result   ctrl.Result
}

// fail records a failure on the condition of the object's kind.
func (s *tenantScope) fail(kind string, err error) {
	if c := conditionOf(kind); s.failures[c] == nil {
		s.failures[c] = err
	}
}

// requeueAfter asks for the tenant to be reconciled again within d.
func (s *tenantScope) requeueAfter(d time.Duration) {
	if d > 0 && (s.result.RequeueAfter == 0 || d < s.result.RequeueAfter) {
		s.result.RequeueAfter = d
	}
}

// err joins the failures of the pass, so the pass is retried.
func (s *tenantScope) err() error {
	var errs []error
	for _, err := range s.failures {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// keepProducts is true while the products cannot be resolved (a missing product or
// version, colliding names): nothing of them is written or pruned, so a typo in a plan never
// deletes a running product.
func (s *tenantScope) keepProducts() bool { return s.planned == nil || s.planned.err != nil }

// tenantPhase is one step of a provisioning pass. It returns stop when the pass ends there
// (the tenant is stalled and its conditions are set), and an error that retrying may fix.
type tenantPhase struct {
	name string
	run  func(context.Context, *tenantScope) (stop bool, err error)
}

// phases are the steps of a provisioning pass, in order.
func (r *Reconciler) phases() []tenantPhase {
	return []tenantPhase{
		{"plan", r.planPhase},
		{"classify namespaces", r.classifyPhase},
		{"render", r.renderPhase},
		{"namespaces", r.namespacesPhase},
		{"tenant objects", r.tenantObjectsPhase},
		{"products", r.productsPhase},
		{"prune", r.prunePhase},
		{"observe", r.observePhase},
	}
}

// reconcileNormal provisions the tenant: the phases in order, then the conditions computed
// from what they found.
func (r *Reconciler) reconcileNormal(ctx context.Context, t *tenancyv1alpha1.Tenant) (ctrl.Result, error) {
	s := &tenantScope{t: t, failures: map[string]error{}, ap: r.applier()}
	for _, p := range r.phases() {
		stop, err := p.run(ctx, s)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("%s: %w", p.name, err)
		}
		if stop {
			return ctrl.Result{}, nil
		}
	}
	conditions.SetTenant(t, s.plan, s.states, s.failures, s.overBudget, s.zeroShare, s.outcome)
	return s.result, s.err()
}

// planPhase reads the tenant's plan and checks the namespace count against it.
func (r *Reconciler) planPhase(ctx context.Context, s *tenantScope) (bool, error) {
	t := s.t
	plan := &tenancyv1alpha1.ServicePlan{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.Plan}, plan); err != nil {
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("reading plan %s: %w", t.Spec.Plan, err)
		}
		conditions.Stall(t, tenancyv1alpha1.ReasonPlanNotFound, fmt.Sprintf(
			"ServicePlan %q does not exist: create it, or set spec.plan to an existing plan (kubectl get serviceplans).", t.Spec.Plan))
		return true, nil
	}
	s.plan = plan
	maxNS := plan.Spec.MaxNamespaces
	if maxNS < 1 {
		maxNS = 1
	}
	if n := len(t.DesiredNamespaces()); n > int(maxNS) {
		conditions.Stall(t, tenancyv1alpha1.ReasonTooManyNamespaces, fmt.Sprintf(
			"spec.namespaces lists %d namespaces but plan %s allows %d: remove namespaces or move the tenant to a plan with a larger maxNamespaces.",
			n, plan.Name, maxNS))
		return true, nil
	}
	return false, nil
}

// classifyPhase finds out, for every namespace the tenant lists, whether it is the tenant's,
// free, another's or reserved, and lets go of a tenant namespace that became reserved.
func (r *Reconciler) classifyPhase(ctx context.Context, s *tenantScope) (bool, error) {
	states, err := r.classifyNamespaces(ctx, s.t)
	if err != nil {
		return false, err
	}
	s.states = states
	s.usable, s.adopted, s.listed = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, st := range states {
		s.listed[st.Name] = true
		if st.Adopted {
			s.adopted[st.Name] = true
		}
		if st.Usable() {
			s.usable[st.Name] = true
		}
		if st.ReleaseReserved {
			if err := r.releaseNamespace(ctx, s.t, st.Name); err != nil {
				return false, err
			}
			r.event(s.t, namespaceRef(st.Name), corev1.EventTypeWarning, tenancyv1alpha1.ReasonReservedNamespace, "Release",
				"Released namespace %s: it is reserved (%s)", st.Name, st.Reserved)
		}
	}
	return false, nil
}

// renderPhase reads the tenant's products and renders what the tenant becomes.
func (r *Reconciler) renderPhase(ctx context.Context, s *tenantScope) (bool, error) {
	products, err := r.fetchProducts(ctx, s.t, s.plan)
	if err != nil {
		return false, err
	}
	s.products = products
	desired, err := render.Tenant(render.Input{Tenant: s.t, Plan: s.plan, Adopted: s.adopted,
		Hostnames: render.Hostnames(s.t, s.plan, products), GuardedServices: render.GuardedServices(s.t, s.plan, products)})
	if err != nil {
		conditions.Stall(s.t, tenancyv1alpha1.ReasonInvalidQuota, fmt.Sprintf(
			"The quota of plan %s cannot be split: %v. Fix the plan's spec.quota.hard.", s.plan.Name, err))
		return true, nil
	}
	s.desired = desired
	s.desiredKeys = map[render.Key]bool{}
	s.t.Status.Plan = s.plan.Name
	return false, nil
}

// namespacesPhase creates or updates the usable namespaces. One that is lost to another
// tenant now (a race for the name, or a cache that lagged) becomes a conflict, and nothing
// of this tenant is written into it.
func (r *Reconciler) namespacesPhase(ctx context.Context, s *tenantScope) (bool, error) {
	for i, o := range s.desired.Namespaces {
		if !s.usable[o.Name] {
			continue
		}
		wrote, err := s.ap.Ensure(ctx, o)
		if err != nil {
			var conflict *apply.ConflictError
			if errors.As(err, &conflict) {
				s.states[i].Phase, s.states[i].ConflictOwner = tenancyv1alpha1.NamespaceConflict, conflict.Owner
			} else {
				s.fail(o.Kind, err)
			}
			delete(s.usable, o.Name)
			continue
		}
		switch {
		case wrote && s.states[i].Phase == tenancyv1alpha1.NamespacePending:
			s.states[i].Phase = tenancyv1alpha1.NamespaceActive
			r.event(s.t, namespaceRef(o.Name), corev1.EventTypeNormal, "NamespaceCreated", "Create", "Created namespace %s", o.Name)
		case wrote && s.states[i].Adopting:
			r.event(s.t, namespaceRef(o.Name), corev1.EventTypeNormal, "NamespaceAdopted", "Adopt", "Adopted namespace %s", o.Name)
		}
	}
	return false, nil
}

// tenantObjectsPhase applies the quota, limits, policies and bindings in the usable
// namespaces, and the cluster-wide reader RBAC.
func (r *Reconciler) tenantObjectsPhase(ctx context.Context, s *tenantScope) (bool, error) {
	for _, o := range s.desired.Namespaced {
		s.desiredKeys[o.Key()] = true
		if !s.usable[o.Namespace] {
			continue
		}
		if _, err := s.ap.Ensure(ctx, o); err != nil {
			s.fail(o.Kind, err)
		}
	}
	for _, o := range s.desired.Cluster {
		if _, err := s.ap.Ensure(ctx, o); err != nil {
			s.fail(o.Kind, err)
		}
	}
	return false, nil
}

// productsPhase resolves, renders and applies the tenant's products.
func (r *Reconciler) productsPhase(ctx context.Context, s *tenantScope) (bool, error) {
	planned, err := r.planProducts(ctx, s.t, s.plan, s.products, s.usable, s.ap.Created)
	if err != nil {
		s.fail(render.KindDeployment, err)
		return false, nil
	}
	s.planned = planned
	if planned.crdsPending {
		// A CRD an exposed product needs was just installed and its API is not served yet.
		s.requeueAfter(crdsPendingRequeue)
	}
	if !planned.keysExpire.IsZero() {
		// A rotated API key stops working at the gateway then.
		s.requeueAfter(time.Until(planned.keysExpire) + time.Second)
	}
	if s.keepProducts() {
		return false, nil
	}
	for _, o := range planned.objects {
		s.desiredKeys[o.Key()] = true
		if !s.usable[o.Namespace] {
			continue
		}
		if _, err := s.ap.Ensure(ctx, o); err != nil {
			s.fail(o.Kind, err)
			if o.Kind == render.KindHTTPRoute && !planned.serving[o.Name].Own { // a route is named after its product
				s.routeNotMoved = true
			}
		}
	}
	return false, nil
}

// prunePhase deletes (or releases, or retains) the namespaces the tenant no longer lists and
// the objects it no longer needs.
func (r *Reconciler) prunePhase(ctx context.Context, s *tenantScope) (bool, error) {
	if err := r.pruneNamespaces(ctx, s.t, s.listed); err != nil {
		s.fail(render.KindNamespace, err)
	}
	r.pruneChildren(ctx, s.t, s.desiredKeys, s.usable, lost(s.states), s.keepProducts() || s.routeNotMoved, s.fail)
	return false, nil
}

// observePhase reads what the conditions are computed from: the products' Deployments, the
// namespaces and the quota usage.
func (r *Reconciler) observePhase(ctx context.Context, s *tenantScope) (bool, error) {
	if s.planned != nil {
		s.outcome.Err = s.planned.err
		if s.planned.err != nil {
			// The products cannot be resolved: their objects are kept, but no endpoint is
			// advertised while ProductsReady says which field to fix.
			for i := range s.t.Status.Products {
				s.t.Status.Products[i].Endpoint = ""
			}
		}
		if s.planned.err == nil {
			s.outcome.Total = len(s.planned.resolved)
			ready, health, err := r.productStatus(ctx, s.t, s.planned)
			if err != nil {
				s.fail(render.KindDeployment, err)
			}
			s.outcome.Ready, s.outcome.Health = ready, health
			s.outcome.PoliciesUnavailable = policiesUnavailable(s.planned.unavailable)
			var own []render.Resolved // shared instances charge nothing to the tenant's quota
			for _, rp := range s.planned.resolved {
				if s.planned.serving[rp.Product.Name].Own {
					own = append(own, rp)
				}
			}
			s.zeroShare = conditions.ZeroShares(s.t, s.plan, own)
		}
	}
	r.setNamespaceStatus(s.t, s.states)
	over, err := r.setQuotaStatus(ctx, s.t, s.plan, s.usable)
	if err != nil {
		s.fail(render.KindResourceQuota, err)
	}
	s.overBudget = over
	return false, nil
}

// policiesUnavailable says which products get no route because the CRDs of their gateway
// policies are not installed, or "".
func policiesUnavailable(products []string) string {
	if len(products) == 0 {
		return ""
	}
	return fmt.Sprintf("Product %s asks for gateway policies (exposure.policies EnvoyGateway), but the Envoy Gateway CRDs (%s) are not installed: "+
		"no HTTPRoute is made, since an open route would serve the API without auth or rate limit. Install Envoy Gateway, or set the ApiProduct's exposure.policies to None.",
		strings.Join(products, ", "), strings.Join(render.PolicyCRDs(), ", "))
}
