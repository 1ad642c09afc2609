package controllers

// User stories of API products: per-tenant Deployments, Services, credentials and
// HTTPRoutes, ApiProduct status, and the in-use protection of plans and products.
//
// envtest runs no controller-manager: Deployments get no Pods and no status. Readiness is
// simulated by writing the Deployment's status subresource as the deployment controller
// would once every replica is up (markDeploymentReady).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/index"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
)

// ---------------------------------------------------------------------------------------
// Builders.

// productComponent is a component; port 0 means none.
func productComponent(name, image string, port int32) tenancyv1alpha1.Component {
	c := tenancyv1alpha1.Component{Name: name, Image: image}
	if port != 0 {
		c.Port = &port
		c.HealthPath = "/healthz"
	}
	return c
}

func productVersion(name string, components ...tenancyv1alpha1.Component) tenancyv1alpha1.ProductVersion {
	return tenancyv1alpha1.ProductVersion{Name: name, Components: components}
}

// newAPIProduct returns a product with APIKey auth (the default).
func newAPIProduct(name, defaultVersion string, versions ...tenancyv1alpha1.ProductVersion) *tenancyv1alpha1.ApiProduct {
	return &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1alpha1.ApiProductSpec{DefaultVersion: defaultVersion, Versions: versions},
	}
}

// newProductPlan returns a one-namespace plan with the given products.
func newProductPlan(name string, products ...tenancyv1alpha1.PlanProduct) *tenancyv1alpha1.ServicePlan {
	p := newPlan(name, 1)
	p.Spec.Products = products
	return p
}

func int32p(v int32) *int32 { return &v }

// ---------------------------------------------------------------------------------------
// Reading and simulating product objects.

func fetchDeployment(namespace, name string) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	return d, get(d, namespace, name)
}

func fetchProduct(name string) (*tenancyv1alpha1.ApiProduct, error) {
	p := &tenancyv1alpha1.ApiProduct{}
	return p, get(p, "", name)
}

// apiKey returns the key in <product>-credentials.
func apiKey(namespace, product string) (string, error) {
	s := &corev1.Secret{}
	if err := get(s, namespace, product+"-credentials"); err != nil {
		return "", err
	}
	key := string(s.Data["api-key"])
	if key == "" {
		return "", fmt.Errorf("secret %s/%s-credentials has no api-key: %v", namespace, product, s.Data)
	}
	return key, nil
}

// markDeploymentReady writes the status the deployment controller would write once every
// replica of the current generation is updated and ready.
func markDeploymentReady(namespace, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := fetchDeployment(namespace, name)
		if err != nil {
			return err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration == d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
			s.ReadyReplicas == want && s.AvailableReplicas == want {
			return nil
		}
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas = want
		d.Status.UpdatedReplicas = want
		d.Status.ReadyReplicas = want
		d.Status.AvailableReplicas = want
		d.Status.UnavailableReplicas = 0
		return k8s.Status().Update(testCtx, d)
	})
}

// waitProductsRunning marks the Deployments ready (again whenever the operator changes
// them) until the tenant is Ready with ProductsReady=True and the given reason.
func waitProductsRunning(t *testing.T, tenant, namespace, reason string, deployments ...string) *tenancyv1alpha1.Tenant {
	t.Helper()
	var tn *tenancyv1alpha1.Tenant
	eventually(t, 0, func() error {
		for _, d := range deployments {
			if err := markDeploymentReady(namespace, d); err != nil {
				return err
			}
		}
		var err error
		if tn, err = fetchTenant(tenant); err != nil {
			return err
		}
		if tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("status.observedGeneration %d, generation %d", tn.Status.ObservedGeneration, tn.Generation)
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, reason); err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, "")
	})
	return tn
}

// productStatusOf returns the tenant's status.products entry for a product.
func productStatusOf(tn *tenancyv1alpha1.Tenant, product string) (tenancyv1alpha1.ProductStatus, bool) {
	for _, p := range tn.Status.Products {
		if p.Name == product {
			return p, true
		}
	}
	return tenancyv1alpha1.ProductStatus{}, false
}

func productNames(tn *tenancyv1alpha1.Tenant) []string {
	var names []string
	for _, p := range tn.Status.Products {
		names = append(names, p.Name)
	}
	return names
}

// productObjects checks that a product's Deployments, Services and Secret exist (or, with
// exist false, that none of them does).
func productObjects(namespace, product string, exist bool, components []string, withPort []string) error {
	for _, c := range components {
		name := product + "-" + c
		if exist {
			if err := get(&appsv1.Deployment{}, namespace, name); err != nil {
				return err
			}
		} else if err := gone(&appsv1.Deployment{}, namespace, name); err != nil {
			return err
		}
	}
	for _, c := range withPort {
		name := product + "-" + c
		if exist {
			if err := get(&corev1.Service{}, namespace, name); err != nil {
				return err
			}
		} else if err := gone(&corev1.Service{}, namespace, name); err != nil {
			return err
		}
	}
	if exist {
		_, err := apiKey(namespace, product)
		return err
	}
	return gone(&corev1.Secret{}, namespace, product+"-credentials")
}

