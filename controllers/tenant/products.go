package tenant

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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/health"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// productPlan is the outcome of resolving and rendering a tenant's products.
type productPlan struct {
	resolved []render.Resolved
	objects  []render.Object
	// routes is whether the HTTPRoute kind is served.
	routes bool
	// policies is, by product, whether the CRDs of the gateway policies it asks for are
	// served (products without gateway policies are not listed).
	policies map[string]bool
	// unavailable are the products that ask for gateway policies whose CRDs are not
	// installed: they get no route (fail closed).
	unavailable []string
	// crdsPending is set when an exposed product has no route, or a component with
	// metrics no ServiceMonitor, because a CRD it needs (the HTTPRoute's, a gateway
	// policy's, the ServiceMonitor's) exists but its API is not served yet (it was just
	// installed): check again shortly.
	crdsPending bool
	// serving is, by product, the instance that serves the tenant in this pass.
	serving map[string]serving
	// keysExpire is when the first previous API key still accepted at the gateway expires:
	// the tenant is reconciled again then, to drop it.
	keysExpire time.Time
	// err is set when the products cannot be resolved (a missing product or version):
	// nothing product-related is written or pruned then.
	err *render.ResolveError
	// previous is, by product, the revision a rollout in progress moved the tenant from.
	previous map[string]string
}

// planProducts resolves the tenant's products and renders their objects. Credentials are
// read from the existing Secrets and generated only when a Secret is missing or the tenant's
// rotate-credentials annotation changed.
func (r *Reconciler) planProducts(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct, usable map[string]bool, created func(namespace string) bool) (*productPlan, error) {
	resolved, rerr := render.ResolveProducts(t, plan, products)
	if rerr != nil {
		return &productPlan{err: rerr}, nil
	}
	previous := map[string]string{}
	for i := range resolved {
		if serr := render.SharedCheck(resolved[i], plan.Name); serr != nil {
			return &productPlan{err: serr}, nil
		}
		if serr, err := r.sharedNamespaceCheck(ctx, resolved[i], plan.Name); err != nil || serr != nil {
			return &productPlan{err: serr}, err
		}
		previous[resolved[i].Product.Name] = r.assignRevision(ctx, t, &resolved[i])
	}
	routes := r.routesInstalled(ctx)
	out := &productPlan{resolved: resolved, routes: routes, previous: previous, policies: map[string]bool{}, serving: map[string]serving{}}
	for _, rp := range resolved {
		if rp.Product.Spec.Exposure == nil {
			continue
		}
		if !routes && r.crdJustInstalled(ctx, render.HTTPRouteCRD) {
			out.crdsPending = true
		}
		p := render.Policies(rp.Product)
		if p == nil {
			continue
		}
		if out.policies[rp.Product.Name] = r.policiesInstalled(ctx, p); !out.policies[rp.Product.Name] {
			out.unavailable = append(out.unavailable, rp.Product.Name)
			for _, crd := range p.CRDs() {
				out.crdsPending = out.crdsPending || r.crdJustInstalled(ctx, crd)
			}
		}
	}
	if cerr := nameCollision(t, resolved, routes, out.policies); cerr != nil {
		return &productPlan{err: cerr}, nil
	}
	monitors, _ := apply.KindOf(render.KindServiceMonitor)
	monitoring := r.served(ctx, monitors)
	if !monitoring && hasMetrics(resolved) && r.crdJustInstalled(ctx, render.ServiceMonitorCRD) {
		// Discovery serves a new CRD's API only some time after the CRD's Established
		// condition, the last change of the CRD the operator sees.
		out.crdsPending = true
	}
	for _, rp := range resolved {
		in := render.ProductInput{Tenant: t, Resolved: rp, Routes: routes, Policies: out.policies[rp.Product.Name], Monitoring: monitoring}
		sv, err := r.servingOf(ctx, t, rp, render.RouteMade(rp, routes, in.Policies))
		if err != nil {
			return nil, err
		}
		out.serving[rp.Product.Name] = sv
		in.SharedVersion, in.NoInstance = sv.SharedVersion, !sv.Own
		switch {
		case render.UsesAPIKey(rp.Product) && usable[rp.Namespace]:
			cred, err := r.credential(ctx, t, rp, created(rp.Namespace))
			if err != nil {
				return nil, err
			}
			in.Credential = cred
		case render.UsesAPIKey(rp.Product):
			// Nothing is written into a namespace the tenant cannot use (another tenant's,
			// reserved, terminating), so its key is not looked up there either.
			in.Credential = &render.Credential{}
		}
		if in.Credential != nil && in.Credential.Key != "" && render.RouteMade(rp, routes, in.Policies) && render.Policies(rp.Product) != nil {
			keys, expires := r.gatewayKeys(ctx, t, rp, in.Credential.Key)
			in.GatewayKeys = keys
			if !expires.IsZero() && (out.keysExpire.IsZero() || expires.Before(out.keysExpire)) {
				out.keysExpire = expires
			}
		}
		out.objects = append(out.objects, render.Product(in)...)
	}
	return out, nil
}

