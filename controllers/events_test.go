package controllers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestTenantEvents: a tenant's Events tell its story, one Event per real change: each
// namespace created, the move to another plan, each product's credentials rotated, each
// namespace deleted with the tenant. Reconciles that change nothing (metadata touches,
// repairing a deleted policy) add no Event and bump no series count. An operator restart
// is TestTenantEventsAcrossRestart's: it restarts the manager, so it runs on its own.
func TestTenantEvents(t *testing.T) {
	t.Parallel()
	const name, small, large = "t41-events", "p41-small", "p41-large"
	const orders, billing = "a41-orders", "a41-billing"
	dev := name + "-dev"
	tenant, want := startEventsStory(t, name, small, orders, billing)
	noNewEvents(t, name, 2*time.Second, want...)

	// No-op reconciles: metadata touches, then a repair of a policy deleted under the
	// operator (a repair, not a change the tenant made: no Event either).
	for i := range 3 {
		touchTenant(t, tenant, fmt.Sprint(i))
		noNewEvents(t, name, 500*time.Millisecond, want...)
	}
	repairPolicy(t, dev)
	noNewEvents(t, name, 3*time.Second, want...)

	// Another plan: one PlanChanged naming both plans.
	largePlan := newPlan(large, 2)
	largePlan.Spec.Quota.Hard = rl("requests.cpu", "8", "pods", "40")
	largePlan.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: orders}, {Name: billing}}
	mustCreate(t, largePlan)
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Plan = large })
	waitQuota(t, name, "requests.cpu", "4", "pods", "20")
	want = append(want, wantEvent{"Normal", "PlanChanged", fmt.Sprintf("Plan changed from %s to %s", small, large)})
	waitEvents(t, name, want...)
	eventually(t, 0, func() error {
		tn, err := fetchTenant(name)
		if err != nil {
			return err
		}
		if tn.Status.Plan != large || tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("status.plan = %q at generation %d of %d, want %s", tn.Status.Plan, tn.Status.ObservedGeneration, tn.Generation, large)
		}
		return nil
	})
	noNewEvents(t, name, 2*time.Second, want...)

	// Rotation: one CredentialsRotated per product, each naming its product.
	keys := map[string]string{}
	for _, p := range []string{orders, billing} {
		key, err := apiKey(name, p)
		if err != nil {
			t.Fatal(err)
		}
		keys[p] = key
	}
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Annotations[tenancyv1alpha1.AnnotationRotateCredentials] = "2026-02-01"
	})
	for _, p := range []string{orders, billing} {
		want = append(want, wantEvent{"Normal", "CredentialsRotated", fmt.Sprintf("Rotated the API key of product %s in namespace %s", p, name)})
	}
	waitEvents(t, name, want...)
	eventually(t, 0, func() error {
		for _, p := range []string{orders, billing} {
			if key, err := apiKey(name, p); err != nil || key == keys[p] {
				return fmt.Errorf("product %s: API key %q (err %v) after rotation, want a new key", p, key, err)
			}
		}
		return nil
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, orders+"-api", billing+"-api")
	touchTenant(t, tenant, "after-rotation")
	noNewEvents(t, name, 2*time.Second, want...)

	// Deletion: one NamespaceDeleted per namespace, not one per requeue while the tenant
	// waits for them (envtest has no namespace controller: they stay Terminating).
	mustDelete(t, tenant)
	for _, ns := range []string{name, dev} {
		want = append(want, wantEvent{"Normal", "NamespaceDeleted", "Deleted namespace " + ns + ": the tenant is being deleted"})
	}
	waitEvents(t, name, want...)
	noNewEvents(t, name, testNamespaceGonePoll+time.Second, want...)
	removeFinalizers(t, name)
}