// waitTenantProductsStalled waits until the tenant is stalled with reason, both in Ready
// and in ProductsReady.
func waitTenantProductsStalled(t *testing.T, name, reason string) *tenancyv1alpha1.Tenant {
	t.Helper()
	tn := waitTenantStalled(t, name, reason)
	if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, reason); err != nil {
		t.Error(err)
	}
	return tn
}

// ---------------------------------------------------------------------------------------
// Stories.

// TestProductsAreProvisioned: a tenant on a plan with a two-component product gets a
// Deployment per component, a Service for the component with a port and its credentials;
// it is Ready once the Deployments are, and status reports the product. The ApiProduct
// counts its tenants per version.
func TestProductsAreProvisioned(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a21-shop", "p21-shop", "t21-shop"
	mustCreate(t, newAPIProduct(product, "v1",
		productVersion("v1",
			productComponent("api", "registry.example.com/shop-api:1.0.0", 8080),
			productComponent("worker", "registry.example.com/shop-worker:1.0.0", 0)),
		productVersion("v2", productComponent("api", "registry.example.com/shop-api:2.0.0", 8080)),
	))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, Replicas: int32p(2), RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 600},
	}))
	mustCreate(t, newTenant(name, planName))

	api, worker := product+"-api", product+"-worker"
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api", "worker"}, []string{"api"}) })
	if err := gone(&corev1.Service{}, name, worker); err != nil {
		t.Errorf("the worker has no port, yet: %v", err)
	}

	// The Deployments as the contract describes them.
	key, err := apiKey(name, product)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, image, component string }{
		{api, "registry.example.com/shop-api:1.0.0", "api"},
		{worker, "registry.example.com/shop-worker:1.0.0", "worker"},
	} {
		d, err := fetchDeployment(name, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("Deployment %s: replicas %v, want the plan's 2", c.name, d.Spec.Replicas)
		}
		if err := hasTenantLabels(d, name); err != nil {
			t.Error(err)
		}
		for k, v := range map[string]string{
			tenancyv1alpha1.LabelProduct: product, render.LabelAppName: c.name, render.LabelAppVersion: "v1",
		} {
			if d.Labels[k] != v {
				t.Errorf("Deployment %s: label %s = %q, want %q", c.name, k, d.Labels[k], v)
			}
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("Deployment %s: %d containers, want 1", c.name, len(d.Spec.Template.Spec.Containers))
		}
		ctr := d.Spec.Template.Spec.Containers[0]
		if ctr.Image != c.image {
			t.Errorf("Deployment %s: image %q, want %q", c.name, ctr.Image, c.image)
		}
		env := map[string]corev1.EnvVar{}
		for _, e := range ctr.Env {
			env[e.Name] = e
		}
		if env["TENANT"].Value != name || env["PRODUCT_VERSION"].Value != "v1" || env["RATE_LIMIT_RPM"].Value != "600" {
			t.Errorf("Deployment %s: env %+v, want TENANT=%s PRODUCT_VERSION=v1 RATE_LIMIT_RPM=600", c.name, ctr.Env, name)
		}
		raw, _ := json.Marshal(d)
		if strings.Contains(string(raw), key) {
			t.Errorf("Deployment %s contains the API key literally", c.name)
		}
		if !strings.Contains(string(raw), `"secretKeyRef":{"name":"`+product+`-credentials","key":"api-key"}`) {
			t.Errorf("Deployment %s does not reference the key in %s-credentials: %+v", c.name, product, ctr.Env)
		}
	}
	svc := &corev1.Service{}
	if err := get(svc, name, api); err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("Service %s ports %+v, want 8080", api, svc.Spec.Ports)
	}
	if err := hasTenantLabels(svc, name); err != nil {
		t.Error(err)
	}

	// Not ready while the Deployments have no ready replicas.
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing); err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing); err != nil {
			return err
		}
		if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
			return err
		}
		if tn.Status.ProductsReady != "0/1" {
			return fmt.Errorf("status.productsReady = %q, want 0/1", tn.Status.ProductsReady)
		}
		return nil
	})
	consistently(t, 500*time.Millisecond, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		return notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionReady)
	})

	tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api, worker)
	if tn.Status.ProductsReady != "1/1" {
		t.Errorf("status.productsReady = %q, want 1/1", tn.Status.ProductsReady)
	}
	shop := &tenancyv1alpha1.ApiProduct{}
	if err := get(shop, "", product); err != nil {
		t.Fatal(err)
	}
	want := []tenancyv1alpha1.ProductStatus{{
		Name: product, Version: "v1", Namespace: name, Tenancy: tenancyv1alpha1.TenancyDedicated, Replicas: 4, ReadyReplicas: 4,
		Revision:          revision.Name(product, &shop.Spec.Versions[0]),
		Endpoint:          "http://" + api + "." + name + ".svc:8080",
		CredentialsSecret: product + "-credentials",
	}}
	if !reflect.DeepEqual(tn.Status.Products, want) {
		t.Errorf("status.products = %+v, want %+v", tn.Status.Products, want)
	}
	for _, typ := range []string{tenancyv1alpha1.ConditionReconciling, tenancyv1alpha1.ConditionStalled} {
		if err := notTrue(tn.Status.Conditions, typ); err != nil {
			t.Error(err)
		}
	}

	// The ApiProduct's status.
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.Tenants != 1 || !slices.Equal(p.Status.TenantNames, []string{name}) {
			return fmt.Errorf("ApiProduct %s: tenants %d %v, want 1 [%s]", product, p.Status.Tenants, p.Status.TenantNames, name)
		}
		wantVersions := []tenancyv1alpha1.VersionStatus{{Name: "v1", Tenants: 1}, {Name: "v2", Tenants: 0}}
		if !reflect.DeepEqual(p.Status.Versions, wantVersions) {
			return fmt.Errorf("ApiProduct %s: versions %+v, want %+v", product, p.Status.Versions, wantVersions)
		}
		if p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("ApiProduct %s: observedGeneration %d, generation %d", product, p.Status.ObservedGeneration, p.Generation)
		}
		return wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, "")
	})
}