// hasMetrics reports whether a component of one of the resolved products serves metrics.
func hasMetrics(resolved []render.Resolved) bool {
	for _, rp := range resolved {
		for _, c := range rp.Version.Components {
			if c.Metrics != nil {
				return true
			}
		}
	}
	return false
}

// assignRevision sets the revision the tenant runs of a resolved product: the live spec's
// content unless the product's rollout holds the tenant on another revision, which is then
// read from its ControllerRevision. It returns the revision a rollback would return the
// tenant to. A revision that no longer exists (deleted by hand: the operator keeps every
// revision a tenant runs) is replaced by the live spec's content, with a Warning Event.
func (r *Reconciler) assignRevision(ctx context.Context, t *tenancyv1alpha1.Tenant, rp *render.Resolved) string {
	var cur tenancyv1alpha1.ProductStatus
	for _, s := range t.Status.Products {
		if s.Name == rp.Product.Name {
			cur = s
		}
	}
	in := rollout.PickInput{
		Tenant: t.Name, Rollout: rp.Product.Spec.Rollout, Status: rp.Product.Status.Rollout,
		Target: rp.Revision, TargetVersion: rp.Version.Name,
		Current: cur.Revision, Previous: cur.PreviousRevision, CurrentVersion: cur.Version,
		Pinned: rp.Pinned,
	}
	if rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared && render.SharedCheck(*rp, t.Spec.Plan) == nil {
		// Served by a shared instance: the tenant runs the revision the instance runs (the
		// ApiProduct reconciler picks it the same way, for the instance as one unit).
		in.Tenant, in.Current, in.Previous, in.CurrentVersion, in.Pinned = rollout.SharedUnit(rp.Version.Name), "", "", rp.Version.Name, false
		for _, inst := range rp.Product.Status.SharedInstances {
			if inst.Version == rp.Version.Name {
				in.Current, in.Previous = inst.Revision, inst.PreviousRevision
			}
		}
	}
	choice := rollout.Pick(in)
	if choice.Revision == rp.Revision {
		return choice.Previous
	}
	cr := &appsv1.ControllerRevision{}
	err := r.Get(ctx, client.ObjectKey{Namespace: r.OperatorNamespace, Name: choice.Revision}, cr)
	var v *tenancyv1alpha1.ProductVersion
	if err == nil {
		v, err = revision.Decode(cr)
	}
	if err != nil {
		r.event(t, rp.Product, corev1.EventTypeWarning, "RevisionUnavailable", "Render",
			"Product %s: revision %s cannot be read (%v); the tenant runs the product's current spec, %s, instead",
			rp.Product.Name, choice.Revision, err, rp.Revision)
		return choice.Previous
	}
	if in.Tenant != t.Name && v.Name != rp.Version.Name {
		// A shared instance that is new while a rollout moves tenants from another version:
		// nothing runs it yet, so the live content (as sharedRevision of the ApiProduct
		// reconciler decides).
		return ""
	}
	rp.Version, rp.Revision = v, choice.Revision
	return choice.Previous
}

// nameCollision reports two products of the tenant that would make an object of the same
// kind and name in one namespace (product a with component b-c and product a-b with
// component c both make a-b-c): the operator would rewrite one with the other on every
// pass. Nothing of the tenant's products is written or pruned while it stands.
func nameCollision(t *tenancyv1alpha1.Tenant, resolved []render.Resolved, routes bool, policies map[string]bool) *render.ResolveError {
	made := map[render.Key]string{}
	for _, rp := range resolved {
		in := render.ProductInput{Tenant: t, Resolved: rp, Routes: routes, Policies: policies[rp.Product.Name]}
		if render.UsesAPIKey(rp.Product) {
			in.Credential = &render.Credential{}
		}
		for _, o := range render.Product(in) {
			other, taken := made[o.Key()]
			if taken && other != rp.Product.Name {
				return &render.ResolveError{Reason: tenancyv1alpha1.ReasonNameCollision, Message: fmt.Sprintf(
					"Products %s and %s would both make %s %s/%s: rename a component of one of them, or run them in different namespaces (the Tenant's spec.products[].namespace).",
					other, rp.Product.Name, o.Kind, o.Namespace, o.Name)}
			}
			made[o.Key()] = rp.Product.Name
		}
	}
	return nil
}

