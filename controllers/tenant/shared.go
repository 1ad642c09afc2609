package tenant

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/health"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
)

// serving says which instance serves one of a tenant's products in this pass: a shared
// instance of a version (SharedVersion), the tenant's own (Own), or, while the tenant moves
// from one to the other, the one that served it until the other is available (both may be
// rendered then: the own instance comes up beside the shared one it replaces).
type serving struct {
	// SharedVersion is the version of the product's shared instance the route goes to;
	// "" when the tenant's own instance serves it.
	SharedVersion string
	// Own is whether the tenant's own instance is rendered.
	Own bool
	// Moving is set while the instance that serves the tenant is not the one its plan asks
	// for: the tenant's product is not ready until the move is done.
	Moving bool
}

// sharedNamespaceCheck says why a Shared product's tenants cannot be routed to its shared
// namespace, or nil: it exists and the operator did not make it (no shared-product label),
// so whatever runs there is not the product's shared instance, and a route would send the
// tenant's requests, X-Tenant and all, to whoever made it.
func (r *Reconciler) sharedNamespaceCheck(ctx context.Context, rp render.Resolved, plan string) (*render.ResolveError, error) {
	if rp.PlanEntry.Tenancy != tenancyv1alpha1.TenancyShared {
		return nil, nil
	}
	name := render.SharedNamespace(rp.Product)
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // the product's reconciler makes it
		}
		return nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	if ns.Labels[tenancyv1alpha1.LabelSharedProduct] == rp.Product.Name && ns.Labels[tenancyv1alpha1.LabelManagedBy] == tenancyv1alpha1.ManagedByValue {
		return nil, nil
	}
	return &render.ResolveError{Reason: tenancyv1alpha1.ReasonSharedNotPossible, Message: fmt.Sprintf(
		"Plan %s gives product %s with tenancy Shared, but namespace %s, the product's shared namespace, exists and was not made by the operator (no label %s=%s): nothing is routed there. Delete or rename the namespace, set the ApiProduct's spec.shared.namespace to another one, or set the plan's tenancy to Dedicated.",
		plan, rp.Product.Name, name, tenancyv1alpha1.LabelSharedProduct, rp.Product.Name)}, nil
}

// servingOf decides which instance serves a tenant's product, without a gap while it
// moves: the instance its plan asks for once that one is available, until then the one
// that served it in the last pass (status.products[]). Without a route there is nothing to
// keep serving, and the tenant moves at once.
func (r *Reconciler) servingOf(ctx context.Context, t *tenancyv1alpha1.Tenant, rp render.Resolved, routed bool) (serving, error) {
	wantShared := rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared
	var prev *tenancyv1alpha1.ProductStatus
	for i := range t.Status.Products {
		if t.Status.Products[i].Name == rp.Product.Name {
			prev = &t.Status.Products[i]
		}
	}
	prevShared := ""
	if prev != nil && prev.Tenancy == tenancyv1alpha1.TenancyShared {
		for _, v := range rp.Product.Spec.Versions {
			if render.SharedInstanceName(rp.Product.Name, v.Name) == prev.SharedInstance {
				prevShared = v.Name
			}
		}
	}
	if wantShared {
		switch {
		case !routed || prev == nil || prevShared == rp.Version.Name:
			return serving{SharedVersion: rp.Version.Name}, nil
		}
		rep, err := r.sharedHealth(ctx, rp, rp.Version.Name)
		if err != nil {
			return serving{}, err
		}
		if rep.Available {
			// Available is not enough: the route must also be able to reach it.
			if rep.Available, err = r.sharedReachable(ctx, rp, rp.Version.Name); err != nil {
				return serving{}, err
			}
		}
		switch {
		case rep.Available:
			return serving{SharedVersion: rp.Version.Name}, nil
		case prevShared != "":
			return serving{SharedVersion: prevShared, Moving: true}, nil
		}
		return serving{Own: true, Moving: true}, nil
	}
	if !routed || prevShared == "" {
		return serving{Own: true}, nil
	}
	rep, err := health.Product(ctx, r.Client, &rp)
	if err != nil {
		return serving{}, err
	}
	if rep.Available {
		return serving{Own: true}, nil
	}
	return serving{SharedVersion: prevShared, Own: true, Moving: true}, nil
}

// sharedReachable reports whether a tenant's route could reach the product's shared
// instance of a version: the Service of the exposed component exists and, where the
// Gateway API's ReferenceGrants are served, the grant that admits routes of the tenant's
// namespace (render.Shared names it routes-<namespace>) exists too; a gateway refuses a
// route to another namespace's Service without one. The product's reconciler writes the
// grant when the tenant first asks for the shared instance, possibly after the instance
// became available (other tenants use it).
func (r *Reconciler) sharedReachable(ctx context.Context, rp render.Resolved, version string) (bool, error) {
	ns := render.SharedNamespace(rp.Product)
	svc := &corev1.Service{}
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: render.SharedComponentName(rp.Product.Name, version, rp.Product.Spec.Exposure.Component)}, svc)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	k, _ := apply.KindOf(render.KindReferenceGrant)
	if !r.served(ctx, k) {
		return true, nil
	}
	grant := &gatewayv1.ReferenceGrant{}
	err = r.Get(ctx, client.ObjectKey{Namespace: ns, Name: "routes-" + rp.Namespace}, grant)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// sharedHealth reports on the product's shared instance of a version.
func (r *Reconciler) sharedHealth(ctx context.Context, rp render.Resolved, version string) (health.Report, error) {
	for i := range rp.Product.Spec.Versions {
		if v := &rp.Product.Spec.Versions[i]; v.Name == version {
			return health.Shared(ctx, r.Client, rp.Product, v, revision.Name(rp.Product.Name, v))
		}
	}
	return health.Report{}, nil
}
