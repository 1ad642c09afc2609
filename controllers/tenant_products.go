package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// httpRouteGK is the Gateway API HTTPRoute kind; routes are made only when it is installed.
var httpRouteGK = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}

// productPlan is the outcome of resolving and rendering a tenant's products.
type productPlan struct {
	resolved []render.Resolved
	objects  []render.Object
	// routes is whether the HTTPRoute kind is served.
	routes bool
	// routesPending is set when an exposed product has no route because the HTTPRoute CRD
	// exists but its API is not served yet (it was just installed): check again shortly.
	routesPending bool
	// err is set when the products cannot be resolved (a missing product or version):
	// nothing product-related is written or pruned then.
	err *render.ResolveError
}

// planProducts resolves the tenant's products and renders their objects. Credentials are
// read from the existing Secrets and generated only when a Secret is missing or the tenant's
// rotate-credentials annotation changed.
func (r *TenantReconciler) planProducts(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct) (*productPlan, error) {
	resolved, rerr := render.ResolveProducts(t, plan, products)
	if rerr != nil {
		return &productPlan{err: rerr}, nil
	}
	routes := r.routesInstalled(ctx)
	out := &productPlan{resolved: resolved, routes: routes}
	if !routes {
		for _, rp := range resolved {
			if rp.Product.Spec.Exposure != nil && r.routeCRDJustInstalled(ctx) {
				out.routesPending = true
				break
			}
		}
	}
	for _, rp := range resolved {
		in := render.ProductInput{Tenant: t, Resolved: rp, Routes: routes}
		if render.UsesAPIKey(rp.Product) {
			cred, err := r.credential(ctx, t, rp)
			if err != nil {
				return nil, err
			}
			in.Credential = cred
		}
		out.objects = append(out.objects, render.Product(in)...)
	}
	return out, nil
}

// fetchProducts reads the tenant's products (spec.products, else the plan's) that exist.
func (r *TenantReconciler) fetchProducts(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan) (map[string]*tenancyv1alpha1.ApiProduct, error) {
	products := map[string]*tenancyv1alpha1.ApiProduct{}
	for _, name := range effectiveProducts(t, plan) {
		p := &tenancyv1alpha1.ApiProduct{}
		err := r.Get(ctx, client.ObjectKey{Name: name}, p)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading product %s: %w", name, err)
		default:
			products[name] = p
		}
	}
	return products, nil
}

// routesInstalled reports whether the HTTPRoute kind is served by the cluster. The HTTPRoute
// CRD is watched (by name, metadata only), so a cluster without the Gateway API is answered
// from the cache: asking the REST mapper would send discovery requests on every reconcile,
// as it looks a missing group up again each time. Once the CRD exists the mapper decides
// (it finds the kind as soon as the API server serves it).
func (r *TenantReconciler) routesInstalled(ctx context.Context) bool {
	if r.RESTMapper() == nil {
		return false
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: httpRouteCRD}, crd); err != nil {
		return false
	}
	_, err := r.RESTMapper().RESTMapping(httpRouteGK, "v1")
	return err == nil
}

// routeCRDJustInstalled reports whether the HTTPRoute CRD (which the operator watches by
// name) was created in the last two minutes: its API may not be served yet. An older CRD
// that does not serve v1 (an old Gateway API release) is not waited for.
func (r *TenantReconciler) routeCRDJustInstalled(ctx context.Context) bool {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: httpRouteCRD}, crd); err != nil {
		return false
	}
	return time.Since(crd.CreationTimestamp.Time) < 2*time.Minute
}

// credential returns the product's API key: the existing one, unless the tenant's
// rotate-credentials annotation differs from the one the key was made for. A Secret missing
// from the cache, or made for another rotation, is looked up in the API server before a key
// is generated, so a cache that lags behind never causes a new key (or a second rotation).
func (r *TenantReconciler) credential(ctx context.Context, t *tenancyv1alpha1.Tenant, rp render.Resolved) (*render.Credential, error) {
	rotation := t.Annotations[tenancyv1alpha1.AnnotationRotateCredentials]
	key := client.ObjectKey{Namespace: rp.Namespace, Name: render.CredentialsName(rp.Product.Name)}
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if (apierrors.IsNotFound(err) || (err == nil && secret.Annotations[render.AnnotationRotation] != rotation)) && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, secret)
	}
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading secret %s: %w", key, err)
	case secret.Labels[tenancyv1alpha1.LabelTenant] != t.Name:
		return nil, fmt.Errorf("secret %s exists and does not belong to tenant %s: delete or rename it", key, t.Name)
	default:
		if existing := string(secret.Data[render.CredentialsKey]); existing != "" {
			if secret.Annotations[render.AnnotationRotation] == rotation {
				return &render.Credential{Key: existing, Rotation: rotation}, nil
			}
			r.event(t, secret, corev1.EventTypeNormal, "CredentialsRotated", "Rotate",
				"Rotated the API key of product %s in namespace %s", rp.Product.Name, rp.Namespace)
		}
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generating an API key: %w", err)
	}
	return &render.Credential{Key: hex.EncodeToString(buf), Rotation: rotation}, nil
}

// productStatus reads the product Deployments and reports replicas, readiness and endpoints.
// It returns how many products are fully available.
func (r *TenantReconciler) productStatus(ctx context.Context, t *tenancyv1alpha1.Tenant, pp *productPlan) (int, error) {
	ready := 0
	statuses := make([]tenancyv1alpha1.ProductStatus, 0, len(pp.resolved))
	for _, rp := range pp.resolved {
		st := tenancyv1alpha1.ProductStatus{
			Name: rp.Product.Name, Version: rp.Version.Name, Namespace: rp.Namespace,
			Endpoint: render.Endpoint(t, rp, pp.routes),
		}
		if render.UsesAPIKey(rp.Product) {
			st.CredentialsSecret = render.CredentialsName(rp.Product.Name)
		}
		available := true
		for _, c := range rp.Version.Components {
			d := &appsv1.Deployment{}
			err := r.Get(ctx, client.ObjectKey{Namespace: rp.Namespace, Name: render.ComponentName(rp.Product.Name, c.Name)}, d)
			if apierrors.IsNotFound(err) {
				available = false
				continue
			}
			if err != nil {
				return 0, err
			}
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			st.Replicas += want
			st.ReadyReplicas += d.Status.ReadyReplicas
			if !deploymentAvailable(d, rp.Version.Name) {
				available = false
			}
		}
		if available {
			ready++
		}
		statuses = append(statuses, st)
	}
	t.Status.Products = statuses
	if len(statuses) == 0 {
		t.Status.Products = nil
	}
	t.Status.ProductsReady = fmt.Sprintf("%d/%d", ready, len(pp.resolved))
	return ready, nil
}

// deploymentAvailable reports whether a Deployment runs the wanted version with every
// replica updated and ready.
func deploymentAvailable(d *appsv1.Deployment, version string) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Labels[render.LabelAppVersion] == version &&
		d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas == want &&
		d.Status.ReadyReplicas == want &&
		d.Status.Replicas == want
}