// fetchProducts reads the tenant's products (spec.products, else the plan's) that exist.
func (r *Reconciler) fetchProducts(ctx context.Context, t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan) (map[string]*tenancyv1alpha1.ApiProduct, error) {
	products := map[string]*tenancyv1alpha1.ApiProduct{}
	for _, name := range render.EffectiveProducts(t, plan) {
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

// routesInstalled reports whether the HTTPRoute kind is served by the cluster.
func (r *Reconciler) routesInstalled(ctx context.Context) bool {
	k, _ := apply.KindOf(render.KindHTTPRoute)
	return r.served(ctx, k)
}

// policiesInstalled reports whether every kind of a gateway policy provider is served.
func (r *Reconciler) policiesInstalled(ctx context.Context, p render.PolicyProvider) bool {
	for _, crd := range p.CRDs() {
		if k, ok := kindOfCRD(crd); !ok || !r.served(ctx, k) {
			return false
		}
	}
	return true
}

// kindOfCRD is the kind the operator writes that a CRD defines.
func kindOfCRD(crd string) (apply.Kind, bool) {
	for _, k := range apply.Kinds {
		if k.CRD == crd {
			return k, true
		}
	}
	return apply.Kind{}, false
}

// served reports whether a kind is served by the cluster; built-in kinds always are. A
// kind's CRD is watched (metadata only), so a cluster without it is answered from the
// cache: asking the REST mapper would send discovery requests on every reconcile, as it
// looks a missing group up again each time. Once the CRD exists the mapper decides (it
// finds the kind as soon as the API server serves it), and the kind's objects are watched
// from then on.
func (r *Reconciler) served(ctx context.Context, k apply.Kind) bool {
	if k.CRD == "" {
		return true
	}
	if r.RESTMapper() == nil {
		return false
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: k.CRD}, crd); err != nil {
		return false
	}
	if !crd.DeletionTimestamp.IsZero() {
		return false // being uninstalled: the API server refuses new objects, and removes the old ones
	}
	gvk, err := apiutil.GVKForObject(k.New(), r.Scheme())
	if err != nil {
		return false
	}
	if _, err := r.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
		return false
	}
	r.watch(ctx, k)
	return true
}

// crdJustInstalled reports whether a CRD (which the operator watches) was created in the
// last two minutes: its API may not be served yet. An older CRD that does not serve the
// version the operator writes (an old release) is not waited for.
func (r *Reconciler) crdJustInstalled(ctx context.Context, name string) bool {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := r.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		return false
	}
	return time.Since(crd.CreationTimestamp.Time) < 2*time.Minute
}