// TestTenantEventsAcrossRestart: a restarted operator, which remembers nothing of the
// Events the stopped one recorded, adds none for a tenant that did not change, also when
// it repairs a policy deleted under it. It restarts the manager, so it is not parallel.
func TestTenantEventsAcrossRestart(t *testing.T) {
	const name, plan = "t44-restart", "p44-restart"
	const orders, billing = "a44-orders", "a44-billing"
	_, want := startEventsStory(t, name, plan, orders, billing)

	restartManager(t)
	// The new manager reconciles this tenant: it puts back a policy deleted under it
	// (a repair, not a change the tenant made: no Event either).
	repairPolicy(t, name+"-dev")
	noNewEvents(t, name, 3*time.Second, want...)
}

// startEventsStory creates the products orders and billing, a two-namespace plan with
// both (requests.cpu 4, pods 20) and a tenant on it with the namespaces name and name-dev;
// it waits until the tenant runs its products and has recorded exactly its two
// NamespaceCreated Events, and returns the tenant and those Events.
func startEventsStory(t *testing.T, name, plan, orders, billing string) (*tenancyv1alpha1.Tenant, []wantEvent) {
	t.Helper()
	dev := name + "-dev"
	for _, p := range []string{orders, billing} {
		mustCreate(t, newAPIProduct(p, "v1", productVersion("v1", productComponent("api", "registry.example.com/"+p+":1.0.0", 8080))))
	}
	sp := newPlan(plan, 2)
	sp.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: orders}, {Name: billing}}
	mustCreate(t, sp)
	tenant := newTenant(name, plan, name, dev)
	mustCreate(t, tenant)

	want := []wantEvent{
		{"Normal", "NamespaceCreated", "Created namespace " + name},
		{"Normal", "NamespaceCreated", "Created namespace " + dev},
	}
	waitEvents(t, name, want...)
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, orders+"-api", billing+"-api")
	if err := matchEvents(name, want); err != nil {
		t.Fatal(err)
	}
	return tenant, want
}

// TestTenantEventsConflict: a namespace that belongs to someone else is reported once, as a
// Warning, and not again on every reconcile; handing it over records its adoption.
func TestTenantEventsConflict(t *testing.T) {
	t.Parallel()
	const name, planName = "t43-conflict", "p43-conflict"
	taken := name + "-taken"
	createNamespace(t, taken, map[string]string{"team": "someone-else"}, nil)
	mustCreate(t, newPlan(planName, 2))
	tenant := newTenant(name, planName, name, taken)
	mustCreate(t, tenant)

	waitTenantStalled(t, name, tenancyv1alpha1.ReasonNamespaceConflict)
	want := []wantEvent{
		{"Normal", "NamespaceCreated", "Created namespace " + name},
		{"Warning", "NamespaceConflict", "namespace " + taken + " already exists and does not belong to this tenant"},
	}
	waitEvents(t, name, want...)
	for i := range 3 {
		touchTenant(t, tenant, fmt.Sprint(i))
		noNewEvents(t, name, 500*time.Millisecond, want...)
	}
	waitTenantStalled(t, name, tenancyv1alpha1.ReasonNamespaceConflict)
	noNewEvents(t, name, 2*time.Second, want...)

	// An admin hands the namespace over.
	mustUpdate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: taken}}, func(ns *corev1.Namespace) {
		ns.Annotations = map[string]string{tenancyv1alpha1.AnnotationAdopt: name}
	})
	waitTenantReady(t, name)
	want = append(want, wantEvent{"Normal", "NamespaceAdopted", "Adopted namespace " + taken})
	waitEvents(t, name, want...)
	noNewEvents(t, name, 2*time.Second, want...)
}

// touchTenant sets an annotation the operator does not use. The Tenant watch passes
// annotation changes, so each touch is a reconcile that has nothing to change.
func touchTenant(t *testing.T, tenant *tenancyv1alpha1.Tenant, value string) {
	t.Helper()
	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		if tn.Annotations == nil {
			tn.Annotations = map[string]string{}
		}
		tn.Annotations["example.com/touched"] = value
	})
}

