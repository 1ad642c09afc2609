package controllers

// Ways out of the fence that the operator itself must close (issue "Isolation that holds
// against a hostile tenant"): two tenants racing for one namespace, adoption taking over
// user objects, tampering that the write-skip accepted, reserved namespaces, Services that
// leave the fence, Retain and reuse, and privileged plans. The admission policies have
// their own tests (guardrails_test.go). Every test uses names of its own and runs in
// parallel with the others of this file.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
)

// objectsOfTenant lists, in a namespace, the objects of the kinds the operator writes that
// carry a tenant's label, as "Kind/name".
func objectsOfTenant(namespace, tenant string) ([]string, error) {
	var out []string
	for _, k := range apply.Kinds {
		if !k.Namespaced {
			continue
		}
		list := k.NewList()
		if err := k8s.List(testCtx, list, client.InNamespace(namespace), client.MatchingLabels{tenancyv1alpha1.LabelTenant: tenant}); err != nil {
			if k.CRD != "" && meta.IsNoMatchError(err) {
				continue // not installed in this test's cluster (yet)
			}
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			out = append(out, k.Name+"/"+item.(client.Object).GetName())
		}
	}
	return out, nil
}

// TestNamespaceRaceHasOneWinner: tenants r and r-x may both list r-x-shared (its name
// starts with both). Applied at the same moment, exactly one gets the namespace; the other
// reports NamespaceConflict naming the winner, and nothing of the loser (quota, policies,
// owners' binding, product Deployments, credentials) is in the namespace, so the loser's
// owners can never read the winner's API key or the other way round.
func TestNamespaceRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	const planName, productName = "p-race", "race-api"
	mustCreate(t, newAPIProduct(productName, "v1", productVersion("v1", productComponent("api", "registry.example.com/race:1", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: productName})
	plan.Spec.MaxNamespaces = 2
	mustCreate(t, plan)

	for _, pair := range []string{"race1", "race2", "race3"} {
		short, long := pair, pair+"-x"
		shared := long + "-shared"
		tenants := []*tenancyv1alpha1.Tenant{}
		for _, name := range []string{short, long} {
			tn := newTenant(name, planName, name, shared)
			tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: productName, Namespace: shared}}
			tenants = append(tenants, tn)
		}
		// Everything that ever appears in the namespace, from before the tenants exist: a
		// loser that wrote anything, even for a moment, is caught.
		seen := watchTenantLabels(t, shared)
		var wg sync.WaitGroup
		errs := make([]error, len(tenants))
		for i, tn := range tenants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = k8s.Create(testCtx, tn)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("creating tenant %s: %v", tenants[i].Name, err)
			}
		}

		// One winner, named by the namespace's label.
		var winner, loser string
		eventually(t, 0, func() error {
			ns := &corev1.Namespace{}
			if err := get(ns, "", shared); err != nil {
				return err
			}
			winner = ns.Labels[tenancyv1alpha1.LabelTenant]
			switch winner {
			case short:
				loser = long
			case long:
				loser = short
			default:
				return fmt.Errorf("namespace %s has tenant label %q, want %s or %s", shared, winner, short, long)
			}
			return nil
		})
		tn := waitTenantStalled(t, loser, tenancyv1alpha1.ReasonNamespaceConflict)
		if c := findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady); c == nil ||
			!strings.Contains(c.Message, shared) || !strings.Contains(c.Message, "tenant "+winner) {
			t.Errorf("%s: NamespacesReady message %q, want it to name %s and its owner %s", loser, messageOf(c), shared, winner)
		}
		// The winner's objects are there; none of the loser's, now or a little later.
		eventually(t, 0, func() error {
			objs, err := objectsOfTenant(shared, winner)
			if err != nil {
				return err
			}
			if !slices.Contains(objs, "Secret/"+productName+"-credentials") || !slices.Contains(objs, "RoleBinding/tenant-owners") {
				return fmt.Errorf("objects of the winner %s in %s: %v, want its credentials and owners' binding", winner, shared, objs)
			}
			return nil
		})
		consistently(t, time.Second, func() error {
			objs, err := objectsOfTenant(shared, loser)
			if err != nil {
				return err
			}
			if len(objs) > 0 {
				return fmt.Errorf("the loser %s has %v in %s", loser, objs, shared)
			}
			return nil
		})
		for what, tenants := range seen() {
			if len(tenants) != 1 || !tenants[winner] {
				t.Errorf("%s in %s was labelled for tenants %v while the tenants raced, want only the winner %s", what, shared, tenants, winner)
			}
		}
		rb := &rbacv1.RoleBinding{}
		if err := get(rb, shared, "tenant-owners"); err != nil {
			t.Fatal(err)
		}
		for _, s := range rb.Subjects {
			if strings.Contains(s.Name, "@"+loser+".example") {
				t.Errorf("%s/tenant-owners binds %s, an owner of the loser %s", shared, s.Name, loser)
			}
		}
	}
}

