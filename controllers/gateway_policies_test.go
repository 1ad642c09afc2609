package controllers

// User stories of gateway policies (ApiProduct exposure.policies EnvoyGateway): beside each
// tenant's HTTPRoute, an Envoy Gateway SecurityPolicy (the tenant's API key, or a JWT whose
// tenant claim names the tenant; deny while suspended) and a BackendTrafficPolicy (the
// plan's rate limit); no route at all while the Envoy Gateway CRDs are missing.
//
// The Envoy Gateway CRDs (Envoy Gateway v1.9.1's own YAML, from $ENVOY_GATEWAY_CRDS) are
// installed into the shared API server by TestGatewayPolicies alone, after its fail-closed
// story has seen the cluster without them. TestGatewayPolicies is parallel, so it starts
// after every sequential test (TestHTTPRouteAfterGatewayAPIInstalled among them, which
// needs the HTTPRoute CRD absent at first); its other stories are parallel subtests that
// start once the CRDs are installed. No other test installs or needs them, and the tests
// that list every kind of a tenant (objectsOfTenant) skip kinds that are not installed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestGatewayPolicies runs the fail-closed story first, on a cluster without the Envoy
// Gateway CRDs, installs them, and then the other stories in parallel.
func TestGatewayPolicies(t *testing.T) {
	t.Parallel()
	if get(&apiextensionsv1.CustomResourceDefinition{}, "", render.HTTPRouteCRD) != nil {
		installHTTPRouteCRD(t) // this test alone was selected (-run)
	}
	// Not parallel: it installs the CRDs the stories below need.
	if !t.Run("fail closed until the Envoy Gateway CRDs are installed", gatewayFailClosed) {
		t.FailNow()
	}
	installEnvoyGatewayCRDs(t) // done already, unless -run left the story above out
	parallelStories(t, []story{
		{"API key policy, steady state and drift", gatewayAPIKeyPolicy},
		{"rotation keeps the previous key for the grace period", gatewayRotationGrace},
		{"rotation without a grace period drops the old key at once", gatewayRotationNoGrace},
		{"suspension denies every request until resumed", gatewaySuspension},
		{"OAuth2 tokens are bound to their tenant", gatewayOAuth2},
		{"plan rate limit changes", gatewayRateLimitChanges},
		{"policies None and product removal", gatewayPoliciesOffAndRemoval},
	})
}

// gatewayFailClosed: an exposed product with policies EnvoyGateway gets no HTTPRoute while
// the Envoy Gateway CRDs are missing (the tenant is stalled, GatewayPoliciesUnavailable,
// naming the product and the CRDs); once they are installed, the policies are written,
// then the route, and the tenant heals.
func gatewayFailClosed(t *testing.T) {
	const product, planName, name = "agp1-closed", "pgp1-closed", "tgp1-closed"
	deploy := product + "-api"
	mustCreate(t, gatewayProduct(product))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 120},
	}))
	mustCreate(t, newTenant(name, planName))

	if envoyGatewayInstalled() {
		t.Logf("the Envoy Gateway CRDs are already installed (a repeated run): skipping the check without them")
	} else {
		tn := waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonGatewayPoliciesUnavailable)
		c := findCondition(tn, tenancyv1alpha1.ConditionProductsReady)
		for _, want := range []string{product, render.SecurityPolicyCRD, render.BackendTrafficPolicyCRD} {
			if !strings.Contains(messageOf(c), want) {
				t.Errorf("ProductsReady message %q, want it to name %s", messageOf(c), want)
			}
		}
		// The product runs, but nothing exposes it: no route, and the endpoint is in the cluster.
		if err := productObjects(name, product, true, []string{"api"}, []string{"api"}); err != nil {
			t.Error(err)
		}
		if s, _ := productStatusOf(tn, product); s.Endpoint != "http://"+deploy+"."+name+".svc:8080" {
			t.Errorf("status.products endpoint without policies %q, want http://%s.%s.svc:8080", s.Endpoint, deploy, name)
		}
		// Stays so (the Deployment becoming available changes nothing of it).
		consistently(t, time.Second, func() error {
			if err := markDeploymentReady(name, deploy); err != nil {
				return err
			}
			if err := gone(&gatewayv1.HTTPRoute{}, name, product); err != nil {
				return fmt.Errorf("an open route without its gateway policies: %w", err)
			}
			tn, err := fetchTenant(name)
			if err != nil {
				return err
			}
			return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, tenancyv1alpha1.ReasonGatewayPoliciesUnavailable)
		})
		installEnvoyGatewayCRDs(t)
	}

	// The policies come before the route: whenever the route is seen, they are there.
	eventually(t, 0, func() error {
		routed, err := routeGuarded(name, product, true)
		if err != nil {
			t.Fatal(err)
		}
		if !routed {
			return fmt.Errorf("no HTTPRoute %s/%s yet", name, product)
		}
		return nil
	})
	if err := wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, false); err != nil {
		t.Error(err)
	}
	if err := wantRateLimit(name, product, 120); err != nil {
		t.Error(err)
	}
	eventually(t, 0, func() error {
		tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
		if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
			return err
		}
		if s, _ := productStatusOf(tn, product); s.Endpoint != "https://"+name+"."+product+".example.com/"+product {
			return fmt.Errorf("status.products endpoint %q, want https://%s.%s.example.com/%s", s.Endpoint, name, product, product)
		}
		return nil
	})
}