// credential returns the product's API key: the existing one, unless the tenant's
// rotate-credentials annotation differs from the one the key was made for. A Secret missing
// from the cache, or made for another rotation, is looked up in the API server before a key
// is generated, so a cache that lags behind never causes a new key (or a second rotation).
func (r *Reconciler) credential(ctx context.Context, t *tenancyv1alpha1.Tenant, rp render.Resolved, created bool) (*render.Credential, error) {
	rotation := t.Annotations[tenancyv1alpha1.AnnotationRotateCredentials]
	key := client.ObjectKey{Namespace: rp.Namespace, Name: render.CredentialsName(rp.Product.Name)}
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	// A Secret the cache does not have (or has from before a rotation) is looked up in the
	// API server: a cache that lags must never make a second key. In a namespace this pass
	// created there is nothing to look up.
	if (apierrors.IsNotFound(err) || (err == nil && secret.Annotations[render.AnnotationRotation] != rotation)) && r.APIReader != nil && !created {
		err = r.APIReader.Get(ctx, key, secret)
	}
	switch {
	case apierrors.IsNotFound(err):
		// The product may have moved to another of the tenant's namespaces: its key moves
		// with it (the old Secret is pruned once the new one is written).
		if moved, err := r.movedCredential(ctx, t, rp, rotation); err != nil || moved != nil {
			return moved, err
		}
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

// movedCredential returns the key of the product's credentials Secret in another of the
// tenant's namespaces, made for the current rotation, or nil.
func (r *Reconciler) movedCredential(ctx context.Context, t *tenancyv1alpha1.Tenant, rp render.Resolved, rotation string) (*render.Credential, error) {
	secrets, err := r.listManaged(ctx, render.KindSecret, t.Name)
	if err != nil {
		return nil, err
	}
	for _, o := range secrets {
		s := o.(*corev1.Secret)
		if s.Name != render.CredentialsName(rp.Product.Name) || s.Namespace == rp.Namespace ||
			s.Annotations[render.AnnotationRotation] != rotation || len(s.Data[render.CredentialsKey]) == 0 {
			continue
		}
		return &render.Credential{Key: string(s.Data[render.CredentialsKey]), Rotation: rotation}, nil
	}
	return nil, nil
}

// productStatus reads the product Deployments and reports replicas, readiness and endpoints.
// It returns how many products are fully available, and what the Deployments of the others
// say about why.
func (r *Reconciler) productStatus(ctx context.Context, t *tenancyv1alpha1.Tenant, pp *productPlan) (int, conditions.ProductHealth, error) {
	ready := 0
	var trouble conditions.ProductHealth
	statuses := make([]tenancyv1alpha1.ProductStatus, 0, len(pp.resolved))
	for _, rp := range pp.resolved {
		routed := render.RouteMade(rp, pp.routes, pp.policies[rp.Product.Name])
		sv := pp.serving[rp.Product.Name]
		st := tenancyv1alpha1.ProductStatus{
			Name: rp.Product.Name, Version: rp.Version.Name, Namespace: rp.Namespace,
			Revision: rp.Revision, PreviousRevision: pp.previous[rp.Product.Name],
			Endpoint: render.Endpoint(t, rp, routed), Tenancy: tenancyv1alpha1.TenancyDedicated,
		}
		if render.UsesAPIKey(rp.Product) {
			st.CredentialsSecret = render.CredentialsName(rp.Product.Name)
		}
		var rep health.Report
		var err error
		if sv.SharedVersion != "" {
			st.Tenancy, st.SharedInstance = tenancyv1alpha1.TenancyShared, render.SharedInstanceName(rp.Product.Name, sv.SharedVersion)
			st.Namespace = render.SharedNamespace(rp.Product)
			if !routed {
				st.Endpoint = "" // the shared instance admits the gateway only
			}
			rep, err = r.sharedHealth(ctx, rp, sv.SharedVersion)
			if err == nil && rep.Available && routed {
				// Not available to the tenant before its route can reach the instance.
				rep.Available, err = r.sharedReachable(ctx, rp, sv.SharedVersion)
			}
		} else {
			rep, err = health.Product(ctx, r.Client, &rp)
		}
		if err != nil {
			return 0, trouble, err
		}
		rep.Available = rep.Available && !sv.Moving
		st.Replicas, st.ReadyReplicas = rep.Replicas, rep.ReadyReplicas
		if trouble.Rejected == "" {
			trouble.Rejected = rep.Rejected
		}
		if trouble.Deadline == "" {
			trouble.Deadline = rep.Deadline
		}
		if rep.Available {
			ready++
		}
		statuses = append(statuses, st)
	}
	t.Status.Products = statuses
	if len(statuses) == 0 {
		t.Status.Products = nil
	}
	t.Status.ProductsReady = fmt.Sprintf("%d/%d", ready, len(pp.resolved))
	return ready, trouble, nil
}

// deprecatedVersionEvents are the Warning Events for the products the tenant started to run
// a deprecated version of between two statuses (a new tenant, a new pin or plan); the
// ApiProduct reconciler tells the tenants already on a version when it becomes deprecated.
// Like TenantEvents they follow a status write, so a pass from a stale cache tells nothing.
func (r *Reconciler) deprecatedVersionEvents(ctx context.Context, t *tenancyv1alpha1.Tenant, before *tenancyv1alpha1.TenantStatus) {
	was := map[string]string{}
	for _, s := range before.Products {
		was[s.Name] = s.Version
	}
	for _, st := range t.Status.Products {
		if st.Version == "" || was[st.Name] == st.Version {
			continue
		}
		p := &tenancyv1alpha1.ApiProduct{}
		if err := r.Get(ctx, client.ObjectKey{Name: st.Name}, p); err != nil {
			continue // gone: nothing to tell
		}
		for _, v := range p.Spec.Versions {
			if v.Name == st.Version && v.Deprecated {
				r.event(t, p, corev1.EventTypeWarning, "VersionDeprecated", "Deprecate",
					"The tenant now runs version %s of product %s, which is deprecated: its API clients get the Deprecation header",
					st.Version, p.Name)
			}
		}
	}
}

// gatewayKeys are the API keys the gateway accepts for a tenant's product: the current one
// and, for the product's rotationGracePeriod after a rotation, the one it replaced (read
// from the keys Secret the gateway has now). It returns when that previous key expires.
//
// A keys Secret whose current key is not the tenant's key means a rotation, unless the
// cache lags behind the pass that wrote it: it is read again from the API server then, so
// that a lagging cache does not restart the grace period.
func (r *Reconciler) gatewayKeys(ctx context.Context, t *tenancyv1alpha1.Tenant, rp render.Resolved, current string) (*render.GatewayKeys, time.Time) {
	live := &corev1.Secret{}
	key := client.ObjectKey{Namespace: rp.Namespace, Name: render.GatewayKeysName(rp.Product.Name)}
	err := r.Get(ctx, key, live)
	if err == nil && string(live.Data[t.Name]) != current && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, live)
	}
	if err != nil || live.Labels[tenancyv1alpha1.LabelTenant] != t.Name {
		live = nil
	}
	return render.NextGatewayKeys(t.Name, current, live, render.RotationGracePeriod(rp.Product), time.Now())
}