// TestProductCredentialsStableAndRotated: the API key survives reconciles and an operator
// restart; the rotate-credentials annotation makes a new key and rolls the Deployment.
// Not parallel: it restarts the manager.
func TestProductCredentialsStableAndRotated(t *testing.T) {
	const product, planName, name = "a22-keys", "p22-keys", "t22-keys"
	deploy := product + "-api"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/keys:1.0.0", 8080))))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)

	var key string
	eventually(t, 0, func() error {
		var err error
		key, err = apiKey(name, product)
		return err
	})
	if len(key) < 32 {
		t.Errorf("API key %q is short: want a random key of at least 32 characters", key)
	}
	podHash := func() (string, error) {
		d, err := fetchDeployment(name, deploy)
		if err != nil {
			return "", err
		}
		return d.Spec.Template.Annotations[render.AnnotationCredentialsHash], nil
	}
	eventually(t, 0, func() error {
		h, err := podHash()
		if err != nil {
			return err
		}
		if h == "" || h != render.CredentialsHash(key) {
			return fmt.Errorf("pod template %s = %q, want the hash of the key %q", render.AnnotationCredentialsHash, h, render.CredentialsHash(key))
		}
		return nil
	})
	sameKey := func(want string) func() error {
		return func() error {
			got, err := apiKey(name, product)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("the API key changed from %q to %q", want, got)
			}
			h, err := podHash()
			if err != nil {
				return err
			}
			if h != render.CredentialsHash(want) {
				return fmt.Errorf("pod template %s changed to %q", render.AnnotationCredentialsHash, h)
			}
			return nil
		}
	}

	// Reconciles (a label change triggers one) keep the key.
	for i := range 3 {
		mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
			if tn.Labels == nil {
				tn.Labels = map[string]string{}
			}
			tn.Labels["touch"] = fmt.Sprint(i)
		})
		consistently(t, 300*time.Millisecond, sameKey(key))
	}

	// An operator restart keeps the key. Deleting the Service after the restart and seeing it
	// come back shows the new manager has reconciled the tenant.
	restartManager(t)
	awaitPass(t, name, deploy)
	consistently(t, time.Second, sameKey(key))

	// Rotation: a new key, and the Deployment rolls.
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		if tn.Annotations == nil {
			tn.Annotations = map[string]string{}
		}
		tn.Annotations[tenancyv1alpha1.AnnotationRotateCredentials] = "2026-01-01"
	})
	var rotated string
	eventually(t, 0, func() error {
		var err error
		if rotated, err = apiKey(name, product); err != nil {
			return err
		}
		if rotated == key {
			return fmt.Errorf("the API key is unchanged after rotation")
		}
		h, err := podHash()
		if err != nil {
			return err
		}
		if h != render.CredentialsHash(rotated) {
			return fmt.Errorf("pod template %s = %q, want the hash of the new key %q", render.AnnotationCredentialsHash, h, render.CredentialsHash(rotated))
		}
		return nil
	})
	d, err := fetchDeployment(name, deploy)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(d)
	if strings.Contains(string(raw), rotated) || strings.Contains(string(raw), key) {
		t.Errorf("Deployment %s contains an API key literally", deploy)
	}

	// The rotated key is stable in turn.
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Labels["touch"] = "after-rotation" })
	consistently(t, 500*time.Millisecond, sameKey(rotated))
}