// watchTenantLabels watches a namespace and the Secrets and RoleBindings in it until the
// test ends, and returns a function that reports, per object, every tenant label it was
// seen with.
func watchTenantLabels(t *testing.T, namespace string) func() map[string]map[string]bool {
	t.Helper()
	wc, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]map[string]bool{}
	record := func(what string, o client.Object) {
		tenant := o.GetLabels()[tenancyv1alpha1.LabelTenant]
		if tenant == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[what] == nil {
			seen[what] = map[string]bool{}
		}
		seen[what][tenant] = true
	}
	watches := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&corev1.NamespaceList{}, []client.ListOption{client.MatchingFields{"metadata.name": namespace}}},
		{&corev1.SecretList{}, []client.ListOption{client.InNamespace(namespace)}},
		{&rbacv1.RoleBindingList{}, []client.ListOption{client.InNamespace(namespace)}},
	}
	var wg sync.WaitGroup
	for _, w := range watches {
		wi, err := wc.Watch(testCtx, w.list, w.opts...)
		if err != nil {
			t.Fatalf("watching %T in %s: %v", w.list, namespace, err)
		}
		t.Cleanup(wi.Stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range wi.ResultChan() {
				if o, ok := ev.Object.(client.Object); ok {
					record(fmt.Sprintf("%T %s", o, o.GetName()), o)
				}
			}
		}()
	}
	return func() map[string]map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]map[string]bool{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// TestAdoptionLeavesUserObjectsAlone: in an adopted namespace, a user's Deployment and
// Service whose names equal the product's are never merged into: the tenant reports
// ObjectConflict naming them, they keep their containers, selector and labels, and
// releasing the namespace leaves them in place.
func TestAdoptionLeavesUserObjectsAlone(t *testing.T) {
	t.Parallel()
	const name, planName, productName = "adoptu", "p-adoptu", "adoptu-api"
	legacy := name + "-legacy"
	mustCreate(t, newAPIProduct(productName, "v1", productVersion("v1", productComponent("api", "registry.example.com/adoptu:1", 8080))))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: productName})
	plan.Spec.MaxNamespaces = 2
	mustCreate(t, plan)
	createNamespace(t, legacy, nil, map[string]string{tenancyv1alpha1.AnnotationAdopt: name})

	userLabels := map[string]string{"app": "legacy"}
	userDeployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: productName + "-api", Namespace: legacy, Labels: userLabels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: userLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: userLabels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "legacy", Image: "registry.example.com/legacy:7"}}},
			},
		},
	}
	mustCreate(t, userDeployment)
	userService := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: productName + "-api", Namespace: legacy, Labels: userLabels},
		Spec:       corev1.ServiceSpec{Selector: userLabels, Ports: []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromInt32(8000)}}},
	}
	mustCreate(t, userService)
	before := map[string]client.Object{}
	for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
		if err := get(o, legacy, productName+"-api"); err != nil {
			t.Fatal(err)
		}
		before[fmt.Sprintf("%T", o)] = o
	}

	// Only the adopted namespace: envtest never finishes deleting a namespace, and a
	// created one would hold the tenant's deletion.
	tn := newTenant(name, planName, legacy)
	tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: productName, Namespace: legacy}}
	mustCreate(t, tn)
	got := waitTenantStalled(t, name, tenancyv1alpha1.ReasonObjectConflict)
	if c := findCondition(got, tenancyv1alpha1.ConditionProductsReady); c == nil || c.Reason != tenancyv1alpha1.ReasonObjectConflict ||
		!strings.Contains(c.Message, legacy+"/"+productName+"-api") {
		t.Errorf("ProductsReady = %s, want ObjectConflict naming %s/%s-api", describeConditions(got.Status.Conditions), legacy, productName)
	}
	// The namespace was adopted; the user's objects were not.
	eventually(t, 0, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", legacy); err != nil {
			return err
		}
		return hasTenantLabels(ns, name)
	})
	unchanged := func() error {
		for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
			if err := get(o, legacy, productName+"-api"); err != nil {
				return err
			}
			was := before[fmt.Sprintf("%T", o)]
			if o.GetResourceVersion() != was.GetResourceVersion() || !equality.Semantic.DeepEqual(o.GetLabels(), was.GetLabels()) {
				return fmt.Errorf("%T %s/%s was written: labels %v (was %v), resourceVersion %s (was %s)", o, legacy, o.GetName(),
					o.GetLabels(), was.GetLabels(), o.GetResourceVersion(), was.GetResourceVersion())
			}
		}
		return nil
	}
	consistently(t, 2*time.Second, unchanged)
	d, err := fetchDeployment(legacy, productName+"-api")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 || d.Spec.Template.Spec.Containers[0].Name != "legacy" ||
		!equality.Semantic.DeepEqual(d.Spec.Selector.MatchLabels, userLabels) {
		t.Errorf("the user's Deployment was merged into: selector %v, containers %v", d.Spec.Selector, d.Spec.Template.Spec.Containers)
	}

	// Deleting the tenant releases the namespace and leaves the user's objects as they were.
	mustDelete(t, tn)
	eventually(t, 0, func() error { return gone(&tenancyv1alpha1.Tenant{}, "", name) })
	if err := unchanged(); err != nil {
		t.Errorf("after the tenant was deleted: %v", err)
	}
	ns := &corev1.Namespace{}
	if err := get(ns, "", legacy); err != nil {
		t.Fatal(err)
	}
	if !ns.DeletionTimestamp.IsZero() || ns.Labels[tenancyv1alpha1.LabelTenant] != "" {
		t.Errorf("namespace %s after release: labels %v, deletionTimestamp %v; want it kept without the tenant label", legacy, ns.Labels, ns.DeletionTimestamp)
	}
}

