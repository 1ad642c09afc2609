package controllers

// User stories of shared instances (ServicePlan products[].tenancy Shared, ApiProduct
// spec.shared): one instance per product version in the product's shared namespace serves
// the plan's tenants, each through its own HTTPRoute that sets X-Tenant; moving between
// Shared and Dedicated never leaves a route on a backend that does not serve; the shared
// namespace goes with the last tenant; products that cannot be shared, the reserved shared
// namespace, and a namespace of that name the operator did not make.
//
// envtest runs no deployment controller: sharedSim writes the status the deployment
// controller would for the Deployments of chosen namespaces (all of them, or all but the
// held ones), so a story decides when an instance becomes available. servingRecorder
// watches a tenant's route, the Deployments and Services behind it, the ReferenceGrants and
// the shared namespace from the start of a story, and replays them in etcd's order
// (resourceVersions of one etcd order writes across kinds) to check every state the route
// was in.
//
// TestShared is parallel. It installs the ReferenceGrant CRD (no other test uses it) after
// its first story has seen the cluster without it, and the HTTPRoute CRD if this test alone
// was selected (in the whole suite the sequential TestHTTPRouteAfterGatewayAPIInstalled
// has installed it before any parallel test starts).

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/inuse"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestShared runs the story that sees the cluster without the ReferenceGrant CRD first,
// installs it, then the other stories in parallel.
func TestShared(t *testing.T) {
	t.Parallel()
	if get(&apiextensionsv1.CustomResourceDefinition{}, "", render.HTTPRouteCRD) != nil {
		installHTTPRouteCRD(t) // this test alone was selected (-run)
	}
	if !t.Run("ReferenceGrants once their CRD is installed", sharedGrantsAfterCRD) {
		t.FailNow()
	}
	installReferenceGrantCRD(t) // done already, unless -run left the story above out
	parallelStories(t, []story{
		{"three tenants share one instance", sharedLifecycle},
		{"two versions, and the second pruned after its tenant moved back", sharedTwoVersions},
		{"Dedicated to Shared without a gap", sharedFromDedicated},
		{"Shared to Dedicated without a gap", sharedToDedicated},
		{"the last tenant leaves", sharedLastTenantLeaves},
		{"SharedNotPossible", sharedNotPossible},
		{"the shared namespace is reserved", sharedReserved},
		{"a namespace of the name the operator did not make", sharedHostileNamespace},
		{"a route that cannot move keeps the own instance", sharedRouteRefused},
		{"a suspended tenant is not served by the shared instance", sharedSuspended},
		{"a rollout moves the shared instance as one unit", sharedRollout},
	})
}

// ---------------------------------------------------------------------------------------
// Stories.

// sharedGrantsAfterCRD: without the ReferenceGrant CRD the shared instance and the tenant's
// route are made (the route's backend in the shared namespace), no grant; once the CRD is
// installed, the product's grant for the route's namespace appears without any other
// change.
func sharedGrantsAfterCRD(t *testing.T) {
	const product, planName, name = "ash0-grants", "psh0-grants", "tsh0-grants"
	ns := "shared-" + product
	startSharedSim(t, ns)
	mustCreate(t, sharedProduct(product, "gw-sh0", 1, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	eventually(t, 0, func() error { return wantSharedRoute(name, name, product, ns, "v1") })

	if referenceGrantsInstalled() {
		t.Logf("the ReferenceGrant CRD is already installed (a repeated run): skipping the check without it")
	} else {
		consistently(t, time.Second, func() error {
			if referenceGrantsInstalled() {
				return nil // another run installed it meanwhile
			}
			return wantSharedRoute(name, name, product, ns, "v1")
		})
		installReferenceGrantCRD(t)
	}
	eventually(t, 0, func() error { return wantReferenceGrant(ns, product, name) })
}

// sharedLifecycle: three tenants on a Shared plan are served by one instance in the
// product's shared namespace; none of them runs the product; each route goes to the shared
// Service and says which tenant calls; the tenants are Ready once the instance is
// available, and not before.
func sharedLifecycle(t *testing.T) {
	const product, planName, gw = "ash1-life", "psh1-life", "gw-sh1"
	tenants := []string{"tsh1-a", "tsh1-b", "tsh1-c"}
	ns := "shared-" + product
	sim := startSharedSim(t)
	ap := sharedProduct(product, gw, 3, "v1")
	ap.Spec.Versions[0].Components = append(ap.Spec.Versions[0].Components,
		productComponent("worker", "registry.example.com/"+product+"-worker:v1", 0))
	mustCreate(t, ap)
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	for _, name := range tenants {
		mustCreate(t, newTenant(name, planName))
	}

	api, worker := render.SharedComponentName(product, "v1", "api"), render.SharedComponentName(product, "v1", "worker")
	if api != product+"-v1-api" || worker != product+"-v1-worker" {
		t.Fatalf("shared component names %s and %s, want %s-v1-api and %s-v1-worker", api, worker, product, product)
	}
	// The namespace, as the contract describes it.
	eventually(t, 0, func() error {
		n := &corev1.Namespace{}
		if err := get(n, "", ns); err != nil {
			return err
		}
		for k, v := range map[string]string{
			tenancyv1alpha1.LabelManagedBy:       tenancyv1alpha1.ManagedByValue,
			tenancyv1alpha1.LabelSharedProduct:   product,
			"pod-security.kubernetes.io/enforce": "restricted",
		} {
			if n.Labels[k] != v {
				return fmt.Errorf("namespace %s: label %s=%q, want %q (labels %v)", ns, k, n.Labels[k], v, n.Labels)
			}
		}
		if _, ok := n.Labels[tenancyv1alpha1.LabelTenant]; ok {
			return fmt.Errorf("namespace %s carries a tenant label: %v", ns, n.Labels)
		}
		return nil
	})
	// One Deployment per component (the product's replicas), a Service for the one with a
	// port, a budget and spread with 3 replicas, shared-isolation, a grant per tenant.
	eventually(t, 0, func() error {
		for _, d := range []string{api, worker} {
			if err := wantSharedDeployment(ns, product, "v1", d, 3); err != nil {
				return err
			}
			if err := wantSharedPDB(ns, product, d); err != nil {
				return err
			}
			if err := wantSpread(ns, d, true); err != nil {
				return err
			}
		}
		if err := wantSharedService(ns, product, api, 8080); err != nil {
			return err
		}
		if err := gone(&corev1.Service{}, ns, worker); err != nil {
			return fmt.Errorf("a Service for the component without a port: %w", err)
		}
		if err := wantSharedIsolation(ns, product, gw); err != nil {
			return err
		}
		for _, name := range tenants {
			if err := wantReferenceGrant(ns, product, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err := onlySharedObjects(ns, product, "v1", []string{"api", "worker"}, tenants); err != nil {
		t.Error(err)
	}

	// Not Ready while the shared instance is not available.
	consistently(t, time.Second, func() error {
		for _, name := range tenants {
			tn, err := fetchTenant(name)
			if err != nil {
				return err
			}
			if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionReady); err != nil {
				return err
			}
			if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady); err != nil {
				return err
			}
		}
		return nil
	})
	sim.run(ns)
	for _, name := range tenants {
		tn := waitTenantReady(t, name)
		s, _ := productStatusOf(tn, product)
		if s.Tenancy != tenancyv1alpha1.TenancyShared || s.SharedInstance != product+"-v1" || s.Namespace != ns || s.Version != "v1" {
			t.Errorf("tenant %s: status.products %+v, want tenancy Shared, sharedInstance %s-v1, namespace %s, version v1", name, s, product, ns)
		}
		if s.Replicas != 6 || s.ReadyReplicas != 6 {
			t.Errorf("tenant %s: status.products replicas %d/%d, want 6/6 (the shared instance's)", name, s.ReadyReplicas, s.Replicas)
		}
		if want := "https://" + name + "." + product + ".example.com/" + product; s.Endpoint != want {
			t.Errorf("tenant %s: endpoint %q, want %q", name, s.Endpoint, want)
		}
		if err := wantSharedRoute(name, name, product, ns, "v1"); err != nil {
			t.Error(err)
		}
		if err := productObjects(name, product, false, []string{"api", "worker"}, []string{"api"}); err != nil {
			t.Errorf("tenant %s runs the product itself: %v", name, err)
		}
	}
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 3, Replicas: 6, ReadyReplicas: 6})
	})
	if err := hasEvents(product, []wantEvent{{corev1.EventTypeNormal, "SharedNamespaceReady", ns}}); err != nil {
		t.Error(err)
	}
	// Steady: no product object appears in a tenant namespace later.
	consistently(t, time.Second, func() error {
		for _, name := range tenants {
			if err := productObjects(name, product, false, []string{"api", "worker"}, []string{"api"}); err != nil {
				return err
			}
		}
		return nil
	})
}

