package apiproduct

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/health"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// sharedDemand is what the product's tenants ask of its shared instances: the versions
// they are, or are about to be, served by, and the namespaces of their routes.
type sharedDemand struct {
	versions        map[string]int32
	routeNamespaces []string
	// peers are what the plans giving the product Shared admit to tenant Pods.
	peers []networkingv1.NetworkPolicyPeer
}

// sharedDemandOf counts, for each version, the tenants a shared instance of it serves or is
// about to: those whose plan gives them the product with tenancy Shared (at the version
// they resolve to), and those still served by one while they move (status.products[]
// sharedInstance), so that no instance goes before its last tenant has moved off it.
func (r *Reconciler) sharedDemandOf(ctx context.Context, p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant) (sharedDemand, error) {
	d := sharedDemand{versions: map[string]int32{}}
	byInstance := map[string]string{}
	for _, v := range p.Spec.Versions {
		byInstance[render.SharedInstanceName(p.Name, v.Name)] = v.Name
	}
	plans := map[string]*tenancyv1alpha1.ServicePlan{}
	namespaces := map[string]bool{}
	peersOf := map[string][]networkingv1.NetworkPolicyPeer{}
	for i := range tenants {
		t := &tenants[i]
		if !t.DeletionTimestamp.IsZero() {
			continue
		}
		seen := map[string]bool{}
		plan, ok := plans[t.Spec.Plan]
		if !ok {
			plan = &tenancyv1alpha1.ServicePlan{}
			if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.Plan}, plan); err != nil {
				if !apierrors.IsNotFound(err) {
					return d, fmt.Errorf("reading plan %s: %w", t.Spec.Plan, err)
				}
				plan = nil
			}
			plans[t.Spec.Plan] = plan
		}
		// Only a plan that gives the product with tenancy Shared can make a tenant use the
		// shared instance: the others need no resolving (which copies the plan or tenant).
		if plan != nil && sharesProduct(plan, p.Name) {
			if rp, rerr := render.ResolveProduct(t, plan, p); rerr == nil && rp != nil && rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared &&
				render.SharedCheck(*rp, plan.Name) == nil { // a product that cannot be shared stalls its tenants instead
				seen[rp.Version.Name] = true
				namespaces[rp.Namespace] = true
				peersOf[plan.Name] = plan.Spec.Network.AllowIngressFrom
			}
		}
		for _, s := range t.Status.Products {
			if s.Name != p.Name || s.Tenancy != tenancyv1alpha1.TenancyShared {
				continue
			}
			if v, ok := byInstance[s.SharedInstance]; ok {
				seen[v] = true
			}
			for _, n := range t.Status.Namespaces {
				if n.Phase == tenancyv1alpha1.NamespaceActive {
					namespaces[n.Name] = true
				}
			}
		}
		for v := range seen {
			d.versions[v]++
		}
	}
	for n := range namespaces {
		d.routeNamespaces = append(d.routeNamespaces, n)
	}
	sort.Strings(d.routeNamespaces)
	// In plan order, so that the shared-isolation policy does not change between passes.
	names := make([]string, 0, len(peersOf))
	for name := range peersOf {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d.peers = append(d.peers, peersOf[name]...)
	}
	return d, nil
}