// TestTamperedIsolationIsRestored: an admin who narrows tenant-isolation's podSelector to
// match nothing (a superset of the desired {}: the write-skip used to accept it, while the
// status said NetworkIsolated) or adds an ingress rule that admits everyone sees the
// operator put the policy back.
func TestTamperedIsolationIsRestored(t *testing.T) {
	t.Parallel()
	const name, planName = "tamper", "p-tamper"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)

	tamper := func(desc string, mutate func(*networkingv1.NetworkPolicy)) {
		t.Helper()
		np := &networkingv1.NetworkPolicy{}
		if err := get(np, name, "tenant-isolation"); err != nil {
			t.Fatal(err)
		}
		want := np.Spec.DeepCopy()
		patch := client.MergeFrom(np.DeepCopy())
		mutate(np)
		if err := k8s.Patch(testCtx, np, patch, client.FieldOwner("intruder")); err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		eventually(t, 0, func() error {
			got := &networkingv1.NetworkPolicy{}
			if err := get(got, name, "tenant-isolation"); err != nil {
				return err
			}
			if !equality.Semantic.DeepEqual(&got.Spec, want) {
				return fmt.Errorf("%s: tenant-isolation spec is %+v, want it restored to %+v", desc, got.Spec, *want)
			}
			return nil
		})
	}
	tamper("podSelector narrowed to match nothing", func(np *networkingv1.NetworkPolicy) {
		np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"nothing": "matches"}}
	})
	tamper("an ingress rule that admits every namespace", func(np *networkingv1.NetworkPolicy) {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
		})
	})
	tamper("the tenant peer's selector widened", func(np *networkingv1.NetworkPolicy) {
		np.Spec.Ingress[0].From[0].NamespaceSelector = &metav1.LabelSelector{}
	})
	waitTenantReady(t, name)
}