// gatewayAPIKeyPolicy: the gateway accepts exactly the tenant's key from the credentials
// Secret, in the product's header; a further pass writes none of the policies; an admin's
// edit of a policy is undone.
func gatewayAPIKeyPolicy(t *testing.T) {
	const product, planName, name = "agp2-keys", "pgp2-keys", "tgp2-keys"
	const header = "x-tenant-key"
	deploy := product + "-api"
	ap := gatewayProduct(product)
	ap.Spec.Auth.APIKey = &tenancyv1alpha1.APIKeyAuth{Header: header}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 600},
	}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)

	waitRouted(t, name, product, true)
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	// The namespace names the Service behind the policies (tenant-written routes may not
	// reach it, the admission policy says).
	eventually(t, 0, func() error { return wantGuardedServices(name, deploy) })
	key, err := apiKey(name, product)
	if err != nil {
		t.Fatal(err)
	}
	if err := wantGatewayKeys(name, product, name, key, ""); err != nil {
		t.Error(err)
	}
	if err := wantAPIKeyPolicy(name, product, header, false); err != nil {
		t.Error(err)
	}
	if err := wantRateLimit(name, product, 600); err != nil {
		t.Error(err)
	}
	for _, kind := range []string{render.KindSecurityPolicy, render.KindBackendTrafficPolicy} {
		u, err := fetchGatewayPolicy(kind, name, product)
		if err != nil {
			t.Fatal(err)
		}
		if err := hasProductLabels(u, name, product); err != nil {
			t.Error(err)
		}
	}
	keys := &corev1.Secret{}
	if err := get(keys, name, render.GatewayKeysName(product)); err != nil {
		t.Fatal(err)
	}
	if err := hasProductLabels(keys, name, product); err != nil {
		t.Error(err)
	}

	// Steady state: a pass (a relabelled Tenant, a deleted Service it recreates) writes none
	// of the policies, the keys or the route.
	refs := []objRef{
		{gatewayPolicyObject(render.KindSecurityPolicy), name, product},
		{gatewayPolicyObject(render.KindBackendTrafficPolicy), name, product},
		{&corev1.Secret{}, name, render.GatewayKeysName(product)},
		{&corev1.Secret{}, name, product + "-credentials"},
		{&gatewayv1.HTTPRoute{}, name, product},
	}
	before := resourceVersions(t, refs)
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		if tn.Labels == nil {
			tn.Labels = map[string]string{}
		}
		tn.Labels["gp-touch"] = "1"
	})
	awaitPass(t, name, deploy)
	consistently(t, time.Second, func() error { return unchangedSince(refs, before) })

	// Drift: an admin drops the key check and raises the limit; the operator restores both
	// (it watches the policy kinds since their CRDs appeared).
	editGatewayPolicy(t, render.KindSecurityPolicy, name, product, func(u *unstructured.Unstructured) {
		unstructured.RemoveNestedField(u.Object, "spec", "apiKeyAuth")
	})
	editGatewayPolicy(t, render.KindBackendTrafficPolicy, name, product, func(u *unstructured.Unstructured) {
		rules := []any{map[string]any{"limit": map[string]any{"requests": int64(100000), "unit": "Minute"}}}
		if err := unstructured.SetNestedSlice(u.Object, rules, "spec", "rateLimit", "local", "rules"); err != nil {
			t.Fatal(err)
		}
	})
	eventually(t, 0, func() error {
		if err := wantAPIKeyPolicy(name, product, header, false); err != nil {
			return err
		}
		return wantRateLimit(name, product, 600)
	})
	if err := wantGatewayKeys(name, product, name, key, ""); err != nil {
		t.Error(err)
	}
}

