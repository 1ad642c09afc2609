package controllers

// Status that tells the truth (issue "Status that tells the truth"): product health from
// the Deployments' own conditions, a quota share of 0 where a product runs, colliding
// product object names, a key that follows a moved product, a deletion that cannot finish,
// and observedGeneration only from a pass that reached a verdict. envtest runs no
// deployment controller: the tests write the Deployment status it would write.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/render"
)

// setDeploymentConditions writes the status the deployment controller would write for
// the Deployment's current generation: no Pod ready, and the given conditions.
func setDeploymentConditions(namespace, name string, conds ...appsv1.DeploymentCondition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := fetchDeployment(namespace, name)
		if err != nil {
			return err
		}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Conditions: conds}
		return k8s.Status().Update(testCtx, d)
	})
}

// waitProductsCondition waits until the tenant's ProductsReady has reason and returns the
// tenant.
func waitProductsCondition(t *testing.T, name, reason string) *tenancyv1alpha1.Tenant {
	t.Helper()
	var tn *tenancyv1alpha1.Tenant
	eventually(t, 0, func() error {
		var err error
		if tn, err = fetchTenant(name); err != nil {
			return err
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, reason)
	})
	return tn
}

// TestProductHealthFromDeploymentConditions: each state of the contract's table, and
// healing.
func TestProductHealthFromDeploymentConditions(t *testing.T) {
	t.Parallel()
	const product, planName, name = "hl-api", "p-hl", "hl"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/hl:1", 8080))))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(name, planName))
	dep := product + "-api"
	eventually(t, 0, func() error { return get(&appsv1.Deployment{}, name, dep) })
	d, err := fetchDeployment(name, dep)
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.ProgressDeadlineSeconds == nil || *d.Spec.ProgressDeadlineSeconds != render.ProgressDeadlineSeconds {
		t.Errorf("Deployment %s progressDeadlineSeconds %v, want %d", dep, d.Spec.ProgressDeadlineSeconds, render.ProgressDeadlineSeconds)
	}

	// Rolling out within its deadline: Progressing, Reconciling, not Stalled.
	if err := setDeploymentConditions(name, dep, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "ReplicaSetUpdated",
		Message: `ReplicaSet "hl-api-api-5d4f" is progressing.`,
	}); err != nil {
		t.Fatal(err)
	}
	tn := waitProductsCondition(t, name, tenancyv1alpha1.ReasonProgressing)
	if err := wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, ""); err != nil {
		t.Error(err)
	}
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}

	// Pods refused: PodsRejected, quoting the API server, Stalled.
	refusal := `pods "hl-api-api-5d4f-x2x" is forbidden: failed quota: tenant-quota: must specify requests.cpu for: api`
	if err := setDeploymentConditions(name, dep,
		appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "ReplicaSetUpdated"},
		appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: refusal},
	); err != nil {
		t.Fatal(err)
	}
	tn = waitTenantStalled(t, name, tenancyv1alpha1.ReasonPodsRejected)
	if c := findCondition(tn, tenancyv1alpha1.ConditionProductsReady); c == nil || !strings.Contains(c.Message, name+"/"+dep) || !strings.Contains(c.Message, refusal) {
		t.Errorf("ProductsReady message %q, want it to name Deployment %s/%s and quote %q", messageOf(c), name, dep, refusal)
	}

	// Past its progress deadline: ProgressDeadlineExceeded, Stalled.
	if err := setDeploymentConditions(name, dep, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
		Message: `ReplicaSet "hl-api-api-5d4f" has timed out progressing.`,
	}); err != nil {
		t.Fatal(err)
	}
	tn = waitTenantStalled(t, name, tenancyv1alpha1.ReasonProgressDeadlineExceeded)
	if c := findCondition(tn, tenancyv1alpha1.ConditionProductsReady); c == nil || !strings.Contains(c.Message, name+"/"+dep) {
		t.Errorf("ProductsReady message %q, want it to name Deployment %s/%s", messageOf(c), name, dep)
	}

	// Available: it heals by itself.
	waitProductsRunning(t, name, name, "", dep)
	tn, _ = fetchTenant(name)
	if err := notTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
}

// TestZeroQuotaShareIsReported: pods "1" over three namespaces leaves the namespace that
// runs the product with 0 pods: the tenant says so instead of waiting for its Pods.
func TestZeroQuotaShareIsReported(t *testing.T) {
	t.Parallel()
	const product, planName, name = "zq-api", "p-zq", "zq"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/zq:1", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product})
	plan.Spec.MaxNamespaces = 3
	plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: rl("pods", "1")}
	mustCreate(t, plan)
	tn := newTenant(name, planName, name, name+"-b", name+"-c")
	tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Namespace: name + "-b"}}
	mustCreate(t, tn)
	got := waitTenantStalled(t, name, tenancyv1alpha1.ReasonZeroQuotaShare)
	c := findCondition(got, tenancyv1alpha1.ConditionQuotaReady)
	if c == nil || c.Reason != tenancyv1alpha1.ReasonZeroQuotaShare || !strings.Contains(c.Message, name+"-b") || !strings.Contains(c.Message, "pods") {
		t.Errorf("QuotaReady %s, want ZeroQuotaShare naming namespace %s-b and pods", describeConditions(got.Status.Conditions), name)
	}
	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Quota.Hard = rl("pods", "3")
	})
	waitProductsRunning(t, name, name+"-b", "", product+"-api")
}