// TestReservedNamespaces: the operator's own namespace and the namespaces plans and
// products trust (a peer, a gateway) never become tenant namespaces, not even by adoption;
// a tenant namespace that becomes reserved is let go of.
func TestReservedNamespaces(t *testing.T) {
	t.Parallel()
	const planName = "p-reserved"
	plan := newPlan(planName, 2)
	plan.Spec.Network.AllowIngressFrom = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{corev1.LabelMetadataName: "resv-gw"},
	}}}
	mustCreate(t, plan)

	// The operator's namespace: the tenant "tenant-operator" may list it by name.
	const opTenant = "tenant-operator"
	mustCreate(t, newTenant(opTenant, planName, opTenant+"-x", testOperatorNamespace))
	tn := waitTenantStalled(t, opTenant, tenancyv1alpha1.ReasonReservedNamespace)
	if c := findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady); c == nil || !strings.Contains(c.Message, testOperatorNamespace) ||
		!strings.Contains(c.Message, "tenant-operator's own namespace") {
		t.Errorf("NamespacesReady message %q, want it to name %s as the operator's", messageOf(c), testOperatorNamespace)
	}
	// Its other namespace is provisioned; the reserved one is not made the tenant's (the
	// operator creates it for its product revisions, unlabelled, when it is missing).
	waitQuota(t, opTenant+"-x", "requests.cpu", "2", "pods", "10")
	opNS := &corev1.Namespace{}
	if err := get(opNS, "", testOperatorNamespace); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	if owner, ok := opNS.Labels[tenancyv1alpha1.LabelTenant]; ok {
		t.Errorf("reserved namespace %s carries %s=%s", testOperatorNamespace, tenancyv1alpha1.LabelTenant, owner)
	}

	// A plan's peer namespace, even handed over with the adopt annotation.
	createNamespace(t, "resv-gw", nil, map[string]string{tenancyv1alpha1.AnnotationAdopt: "resv"})
	mustCreate(t, newTenant("resv", planName, "resv", "resv-gw"))
	tn = waitTenantStalled(t, "resv", tenancyv1alpha1.ReasonReservedNamespace)
	if c := findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady); c == nil || !strings.Contains(c.Message, "resv-gw") ||
		!strings.Contains(c.Message, "ServicePlan "+planName) {
		t.Errorf("NamespacesReady message %q, want it to name resv-gw and plan %s", messageOf(c), planName)
	}
	consistently(t, time.Second, func() error { return untouched("resv-gw", "", "") })

	// A namespace the tenant has, which then becomes a product's gateway namespace, is
	// released: no tenant label, no owners' binding there any more.
	mustCreate(t, newTenant("resl", planName, "resl", "resl-gw"))
	waitTenantReady(t, "resl")
	product := newAPIProduct("resl-api", "v1", productVersion("v1", productComponent("api", "registry.example.com/resl:1", 8080)))
	product.Spec.Exposure = &tenancyv1alpha1.Exposure{Component: "api",
		Gateway: tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "resl-gw"}, Hostname: "{tenant}.resl.example.com"}
	mustCreate(t, product)
	tn = waitTenantStalled(t, "resl", tenancyv1alpha1.ReasonReservedNamespace)
	if c := findCondition(tn, tenancyv1alpha1.ConditionNamespacesReady); c == nil || !strings.Contains(c.Message, "ApiProduct resl-api") {
		t.Errorf("NamespacesReady message %q, want it to name ApiProduct resl-api", messageOf(c))
	}
	eventually(t, 0, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", "resl-gw"); err != nil {
			return err
		}
		if l := ns.Labels[tenancyv1alpha1.LabelTenant]; l != "" {
			return fmt.Errorf("namespace resl-gw still has tenant label %q", l)
		}
		return gone(&rbacv1.RoleBinding{}, "resl-gw", "tenant-owners")
	})
	// Removing it from the tenant heals the tenant.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "resl"}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Namespaces = tn.Spec.Namespaces[:1]
	})
	waitTenantReady(t, "resl")
}