// gatewayRotationGrace: after a rotation the gateway accepts the new key and, for
// rotationGracePeriod, the old one; then the old one is dropped with nothing else
// happening (the operator comes back at the deadline by itself).
func gatewayRotationGrace(t *testing.T) {
	const product, planName, name = "agp3-grace", "pgp3-grace", "tgp3-grace"
	const grace = 4 * time.Second
	ap := gatewayProduct(product)
	ap.Spec.Auth.APIKey = &tenancyv1alpha1.APIKeyAuth{RotationGracePeriod: metav1.Duration{Duration: grace}}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)

	waitRouted(t, name, product, false)
	old := waitGatewayKey(t, name, product)

	rotate(t, tenant, "2026-03-01")
	var current string
	var rotatedAt time.Time
	eventually(t, 0, func() error {
		var err error
		if current, err = apiKey(name, product); err != nil {
			return err
		}
		if current == old {
			return fmt.Errorf("the key in %s-credentials is not rotated yet", product)
		}
		s := &corev1.Secret{}
		if err := get(s, name, render.GatewayKeysName(product)); err != nil {
			return err
		}
		if rotatedAt, err = time.Parse(time.RFC3339, s.Annotations[render.AnnotationKeyRotatedAt]); err != nil {
			return fmt.Errorf("annotation %s: %w", render.AnnotationKeyRotatedAt, err)
		}
		return wantGatewayKeys(name, product, name, current, old)
	})
	if d := time.Since(rotatedAt); d < -time.Second || d > grace {
		t.Errorf("%s is %s, %v from now: want the moment of the rotation", render.AnnotationKeyRotatedAt, rotatedAt.Format(time.RFC3339), d)
	}

	// The old key stays valid until the deadline, and is dropped shortly after it without
	// anyone touching the tenant.
	deadline := rotatedAt.Add(grace)
	var droppedAt time.Time
	eventually(t, time.Until(deadline)+5*time.Second, func() error {
		s := &corev1.Secret{}
		if err := get(s, name, render.GatewayKeysName(product)); err != nil {
			return err
		}
		if _, ok := s.Data[name+render.PreviousKeySuffix]; ok {
			// A later pass may have recorded the rotation again: the deadline moves with it.
			if at, err := time.Parse(time.RFC3339, s.Annotations[render.AnnotationKeyRotatedAt]); err == nil && at.After(rotatedAt) {
				t.Logf("%s moved from %s to %s", render.AnnotationKeyRotatedAt, rotatedAt.Format(time.RFC3339), at.Format(time.RFC3339))
				rotatedAt, deadline = at, at.Add(grace)
			}
			return fmt.Errorf("the previous key is still accepted (%s, deadline %s)", time.Now().Format(time.RFC3339), deadline.Format(time.RFC3339))
		}
		droppedAt = time.Now()
		return nil
	})
	if droppedAt.Before(deadline) {
		t.Errorf("the previous key was dropped at %s, before the end of the grace period %s", droppedAt.Format(time.RFC3339Nano), deadline.Format(time.RFC3339))
	}
	if err := wantGatewayKeys(name, product, name, current, ""); err != nil {
		t.Error(err)
	}
	s := &corev1.Secret{}
	if err := get(s, name, render.GatewayKeysName(product)); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Annotations[render.AnnotationKeyRotatedAt]; ok {
		t.Errorf("annotation %s = %q is kept without a previous key", render.AnnotationKeyRotatedAt, v)
	}
	if got, err := apiKey(name, product); err != nil || got != current {
		t.Errorf("the key in %s-credentials is %q (%v), want it unchanged %q", product, got, err, current)
	}
}

// gatewayRotationNoGrace: with rotationGracePeriod 0s the old key stops working with the
// rotation: the keys Secret never holds it beside the new one.
func gatewayRotationNoGrace(t *testing.T) {
	const product, planName, name = "agp3-nograce", "pgp3-nograce", "tgp3-nograce"
	ap := gatewayProduct(product)
	ap.Spec.Auth.APIKey = &tenancyv1alpha1.APIKeyAuth{RotationGracePeriod: metav1.Duration{}}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)

	waitRouted(t, name, product, false)
	old := waitGatewayKey(t, name, product)
	rotate(t, tenant, "2026-03-02")
	eventually(t, 0, func() error {
		s := &corev1.Secret{}
		if err := get(s, name, render.GatewayKeysName(product)); err != nil {
			return err
		}
		if _, ok := s.Data[name+render.PreviousKeySuffix]; ok {
			t.Fatalf("the keys Secret holds a previous key with rotationGracePeriod 0s: %v", keyNames(s))
		}
		if string(s.Data[name]) == old {
			return fmt.Errorf("the gateway still accepts the old key")
		}
		current, err := apiKey(name, product)
		if err != nil {
			return err
		}
		return wantGatewayKeys(name, product, name, current, "")
	})
	consistently(t, 500*time.Millisecond, func() error {
		current, err := apiKey(name, product)
		if err != nil {
			return err
		}
		return wantGatewayKeys(name, product, name, current, "")
	})
}