// sharedTwoVersions: a tenant pinning v2 gets a second shared instance and moves to it once
// it is available; unpinned, it moves back to v1 at once, and the v2 instance is pruned
// only after its route is on v1. With spec.shared.replicas 1, no budget and no spread.
func sharedTwoVersions(t *testing.T) {
	const product, planName = "ash2-vers", "psh2-vers"
	const stay, pin = "tsh2-a", "tsh2-b"
	ns := "shared-" + product
	v1, v2 := render.SharedComponentName(product, "v1", "api"), render.SharedComponentName(product, "v2", "api")
	sim := startSharedSim(t, ns)
	sim.holdDeployment(ns, v2)
	rec := recordServing(t, pin, product, ns)
	mustCreate(t, sharedProduct(product, "gw-sh2", 1, "v1", "v2"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	mustCreate(t, newTenant(stay, planName))
	mustCreate(t, newTenant(pin, planName))
	for _, name := range []string{stay, pin} {
		waitTenantReady(t, name)
	}
	if err := wantSharedDeployment(ns, product, "v1", v1, 1); err != nil {
		t.Fatal(err)
	}
	if err := gone(&policyv1.PodDisruptionBudget{}, ns, v1); err != nil {
		t.Errorf("a budget with 1 replica: %v", err)
	}
	if err := wantSpread(ns, v1, false); err != nil {
		t.Error(err)
	}

	// Pinned to v2: the v2 instance is made; the route stays on v1 until it is available.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: pin}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v2"}}
	})
	eventually(t, 0, func() error { return wantSharedDeployment(ns, product, "v2", v2, 1) })
	eventually(t, 0, func() error {
		return wantSharedInstances(product,
			tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 2, Replicas: 1, ReadyReplicas: 1},
			tenancyv1alpha1.SharedInstanceStatus{Version: "v2", Namespace: ns, Tenants: 1, Replicas: 1, ReadyReplicas: 0})
	})
	eventually(t, 0, func() error { return wantMoving(pin, product, product+"-v1") })
	consistently(t, time.Second, func() error {
		if err := wantSharedRoute(pin, pin, product, ns, "v1"); err != nil {
			return err
		}
		return wantMoving(pin, product, product+"-v1")
	})
	sim.releaseDeployment(ns, v2)
	eventually(t, 0, func() error { return wantSharedRoute(pin, pin, product, ns, "v2") })
	tn := waitTenantReady(t, pin)
	if s, _ := productStatusOf(tn, product); s.SharedInstance != product+"-v2" || s.Version != "v2" {
		t.Errorf("status.products %+v, want version v2 on %s-v2", s, product)
	}
	eventually(t, 0, func() error {
		return wantSharedInstances(product,
			tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 1, Replicas: 1, ReadyReplicas: 1},
			tenancyv1alpha1.SharedInstanceStatus{Version: "v2", Namespace: ns, Tenants: 1, Replicas: 1, ReadyReplicas: 1})
	})

	// Unpinned: back on v1 at once (it is available), then v2 goes.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: pin}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = nil
	})
	eventually(t, 0, func() error {
		if err := gone(&appsv1.Deployment{}, ns, v2); err != nil {
			return err
		}
		return gone(&corev1.Service{}, ns, v2)
	})
	eventually(t, 0, func() error { return wantSharedRoute(pin, pin, product, ns, "v1") })
	waitTenantReady(t, pin)
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 2, Replicas: 1, ReadyReplicas: 1})
	})
	waitTenantReady(t, stay)
	if err := wantSharedRoute(stay, stay, product, ns, "v1"); err != nil {
		t.Error(err)
	}

	moves := rec.wait(t, 2)
	if want := []string{ns + "/" + v1, ns + "/" + v2, ns + "/" + v1}; !sameStrings(moves.backends(), want) {
		t.Errorf("the route's backends %v, want %v", moves.backends(), want)
	}
	if del := rec.deletedAt("Deployment", ns, v2); del == 0 || del < moves[2].rv {
		t.Errorf("Deployment %s/%s deleted at resourceVersion %d, want after the route moved back to v1 (%d)\n%s", ns, v2, del, moves[2].rv, rec.describe())
	}
}

// sharedFromDedicated: a tenant with its own instance, available, whose plan turns the
// product Shared keeps its own instance and route until the shared instance is available,
// then routes there and its own instance goes; a second tenant moved to that plan while the
// shared instance is available moves in one pass. Neither route is ever on a backend that
// does not serve.
func sharedFromDedicated(t *testing.T) {
	const product, planName, otherPlan = "ash3-move", "psh3-move", "psh3-other"
	const first, second = "tsh3-a", "tsh3-b"
	ns := "shared-" + product
	own := render.ComponentName(product, "api")
	shared := render.SharedComponentName(product, "v1", "api")
	sim := startSharedSim(t, first, second)
	recFirst := recordServing(t, first, product, ns)
	recSecond := recordServing(t, second, product, ns)
	mustCreate(t, sharedProduct(product, "gw-sh3", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyDedicated))
	mustCreate(t, sharedPlan(otherPlan, product, tenancyv1alpha1.TenancyDedicated))
	mustCreate(t, newTenant(first, planName))
	mustCreate(t, newTenant(second, otherPlan))
	for _, name := range []string{first, second} {
		tn := waitTenantReady(t, name)
		if s, _ := productStatusOf(tn, product); s.Tenancy != tenancyv1alpha1.TenancyDedicated || s.SharedInstance != "" || s.Namespace != name {
			t.Errorf("tenant %s: status.products %+v, want tenancy Dedicated in %s", name, s, name)
		}
		if err := wantOwnRoute(name, name, product); err != nil {
			t.Error(err)
		}
	}
	if err := gone(&corev1.Namespace{}, "", ns); err != nil {
		t.Errorf("a shared namespace without Shared tenants: %v", err)
	}

	// The plan turns the product Shared; the shared instance is not available yet.
	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Tenancy = tenancyv1alpha1.TenancyShared
	})
	eventually(t, 0, func() error { return wantSharedDeployment(ns, product, "v1", shared, 2) })
	eventually(t, 0, func() error { return wantMoving(first, product, "") })
	consistently(t, 1500*time.Millisecond, func() error {
		if err := wantOwnRoute(first, first, product); err != nil {
			return err
		}
		if err := get(&appsv1.Deployment{}, first, own); err != nil {
			return fmt.Errorf("the own instance while moving: %w", err)
		}
		if err := get(&corev1.Service{}, first, own); err != nil {
			return fmt.Errorf("the own instance while moving: %w", err)
		}
		return wantMoving(first, product, "")
	})
	sim.run(ns)
	eventually(t, 0, func() error { return wantSharedRoute(first, first, product, ns, "v1") })
	eventually(t, 0, func() error {
		if err := gone(&appsv1.Deployment{}, first, own); err != nil {
			return err
		}
		return gone(&corev1.Service{}, first, own)
	})
	tn := waitTenantReady(t, first)
	if s, _ := productStatusOf(tn, product); s.Tenancy != tenancyv1alpha1.TenancyShared || s.SharedInstance != product+"-v1" || s.Namespace != ns {
		t.Errorf("status.products %+v, want tenancy Shared on %s-v1 in %s", s, product, ns)
	}

	// The second tenant moves to the Shared plan while the instance is available.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: second}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Plan = planName
	})
	eventually(t, 0, func() error { return wantSharedRoute(second, second, product, ns, "v1") })
	eventually(t, 0, func() error { return gone(&appsv1.Deployment{}, second, own) })
	waitTenantReady(t, second)
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 2, Replicas: 2, ReadyReplicas: 2})
	})

	for _, c := range []struct {
		rec  *servingRecorder
		name string
	}{{recFirst, first}, {recSecond, second}} {
		moves := c.rec.wait(t, 1)
		if want := []string{c.name + "/" + own, ns + "/" + shared}; !sameStrings(moves.backends(), want) {
			t.Errorf("tenant %s: the route's backends %v, want %v\n%s", c.name, moves.backends(), want, c.rec.describe())
			continue
		}
		if del := c.rec.deletedAt("Deployment", c.name, own); del == 0 || del < moves[1].rv {
			t.Errorf("tenant %s: its own Deployment deleted at resourceVersion %d, want after the route moved to the shared instance (%d)\n%s",
				c.name, del, moves[1].rv, c.rec.describe())
		}
	}
}