// TestProductVersionImageChangeAndPin: changing a version's image updates every tenant on
// that version only; pinning one tenant to another version changes only that tenant.
func TestProductVersionImageChangeAndPin(t *testing.T) {
	t.Parallel()
	const product, planName = "a23-multi", "p23-multi"
	const one, two, pinned = "t23-one", "t23-two", "t23-pin"
	deploy := product + "-api"
	ap := newAPIProduct(product, "v1",
		productVersion("v1", productComponent("api", "registry.example.com/multi:1.0.0", 0)),
		productVersion("v2", productComponent("api", "registry.example.com/multi:2.0.0", 0)))
	ap.Spec.Auth.Type = tenancyv1alpha1.AuthNone
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(one, planName))
	tenantTwo := newTenant(two, planName)
	mustCreate(t, tenantTwo)
	tp := newTenant(pinned, planName)
	tp.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v2"}}
	mustCreate(t, tp)

	runs := func(tenant, image, version string) func() error {
		return func() error {
			d, err := fetchDeployment(tenant, deploy)
			if err != nil {
				return err
			}
			c := d.Spec.Template.Spec.Containers
			if len(c) != 1 || c[0].Image != image {
				return fmt.Errorf("tenant %s: Deployment %s runs %+v, want image %s", tenant, deploy, c, image)
			}
			if d.Labels[render.LabelAppVersion] != version || d.Spec.Template.Labels[render.LabelAppVersion] != version {
				return fmt.Errorf("tenant %s: Deployment %s version labels %q (pods %q), want %s", tenant, deploy,
					d.Labels[render.LabelAppVersion], d.Spec.Template.Labels[render.LabelAppVersion], version)
			}
			for _, e := range c[0].Env {
				if e.Name == "PRODUCT_VERSION" && e.Value != version {
					return fmt.Errorf("tenant %s: PRODUCT_VERSION %q, want %s", tenant, e.Value, version)
				}
			}
			return nil
		}
	}
	versionCounts := func(v1, v2 int32) func() error {
		return func() error {
			p, err := fetchProduct(product)
			if err != nil {
				return err
			}
			want := []tenancyv1alpha1.VersionStatus{{Name: "v1", Tenants: v1}, {Name: "v2", Tenants: v2}}
			if p.Status.Tenants != 3 || !reflect.DeepEqual(p.Status.Versions, want) {
				return fmt.Errorf("ApiProduct %s: tenants %d versions %+v, want 3 and %+v", product, p.Status.Tenants, p.Status.Versions, want)
			}
			return nil
		}
	}
	eventually(t, 0, runs(one, "registry.example.com/multi:1.0.0", "v1"))
	eventually(t, 0, runs(two, "registry.example.com/multi:1.0.0", "v1"))
	eventually(t, 0, runs(pinned, "registry.example.com/multi:2.0.0", "v2"))
	eventually(t, 0, versionCounts(2, 1))
	before := map[string]*appsv1.Deployment{}
	for _, tenant := range []string{one, two, pinned} {
		d, err := fetchDeployment(tenant, deploy)
		if err != nil {
			t.Fatal(err)
		}
		before[tenant] = d
	}

	// A new image for v1 reaches the tenants on v1.
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Versions[0].Components[0].Image = "registry.example.com/multi:1.1.0"
	})
	eventually(t, 0, runs(one, "registry.example.com/multi:1.1.0", "v1"))
	eventually(t, 0, runs(two, "registry.example.com/multi:1.1.0", "v1"))
	consistently(t, 500*time.Millisecond, func() error {
		d, err := fetchDeployment(pinned, deploy)
		if err != nil {
			return err
		}
		if d.Generation != before[pinned].Generation {
			return fmt.Errorf("the Deployment of %s, pinned to v2, changed (generation %d -> %d)", pinned, before[pinned].Generation, d.Generation)
		}
		return runs(pinned, "registry.example.com/multi:2.0.0", "v2")()
	})

	// Pinning t23-two to v2 changes only its Deployment.
	oneBefore, err := fetchDeployment(one, deploy)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, tenantTwo, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v2"}}
	})
	eventually(t, 0, runs(two, "registry.example.com/multi:2.0.0", "v2"))
	d, err := fetchDeployment(two, deploy)
	if err != nil {
		t.Fatal(err)
	}
	if d.UID != before[two].UID || !reflect.DeepEqual(d.Spec.Selector, before[two].Spec.Selector) {
		t.Errorf("the Deployment of %s was replaced or its selector changed: %v -> %v", two, before[two].Spec.Selector, d.Spec.Selector)
	}
	eventually(t, 0, versionCounts(1, 2))
	consistently(t, 300*time.Millisecond, func() error {
		d, err := fetchDeployment(one, deploy)
		if err != nil {
			return err
		}
		if d.Generation != oneBefore.Generation {
			return fmt.Errorf("the Deployment of %s changed when %s was pinned", one, two)
		}
		return runs(one, "registry.example.com/multi:1.1.0", "v1")()
	})
	waitProductsRunning(t, two, two, tenancyv1alpha1.ReasonReconciled, deploy)
}