// gatewaySuspension: a suspended tenant's requests are all refused at the gateway, with its
// key still on record; on resume its key works again.
func gatewaySuspension(t *testing.T) {
	const product, planName, name = "agp4-suspend", "pgp4-suspend", "tgp4-suspend"
	mustCreate(t, gatewayProduct(product))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)

	waitRouted(t, name, product, false)
	key := waitGatewayKey(t, name, product)
	eventually(t, 0, func() error { return wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, false) })
	keysRef := []objRef{{&corev1.Secret{}, name, render.GatewayKeysName(product)}}
	keysBefore := resourceVersions(t, keysRef)

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = true })
	eventually(t, 0, func() error { return wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, true) })
	if err := wantGatewayKeys(name, product, name, key, ""); err != nil {
		t.Error(err)
	}
	if err := unchangedSince(keysRef, keysBefore); err != nil {
		t.Errorf("suspending the tenant rewrote its gateway keys: %v", err)
	}
	if err := get(&gatewayv1.HTTPRoute{}, name, product); err != nil {
		t.Errorf("the route of a suspended tenant: %v", err)
	}

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = false })
	eventually(t, 0, func() error { return wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, false) })
	if err := wantGatewayKeys(name, product, name, key, ""); err != nil {
		t.Error(err)
	}
	if got, err := apiKey(name, product); err != nil || got != key {
		t.Errorf("the key after resume is %q (%v), want the one before suspension %q", got, err, key)
	}
}

// gatewayOAuth2: tokens are checked against the product's issuer, audience and JWKS, and
// each tenant's route admits only tokens whose tenant claim names that tenant; suspension
// refuses every token and resume brings the tenant's rule back.
func gatewayOAuth2(t *testing.T) {
	const product, planName = "agp5-orders", "pgp5-orders"
	const tenantA, tenantB = "tgp5-a", "tgp5-b"
	const issuer, audience, jwks = "https://id.gp5.example.com", "orders-api", "https://id.gp5.example.com/.well-known/jwks.json"
	ap := gatewayProduct(product)
	ap.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthOAuth2, OAuth2: &tenancyv1alpha1.OAuth2{
		IssuerURL: issuer, Audience: audience, JWKSURI: jwks, TenantClaim: "org_id",
	}}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	a := newTenant(tenantA, planName)
	mustCreate(t, a)
	mustCreate(t, newTenant(tenantB, planName))

	for _, name := range []string{tenantA, tenantB} {
		waitRouted(t, name, product, false)
		eventually(t, 0, func() error { return wantJWTPolicy(name, product, issuer, audience, jwks, "org_id", false) })
		sp, err := fetchGatewayPolicy(render.KindSecurityPolicy, name, product)
		if err != nil {
			t.Fatal(err)
		}
		if err := hasProductLabels(sp, name, product); err != nil {
			t.Error(err)
		}
		// No API keys for OAuth2, and no limit without one in the plan.
		if err := gone(&corev1.Secret{}, name, render.GatewayKeysName(product)); err != nil {
			t.Error(err)
		}
		if err := gone(&corev1.Secret{}, name, product+"-credentials"); err != nil {
			t.Error(err)
		}
		if err := gatewayPolicyGone(render.KindBackendTrafficPolicy, name, product); err != nil {
			t.Error(err)
		}
	}

	mustUpdate(t, a, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = true })
	eventually(t, 0, func() error { return wantJWTPolicy(tenantA, product, issuer, audience, jwks, "org_id", true) })
	if err := wantJWTPolicy(tenantB, product, issuer, audience, jwks, "org_id", false); err != nil {
		t.Errorf("suspending %s changed %s's policy: %v", tenantA, tenantB, err)
	}
	mustUpdate(t, a, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = false })
	eventually(t, 0, func() error { return wantJWTPolicy(tenantA, product, issuer, audience, jwks, "org_id", false) })
}

// gatewayRateLimitChanges: the BackendTrafficPolicy follows the plan's rate limit, and goes
// when the plan drops it (the SecurityPolicy and the route stay).
func gatewayRateLimitChanges(t *testing.T) {
	const product, planName, name = "agp6-limit", "pgp6-limit", "tgp6-limit"
	mustCreate(t, gatewayProduct(product))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 100},
	})
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName))
	waitRouted(t, name, product, true)
	eventually(t, 0, func() error { return wantRateLimit(name, product, 100) })

	setLimit := func(rl *tenancyv1alpha1.RateLimit) {
		mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Products[0].RateLimit = rl })
	}
	setLimit(&tenancyv1alpha1.RateLimit{RequestsPerMinute: 250})
	eventually(t, 0, func() error { return wantRateLimit(name, product, 250) })

	route := &gatewayv1.HTTPRoute{}
	if err := get(route, name, product); err != nil {
		t.Fatal(err)
	}
	setLimit(nil)
	eventually(t, 0, func() error { return gatewayPolicyGone(render.KindBackendTrafficPolicy, name, product) })
	if err := wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, false); err != nil {
		t.Error(err)
	}
	if err := sameRoute(name, product, route.UID); err != nil {
		t.Error(err)
	}
}