// sharedToDedicated: a Shared tenant whose plan turns the product Dedicated gets its own
// instance beside the shared one; its route stays on the shared instance until its own
// Deployments are available, then moves; the shared instance, which no other tenant uses,
// goes after that.
func sharedToDedicated(t *testing.T) {
	const product, planName, name = "ash4-back", "psh4-back", "tsh4-back"
	ns := "shared-" + product
	own := render.ComponentName(product, "api")
	shared := render.SharedComponentName(product, "v1", "api")
	sim := startSharedSim(t, ns)
	rec := recordServing(t, name, product, ns)
	mustCreate(t, sharedProduct(product, "gw-sh4", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	if err := wantSharedRoute(name, name, product, ns, "v1"); err != nil {
		t.Fatal(err)
	}

	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Tenancy = tenancyv1alpha1.TenancyDedicated
	})
	eventually(t, 0, func() error { return get(&appsv1.Deployment{}, name, own) })
	eventually(t, 0, func() error { return wantMoving(name, product, product+"-v1") })
	consistently(t, 1500*time.Millisecond, func() error {
		if err := wantSharedRoute(name, name, product, ns, "v1"); err != nil {
			return err
		}
		if err := terminatingOrGone(ns); err == nil {
			return fmt.Errorf("the shared namespace %s is being deleted while it serves the tenant", ns)
		}
		if err := get(&appsv1.Deployment{}, ns, shared); err != nil {
			return err
		}
		return wantMoving(name, product, product+"-v1")
	})
	sim.run(name) // the own Deployments become available
	eventually(t, 0, func() error { return wantOwnRoute(name, name, product) })
	tn := waitTenantReady(t, name)
	if s, _ := productStatusOf(tn, product); s.Tenancy != tenancyv1alpha1.TenancyDedicated || s.SharedInstance != "" || s.Namespace != name {
		t.Errorf("status.products %+v, want tenancy Dedicated in %s", s, name)
	}
	eventually(t, 0, func() error { return terminating(ns) })
	eventually(t, 0, func() error { return wantSharedInstances(product) })

	moves := rec.wait(t, 1)
	if want := []string{ns + "/" + shared, name + "/" + own}; !sameStrings(moves.backends(), want) {
		t.Fatalf("the route's backends %v, want %v\n%s", moves.backends(), want, rec.describe())
	}
	if del := rec.deletedAt("Namespace", "", ns); del == 0 || del < moves[1].rv {
		t.Errorf("namespace %s deleted at resourceVersion %d, want after the route moved to the own instance (%d)\n%s", ns, del, moves[1].rv, rec.describe())
	}
}

// sharedLastTenantLeaves: the shared instance stays while a tenant uses it (the grant of a
// tenant that left goes); the namespace is deleted with the last, and status.sharedInstances
// is empty.
func sharedLastTenantLeaves(t *testing.T) {
	const product, planName = "ash5-last", "psh5-last"
	tenants := []string{"tsh5-a", "tsh5-b"}
	ns := "shared-" + product
	startSharedSim(t, ns)
	mustCreate(t, sharedProduct(product, "gw-sh5", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	for _, name := range tenants {
		tn := newTenant(name, planName)
		tn.Spec.DeletionPolicy = tenancyv1alpha1.DeletionRetain
		mustCreate(t, tn)
	}
	for _, name := range tenants {
		waitTenantReady(t, name)
	}
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 2, Replicas: 2, ReadyReplicas: 2})
	})

	mustDelete(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenants[0]}})
	eventually(t, 0, func() error { return gone(&tenancyv1alpha1.Tenant{}, "", tenants[0]) })
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 1, Replicas: 2, ReadyReplicas: 2})
	})
	eventually(t, 0, func() error { return gone(&gatewayv1.ReferenceGrant{}, ns, "routes-"+tenants[0]) })
	if err := wantReferenceGrant(ns, product, tenants[1]); err != nil {
		t.Error(err)
	}
	consistently(t, 500*time.Millisecond, func() error {
		if err := terminatingOrGone(ns); err == nil {
			return fmt.Errorf("namespace %s is being deleted while tenant %s uses it", ns, tenants[1])
		}
		return nil
	})

	mustDelete(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenants[1]}})
	eventually(t, 0, func() error { return terminating(ns) })
	eventually(t, 0, func() error { return wantSharedInstances(product) })
	eventually(t, 0, func() error {
		return hasEvents(product, []wantEvent{{corev1.EventTypeNormal, "SharedNamespaceDeleted", ns}})
	})
}