// TestRemovedProductIsPruned: a product dropped from a tenant's spec.products, or from the
// plan of a tenant that takes the plan's products, loses its Deployments, Services and
// credentials, and leaves status.products.
func TestRemovedProductIsPruned(t *testing.T) {
	t.Parallel()
	const alpha, beta, planName = "a24-alpha", "a24-beta", "p24-prune"
	const listed, byPlan = "t24-listed", "t24-default"
	for _, p := range []string{alpha, beta} {
		mustCreate(t, newAPIProduct(p, "v1", productVersion("v1",
			productComponent("api", "registry.example.com/"+p+":1.0.0", 8080),
			productComponent("worker", "registry.example.com/"+p+"-worker:1.0.0", 0))))
	}
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: alpha}, tenancyv1alpha1.PlanProduct{Name: beta})
	mustCreate(t, plan)
	tl := newTenant(listed, planName)
	tl.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: alpha}, {Name: beta}}
	mustCreate(t, tl)
	mustCreate(t, newTenant(byPlan, planName))

	components, withPort := []string{"api", "worker"}, []string{"api"}
	hasProducts := func(tenant string, want ...string) func() error {
		return func() error {
			tn, err := fetchTenant(tenant)
			if err != nil {
				return err
			}
			if got := productNames(tn); !slices.Equal(got, want) {
				return fmt.Errorf("tenant %s: status.products %v, want %v", tenant, got, want)
			}
			if w := fmt.Sprintf("0/%d", len(want)); tn.Status.ProductsReady != w {
				return fmt.Errorf("tenant %s: status.productsReady %q, want %s", tenant, tn.Status.ProductsReady, w)
			}
			return nil
		}
	}
	for _, tenant := range []string{listed, byPlan} {
		for _, p := range []string{alpha, beta} {
			eventually(t, 0, func() error { return productObjects(tenant, p, true, components, withPort) })
		}
		eventually(t, 0, hasProducts(tenant, alpha, beta))
	}

	// Dropped from spec.products.
	mustUpdate(t, tl, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: alpha}}
	})
	eventually(t, 0, func() error { return productObjects(listed, beta, false, components, withPort) })
	eventually(t, 0, hasProducts(listed, alpha))
	if err := productObjects(listed, alpha, true, components, withPort); err != nil {
		t.Errorf("the remaining product: %v", err)
	}
	if err := productObjects(byPlan, beta, true, components, withPort); err != nil {
		t.Errorf("another tenant's product: %v", err)
	}

	// Dropped from the plan.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: alpha}}
	})
	eventually(t, 0, func() error { return productObjects(byPlan, beta, false, components, withPort) })
	eventually(t, 0, hasProducts(byPlan, alpha))
	if err := productObjects(byPlan, alpha, true, components, withPort); err != nil {
		t.Errorf("the remaining product: %v", err)
	}
	eventually(t, 0, func() error {
		p, err := fetchProduct(beta)
		if err != nil {
			return err
		}
		if p.Status.Tenants != 0 {
			return fmt.Errorf("ApiProduct %s: tenants %d %v, want 0", beta, p.Status.Tenants, p.Status.TenantNames)
		}
		return nil
	})
	waitProductsRunning(t, byPlan, byPlan, tenancyv1alpha1.ReasonReconciled, alpha+"-api", alpha+"-worker")
}

