package tenant

import (
	"context"
	"fmt"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
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

// sharedCheck says why a product cannot be Shared on the tenant's plan, or nil: tenants
// reach a shared instance only through the gateway, which must check their keys or tokens
// (the instance cannot: it serves every tenant).
func sharedCheck(rp render.Resolved, plan string) *render.ResolveError {
	if rp.PlanEntry.Tenancy != tenancyv1alpha1.TenancyShared {
		return nil
	}
	p := rp.Product
	if p.Spec.Exposure == nil {
		return &render.ResolveError{Reason: tenancyv1alpha1.ReasonSharedNotPossible, Message: fmt.Sprintf(
			"Plan %s gives product %s with tenancy Shared, but the product has no spec.exposure: tenants reach a shared instance only through the gateway. Expose the product, or set the plan's tenancy to Dedicated.",
			plan, p.Name)}
	}
	if p.Spec.Auth.Type != tenancyv1alpha1.AuthNone && render.Policies(p) == nil {
		return &render.ResolveError{Reason: tenancyv1alpha1.ReasonSharedNotPossible, Message: fmt.Sprintf(
			"Plan %s gives product %s with tenancy Shared, but nothing at the gateway checks its %s auth (exposure.policies None) and a shared instance cannot check each tenant's key or token. Set the product's exposure.policies to EnvoyGateway, or the plan's tenancy to Dedicated.",
			plan, p.Name, p.Spec.Auth.Type)}
	}
	return nil
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

// sharedHealth reports on the product's shared instance of a version.
func (r *Reconciler) sharedHealth(ctx context.Context, rp render.Resolved, version string) (health.Report, error) {
	for i := range rp.Product.Spec.Versions {
		if v := &rp.Product.Spec.Versions[i]; v.Name == version {
			return health.Shared(ctx, r.Client, rp.Product, v, revision.Name(rp.Product.Name, v))
		}
	}
	return health.Report{}, nil
}