// reconcileShared makes the product's shared namespace hold exactly the shared instances its
// tenants need, and deletes the namespace once none does. It returns their status, and
// grantsPending when the ReferenceGrant CRD was just installed and its API is not served
// yet (the product is reconciled again shortly, to write the grants).
func (r *Reconciler) reconcileShared(ctx context.Context, p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant) (_ []tenancyv1alpha1.SharedInstanceStatus, grantsPending bool, _ error) {
	demand, err := r.sharedDemandOf(ctx, p, tenants)
	if err != nil {
		return nil, false, err
	}
	ns := render.SharedNamespace(p)
	if len(demand.versions) == 0 {
		return nil, false, r.deleteSharedNamespace(ctx, p)
	}
	ap := &apply.Applier{Client: r.Client, Reader: r.APIReader}
	wrote, err := ap.Ensure(ctx, render.SharedNamespaceObject(p))
	if err != nil {
		return nil, false, err
	}
	if wrote {
		r.event(p, corev1.EventTypeNormal, "SharedNamespaceReady", "Create", "Namespace %s holds the shared instances of product %s", ns, p.Name)
	}
	var versions []render.SharedVersion
	previous := map[string]string{}
	for i := range p.Spec.Versions {
		v := &p.Spec.Versions[i]
		if demand.versions[v.Name] > 0 {
			sv, prev := r.sharedRevision(ctx, p, v)
			versions = append(versions, sv)
			previous[v.Name] = prev
		}
	}
	grants := r.served(ctx, render.ReferenceGrantCRD)
	grantsPending = !grants && r.crdJustInstalled(ctx, render.ReferenceGrantCRD)
	objects := render.Shared(render.SharedInput{Product: p, Versions: versions,
		RouteNamespaces: demand.routeNamespaces, Grants: grants, Peers: demand.peers})
	desired := map[render.Key]bool{}
	for _, o := range objects {
		desired[o.Key()] = true
		if _, err := ap.Ensure(ctx, o); err != nil {
			return nil, false, err
		}
	}
	if err := r.pruneShared(ctx, p, desired); err != nil {
		return nil, false, err
	}
	var out []tenancyv1alpha1.SharedInstanceStatus
	for _, sv := range versions {
		st := tenancyv1alpha1.SharedInstanceStatus{Version: sv.Version.Name, Namespace: ns, Tenants: demand.versions[sv.Version.Name],
			Revision: sv.Revision, PreviousRevision: previous[sv.Version.Name]}
		rep, err := health.Shared(ctx, r.Client, p, sv.Version, sv.Revision)
		if err != nil {
			return nil, false, err
		}
		st.Replicas, st.ReadyReplicas = rep.Replicas, rep.ReadyReplicas
		out = append(out, st)
	}
	return out, grantsPending, nil
}

// sharedRevision is the revision the shared instance of a version runs, and the one a
// rollback would return it to: the live spec's content, unless the product's rollout holds
// the instance (one unit, rollout.SharedUnit) on another revision, read from its
// ControllerRevision. A revision that cannot be read gives the live content, with a Warning
// Event.
func (r *Reconciler) sharedRevision(ctx context.Context, p *tenancyv1alpha1.ApiProduct, v *tenancyv1alpha1.ProductVersion) (render.SharedVersion, string) {
	target := render.SharedVersion{Version: v, Revision: revision.Name(p.Name, v)}
	in := rollout.PickInput{Tenant: rollout.SharedUnit(v.Name), Rollout: p.Spec.Rollout, Status: p.Status.Rollout,
		Target: target.Revision, TargetVersion: v.Name, CurrentVersion: v.Name}
	if inst := sharedInstanceStatus(p, v.Name); inst != nil {
		in.Current, in.Previous = inst.Revision, inst.PreviousRevision
	}
	choice := rollout.Pick(in)
	if choice.Revision == target.Revision {
		return target, choice.Previous
	}
	cr := &appsv1.ControllerRevision{}
	err := r.Get(ctx, client.ObjectKey{Namespace: r.OperatorNamespace, Name: choice.Revision}, cr)
	var held *tenancyv1alpha1.ProductVersion
	if err == nil {
		held, err = revision.Decode(cr)
	}
	if err == nil && held.Name != v.Name {
		// A new instance while a rollout moves tenants from another version (the stable
		// revision is of that version): nothing runs this one yet, so nothing is held back.
		return target, ""
	}
	if err != nil {
		r.event(p, corev1.EventTypeWarning, "RevisionUnavailable", "Render",
			"The shared instance of version %s: revision %s cannot be read (%v); it runs the product's current spec, %s, instead",
			v.Name, choice.Revision, err, target.Revision)
		return target, choice.Previous
	}
	return render.SharedVersion{Version: held, Revision: choice.Revision}, choice.Previous
}