// sharedNotPossible: a Shared plan entry of a product without exposure, or of one whose API
// keys nothing at the gateway checks, stalls the tenant with SharedNotPossible and says
// what to change; no shared instance is made for it.
func sharedNotPossible(t *testing.T) {
	const unexposed, unchecked = "ash6-hidden", "ash6-open"
	hidden := sharedProduct(unexposed, "gw-sh6", 2, "v1")
	hidden.Spec.Exposure = nil
	mustCreate(t, hidden)
	open := sharedProduct(unchecked, "gw-sh6", 2, "v1")
	open.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthAPIKey}
	mustCreate(t, open)
	for _, c := range []struct{ product, plan, tenant, want string }{
		{unexposed, "psh6-hidden", "tsh6-hidden", "has no spec.exposure"},
		{unchecked, "psh6-open", "tsh6-open", "exposure.policies None"},
	} {
		mustCreate(t, sharedPlan(c.plan, c.product, tenancyv1alpha1.TenancyShared))
		mustCreate(t, newTenant(c.tenant, c.plan))
		tn := waitTenantProductsStalled(t, c.tenant, tenancyv1alpha1.ReasonSharedNotPossible)
		msg := messageOf(findCondition(tn, tenancyv1alpha1.ConditionProductsReady))
		for _, want := range []string{c.want, "Plan " + c.plan, "product " + c.product, "tenancy to Dedicated"} {
			if !strings.Contains(msg, want) {
				t.Errorf("tenant %s: ProductsReady message %q, want it to contain %q", c.tenant, msg, want)
			}
		}
	}
	// A tenant that lists the product itself (the product's reconciler counts it at once).
	listing := newTenant("tsh6-listing", "psh6-hidden")
	listing.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: unexposed, Version: "v1"}}
	mustCreate(t, listing)
	waitTenantProductsStalled(t, "tsh6-listing", tenancyv1alpha1.ReasonSharedNotPossible)
	consistently(t, 2*inuse.StatusBatchDelay+time.Second, func() error { // the product's pass comes after StatusBatchDelay
		for _, c := range []struct{ product, tenant string }{{unexposed, "tsh6-hidden"}, {unchecked, "tsh6-open"}, {unexposed, "tsh6-listing"}} {
			if err := gone(&corev1.Namespace{}, "", "shared-"+c.product); err != nil {
				return fmt.Errorf("a shared instance of a product that cannot be shared: %w", err)
			}
			if err := productObjects(c.tenant, c.product, false, []string{"api"}, []string{"api"}); err != nil {
				return err
			}
			if err := gone(&gatewayv1.HTTPRoute{}, c.tenant, c.product); err != nil {
				return err
			}
		}
		return nil
	})
}

// sharedReserved: a tenant listing a product's shared namespace (spec.shared.namespace, or
// the default shared-<product>) is stalled with ReservedNamespace, and the namespace is
// not made the tenant's.
func sharedReserved(t *testing.T) {
	const product, defaulted, planName = "ash7-resv", "ash7-dflt", "psh7-resv"
	custom := sharedProduct(product, "gw-sh7", 2, "v1")
	custom.Spec.Shared.Namespace = "tsh7-instances"
	mustCreate(t, custom)
	mustCreate(t, sharedProduct(defaulted, "gw-sh7", 2, "v1"))
	mustCreate(t, newPlan(planName, 2))
	for _, c := range []struct{ tenant, namespace, product string }{
		{"tsh7", "tsh7-instances", product},
		{"shared", "shared-" + defaulted, defaulted},
	} {
		mustCreate(t, newTenant(c.tenant, planName, c.tenant, c.namespace))
		tn := waitTenantStalled(t, c.tenant, tenancyv1alpha1.ReasonReservedNamespace)
		msg := messageOf(findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady))
		for _, want := range []string{c.namespace, "ApiProduct " + c.product, "shared instances"} {
			if !strings.Contains(msg, want) {
				t.Errorf("tenant %s: NamespacesReady message %q, want it to contain %q", c.tenant, msg, want)
			}
		}
	}
	consistently(t, time.Second, func() error {
		for _, n := range []string{"tsh7-instances", "shared-" + defaulted} {
			if err := gone(&corev1.Namespace{}, "", n); err != nil {
				return fmt.Errorf("the reserved namespace was made: %w", err)
			}
		}
		return nil
	})
}

// sharedHostileNamespace: a namespace named like the product's shared namespace that the
// operator did not make (no shared-product label) is not taken over: nothing is written
// into it, its labels stay, the product and its tenants say why, and no tenant's route is
// sent into it.
func sharedHostileNamespace(t *testing.T) {
	const product, planName, name, listing = "ash8-hostile", "psh8-hostile", "tsh8-hostile", "tsh8-listing"
	ns := "shared-" + product
	createNamespace(t, ns, map[string]string{"team": "someone-else"}, nil)
	startSharedSim(t, ns)
	mustCreate(t, sharedProduct(product, "gw-sh8", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	mustCreate(t, newTenant(name, planName))
	// A tenant that lists the product itself is counted by the product at once: the product
	// then needs its shared namespace.
	tn := newTenant(listing, planName)
	tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product}}
	mustCreate(t, tn)

	// The tenants say so (their product cannot be shared while so) and get no route into
	// the namespace.
	for _, n := range []string{name, listing} {
		tn := waitTenantProductsStalled(t, n, tenancyv1alpha1.ReasonSharedNotPossible)
		if msg := messageOf(findCondition(tn, tenancyv1alpha1.ConditionProductsReady)); !strings.Contains(msg, ns) || !strings.Contains(msg, "product "+product) ||
			!strings.Contains(msg, "not made by the operator") {
			t.Errorf("tenant %s: ProductsReady message %q, want it to name %s and product %s as not the operator's", n, msg, ns, product)
		}
	}
	// The product too: Ready=False and Stalled=True, NamespaceConflict, and a Warning Event,
	// naming the namespace.
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		for _, typ := range []string{tenancyv1alpha1.ConditionReady, tenancyv1alpha1.ConditionStalled} {
			c := meta.FindStatusCondition(p.Status.Conditions, typ)
			status := metav1.ConditionFalse
			if typ == tenancyv1alpha1.ConditionStalled {
				status = metav1.ConditionTrue
			}
			if c == nil || c.Status != status || c.Reason != tenancyv1alpha1.ReasonNamespaceConflict || !strings.Contains(c.Message, ns) {
				return fmt.Errorf("product %s %+v, want %s, reason %s, naming %s", typ, c, status, tenancyv1alpha1.ReasonNamespaceConflict, ns)
			}
		}
		if len(p.Status.SharedInstances) > 0 {
			return fmt.Errorf("status.sharedInstances %+v in a namespace that is not the operator's", p.Status.SharedInstances)
		}
		return hasEvents(product, []wantEvent{{corev1.EventTypeWarning, tenancyv1alpha1.ReasonNamespaceConflict, ns}})
	})
	consistently(t, 1500*time.Millisecond, func() error {
		n := &corev1.Namespace{}
		if err := get(n, "", ns); err != nil {
			return err
		}
		if n.Labels["team"] != "someone-else" || n.Labels[tenancyv1alpha1.LabelSharedProduct] != "" || n.Labels[tenancyv1alpha1.LabelManagedBy] != "" ||
			n.Labels["pod-security.kubernetes.io/enforce"] != "" {
			return fmt.Errorf("namespace %s was changed: labels %v", ns, n.Labels)
		}
		for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &networkingv1.NetworkPolicyList{},
			&policyv1.PodDisruptionBudgetList{}, &gatewayv1.ReferenceGrantList{}} {
			if err := k8s.List(testCtx, list, client.InNamespace(ns)); err != nil {
				return err
			}
			if n := meta.LenList(list); n > 0 {
				return fmt.Errorf("the operator wrote %d objects (%T) into namespace %s", n, list, ns)
			}
		}
		for _, n := range []string{name, listing} {
			if err := gone(&gatewayv1.HTTPRoute{}, n, product); err != nil {
				return fmt.Errorf("a route into a namespace the operator does not own: %w", err)
			}
		}
		return nil
	})

	// Handed over (labelled as the product's: envtest never finishes deleting a namespace,
	// so the story does not delete it), the namespace becomes the shared namespace and
	// everything heals.
	mustUpdate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, func(n *corev1.Namespace) {
		n.Labels = render.SharedLabels(product)
	})
	for _, n := range []string{name, listing} {
		waitTenantReady(t, n)
		eventually(t, 0, func() error { return wantSharedRoute(n, n, product, ns, "v1") })
	}
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled); err != nil {
			return err
		}
		return notTrue(p.Status.Conditions, tenancyv1alpha1.ConditionStalled)
	})
}