// gatewayPoliciesOffAndRemoval: switching a product's policies to None removes its
// SecurityPolicy, BackendTrafficPolicy and gateway keys and keeps the route; a tenant that
// stops using the product loses the route first, then its policies.
func gatewayPoliciesOffAndRemoval(t *testing.T) {
	const product, other, planName, name = "agp7-off", "agp7-other", "pgp7-off", "tgp7-off"
	ap := gatewayProduct(product)
	mustCreate(t, ap)
	mustCreate(t, newAPIProduct(other, "v1", productVersion("v1", productComponent("worker", "registry.example.com/agp7-other:1.0.0", 0))))
	mustCreate(t, newProductPlan(planName,
		tenancyv1alpha1.PlanProduct{Name: product, RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 60}},
		tenancyv1alpha1.PlanProduct{Name: other}))
	tenant := newTenant(name, planName)
	order := watchWriteOrder(t, name, product)
	mustCreate(t, tenant)
	waitRouted(t, name, product, true)
	route := &gatewayv1.HTTPRoute{}
	if err := get(route, name, product); err != nil {
		t.Fatal(err)
	}
	eventually(t, 0, func() error {
		if err := order.before(watch.Added, render.KindSecurityPolicy, render.KindHTTPRoute); err != nil {
			return err
		}
		return order.before(watch.Added, render.KindBackendTrafficPolicy, render.KindHTTPRoute)
	})

	setPolicies := func(p tenancyv1alpha1.GatewayPolicies) {
		mustUpdate(t, ap, func(ap *tenancyv1alpha1.ApiProduct) { ap.Spec.Exposure.Policies = p })
	}
	setPolicies(tenancyv1alpha1.GatewayPoliciesNone)
	eventually(t, 0, func() error {
		for _, kind := range []string{render.KindSecurityPolicy, render.KindBackendTrafficPolicy} {
			if err := gatewayPolicyGone(kind, name, product); err != nil {
				return err
			}
		}
		return gone(&corev1.Secret{}, name, render.GatewayKeysName(product))
	})
	if err := sameRoute(name, product, route.UID); err != nil {
		t.Error(err)
	}
	if _, err := apiKey(name, product); err != nil {
		t.Errorf("the credentials with policies None: %v", err)
	}
	eventually(t, 0, func() error { return wantGuardedServices(name) })

	// Back to EnvoyGateway (the route, open meanwhile, stays): the policies come back.
	setPolicies(tenancyv1alpha1.GatewayPoliciesEnvoyGateway)
	eventually(t, 0, func() error {
		if err := wantAPIKeyPolicy(name, product, render.DefaultAPIKeyHeader, false); err != nil {
			return err
		}
		if err := wantRateLimit(name, product, 60); err != nil {
			return err
		}
		key, err := apiKey(name, product)
		if err != nil {
			return err
		}
		return wantGatewayKeys(name, product, name, key, "")
	})
	if err := sameRoute(name, product, route.UID); err != nil {
		t.Error(err)
	}

	// The tenant stops using the product: the route goes before its policies.
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: other}}
	})
	eventually(t, 0, func() error {
		for _, kind := range []string{render.KindSecurityPolicy, render.KindBackendTrafficPolicy} {
			if err := gatewayPolicyGone(kind, name, product); err != nil {
				return err
			}
		}
		// The policies are gone: the route, pruned before them, must be too.
		if err := gone(&gatewayv1.HTTPRoute{}, name, product); err != nil {
			t.Fatalf("the route outlived its gateway policies: %v", err)
		}
		if err := gone(&corev1.Secret{}, name, render.GatewayKeysName(product)); err != nil {
			return err
		}
		return productObjects(name, product, false, []string{"api"}, []string{"api"})
	})
	if err := get(&appsv1.Deployment{}, name, other+"-worker"); err != nil {
		t.Errorf("the product the tenant kept: %v", err)
	}
	eventually(t, 0, func() error {
		if err := order.before(watch.Deleted, render.KindHTTPRoute, render.KindSecurityPolicy); err != nil {
			return err
		}
		return order.before(watch.Deleted, render.KindHTTPRoute, render.KindBackendTrafficPolicy)
	})
}

// ---------------------------------------------------------------------------------------
// Helpers.

// gatewayProduct returns a product with API key auth (the default), exposed through the
// gateway with policies EnvoyGateway and a hostname of its own.
func gatewayProduct(name string) *tenancyv1alpha1.ApiProduct {
	ap := newAPIProduct(name, "v1", productVersion("v1", productComponent("api", "registry.example.com/"+name+":1.0.0", 8080)))
	ap.Spec.Exposure = &tenancyv1alpha1.Exposure{
		Component: "api",
		Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
		Hostname:  "{tenant}." + name + ".example.com",
		Policies:  tenancyv1alpha1.GatewayPoliciesEnvoyGateway,
	}
	return ap
}

// gatewayPolicyObject is an empty Envoy Gateway object of a kind, to read into.
func gatewayPolicyObject(kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: render.EnvoyGatewayGroup, Version: render.EnvoyGatewayVersion, Kind: kind})
	return u
}

func fetchGatewayPolicy(kind, namespace, name string) (*unstructured.Unstructured, error) {
	u := gatewayPolicyObject(kind)
	if err := get(u, namespace, name); err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, objName(namespace, name), err)
	}
	return u, nil
}