// TestProductNameCollision: product a with component b-c and product a-b with component c
// both make a-b-c. The tenant stalls with NameCollision and the operator does not rewrite
// one with the other.
func TestProductNameCollision(t *testing.T) {
	t.Parallel()
	const planName, name = "p-nc", "nc"
	mustCreate(t, newAPIProduct("nca", "v1", productVersion("v1", productComponent("b-c", "registry.example.com/nca:1", 8080))))
	mustCreate(t, newAPIProduct("nca-b", "v1", productVersion("v1", productComponent("c", "registry.example.com/ncab:1", 8080))))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: "nca"}, tenancyv1alpha1.PlanProduct{Name: "nca-b"}))
	mustCreate(t, newTenant(name, planName))
	got := waitTenantProductsStalled(t, name, tenancyv1alpha1.ReasonNameCollision)
	if c := findCondition(got, tenancyv1alpha1.ConditionProductsReady); c == nil || !strings.Contains(c.Message, "nca-b-c") {
		t.Errorf("ProductsReady message %q, want it to name nca-b-c", messageOf(c))
	}

	// Bounded: no product object is written, and the tenant's status settles.
	rv := got.ResourceVersion
	consistently(t, 2*time.Second, func() error {
		if err := gone(&appsv1.Deployment{}, name, "nca-b-c"); err != nil {
			return err
		}
		if err := gone(&corev1.Service{}, name, "nca-b-c"); err != nil {
			return err
		}
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if tn.ResourceVersion != rv {
			return fmt.Errorf("the tenant was written again (resourceVersion %s, was %s)", tn.ResourceVersion, rv)
		}
		return nil
	})
}

// TestMovedProductKeepsItsKey: moving a product to another of the tenant's namespaces
// moves its API key with it; the old Secret is pruned, with an Event.
func TestMovedProductKeepsItsKey(t *testing.T) {
	t.Parallel()
	const product, planName, name = "mv-api", "p-mv", "mv"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", "registry.example.com/mv:1", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product})
	plan.Spec.MaxNamespaces = 2
	mustCreate(t, plan)
	tn := newTenant(name, planName, name, name+"-b")
	tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Namespace: name}}
	mustCreate(t, tn)
	var key string
	eventually(t, 0, func() error {
		var err error
		key, err = apiKey(name, product)
		return err
	})
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products[0].Namespace = name + "-b"
	})
	eventually(t, 0, func() error {
		moved, err := apiKey(name+"-b", product)
		if err != nil {
			return err
		}
		if moved != key {
			return fmt.Errorf("the key in %s-b differs from the one in %s: a new key was issued", name, name)
		}
		return gone(&corev1.Secret{}, name, product+"-credentials")
	})
	eventually(t, 0, func() error {
		return tenantEventWith(name, "Pruned", "Secret "+name+"/"+product+"-credentials")
	})
}

// tenantEventWith returns nil once the tenant has an Event of reason whose note contains
// part.
func tenantEventWith(tenant, reason, part string) error {
	events, err := tenantEvents(tenant)
	if err != nil {
		return err
	}
	for _, e := range events {
		if strings.Contains(e, " "+reason+": ") && strings.Contains(e, part) {
			return nil
		}
	}
	return fmt.Errorf("no %s Event of tenant %s mentioning %q; events: %v", reason, tenant, part, events)
}

// TestStuckDeletionSaysWhy: a deletion that cannot finish names the namespace and quotes
// what holds it (here a finalizer of the tenant's); the detail conditions no longer say
// that the namespaces are active.
func TestStuckDeletionSaysWhy(t *testing.T) {
	t.Parallel()
	const planName, name = "p-stuck", "stuck"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	mustDelete(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
	t.Cleanup(func() { removeFinalizers(t, name) })
	eventually(t, 0, func() error { return terminating(name) })
	const hold = "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", name); err != nil {
			return err
		}
		ns.Status.Conditions = []corev1.NamespaceCondition{{
			Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain", Message: hold,
		}}
		return k8s.Status().Update(testCtx, ns)
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		c := findCondition(tn, tenancyv1alpha1.ConditionReady)
		if c == nil || c.Reason != tenancyv1alpha1.ReasonDeleting || !strings.Contains(c.Message, "namespace "+name) || !strings.Contains(c.Message, hold) {
			return fmt.Errorf("Ready %s, want Deleting naming namespace %s and quoting %q", describeConditions(tn.Status.Conditions), name, hold)
		}
		for _, typ := range conditions.DetailConditions {
			if err := wantCondition(tn.Status.Conditions, typ, metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting); err != nil {
				return err
			}
		}
		return nil
	})
}