// sharedRouteRefused: when the API server refuses the route's move to the shared instance
// (here a ValidatingAdmissionPolicy of the story's own; in a cluster, a policy or webhook),
// the tenant's own instance, which the route still goes to, is kept; once the route can be
// written, it moves and the own instance goes.
func sharedRouteRefused(t *testing.T) {
	const product, planName, name = "ash9-refused", "psh9-refused", "tsh9-refused"
	ns := "shared-" + product
	own := render.ComponentName(product, "api")
	startSharedSim(t, name, ns)
	rec := recordServing(t, name, product, ns)
	mustCreate(t, sharedProduct(product, "gw-sh9", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyDedicated))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	if err := wantOwnRoute(name, name, product); err != nil {
		t.Fatal(err)
	}

	const refusal = "the story refuses routes to other namespaces"
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptrTo(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: name}},
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{gatewayv1.GroupName}, APIVersions: []string{"*"}, Resources: []string{"httproutes"}},
				}}},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression: "object.spec.rules.all(r, !has(r.backendRefs) || r.backendRefs.all(b, !has(b.namespace)))",
				Message:    refusal,
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	mustCreate(t, policy)
	mustCreate(t, binding)
	t.Cleanup(func() {
		_ = client.IgnoreNotFound(k8s.Delete(testCtx, binding))
		_ = client.IgnoreNotFound(k8s.Delete(testCtx, policy))
	})
	// In force once a route to another namespace is refused (a dry run).
	eventually(t, 0, func() error {
		r := &gatewayv1.HTTPRoute{}
		if err := get(r, name, product); err != nil {
			return err
		}
		other := gatewayv1.Namespace(ns)
		r.Spec.Rules[0].BackendRefs[0].Namespace = &other
		err := k8s.Update(testCtx, r, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), refusal) {
			return fmt.Errorf("the story's policy is not in force yet: %v", err)
		}
		return nil
	})

	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Tenancy = tenancyv1alpha1.TenancyShared
	})
	eventually(t, 0, func() error {
		d, err := fetchDeployment(ns, render.SharedComponentName(product, "v1", "api"))
		if err != nil {
			return err
		}
		if !fullyAvailable(d) {
			return fmt.Errorf("the shared instance is not available yet")
		}
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if c := findCondition(tn, tenancyv1alpha1.ConditionProductsReady); c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, refusal) {
			return fmt.Errorf("ProductsReady %+v, want False quoting the refusal", c)
		}
		return nil
	})
	consistently(t, 2*time.Second, func() error {
		if err := wantOwnRoute(name, name, product); err != nil {
			return err
		}
		if err := get(&appsv1.Deployment{}, name, own); err != nil {
			return fmt.Errorf("the own instance was pruned while the route goes to it: %w", err)
		}
		return get(&corev1.Service{}, name, own)
	})

	mustDelete(t, binding)
	eventually(t, 30*time.Second, func() error { return wantSharedRoute(name, name, product, ns, "v1") })
	eventually(t, 0, func() error { return gone(&appsv1.Deployment{}, name, own) })
	waitTenantReady(t, name)
	moves := rec.wait(t, 1)
	if del := rec.deletedAt("Deployment", name, own); del == 0 || del < moves[1].rv {
		t.Errorf("the own Deployment deleted at resourceVersion %d, want after the route moved (%d)\n%s", del, moves[1].rv, rec.describe())
	}
}

// sharedSuspended: a suspended tenant's own instance would be scaled to 0; the shared
// instance keeps serving the others, so the suspended tenant's route forwards nowhere
// until it is resumed.
func sharedSuspended(t *testing.T) {
	const product, planName, suspended, other = "ash10-susp", "psh10-susp", "tsh10-a", "tsh10-b"
	ns := "shared-" + product
	startSharedSim(t, ns)
	mustCreate(t, sharedProduct(product, "gw-sh10", 2, "v1"))
	mustCreate(t, sharedPlan(planName, product, tenancyv1alpha1.TenancyShared))
	for _, name := range []string{suspended, other} {
		mustCreate(t, newTenant(name, planName))
		waitTenantReady(t, name)
	}
	setSuspended := func(v bool) {
		mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: suspended}}, func(tn *tenancyv1alpha1.Tenant) {
			tn.Spec.Suspended = v
		})
	}
	setSuspended(true)
	eventually(t, 0, func() error {
		r := &gatewayv1.HTTPRoute{}
		if err := get(r, suspended, product); err != nil {
			return err
		}
		if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 0 {
			return fmt.Errorf("the suspended tenant's route has rules %+v, want one rule without backends", r.Spec.Rules)
		}
		tn, err := fetchTenant(suspended)
		if err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonSuspended)
	})
	// The others are still served, and the instance stays.
	if err := wantSharedRoute(other, other, product, ns, "v1"); err != nil {
		t.Error(err)
	}
	eventually(t, 0, func() error {
		return wantSharedInstances(product, tenancyv1alpha1.SharedInstanceStatus{Version: "v1", Namespace: ns, Tenants: 2, Replicas: 2, ReadyReplicas: 2})
	})
	setSuspended(false)
	eventually(t, 0, func() error { return wantSharedRoute(suspended, suspended, product, ns, "v1") })
	waitTenantReady(t, suspended)
}

func ptrTo[T any](v T) *T { return &v }

// ---------------------------------------------------------------------------------------
// Builders and checks.

// sharedProduct is an exposed product with auth None (nothing for the gateway to check),
// one component api per version, and spec.shared.replicas.
func sharedProduct(name, gatewayNamespace string, replicas int32, versions ...string) *tenancyv1alpha1.ApiProduct {
	var vs []tenancyv1alpha1.ProductVersion
	for _, v := range versions {
		vs = append(vs, productVersion(v, productComponent("api", "registry.example.com/"+name+":"+v, 8080)))
	}
	p := newAPIProduct(name, versions[0], vs...)
	p.Spec.Exposure = &tenancyv1alpha1.Exposure{
		Component: "api",
		Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: gatewayNamespace},
		Hostname:  "{tenant}." + name + ".example.com",
	}
	p.Spec.Auth = tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthNone}
	p.Spec.Shared = &tenancyv1alpha1.SharedSpec{Replicas: int32p(replicas)}
	return p
}

func sharedPlan(name, product string, tenancy tenancyv1alpha1.Tenancy) *tenancyv1alpha1.ServicePlan {
	return newProductPlan(name, tenancyv1alpha1.PlanProduct{Name: product, Tenancy: tenancy})
}

// wantSharedDeployment checks a Deployment of a shared instance: the shared labels, no
// tenant, the product's replicas, a selector of its own and no tenant's environment.
func wantSharedDeployment(ns, product, version, name string, replicas int32) error {
	d, err := fetchDeployment(ns, name)
	if err != nil {
		return err
	}
	if err := wantSharedLabels(d, product); err != nil {
		return err
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		return fmt.Errorf("Deployment %s: replicas %v, want %d (spec.shared.replicas)", objName(ns, name), d.Spec.Replicas, replicas)
	}
	if d.Labels[render.LabelAppVersion] != version {
		return fmt.Errorf("Deployment %s: labels %v, want %s=%s", objName(ns, name), d.Labels, render.LabelAppVersion, version)
	}
	if _, ok := d.Spec.Template.Labels[tenancyv1alpha1.LabelManagedBy]; ok {
		return fmt.Errorf("Deployment %s: the Pod template carries %s", objName(ns, name), tenancyv1alpha1.LabelManagedBy)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == render.EnvTenant || e.Name == render.EnvRateLimit {
				return fmt.Errorf("Deployment %s: a shared instance has env %s=%s", objName(ns, name), e.Name, e.Value)
			}
		}
	}
	return nil
}