// gatewayPolicyGone returns nil when the policy does not exist.
func gatewayPolicyGone(kind, namespace, name string) error {
	err := get(gatewayPolicyObject(kind), namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%s %s still exists", kind, objName(namespace, name))
}

// editGatewayPolicy changes a policy as an admin would (the test client is in system:masters).
func editGatewayPolicy(t *testing.T, kind, namespace, name string, mutate func(*unstructured.Unstructured)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := fetchGatewayPolicy(kind, namespace, name)
		if err != nil {
			return err
		}
		mutate(u)
		return k8s.Update(testCtx, u)
	})
	if err != nil {
		t.Fatalf("editing %s %s: %v", kind, objName(namespace, name), err)
	}
}

// hasProductLabels checks the labels of one of a tenant's product objects.
func hasProductLabels(o metav1.Object, tenant, product string) error {
	l := o.GetLabels()
	if l[tenancyv1alpha1.LabelTenant] != tenant || l[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue ||
		l[tenancyv1alpha1.LabelProduct] != product || l[render.LabelAppVersion] != "v1" {
		return fmt.Errorf("%s has labels %v, want %s=%s, %s=%s, %s=%s and %s=v1", objName(o.GetNamespace(), o.GetName()), l,
			tenancyv1alpha1.LabelTenant, tenant, tenancyv1alpha1.LabelManagedBy, tenancyv1alpha1.ManagedByValue,
			tenancyv1alpha1.LabelProduct, product, render.LabelAppVersion)
	}
	return nil
}

// sameJSON compares two values as JSON (maps have sorted keys, so order does not matter).
func sameJSON(what string, got, want any) error {
	g, err := json.Marshal(got)
	if err != nil {
		return err
	}
	w, err := json.Marshal(want)
	if err != nil {
		return err
	}
	if !bytes.Equal(g, w) {
		return fmt.Errorf("%s is %s, want %s", what, g, w)
	}
	return nil
}

// nested is a field of an unstructured object, nil when missing.
func nested(u *unstructured.Unstructured, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	return v
}

// routeTarget is what every policy of a tenant's product targets: its HTTPRoute.
func routeTarget(product string) []any {
	return []any{map[string]any{"group": gatewayv1.GroupName, "kind": "HTTPRoute", "name": product}}
}

// wantAPIKeyPolicy checks the SecurityPolicy of a product with API key auth: the keys in
// <product>-gateway-keys, read from header; while suspended, an authorization that denies
// every request.
func wantAPIKeyPolicy(namespace, product, header string, suspended bool) error {
	sp, err := fetchGatewayPolicy(render.KindSecurityPolicy, namespace, product)
	if err != nil {
		return err
	}
	what := render.KindSecurityPolicy + " " + objName(namespace, product)
	if err := sameJSON(what+" spec.targetRefs", nested(sp, "spec", "targetRefs"), routeTarget(product)); err != nil {
		return err
	}
	if err := sameJSON(what+" spec.apiKeyAuth", nested(sp, "spec", "apiKeyAuth"), map[string]any{
		"credentialRefs": []any{map[string]any{"group": "", "kind": "Secret", "name": render.GatewayKeysName(product)}},
		"extractFrom":    []any{map[string]any{"headers": []any{header}}},
	}); err != nil {
		return err
	}
	var authz any
	if suspended {
		authz = map[string]any{"defaultAction": "Deny"}
	}
	if err := sameJSON(what+" spec.authorization", nested(sp, "spec", "authorization"), authz); err != nil {
		return err
	}
	return sameJSON(what+" spec.jwt", nested(sp, "spec", "jwt"), nil)
}

// wantJWTPolicy checks the SecurityPolicy of a product with OAuth2 auth: the product's
// issuer, audience and JWKS, and a rule that admits only tokens whose claim names the
// tenant (none while suspended: every request is denied).
func wantJWTPolicy(tenant, product, issuer, audience, jwks, claim string, suspended bool) error {
	sp, err := fetchGatewayPolicy(render.KindSecurityPolicy, tenant, product)
	if err != nil {
		return err
	}
	what := render.KindSecurityPolicy + " " + objName(tenant, product)
	if err := sameJSON(what+" spec.targetRefs", nested(sp, "spec", "targetRefs"), routeTarget(product)); err != nil {
		return err
	}
	if err := sameJSON(what+" spec.jwt", nested(sp, "spec", "jwt"), map[string]any{"providers": []any{map[string]any{
		"name": product, "issuer": issuer, "audiences": []any{audience},
		"remoteJWKS": map[string]any{"uri": jwks, "cacheDuration": "300s"},
	}}}); err != nil {
		return err
	}
	authz := map[string]any{"defaultAction": "Deny"}
	if !suspended {
		authz["rules"] = []any{map[string]any{
			"name": "tenant-" + tenant, "action": "Allow",
			"principal": map[string]any{"jwt": map[string]any{
				"provider": product,
				"claims":   []any{map[string]any{"name": claim, "valueType": "String", "values": []any{tenant}}},
			}},
		}}
	}
	if err := sameJSON(what+" spec.authorization", nested(sp, "spec", "authorization"), authz); err != nil {
		return err
	}
	return sameJSON(what+" spec.apiKeyAuth", nested(sp, "spec", "apiKeyAuth"), nil)
}

// wantRateLimit checks the BackendTrafficPolicy: the plan's requests per minute, enforced
// by each Envoy replica (local), on the tenant's route.
func wantRateLimit(namespace, product string, rpm int) error {
	btp, err := fetchGatewayPolicy(render.KindBackendTrafficPolicy, namespace, product)
	if err != nil {
		return err
	}
	what := render.KindBackendTrafficPolicy + " " + objName(namespace, product)
	if err := sameJSON(what+" spec.targetRefs", nested(btp, "spec", "targetRefs"), routeTarget(product)); err != nil {
		return err
	}
	// rateLimit.type is deprecated since Envoy Gateway v1.5: local says it.
	return sameJSON(what+" spec.rateLimit", nested(btp, "spec", "rateLimit"), map[string]any{
		"local": map[string]any{"rules": []any{map[string]any{"limit": map[string]any{"requests": rpm, "unit": "Minute"}}}},
	})
}

// wantGatewayKeys checks the keys the gateway accepts: exactly current for the tenant and,
// when previous is not "", previous as <tenant>-previous.
func wantGatewayKeys(namespace, product, tenant, current, previous string) error {
	s := &corev1.Secret{}
	if err := get(s, namespace, render.GatewayKeysName(product)); err != nil {
		return err
	}
	want := map[string]string{tenant: current}
	if previous != "" {
		want[tenant+render.PreviousKeySuffix] = previous
	}
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	return sameJSON("the keys in Secret "+objName(namespace, s.Name), got, want)
}

// keyNames are the client IDs in a keys Secret (not the keys: they are secret).
func keyNames(s *corev1.Secret) []string {
	var out []string
	for k := range s.Data {
		out = append(out, k)
	}
	return out
}

// waitGatewayKey waits until the keys Secret holds exactly the tenant's current key and
// returns it.
func waitGatewayKey(t *testing.T, tenant, product string) string {
	t.Helper()
	var key string
	eventually(t, 0, func() error {
		var err error
		if key, err = apiKey(tenant, product); err != nil {
			return err
		}
		return wantGatewayKeys(tenant, product, tenant, key, "")
	})
	return key
}

// rotate sets the Tenant's rotate-credentials annotation.
func rotate(t *testing.T, tenant *tenancyv1alpha1.Tenant, value string) {
	t.Helper()
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		if tn.Annotations == nil {
			tn.Annotations = map[string]string{}
		}
		tn.Annotations[tenancyv1alpha1.AnnotationRotateCredentials] = value
	})
}