// wantEvent is an Event a user should see once: type, reason and a part of the note.
type wantEvent struct{ typ, reason, note string }

func (w wantEvent) String() string { return fmt.Sprintf("%s %s %q", w.typ, w.reason, w.note) }

// tenantEvents lists the events.k8s.io Events regarding the tenant (what `kubectl events
// --for tenant/NAME` shows), each as "Type Reason: note", with " (xN)" when the recorder
// folded N occurrences into a series.
func tenantEvents(name string) ([]string, error) {
	tn, err := fetchTenant(name)
	if err != nil {
		return nil, err
	}
	events, err := regardingEvents("Tenant", name, tn.UID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range events {
		s := fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Note)
		if e.Series != nil && e.Series.Count > 1 {
			s += fmt.Sprintf(" (x%d)", e.Series.Count)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out, nil
}

// regardingEvents are the events.k8s.io Events regarding the tenancy object of this kind,
// name and UID (what `kubectl events --for` shows).
func regardingEvents(kind, name string, uid types.UID) ([]eventsv1.Event, error) {
	list := &eventsv1.EventList{}
	// Events about cluster-scoped objects are recorded in the default namespace.
	if err := k8s.List(testCtx, list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
		return nil, err
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		r := e.Regarding
		if r.Kind == kind && r.APIVersion == tenancyv1alpha1.GroupVersion.String() && r.Name == name && r.UID == uid {
			out = append(out, e)
		}
	}
	return out, nil
}

// matchEvents reports how the tenant's Events differ from want: every wanted Event exactly
// once (one Event object, no series), and nothing else.
func matchEvents(name string, want []wantEvent) error {
	got, err := tenantEvents(name)
	if err != nil {
		return err
	}
	rest := slices.Clone(got)
	var problems []string
	for _, w := range want {
		i := slices.IndexFunc(rest, func(s string) bool {
			return strings.HasPrefix(s, w.typ+" "+w.reason+": ") && strings.Contains(s, w.note)
		})
		if i < 0 {
			problems = append(problems, "missing "+w.String())
			continue
		}
		if strings.HasSuffix(rest[i], ")") && strings.Contains(rest[i], " (x") {
			problems = append(problems, "recorded more than once: "+rest[i])
		}
		rest = slices.Delete(rest, i, i+1)
	}
	for _, s := range rest {
		problems = append(problems, "unexpected: "+s)
	}
	if len(problems) > 0 {
		return fmt.Errorf("events of tenant %s: %s\nall events:\n  %s", name, strings.Join(problems, "; "), strings.Join(got, "\n  "))
	}
	return nil
}

// waitEvents waits until the tenant's Events are exactly want.
func waitEvents(t *testing.T, name string, want ...wantEvent) {
	t.Helper()
	eventually(t, 0, func() error { return matchEvents(name, want) })
}

// noNewEvents checks for d that the tenant's Events stay exactly want: no new Event, and no
// repeat folded into an existing one.
func noNewEvents(t *testing.T, name string, d time.Duration, want ...wantEvent) {
	t.Helper()
	if err := matchEvents(name, want); err != nil {
		t.Fatal(err)
	}
	consistently(t, d, func() error { return matchEvents(name, want) })
}

// repairPolicy deletes the tenant-isolation NetworkPolicy in a namespace and waits for the
// operator to create it again, which shows that the operator is reconciling the tenant.
func repairPolicy(t *testing.T, namespace string) {
	t.Helper()
	np := &networkingv1.NetworkPolicy{}
	if err := get(np, namespace, "tenant-isolation"); err != nil {
		t.Fatal(err)
	}
	mustDelete(t, np)
	eventually(t, 0, func() error {
		again := &networkingv1.NetworkPolicy{}
		if err := get(again, namespace, "tenant-isolation"); err != nil {
			return err
		}
		if again.UID == np.UID {
			return errors.New("tenant-isolation not recreated yet")
		}
		return nil
	})
}