// wantSharedLabels checks the labels every object of a product's shared instances carries.
func wantSharedLabels(o client.Object, product string) error {
	l := o.GetLabels()
	if l[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue || l[tenancyv1alpha1.LabelSharedProduct] != product {
		return fmt.Errorf("%T %s: labels %v, want %s=%s and %s=%s", o, objName(o.GetNamespace(), o.GetName()), l,
			tenancyv1alpha1.LabelManagedBy, tenancyv1alpha1.ManagedByValue, tenancyv1alpha1.LabelSharedProduct, product)
	}
	if v, ok := l[tenancyv1alpha1.LabelTenant]; ok {
		return fmt.Errorf("%T %s: tenant label %s on a shared object", o, objName(o.GetNamespace(), o.GetName()), v)
	}
	return nil
}

func wantSharedService(ns, product, name string, port int32) error {
	s := &corev1.Service{}
	if err := get(s, ns, name); err != nil {
		return err
	}
	if err := wantSharedLabels(s, product); err != nil {
		return err
	}
	d, err := fetchDeployment(ns, name)
	if err != nil {
		return err
	}
	if !mapsEqual(s.Spec.Selector, d.Spec.Selector.MatchLabels) {
		return fmt.Errorf("Service %s: selector %v, want the Deployment's %v", objName(ns, name), s.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	if s.Spec.Type != corev1.ServiceTypeClusterIP || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != port {
		return fmt.Errorf("Service %s: type %s, ports %+v; want ClusterIP with port %d", objName(ns, name), s.Spec.Type, s.Spec.Ports, port)
	}
	return nil
}

func wantSharedPDB(ns, product, name string) error {
	d, err := fetchDeployment(ns, name)
	if err != nil {
		return err
	}
	p := &policyv1.PodDisruptionBudget{}
	if err := get(p, ns, name); err != nil {
		return err
	}
	if err := wantSharedLabels(p, product); err != nil {
		return err
	}
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
		return fmt.Errorf("PDB %s: maxUnavailable %v, minAvailable %v; want maxUnavailable 1 only", objName(ns, name), p.Spec.MaxUnavailable, p.Spec.MinAvailable)
	}
	if p.Spec.Selector == nil || !mapsEqual(p.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		return fmt.Errorf("PDB %s: selector %+v, want the Deployment's %v", objName(ns, name), p.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	return nil
}

// wantSharedIsolation checks shared-isolation: every Pod, ingress only from the gateway's
// namespace.
func wantSharedIsolation(ns, product, gatewayNamespace string) error {
	np := &networkingv1.NetworkPolicy{}
	if err := get(np, ns, render.SharedIsolationPolicyName); err != nil {
		return err
	}
	if err := wantSharedLabels(np, product); err != nil {
		return err
	}
	s := np.Spec
	if len(s.PodSelector.MatchLabels) > 0 || len(s.PodSelector.MatchExpressions) > 0 ||
		len(s.PolicyTypes) != 1 || s.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		return fmt.Errorf("shared-isolation: podSelector %+v, policyTypes %v; want every Pod, Ingress", s.PodSelector, s.PolicyTypes)
	}
	if len(s.Ingress) != 1 || len(s.Ingress[0].Ports) > 0 {
		return fmt.Errorf("shared-isolation: ingress %+v, want one rule", s.Ingress)
	}
	// The gateway's namespace, and at most the shared namespace itself (a podSelector
	// alone): no tenant namespace, nothing cluster-wide (the stories' plans admit no peers).
	gateway := false
	for _, peer := range s.Ingress[0].From {
		switch {
		case peer.IPBlock != nil:
			return fmt.Errorf("shared-isolation: peer %+v admits an ipBlock", peer)
		case peer.NamespaceSelector == nil && peer.PodSelector != nil:
			continue // the shared namespace's own Pods
		case peer.NamespaceSelector != nil && peer.PodSelector == nil && len(peer.NamespaceSelector.MatchExpressions) == 0 &&
			mapsEqual(peer.NamespaceSelector.MatchLabels, map[string]string{corev1.LabelMetadataName: gatewayNamespace}):
			gateway = true
		default:
			return fmt.Errorf("shared-isolation: peer %+v, want the namespace %s (or the shared namespace's own Pods) only", peer, gatewayNamespace)
		}
	}
	if !gateway {
		return fmt.Errorf("shared-isolation: peers %+v do not admit the gateway's namespace %s", s.Ingress[0].From, gatewayNamespace)
	}
	return nil
}

// wantReferenceGrant checks the grant that lets the routes of a namespace reach the
// Services of the shared namespace.
func wantReferenceGrant(ns, product, routeNamespace string) error {
	g := &gatewayv1.ReferenceGrant{}
	if err := get(g, ns, "routes-"+routeNamespace); err != nil {
		return err
	}
	if err := wantSharedLabels(g, product); err != nil {
		return err
	}
	s := g.Spec
	if len(s.From) != 1 || s.From[0].Group != gatewayv1.GroupName || s.From[0].Kind != "HTTPRoute" || string(s.From[0].Namespace) != routeNamespace {
		return fmt.Errorf("ReferenceGrant %s: from %+v, want HTTPRoutes of %s", objName(ns, g.Name), s.From, routeNamespace)
	}
	if len(s.To) != 1 || s.To[0].Group != "" || s.To[0].Kind != "Service" || s.To[0].Name != nil {
		return fmt.Errorf("ReferenceGrant %s: to %+v, want Services", objName(ns, g.Name), s.To)
	}
	return nil
}

// onlySharedObjects checks that the shared namespace holds exactly what the contract lists.
func onlySharedObjects(ns, product, version string, components, routeNamespaces []string) error {
	want := map[string]bool{"NetworkPolicy/" + render.SharedIsolationPolicyName: true}
	for _, c := range components {
		want["Deployment/"+render.SharedComponentName(product, version, c)] = true
	}
	for _, n := range routeNamespaces {
		want["ReferenceGrant/routes-"+n] = true
	}
	got := map[string]bool{}
	for kind, list := range map[string]client.ObjectList{"Deployment": &appsv1.DeploymentList{}, "NetworkPolicy": &networkingv1.NetworkPolicyList{},
		"ReferenceGrant": &gatewayv1.ReferenceGrantList{}} {
		if err := k8s.List(testCtx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			got[kind+"/"+item.(client.Object).GetName()] = true
		}
	}
	for k := range want {
		if !got[k] {
			return fmt.Errorf("namespace %s lacks %s (has %v)", ns, k, got)
		}
	}
	for k := range got {
		if !want[k] {
			return fmt.Errorf("namespace %s holds %s, which the contract does not list", ns, k)
		}
	}
	return nil
}

// wantSharedInstances checks the product's status.sharedInstances, in order.
func wantSharedInstances(product string, want ...tenancyv1alpha1.SharedInstanceStatus) error {
	p, err := fetchProduct(product)
	if err != nil {
		return err
	}
	got := p.Status.SharedInstances
	if len(got) != len(want) {
		return fmt.Errorf("product %s: status.sharedInstances %+v, want %+v", product, got, want)
	}
	for i := range want {
		// The revision is the rollout stories' to check (sharedOn); it is always set.
		if got[i].Revision == "" {
			return fmt.Errorf("product %s: status.sharedInstances[%d] has no revision: %+v", product, i, got[i])
		}
		want[i].Revision, want[i].PreviousRevision = got[i].Revision, got[i].PreviousRevision
		if got[i] != want[i] {
			return fmt.Errorf("product %s: status.sharedInstances %+v, want %+v", product, got, want)
		}
	}
	return nil
}

// wantSharedRoute checks that a tenant's route goes to the shared Service of version, in
// the shared namespace, setting X-Tenant to the tenant.
func wantSharedRoute(tenant, namespace, product, sharedNS, version string) error {
	b, tenantHeader, err := routeBackend(namespace, product)
	if err != nil {
		return err
	}
	want := sharedNS + "/" + render.SharedComponentName(product, version, "api")
	if b != want || tenantHeader != tenant {
		return fmt.Errorf("HTTPRoute %s/%s: backend %s, X-Tenant %q; want %s, X-Tenant %q", namespace, product, b, tenantHeader, want, tenant)
	}
	return nil
}

// wantOwnRoute checks that a tenant's route goes to its own Service, without X-Tenant.
func wantOwnRoute(tenant, namespace, product string) error {
	b, tenantHeader, err := routeBackend(namespace, product)
	if err != nil {
		return err
	}
	if want := namespace + "/" + render.ComponentName(product, "api"); b != want || tenantHeader != "" {
		return fmt.Errorf("HTTPRoute %s/%s of tenant %s: backend %s, X-Tenant %q; want %s and no X-Tenant", namespace, product, tenant, b, tenantHeader, want)
	}
	return nil
}

// routeBackend reads a route's single backend (namespace/name) and the X-Tenant value it sets.
func routeBackend(namespace, product string) (string, string, error) {
	r := &gatewayv1.HTTPRoute{}
	if err := get(r, namespace, product); err != nil {
		return "", "", err
	}
	b, h, err := backendOf(r)
	return b, h, err
}

func backendOf(r *gatewayv1.HTTPRoute) (string, string, error) {
	if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 {
		return "", "", fmt.Errorf("HTTPRoute %s/%s: rules %+v, want one rule with one backend", r.Namespace, r.Name, r.Spec.Rules)
	}
	ref := r.Spec.Rules[0].BackendRefs[0]
	ns := r.Namespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	if ref.Kind != nil && *ref.Kind != "Service" || ref.Port == nil || *ref.Port != 8080 {
		return "", "", fmt.Errorf("HTTPRoute %s/%s: backendRef %+v, want a Service on port 8080", r.Namespace, r.Name, ref.BackendObjectReference)
	}
	tenantHeader := ""
	for _, f := range r.Spec.Rules[0].Filters {
		if f.Type != gatewayv1.HTTPRouteFilterRequestHeaderModifier || f.RequestHeaderModifier == nil {
			continue
		}
		for _, h := range f.RequestHeaderModifier.Set {
			if strings.EqualFold(string(h.Name), tenancyv1alpha1.HeaderTenant) {
				tenantHeader = h.Value
			}
		}
	}
	return ns + "/" + string(ref.Name), tenantHeader, nil
}

// wantMoving checks that a tenant is moving: ProductsReady=False (Progressing), not
// Ready, and status.products names the instance that serves it meanwhile (a shared one, or
// "" for its own).
func wantMoving(tenant, product, servedBy string) error {
	tn, err := fetchTenant(tenant)
	if err != nil {
		return err
	}
	if tn.Status.ObservedGeneration != tn.Generation {
		return fmt.Errorf("tenant %s: status.observedGeneration %d, generation %d", tenant, tn.Status.ObservedGeneration, tn.Generation)
	}
	if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing); err != nil {
		return err
	}
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionReady); err != nil {
		return err
	}
	s, _ := productStatusOf(tn, product)
	if s.SharedInstance != servedBy {
		return fmt.Errorf("tenant %s: status.products sharedInstance %q while moving, want %q", tenant, s.SharedInstance, servedBy)
	}
	return nil
}

// terminatingOrGone returns nil when the namespace is being deleted or is gone.
func terminatingOrGone(name string) error {
	err := terminating(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------
// The ReferenceGrant CRD.

func referenceGrantsInstalled() bool {
	return get(&apiextensionsv1.CustomResourceDefinition{}, "", render.ReferenceGrantCRD) == nil
}

// installReferenceGrantCRD installs the Gateway API's standard ReferenceGrant CRD from the
// module cache and waits until the test client can list ReferenceGrants.
func installReferenceGrantCRD(t *testing.T) {
	t.Helper()
	installGatewayAPICRD(t, "referencegrants", render.ReferenceGrantCRD, &gatewayv1.ReferenceGrantList{})
}

// ---------------------------------------------------------------------------------------
// A simulated deployment controller for whole namespaces.

// sharedSim writes, for every Deployment of the namespaces it runs (but the held ones),
// the status the deployment controller reports once every replica of the current
// generation is up (deploymentStatus). It stops when the test ends.
type sharedSim struct {
	mu         sync.Mutex
	namespaces map[string]bool
	held       map[string]bool // namespace/name
	errs       []string
}

func startSharedSim(t *testing.T, namespaces ...string) *sharedSim {
	t.Helper()
	s := &sharedSim{namespaces: map[string]bool{}, held: map[string]bool{}}
	s.run(namespaces...)
	stop := everyTick(s.sync)
	t.Cleanup(func() {
		stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.errs) > 0 {
			t.Logf("simulated deployment controller: %d errors, the first: %s", len(s.errs), s.errs[0])
		}
	})
	return s
}

// run makes the Deployments of the namespaces available from now on.
func (s *sharedSim) run(namespaces ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ns := range namespaces {
		s.namespaces[ns] = true
	}
}

func (s *sharedSim) holdDeployment(ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[ns+"/"+name] = true
}

func (s *sharedSim) releaseDeployment(ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, ns+"/"+name)
}

func (s *sharedSim) sync(ctx context.Context) {
	s.mu.Lock()
	var namespaces []string
	for ns := range s.namespaces {
		namespaces = append(namespaces, ns)
	}
	s.mu.Unlock()
	for _, ns := range namespaces {
		list := &appsv1.DeploymentList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			s.fail(ctx, err)
			continue
		}
		for i := range list.Items {
			d := &list.Items[i]
			s.mu.Lock()
			held := s.held[ns+"/"+d.Name]
			s.mu.Unlock()
			if held || !d.DeletionTimestamp.IsZero() || fullyAvailable(d) {
				continue
			}
			d.Status = deploymentStatus(d, "")
			if err := k8s.Status().Update(ctx, d); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				s.fail(ctx, err)
			}
		}
	}
}