// TestSuspendedTenantScalesToZero: suspending a tenant scales every product Deployment to 0
// and keeps its data; resuming scales them back to the plan's replicas.
func TestSuspendedTenantScalesToZero(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a25-susp", "p25-susp", "t25-susp"
	deployments := []string{product + "-api", product + "-worker"}
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1",
		productComponent("api", "registry.example.com/susp:1.0.0", 8080),
		productComponent("worker", "registry.example.com/susp-worker:1.0.0", 0))))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product, Replicas: int32p(2)}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api", "worker"}, []string{"api"}) })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deployments...)
	key, err := apiKey(name, product)
	if err != nil {
		t.Fatal(err)
	}
	replicas := func(want int32) func() error {
		return func() error {
			for _, dn := range deployments {
				d, err := fetchDeployment(name, dn)
				if err != nil {
					return err
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
					return fmt.Errorf("Deployment %s: replicas %v, want %d", dn, d.Spec.Replicas, want)
				}
			}
			return nil
		}
	}

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = true })
	eventually(t, 0, replicas(0))
	// Until the Deployments report the scale-down, the products are progressing.
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing)
	})
	tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonSuspended, deployments...)
	if s, ok := productStatusOf(tn, product); !ok || s.Replicas != 0 || s.ReadyReplicas != 0 {
		t.Errorf("status.products entry %+v (found %v), want replicas 0", s, ok)
	}
	if got, err := apiKey(name, product); err != nil || got != key {
		t.Errorf("a suspended tenant's credentials: %q, %v; want them kept", got, err)
	}
	if err := productObjects(name, product, true, []string{"api", "worker"}, []string{"api"}); err != nil {
		t.Errorf("a suspended tenant keeps its objects: %v", err)
	}

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = false })
	eventually(t, 0, replicas(2))
	tn = waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deployments...)
	if s, ok := productStatusOf(tn, product); !ok || s.Replicas != 4 || s.ReadyReplicas != 4 {
		t.Errorf("status.products entry %+v (found %v), want replicas 4 (2 per component)", s, ok)
	}
}

// TestProductNotInPlanStallsThenHeals: a tenant that lists a product its plan lacks is
// stalled, still gets its namespaces, and heals once the plan includes the product.
func TestProductNotInPlanStallsThenHeals(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a26-extra", "p26-basic", "t26-notinplan"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/extra:1.0.0", 8080))))
	plan := newProductPlan(planName)
	mustCreate(t, plan)
	tenant := newTenant(name, planName)
	tenant.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product}}
	mustCreate(t, tenant)

	tn := waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonProductNotInPlan)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, product) || !strings.Contains(c.Message, planName) {
		t.Errorf("Ready message %q, want it to name product %s and plan %s", messageOf(c), product, planName)
	}
	// The namespace is provisioned anyway.
	for _, typ := range []string{tenancyv1alpha1.ConditionNamespacesReady, tenancyv1alpha1.ConditionQuotaReady} {
		if err := wantCondition(tn.Status.Conditions, typ, metav1.ConditionTrue, ""); err != nil {
			t.Error(err)
		}
	}
	ns := &corev1.Namespace{}
	if err := get(ns, "", name); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	if err := hasTenantLabels(ns, name); err != nil {
		t.Error(err)
	}
	if _, err := quotaHard(name); err != nil {
		t.Errorf("tenant-quota: %v", err)
	}
	if err := gone(&appsv1.Deployment{}, name, product+"-api"); err != nil {
		t.Error(err)
	}

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: product}}
	})
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api"}, []string{"api"}) })
	tn = waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, product+"-api")
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
}

// TestProductVersionNotFoundKeepsRunningObjects: pinning a version that does not exist (or
// dropping a listed product from the plan) stalls the tenant without deleting the product
// it runs; fixing the pin heals it with the same credentials.
func TestProductVersionNotFoundKeepsRunningObjects(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a26-pinned", "p26-pinned", "t26-badpin"
	deploy := product + "-api"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/pinned:1.0.0", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product})
	mustCreate(t, plan)
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api"}, []string{"api"}) })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	before, err := fetchDeployment(name, deploy)
	if err != nil {
		t.Fatal(err)
	}
	key, err := apiKey(name, product)
	if err != nil {
		t.Fatal(err)
	}
	kept := func() error {
		d, err := fetchDeployment(name, deploy)
		if err != nil {
			return fmt.Errorf("the running product was touched: %w", err)
		}
		if d.UID != before.UID || d.Generation != before.Generation {
			return fmt.Errorf("Deployment %s was replaced or changed (generation %d -> %d)", deploy, before.Generation, d.Generation)
		}
		if err := get(&corev1.Service{}, name, deploy); err != nil {
			return fmt.Errorf("the running product's Service: %w", err)
		}
		if got, err := apiKey(name, product); err != nil || got != key {
			return fmt.Errorf("the running product's credentials: %q, %v", got, err)
		}
		return nil
	}

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v9"}}
	})
	tn := waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonVersionNotFound)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, "v9") || !strings.Contains(c.Message, product) {
		t.Errorf("Ready message %q, want it to name version v9 of %s", messageOf(c), product)
	}
	// The running product stays, but no endpoint is advertised for a version that is not.
	if st, ok := productStatusOf(tn, product); !ok || st.Endpoint != "" {
		t.Errorf("status.products[%s] = %+v (found %v), want it listed without an endpoint", product, st, ok)
	}
	consistently(t, time.Second, kept)

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v1"}}
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	if err := kept(); err != nil {
		t.Error(err)
	}

	// The plan drops a product the tenant lists: stalled, nothing deleted.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Products = nil })
	waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonProductNotInPlan)
	consistently(t, 500*time.Millisecond, kept)
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: product}}
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	if err := kept(); err != nil {
		t.Error(err)
	}
}