// TestServicesOutsideTheFenceAreHeld: a plan without quota still gives every namespace a
// tenant-quota that holds NodePort and LoadBalancer Services at 0, and the API server
// refuses such a Service.
func TestServicesOutsideTheFenceAreHeld(t *testing.T) {
	t.Parallel()
	const name, planName = "fenced-svc", "p-fenced-svc"
	plan := newPlan(planName, 1)
	plan.Spec.Quota = nil
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	waitQuota(t, name)
	simulateQuotaController(t, name)
	for _, typ := range []corev1.ServiceType{corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(string(typ)), Namespace: name},
			Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "x"}, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		// A copy each try: a dry-run create that got through (before quota admission saw the
		// quota) fills in the cluster IP it would have allocated, and a Service sent again with
		// it is refused as Invalid, not by the quota.
		eventually(t, 0, func() error {
			return wantForbidden(k8s.Create(testCtx, svc.DeepCopy(), client.DryRunAll), "exceeded quota", "tenant-quota")
		})
	}
	ok := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-ip", Namespace: name},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "x"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if err := k8s.Create(testCtx, ok, client.DryRunAll); err != nil {
		t.Errorf("a ClusterIP Service: %v, want it allowed", err)
	}
}

// retainedPeers returns the namespace selectors of a retained NetworkPolicy's peers.
func retainedPeers(namespace, name string) ([]*metav1.LabelSelector, map[string]string, error) {
	np := &networkingv1.NetworkPolicy{}
	if err := get(np, namespace, name); err != nil {
		return nil, nil, err
	}
	var out []*metav1.LabelSelector
	for _, r := range np.Spec.Ingress {
		for _, p := range r.From {
			out = append(out, p.NamespaceSelector)
		}
	}
	for _, r := range np.Spec.Egress {
		for _, p := range r.To {
			out = append(out, p.NamespaceSelector)
		}
	}
	return out, np.Labels, nil
}

// selectsByName reports whether a selector selects exactly the namespaces names by name.
func selectsByName(s *metav1.LabelSelector, names ...string) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 1 &&
		s.MatchExpressions[0].Key == corev1.LabelMetadataName && s.MatchExpressions[0].Operator == metav1.LabelSelectorOpIn &&
		equality.Semantic.DeepEqual(s.MatchExpressions[0].Values, names)
}