// wantGuardedServices checks the namespace's list of Services behind gateway policies.
func wantGuardedServices(namespace string, services ...string) error {
	ns := &corev1.Namespace{}
	if err := get(ns, "", namespace); err != nil {
		return err
	}
	if got, want := ns.Annotations[tenancyv1alpha1.AnnotationGuardedServices], strings.Join(services, ","); got != want {
		return fmt.Errorf("namespace %s: annotation %s = %q, want %q", namespace, tenancyv1alpha1.AnnotationGuardedServices, got, want)
	}
	return nil
}

// routeGuarded reports whether the tenant's HTTPRoute of a product exists, and fails when
// it exists without its SecurityPolicy (or, with rateLimit, its BackendTrafficPolicy). The
// route is read first: the policies are written before it, so once it is seen they exist.
func routeGuarded(namespace, product string, rateLimit bool) (bool, error) {
	err := get(&gatewayv1.HTTPRoute{}, namespace, product)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	kinds := []string{render.KindSecurityPolicy}
	if rateLimit {
		kinds = append(kinds, render.KindBackendTrafficPolicy)
	}
	for _, kind := range kinds {
		if _, err := fetchGatewayPolicy(kind, namespace, product); err != nil {
			return true, fmt.Errorf("HTTPRoute %s exists before its gateway policy: %w", objName(namespace, product), err)
		}
	}
	return true, nil
}

// waitRouted waits until the tenant's route of a product exists, failing as soon as it is
// seen without its policies.
func waitRouted(t *testing.T, tenant, product string, rateLimit bool) {
	t.Helper()
	eventually(t, 0, func() error {
		routed, err := routeGuarded(tenant, product, rateLimit)
		if err != nil {
			t.Fatal(err)
		}
		if !routed {
			return fmt.Errorf("no HTTPRoute %s yet", objName(tenant, product))
		}
		return nil
	})
}