// TestProductNotFoundStallsThenHeals: a plan naming an ApiProduct that does not exist yet
// stalls its tenants, which heal once the product is created.
func TestProductNotFoundStallsThenHeals(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a26-later", "p26-missing", "t26-missing"
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(name, planName))

	tn := waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonProductNotFound)
	if c := findCondition(tn, tenancyv1alpha1.ConditionReady); c == nil || !strings.Contains(c.Message, product) {
		t.Errorf("Ready message %q, want it to name product %s", messageOf(c), product)
	}
	if err := get(&corev1.Namespace{}, "", name); err != nil {
		t.Errorf("namespace %s: %v", name, err)
	}

	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/later:1.0.0", 8080))))
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api"}, []string{"api"}) })
	tn = waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, product+"-api")
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
}

// TestInUsePlanAndProductAreNotDeleted: a plan or product that a tenant uses stays, says
// which tenant holds it, and goes once the tenant is gone.
func TestInUsePlanAndProductAreNotDeleted(t *testing.T) {
	t.Parallel()
	const product, planName, name = "a28-held", "p28-held", "t28-holder"
	ap := newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/held:1.0.0", 0)))
	mustCreate(t, ap)
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product})
	mustCreate(t, plan)
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)
	eventually(t, 0, func() error { return get(&appsv1.Deployment{}, name, product+"-api") })
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.Tenants != 1 {
			return fmt.Errorf("ApiProduct %s: status.tenants %d, want 1", product, p.Status.Tenants)
		}
		if !slices.Contains(p.Finalizers, tenancyv1alpha1.InUseFinalizer) {
			return fmt.Errorf("ApiProduct %s: finalizers %v, want %s", product, p.Finalizers, tenancyv1alpha1.InUseFinalizer)
		}
		sp, err := fetchPlan(planName)
		if err != nil {
			return err
		}
		if !slices.Contains(sp.Finalizers, tenancyv1alpha1.InUseFinalizer) {
			return fmt.Errorf("ServicePlan %s: finalizers %v, want %s", planName, sp.Finalizers, tenancyv1alpha1.InUseFinalizer)
		}
		return nil
	})

	heldBy := func(kind string, fetch func() (heldObject, []metav1.Condition, error)) func() error {
		return func() error {
			o, conds, err := fetch()
			if err != nil {
				return err
			}
			if o.GetDeletionTimestamp().IsZero() {
				return fmt.Errorf("%s %s has no deletionTimestamp", kind, o.GetName())
			}
			if err := wantCondition(conds, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonInUse); err != nil {
				return fmt.Errorf("%s %s: %w", kind, o.GetName(), err)
			}
			if c := meta.FindStatusCondition(conds, tenancyv1alpha1.ConditionReady); !strings.Contains(c.Message, name) {
				return fmt.Errorf("%s %s: Ready message %q does not name tenant %s", kind, o.GetName(), c.Message, name)
			}
			return nil
		}
	}
	fetchPlanConds := func() (heldObject, []metav1.Condition, error) {
		p, err := fetchPlan(planName)
		return p, p.Status.Conditions, err
	}
	fetchProductConds := func() (heldObject, []metav1.Condition, error) {
		p, err := fetchProduct(product)
		return p, p.Status.Conditions, err
	}

	mustDelete(t, plan)
	eventually(t, 0, heldBy("ServicePlan", fetchPlanConds))
	mustDelete(t, ap)
	eventually(t, 0, heldBy("ApiProduct", fetchProductConds))
	consistently(t, 500*time.Millisecond, func() error {
		if err := heldBy("ServicePlan", fetchPlanConds)(); err != nil {
			return err
		}
		return heldBy("ApiProduct", fetchProductConds)()
	})
	// The tenant keeps running meanwhile.
	if err := get(&appsv1.Deployment{}, name, product+"-api"); err != nil {
		t.Errorf("the tenant's product while its plan and product are being deleted: %v", err)
	}

	mustDelete(t, tenant)
	removeFinalizers(t, name) // envtest never finishes deleting the tenant's namespace
	eventually(t, 0, func() error {
		if err := gone(&tenancyv1alpha1.ServicePlan{}, "", planName); err != nil {
			return err
		}
		return gone(&tenancyv1alpha1.ApiProduct{}, "", product)
	})
}

// heldObject is what heldBy reads of a plan or product.
type heldObject interface {
	GetName() string
	GetDeletionTimestamp() *metav1.Time
}