// TestRetainAndReuse: with deletionPolicy Retain, a namespace removed from spec.namespaces
// is kept (not deleted), unlabelled; and the retained NetworkPolicies no longer admit by the
// tenant label, so a new tenant of the same name does not land inside the old fence.
func TestRetainAndReuse(t *testing.T) {
	t.Parallel()
	const name, planName = "retainr", "p-retainr"
	old := name + "-old"
	plan := newPlan(planName, 2)
	plan.Spec.Network.Egress = tenancyv1alpha1.EgressRestricted
	mustCreate(t, plan)
	tn := newTenant(name, planName, name, old)
	tn.Spec.DeletionPolicy = tenancyv1alpha1.DeletionRetain
	mustCreate(t, tn)
	waitTenantReady(t, name)

	// Removed from spec.namespaces: kept, unlabelled, its policies fenced by name.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Namespaces = tn.Spec.Namespaces[:1]
	})
	waitTenantReady(t, name)
	eventually(t, 0, func() error {
		ns := &corev1.Namespace{}
		if err := get(ns, "", old); err != nil {
			return err
		}
		if !ns.DeletionTimestamp.IsZero() {
			return fmt.Errorf("namespace %s is being deleted, want it retained", old)
		}
		if l := ns.Labels[tenancyv1alpha1.LabelTenant]; l != "" {
			return fmt.Errorf("namespace %s still has tenant label %q", old, l)
		}
		for _, policy := range []string{"tenant-isolation", "tenant-egress"} {
			peers, labels, err := retainedPeers(old, policy)
			if err != nil {
				return err
			}
			if labels[tenancyv1alpha1.LabelTenant] != "" || labels[tenancyv1alpha1.LabelManagedBy] != "" {
				return fmt.Errorf("%s/%s still has the operator's labels %v", old, policy, labels)
			}
			if !selectsByName(peers[0], old) {
				return fmt.Errorf("%s/%s first peer selects %+v, want namespace %s by name", old, policy, peers[0], old)
			}
		}
		return nil
	})

	// Deleting the tenant keeps its namespace, fenced by name.
	mustDelete(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}})
	eventually(t, 0, func() error { return gone(&tenancyv1alpha1.Tenant{}, "", name) })
	for _, policy := range []string{"tenant-isolation", "tenant-egress"} {
		peers, _, err := retainedPeers(name, policy)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			if p != nil && p.MatchLabels[tenancyv1alpha1.LabelTenant] != "" {
				t.Errorf("retained %s/%s still selects namespaces by the tenant label: %+v", name, policy, p)
			}
		}
		if !selectsByName(peers[0], name) {
			t.Errorf("retained %s/%s first peer %+v, want namespace %s by name", name, policy, peers[0], name)
		}
	}

	// A new tenant of the same name gets a namespace of its own, outside the old fence.
	fresh := newTenant(name, planName, name+"-new")
	mustCreate(t, fresh)
	waitTenantReady(t, name)
	ns := &corev1.Namespace{}
	if err := get(ns, "", name+"-new"); err != nil {
		t.Fatal(err)
	}
	for _, retained := range []string{name, old} {
		peers, _, err := retainedPeers(retained, "tenant-isolation")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			if p == nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(p)
			if err != nil {
				t.Fatal(err)
			}
			if sel.Matches(labelsOf(ns)) {
				t.Errorf("retained %s/tenant-isolation admits the new tenant's namespace %s (peer %+v)", retained, ns.Name, p)
			}
		}
	}
}

// labelsOf returns a namespace's labels with kubernetes.io/metadata.name, which the API
// server sets on every namespace.
func labelsOf(ns *corev1.Namespace) labels.Set {
	l := labels.Set{corev1.LabelMetadataName: ns.Name}
	for k, v := range ns.Labels {
		l[k] = v
	}
	return l
}

// TestPrivilegedPlanWarns: a plan with podSecurity privileged says so in its status, and
// stops saying so once it is restricted.
func TestPrivilegedPlanWarns(t *testing.T) {
	t.Parallel()
	const planName = "p-privileged"
	plan := newPlan(planName, 1)
	plan.Spec.PodSecurity = tenancyv1alpha1.PodSecurityPrivileged
	mustCreate(t, plan)
	eventually(t, 0, func() error {
		p := &tenancyv1alpha1.ServicePlan{}
		if err := get(p, "", planName); err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionPrivilegedPods, metav1.ConditionTrue, tenancyv1alpha1.ReasonPrivilegedPods); err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, ""); err != nil {
			return fmt.Errorf("a privileged plan still works: %w", err)
		}
		return nil
	})
	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: planName}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.PodSecurity = tenancyv1alpha1.PodSecurityRestricted
	})
	eventually(t, 0, func() error {
		p := &tenancyv1alpha1.ServicePlan{}
		if err := get(p, "", planName); err != nil {
			return err
		}
		if c := findPlanCondition(p, tenancyv1alpha1.ConditionPrivilegedPods); c != nil {
			return fmt.Errorf("restricted plan still has %s=%s", c.Type, c.Status)
		}
		return nil
	})
}

func findPlanCondition(p *tenancyv1alpha1.ServicePlan, typ string) *metav1.Condition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