func (s *sharedSim) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err.Error())
}

// fullyAvailable: the deployment controller reports every replica of this generation
// updated, ready and available.
func fullyAvailable(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
		s.ReadyReplicas == want && s.AvailableReplicas == want
}

// ---------------------------------------------------------------------------------------
// A recorder of what serves a tenant's route.

// servingRecorder watches, from before a story makes anything, a tenant's route of a
// product and the Deployments, Services and namespace behind it: in the tenant's namespace
// (named after the tenant) and in the shared namespace, with its ReferenceGrants.
type servingRecorder struct {
	tenant, product, sharedNS string

	mu     sync.Mutex
	events []recorded
	errs   []string
}

type recorded struct {
	typ  watch.EventType
	kind string
	obj  client.Object
	rv   int64
}

func (e recorded) key() string { return e.kind + "/" + objName(e.obj.GetNamespace(), e.obj.GetName()) }

// routeMove is a route state whose backend differs from the one before it.
type routeMove struct {
	rv      int64
	backend string
}

type moves []routeMove

func (m moves) backends() []string {
	var out []string
	for _, x := range m {
		out = append(out, x.backend)
	}
	return out
}

func recordServing(t *testing.T, tenant, product, sharedNS string) *servingRecorder {
	t.Helper()
	wc, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx)
	r := &servingRecorder{tenant: tenant, product: product, sharedNS: sharedNS}
	var wg sync.WaitGroup
	start := func(kind string, list client.ObjectList, opts ...client.ListOption) {
		w, err := wc.Watch(ctx, list, opts...)
		if err != nil {
			cancel()
			t.Fatalf("watching %s: %v", kind, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						if ctx.Err() == nil {
							r.fail("the watch of " + kind + " closed early")
						}
						return
					}
					o, isObject := ev.Object.(client.Object)
					if ev.Type == watch.Error || ev.Type == watch.Bookmark || !isObject {
						if ev.Type == watch.Error {
							r.fail(fmt.Sprintf("watching %s: %v", kind, ev.Object))
						}
						continue
					}
					rv, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
					if err != nil {
						r.fail(err.Error())
						continue
					}
					r.mu.Lock()
					r.events = append(r.events, recorded{typ: ev.Type, kind: kind, obj: o.DeepCopyObject().(client.Object), rv: rv})
					r.mu.Unlock()
				}
			}
		}()
	}
	start("HTTPRoute", &gatewayv1.HTTPRouteList{}, client.InNamespace(tenant), client.MatchingFields{"metadata.name": product})
	start("Namespace", &corev1.NamespaceList{}, client.MatchingFields{"metadata.name": sharedNS})
	for _, ns := range []string{tenant, sharedNS} {
		start("Deployment", &appsv1.DeploymentList{}, client.InNamespace(ns))
		start("Service", &corev1.ServiceList{}, client.InNamespace(ns))
	}
	if referenceGrantsInstalled() {
		start("ReferenceGrant", &gatewayv1.ReferenceGrantList{}, client.InNamespace(sharedNS))
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return r
}