// sameRoute checks that the route exists and is the same object (not made again).
func sameRoute(namespace, product string, uid types.UID) error {
	r := &gatewayv1.HTTPRoute{}
	if err := get(r, namespace, product); err != nil {
		return fmt.Errorf("the route: %w", err)
	}
	if r.UID != uid {
		return fmt.Errorf("HTTPRoute %s was made again (uid %s, was %s)", objName(namespace, product), r.UID, uid)
	}
	return nil
}

// envoyGatewayInstalled reports whether any CRD the gateway policies need exists.
func envoyGatewayInstalled() bool {
	for _, name := range render.PolicyCRDs() {
		if get(&apiextensionsv1.CustomResourceDefinition{}, "", name) == nil {
			return true
		}
	}
	return false
}

// installEnvoyGatewayCRDs installs the CRDs of the gateway policies, Envoy Gateway's own
// YAML files from $ENVOY_GATEWAY_CRDS (make test-envtest sets it), and waits until the
// test client can list their kinds. Installing them again changes nothing.
func installEnvoyGatewayCRDs(t *testing.T) {
	t.Helper()
	dir := os.Getenv("ENVOY_GATEWAY_CRDS")
	if dir == "" {
		t.Fatal("ENVOY_GATEWAY_CRDS is not set: it names the directory of Envoy Gateway's CRD YAML files; " +
			"`make test-envtest` builds it (bin/envoy-gateway/crds) and sets it")
	}
	for _, name := range render.PolicyCRDs() {
		plural, group, _ := strings.Cut(name, ".")
		path := filepath.Join(dir, group+"_"+plural+".yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading the CRD %s: %v", name, err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(crd); err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		if crd.Name != name {
			t.Fatalf("%s holds CRD %q, want %s", path, crd.Name, name)
		}
		if err := k8s.Create(testCtx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating CRD %s: %v", name, err)
		}
	}
	for _, name := range render.PolicyCRDs() {
		eventually(t, 0, func() error {
			c := &apiextensionsv1.CustomResourceDefinition{}
			if err := get(c, "", name); err != nil {
				return err
			}
			for _, cond := range c.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("CRD %s is not established yet", name)
		})
	}
	for _, kind := range []string{render.KindSecurityPolicy, render.KindBackendTrafficPolicy} {
		eventually(t, 0, func() error {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(schema.GroupVersionKind{Group: render.EnvoyGatewayGroup, Version: render.EnvoyGatewayVersion, Kind: kind + "List"})
			return k8s.List(testCtx, list)
		})
	}
}

// writeOrder records, from watches of the API server, at which resourceVersion a tenant's
// HTTPRoute and gateway policies of a product were first added and last deleted. envtest
// has one etcd, so resourceVersions (its revisions) order writes across kinds, however
// close together they are.
type writeOrder struct {
	mu     sync.Mutex
	events map[watch.EventType]map[string]int64
}

// watchWriteOrder starts recording; the watches stop with the test.
func watchWriteOrder(t *testing.T, namespace, product string) *writeOrder {
	t.Helper()
	dyn, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx)
	t.Cleanup(cancel)
	o := &writeOrder{events: map[watch.EventType]map[string]int64{watch.Added: {}, watch.Deleted: {}}}
	for kind, gvr := range map[string]schema.GroupVersionResource{
		render.KindHTTPRoute:            gatewayv1.SchemeGroupVersion.WithResource("httproutes"),
		render.KindSecurityPolicy:       {Group: render.EnvoyGatewayGroup, Version: render.EnvoyGatewayVersion, Resource: "securitypolicies"},
		render.KindBackendTrafficPolicy: {Group: render.EnvoyGatewayGroup, Version: render.EnvoyGatewayVersion, Resource: "backendtrafficpolicies"},
	} {
		w, err := dyn.Resource(gvr).Namespace(namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + product})
		if err != nil {
			t.Fatalf("watching %s: %v", gvr.Resource, err)
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || (ev.Type != watch.Added && ev.Type != watch.Deleted) {
					continue
				}
				rv, err := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
				if err != nil {
					continue
				}
				o.mu.Lock()
				if _, seen := o.events[ev.Type][kind]; !seen || ev.Type == watch.Deleted {
					o.events[ev.Type][kind] = rv
				}
				o.mu.Unlock()
			}
		}()
	}
	return o
}

// before checks that events of the given type were seen for each kind, in that order.
func (o *writeOrder) before(typ watch.EventType, kinds ...string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var last int64
	for i, kind := range kinds {
		rv, ok := o.events[typ][kind]
		if !ok {
			return fmt.Errorf("no %s event of the %s yet (seen: %v)", typ, kind, o.events[typ])
		}
		if i > 0 && rv < last {
			return fmt.Errorf("%s events out of order: want %s, seen at resourceVersions %v", typ, strings.Join(kinds, " before "), o.events[typ])
		}
		last = rv
	}
	return nil
}