// TestHTTPRouteAfterGatewayAPIInstalled: an exposed product gets no route while the
// Gateway API is not installed (and the tenant is Ready anyway); once the HTTPRoute CRD is
// installed, the route appears as the contract describes it. It installs a CRD into the
// shared API server, so it is not parallel: it runs before every parallel test (Go runs
// those after the sequential ones), which therefore all see the HTTPRoute CRD.
func TestHTTPRouteAfterGatewayAPIInstalled(t *testing.T) {
	const product, planName, name = "a29-web", "p29-web", "t29-web"
	deploy := product + "-api"
	ap := newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/web:1.0.0", 8080)))
	ap.Spec.Exposure = &tenancyv1alpha1.Exposure{
		Component: "api",
		Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
		Hostname:  "{tenant}.api.example.com",
	}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(name, planName))

	installed := get(&apiextensionsv1.CustomResourceDefinition{}, "", index.HTTPRouteCRD) == nil
	eventually(t, 0, func() error { return productObjects(name, product, true, []string{"api"}, []string{"api"}) })
	tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	if installed {
		t.Logf("the HTTPRoute CRD is already installed (a repeated run): skipping the check without it")
	} else {
		// No Gateway API, no route: the endpoint is the entrypoint Service in the cluster.
		if s, _ := productStatusOf(tn, product); s.Endpoint != "http://"+deploy+"."+name+".svc:8080" {
			t.Errorf("status.products endpoint without a route %q, want http://%s.%s.svc:8080", s.Endpoint, deploy, name)
		}
		installHTTPRouteCRD(t)
	}

	eventually(t, 0, func() error {
		r := &gatewayv1.HTTPRoute{}
		if err := get(r, name, product); err != nil {
			return err
		}
		if err := hasTenantLabels(r, name); err != nil {
			return err
		}
		if r.Labels[tenancyv1alpha1.LabelProduct] != product || r.Labels[render.LabelAppVersion] != "v1" {
			return fmt.Errorf("HTTPRoute labels %v, want product %s and version v1", r.Labels, product)
		}
		if len(r.Spec.Hostnames) != 1 || r.Spec.Hostnames[0] != gatewayv1.Hostname(name+".api.example.com") {
			return fmt.Errorf("hostnames %v, want [%s.api.example.com]", r.Spec.Hostnames, name)
		}
		if len(r.Spec.ParentRefs) != 1 || r.Spec.ParentRefs[0].Name != "public" ||
			r.Spec.ParentRefs[0].Namespace == nil || *r.Spec.ParentRefs[0].Namespace != "platform-gateway" {
			return fmt.Errorf("parentRefs %+v, want public in platform-gateway", r.Spec.ParentRefs)
		}
		if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].Matches) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 {
			return fmt.Errorf("rules %+v, want one rule with one match and one backend", r.Spec.Rules)
		}
		m := r.Spec.Rules[0].Matches[0].Path
		if m == nil || m.Type == nil || *m.Type != gatewayv1.PathMatchPathPrefix || m.Value == nil || *m.Value != "/"+product {
			return fmt.Errorf("path match %+v, want PathPrefix /%s", m, product)
		}
		b := r.Spec.Rules[0].BackendRefs[0]
		if b.Name != gatewayv1.ObjectName(deploy) || b.Port == nil || *b.Port != 8080 {
			return fmt.Errorf("backendRef %+v, want Service %s port 8080", b.BackendObjectReference, deploy)
		}
		return nil
	})
	eventually(t, 0, func() error {
		tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
		if s, _ := productStatusOf(tn, product); s.Endpoint != "https://"+name+".api.example.com/"+product {
			return fmt.Errorf("status.products endpoint %q, want https://%s.api.example.com/%s", s.Endpoint, name, product)
		}
		return nil
	})
}

// installHTTPRouteCRD installs the Gateway API's standard HTTPRoute CRD from the module
// cache and waits until it is served.
func installHTTPRouteCRD(t *testing.T) {
	t.Helper()
	installGatewayAPICRD(t, "httproutes", index.HTTPRouteCRD, &gatewayv1.HTTPRouteList{})
}

// installGatewayAPICRD installs one of the Gateway API's standard CRDs (file
// gateway.networking.k8s.io_<resource>.yaml of the pinned module) and waits until it is
// Established and the test client can list its kind.
func installGatewayAPICRD(t *testing.T, resource, name string, list client.ObjectList) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locating sigs.k8s.io/gateway-api: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "gateway.networking.k8s.io_"+resource+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(crd); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if crd.Name != name {
		t.Fatalf("%s holds CRD %q, want %s", path, crd.Name, name)
	}
	if err := k8s.Create(testCtx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating CRD %s: %v", crd.Name, err)
	}
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
	// The test client finds the new kind too.
	eventually(t, 0, func() error { return k8s.List(testCtx, list) })
}