func (r *servingRecorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, msg)
}

// wait waits until the recorder has seen the route move n times, and fails the test if the
// replay finds a state in which the route's backend did not serve. It returns the moves,
// the backend the route served from first included.
func (r *servingRecorder) wait(t *testing.T, n int) moves {
	t.Helper()
	var m moves
	eventually(t, 0, func() error {
		var err error
		if m, err = r.replay(); err != nil {
			t.Fatalf("tenant %s: %v\n%s", r.tenant, err, r.describe())
		}
		if len(m) < n+1 {
			return fmt.Errorf("tenant %s: the route moved %d times, want %d: %v", r.tenant, len(m)-1, n, m.backends())
		}
		return nil
	})
	return m
}

func (r *servingRecorder) sorted() []recorded {
	r.mu.Lock()
	events := append([]recorded(nil), r.events...)
	r.mu.Unlock()
	sort.SliceStable(events, func(i, j int) bool { return events[i].rv < events[j].rv })
	return events
}

// replay applies the recorded events in etcd's order. From the first state in which the
// route's backend was available on, it checks every state: the backend's Deployment
// exists, is not being deleted, in a namespace not being deleted, has ready replicas, and
// its Service exists (and, in the shared namespace, the grant for the route's namespace
// when ReferenceGrants are served); X-Tenant is the tenant's name exactly when the backend
// is shared; a route that moves goes to a Deployment with every replica available.
func (r *servingRecorder) replay() (moves, error) {
	r.mu.Lock()
	if len(r.errs) > 0 {
		defer r.mu.Unlock()
		return nil, fmt.Errorf("recording: %s", strings.Join(r.errs, "; "))
	}
	r.mu.Unlock()
	state := map[string]client.Object{}
	var out moves
	for _, e := range r.sorted() {
		if e.typ == watch.Deleted {
			delete(state, e.key())
		} else {
			state[e.key()] = e.obj
		}
		route, ok := state["HTTPRoute/"+objName(r.tenant, r.product)].(*gatewayv1.HTTPRoute)
		if !ok {
			if len(out) > 0 {
				return out, fmt.Errorf("at resourceVersion %d the route was deleted", e.rv)
			}
			continue
		}
		backend, tenantHeader, err := backendOf(route)
		if err != nil {
			return out, fmt.Errorf("at resourceVersion %d: %w", e.rv, err)
		}
		d, _ := state["Deployment/"+backend].(*appsv1.Deployment)
		if len(out) == 0 {
			if d == nil || !fullyAvailable(d) || r.serves(state, backend, d) != nil {
				continue // not served yet: the story has not started
			}
			out = append(out, routeMove{rv: e.rv, backend: backend})
		}
		shared := strings.HasPrefix(backend, r.sharedNS+"/")
		switch {
		case shared && tenantHeader != r.tenant:
			return out, fmt.Errorf("at resourceVersion %d the route goes to %s with X-Tenant %q, want %q", e.rv, backend, tenantHeader, r.tenant)
		case !shared && tenantHeader != "":
			return out, fmt.Errorf("at resourceVersion %d the route goes to the own %s with X-Tenant %q", e.rv, backend, tenantHeader)
		}
		if backend != out[len(out)-1].backend {
			if d == nil || !fullyAvailable(d) {
				return out, fmt.Errorf("at resourceVersion %d the route moved to %s, which is not available: %s", e.rv, backend, describeDeployment(d))
			}
			out = append(out, routeMove{rv: e.rv, backend: backend})
		}
		if err := r.serves(state, backend, d); err != nil {
			return out, fmt.Errorf("at resourceVersion %d the route goes to %s: %w", e.rv, backend, err)
		}
	}
	return out, nil
}

func (r *servingRecorder) serves(state map[string]client.Object, backend string, d *appsv1.Deployment) error {
	switch {
	case d == nil:
		return fmt.Errorf("its Deployment does not exist")
	case !d.DeletionTimestamp.IsZero():
		return fmt.Errorf("its Deployment is being deleted")
	case d.Status.ReadyReplicas < 1:
		return fmt.Errorf("its Deployment has no ready replica: %s", describeDeployment(d))
	}
	if state["Service/"+backend] == nil {
		return fmt.Errorf("its Service does not exist")
	}
	if d.Namespace == r.sharedNS {
		if n, ok := state["Namespace/"+r.sharedNS]; ok && !n.GetDeletionTimestamp().IsZero() {
			return fmt.Errorf("the shared namespace is being deleted")
		}
		if referenceGrantsInstalled() && state["ReferenceGrant/"+objName(r.sharedNS, "routes-"+r.tenant)] == nil {
			return fmt.Errorf("no ReferenceGrant lets the routes of %s reach it", r.tenant)
		}
	}
	return nil
}

// deletedAt is the resourceVersion at which an object was deleted (for a namespace: first
// marked for deletion), 0 if it was not.
func (r *servingRecorder) deletedAt(kind, ns, name string) int64 {
	for _, e := range r.sorted() {
		if e.kind != kind || e.obj.GetNamespace() != ns || e.obj.GetName() != name {
			continue
		}
		if e.typ == watch.Deleted || !e.obj.GetDeletionTimestamp().IsZero() {
			return e.rv
		}
	}
	return 0
}

// describe lists the recorded events, for failure messages.
func (r *servingRecorder) describe() string {
	var b strings.Builder
	for _, e := range r.sorted() {
		extra := ""
		switch o := e.obj.(type) {
		case *gatewayv1.HTTPRoute:
			be, h, _ := backendOf(o)
			extra = fmt.Sprintf(" -> %s X-Tenant=%q", be, h)
		case *appsv1.Deployment:
			extra = " " + describeDeployment(o)
		}
		if !e.obj.GetDeletionTimestamp().IsZero() {
			extra += " (deleting)"
		}
		fmt.Fprintf(&b, "  %d %s %s%s\n", e.rv, e.typ, e.key(), extra)
	}
	return b.String()
}

func describeDeployment(d *appsv1.Deployment) string {
	if d == nil {
		return "no Deployment"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return fmt.Sprintf("generation %d observed %d, replicas %d ready %d updated %d of %d",
		d.Generation, d.Status.ObservedGeneration, d.Status.Replicas, d.Status.ReadyReplicas, d.Status.UpdatedReplicas, want)
}