// crdJustInstalled reports whether a CRD was created within the last two minutes: its API
// may not be served yet.
func (r *Reconciler) crdJustInstalled(ctx context.Context, name string) bool {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil || !crd.DeletionTimestamp.IsZero() {
		return false
	}
	return time.Since(crd.CreationTimestamp.Time) < 2*time.Minute
}

// productsWithSharedInstances maps the ReferenceGrant CRD (installed, served, removed) to
// the products whose shared instances need grants.
func (r *Reconciler) productsWithSharedInstances(ctx context.Context, _ client.Object) []reconcile.Request {
	products := &tenancyv1alpha1.ApiProductList{}
	if err := r.List(ctx, products); err != nil {
		log.FromContext(ctx).Error(err, "listing products")
		return nil
	}
	var out []reconcile.Request
	for _, p := range products.Items {
		if len(p.Status.SharedInstances) > 0 {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
		}
	}
	return out
}

// pruneShared deletes the objects of the product's shared instances that are no longer
// desired (a version no tenant uses any more, a route namespace gone).
func (r *Reconciler) pruneShared(ctx context.Context, p *tenancyv1alpha1.ApiProduct, desired map[render.Key]bool) error {
	ns := render.SharedNamespace(p)
	for i := len(apply.Kinds) - 1; i >= 0; i-- {
		k := apply.Kinds[i]
		if !k.Namespaced || (k.CRD != "" && !r.served(ctx, k.CRD)) {
			continue
		}
		list := k.NewList()
		if err := r.List(ctx, list, client.InNamespace(ns), client.MatchingLabels(render.SharedLabels(p.Name))); err != nil {
			if meta.IsNoMatchError(err) {
				continue
			}
			return fmt.Errorf("listing %s of the shared instances of %s: %w", k.Name, p.Name, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			o := item.(client.Object)
			if desired[render.Key{Kind: k.Name, Namespace: o.GetNamespace(), Name: o.GetName()}] {
				continue
			}
			if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting %s %s/%s: %w", k.Name, o.GetNamespace(), o.GetName(), err)
			}
			log.FromContext(ctx).Info("deleted an object of a shared instance no tenant needs", "kind", k.Name, "namespace", ns, "name", o.GetName())
		}
	}
	return nil
}

// deleteSharedNamespace deletes the product's shared namespace, if it is the operator's.
func (r *Reconciler) deleteSharedNamespace(ctx context.Context, p *tenancyv1alpha1.ApiProduct) error {
	ns := &corev1.Namespace{}
	err := r.Get(ctx, client.ObjectKey{Name: render.SharedNamespace(p)}, ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", render.SharedNamespace(p), err)
	}
	if ns.Labels[tenancyv1alpha1.LabelSharedProduct] != p.Name || ns.Labels[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue ||
		!ns.DeletionTimestamp.IsZero() {
		return nil
	}
	uid := ns.UID
	if err := r.Delete(ctx, ns, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
	}
	r.event(p, corev1.EventTypeNormal, "SharedNamespaceDeleted", "Delete", "Deleted namespace %s: no tenant uses the shared instances of product %s any more", ns.Name, p.Name)
	return nil
}

// served reports whether the API server serves the kind of a CRD the operator watches.
func (r *Reconciler) served(ctx context.Context, crdName string) bool {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil || !crd.DeletionTimestamp.IsZero() {
		return false
	}
	for _, k := range apply.Kinds {
		if k.CRD != crdName {
			continue
		}
		gvk, err := apiutil.GVKForObject(k.New(), r.Scheme())
		if err != nil {
			return false
		}
		_, err = r.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		return err == nil
	}
	return false
}

func (r *Reconciler) event(p *tenancyv1alpha1.ApiProduct, eventType, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(p, nil, eventType, reason, action, note, args...)
	}
}

// sharesProduct reports whether the plan gives the product with tenancy Shared.
func sharesProduct(plan *tenancyv1alpha1.ServicePlan, product string) bool {
	for _, pp := range plan.Spec.Products {
		if pp.Name == product && pp.Tenancy == tenancyv1alpha1.TenancyShared {
			return true
		}
	}
	return false
}
