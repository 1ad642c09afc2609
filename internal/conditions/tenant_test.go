package conditions

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/render"
)

// observed is one pass's findings, for SetTenant.
type observed struct {
	suspended  bool
	quota      bool
	namespaces []Namespace
	failures   map[string]error
	over, zero string
	products   ProductOutcome
}

func (o observed) apply() *tenancyv1alpha1.Tenant {
	t := &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 4}}
	t.Spec.Suspended = o.suspended
	plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "pro"}}
	if o.quota {
		plan.Spec.Quota = &tenancyv1alpha1.PlanQuota{Hard: rl("pods", "10")}
	}
	ns := o.namespaces
	if ns == nil {
		ns = []Namespace{{Name: "acme", Phase: tenancyv1alpha1.NamespaceActive}}
	}
	failures := o.failures
	if failures == nil {
		failures = map[string]error{}
	}
	SetTenant(t, plan, ns, failures, o.over, o.zero, o.products)
	return t
}

// want is a condition's status, reason and a part of its message.
type want struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func check(t *testing.T, tn *tenancyv1alpha1.Tenant, typ string, w want) {
	t.Helper()
	c := meta.FindStatusCondition(tn.Status.Conditions, typ)
	if c == nil {
		t.Fatalf("no %s condition", typ)
	}
	if c.Status != w.status || c.Reason != w.reason || !strings.Contains(c.Message, w.message) {
		t.Errorf("%s = %s %s %q, want %s %s containing %q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
	}
	if c.ObservedGeneration != tn.Generation {
		t.Errorf("%s observedGeneration %d, want %d", typ, c.ObservedGeneration, tn.Generation)
	}
}

var (
	applyFailed = errors.New("applying NetworkPolicy acme/tenant-isolation: the server is busy")
	conflict    = &apply.ConflictError{Kind: "Deployment", Namespace: "acme", Name: "payments-api", Tenant: "acme"}
)

func TestNamespacesReady(t *testing.T) {
	f, tr := metav1.ConditionFalse, metav1.ConditionTrue
	tests := []struct {
		name string
		obs  observed
		want want
	}{
		{"all active", observed{}, want{tr, tenancyv1alpha1.ReasonReconciled, "All 1 namespaces are active"}},
		{"reserved wins over a conflict", observed{namespaces: []Namespace{
			{Name: "acme", Phase: tenancyv1alpha1.NamespaceConflict, ConflictOwner: "globex"},
			{Name: "acme-gw", Phase: tenancyv1alpha1.NamespaceConflict, Reserved: "ServicePlan pro admits it as a peer"},
		}}, want{f, tenancyv1alpha1.ReasonReservedNamespace, "namespace acme-gw is reserved: ServicePlan pro admits it as a peer"}},
		{"another tenant's namespace names the owner, not adoption", observed{namespaces: []Namespace{
			{Name: "acme", Phase: tenancyv1alpha1.NamespaceConflict, ConflictOwner: "globex"},
		}}, want{f, tenancyv1alpha1.ReasonNamespaceConflict, "belongs to tenant globex: remove it from spec.namespaces here"}},
		{"an unowned namespace suggests adoption", observed{namespaces: []Namespace{
			{Name: "acme", Phase: tenancyv1alpha1.NamespaceConflict},
		}}, want{f, tenancyv1alpha1.ReasonNamespaceConflict, "annotate it tenancy.openplatform.io/adopt=acme"}},
		{"a failed apply", observed{failures: map[string]error{tenancyv1alpha1.ConditionNamespacesReady: applyFailed}},
			want{f, tenancyv1alpha1.ReasonApplyFailed, "the server is busy"}},
		{"terminating", observed{namespaces: []Namespace{{Name: "acme", Phase: tenancyv1alpha1.NamespaceTerminating}}},
			want{f, tenancyv1alpha1.ReasonNamespaceTerminating, "still terminating"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.obs.apply(), tenancyv1alpha1.ConditionNamespacesReady, tc.want) })
	}
}

func TestQuotaReady(t *testing.T) {
	f, tr := metav1.ConditionFalse, metav1.ConditionTrue
	tests := []struct {
		name string
		obs  observed
		want want
	}{
		{"shares in place", observed{quota: true}, want{tr, tenancyv1alpha1.ReasonReconciled, "share of plan pro's quota"}},
		{"no quota in the plan", observed{}, want{tr, tenancyv1alpha1.ReasonReconciled, "NodePort and LoadBalancer Services are held at 0"}},
		{"a failed apply", observed{quota: true, failures: map[string]error{tenancyv1alpha1.ConditionQuotaReady: applyFailed}},
			want{f, tenancyv1alpha1.ReasonApplyFailed, "busy"}},
		{"a zero share before over budget", observed{quota: true, zero: "namespace acme-b runs payments but its share of pods is 0", over: "acme uses 3 pods"},
			want{f, tenancyv1alpha1.ReasonZeroQuotaShare, "acme-b"}},
		{"over budget", observed{quota: true, over: "Namespace acme uses 12 pods, above its share of 10"},
			want{f, tenancyv1alpha1.ReasonOverBudget, "above its share"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.obs.apply(), tenancyv1alpha1.ConditionQuotaReady, tc.want) })
	}
}

func TestAppliedConditions(t *testing.T) {
	f, tr := metav1.ConditionFalse, metav1.ConditionTrue
	for _, typ := range []string{tenancyv1alpha1.ConditionNetworkIsolated, tenancyv1alpha1.ConditionAccessGranted} {
		t.Run(typ+"/in place", func(t *testing.T) {
			check(t, observed{}.apply(), typ, want{tr, tenancyv1alpha1.ReasonReconciled, ""})
		})
		t.Run(typ+"/a failed apply", func(t *testing.T) {
			check(t, observed{failures: map[string]error{typ: applyFailed}}.apply(), typ, want{f, tenancyv1alpha1.ReasonApplyFailed, "busy"})
		})
		t.Run(typ+"/an object that is not the tenant's", func(t *testing.T) {
			check(t, observed{failures: map[string]error{typ: conflict}}.apply(), typ, want{f, tenancyv1alpha1.ReasonObjectConflict, "acme/payments-api"})
		})
	}
}

func TestProductsReady(t *testing.T) {
	f, tr := metav1.ConditionFalse, metav1.ConditionTrue
	tests := []struct {
		name string
		obs  observed
		want want
	}{
		{"no products", observed{}, want{tr, tenancyv1alpha1.ReasonNoProducts, ""}},
		{"all available", observed{products: ProductOutcome{Total: 2, Ready: 2}}, want{tr, tenancyv1alpha1.ReasonReconciled, "All 2 products"}},
		{"suspended", observed{suspended: true, products: ProductOutcome{Total: 1, Ready: 1}}, want{tr, tenancyv1alpha1.ReasonSuspended, "scaled to 0"}},
		{"rolling out", observed{products: ProductOutcome{Total: 2, Ready: 1}}, want{f, tenancyv1alpha1.ReasonProgressing, "1 of 2"}},
		{"Pods refused", observed{products: ProductOutcome{Total: 2, Ready: 1, Health: ProductHealth{
			Rejected: `Deployment acme/payments-api cannot create its Pods: pods "x" is forbidden`, Deadline: "Deployment acme/reports-api did not"}}},
			want{f, tenancyv1alpha1.ReasonPodsRejected, `pods "x" is forbidden`}},
		{"past the deadline", observed{products: ProductOutcome{Total: 1, Health: ProductHealth{Deadline: "Deployment acme/payments-api did not become available"}}},
			want{f, tenancyv1alpha1.ReasonProgressDeadlineExceeded, "acme/payments-api"}},
		{"not resolvable", observed{products: ProductOutcome{Err: &render.ResolveError{Reason: tenancyv1alpha1.ReasonNameCollision, Message: "Products a and a-b would both make"}}},
			want{f, tenancyv1alpha1.ReasonNameCollision, "a-b"}},
		{"an object conflict", observed{products: ProductOutcome{Total: 1}, failures: map[string]error{tenancyv1alpha1.ConditionProductsReady: conflict}},
			want{f, tenancyv1alpha1.ReasonObjectConflict, "payments-api"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.obs.apply(), tenancyv1alpha1.ConditionProductsReady, tc.want) })
	}
}

// TestSummary: Ready, Reconciling and Stalled as kstatus reads them.
func TestSummary(t *testing.T) {
	tests := []struct {
		name                 string
		obs                  observed
		ready                want
		reconciling, stalled bool
		stalledReason        string
	}{
		{"all in place", observed{quota: true}, want{metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled, ""}, false, false, ""},
		{"over budget is not a provisioning failure", observed{quota: true, over: "acme uses 12 pods"},
			want{metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled, ""}, false, false, ""},
		{"a failed apply is retried", observed{failures: map[string]error{tenancyv1alpha1.ConditionNetworkIsolated: applyFailed}},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonApplyFailed, "busy"}, true, false, ""},
		{"rolling out", observed{products: ProductOutcome{Total: 1}},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing, ""}, true, false, ""},
		{"a conflict needs an admin", observed{namespaces: []Namespace{{Name: "acme", Phase: tenancyv1alpha1.NamespaceConflict}}},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonNamespaceConflict, ""}, false, true, tenancyv1alpha1.ReasonNamespaceConflict},
		{"an object conflict needs someone", observed{failures: map[string]error{tenancyv1alpha1.ConditionAccessGranted: conflict}},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonObjectConflict, ""}, false, true, tenancyv1alpha1.ReasonObjectConflict},
		{"Pods refused", observed{products: ProductOutcome{Total: 1, Health: ProductHealth{Rejected: "refused"}}},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonPodsRejected, "refused"}, false, true, tenancyv1alpha1.ReasonPodsRejected},
		{"a zero share", observed{quota: true, zero: "share of pods is 0"},
			want{metav1.ConditionFalse, tenancyv1alpha1.ReasonZeroQuotaShare, ""}, false, true, tenancyv1alpha1.ReasonZeroQuotaShare},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := tc.obs.apply()
			check(t, tn, tenancyv1alpha1.ConditionReady, tc.ready)
			if got := meta.IsStatusConditionTrue(tn.Status.Conditions, tenancyv1alpha1.ConditionReconciling); got != tc.reconciling {
				t.Errorf("Reconciling True = %v, want %v", got, tc.reconciling)
			}
			st := meta.FindStatusCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled)
			if (st != nil && st.Status == metav1.ConditionTrue) != tc.stalled || (tc.stalled && st.Reason != tc.stalledReason) {
				t.Errorf("Stalled = %+v, want stalled %v with reason %s", st, tc.stalled, tc.stalledReason)
			}
		})
	}
}

// TestMarkDeleting: no detail condition still says what held before the deletion.
func TestMarkDeleting(t *testing.T) {
	tn := observed{quota: true, products: ProductOutcome{Total: 1, Ready: 1}}.apply()
	Stall(tn, tenancyv1alpha1.ReasonPlanNotFound, "gone")
	MarkDeleting(tn, "Waiting for namespace acme to be deleted.")
	check(t, tn, tenancyv1alpha1.ConditionReady, want{metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting, "namespace acme"})
	for _, typ := range DetailConditions {
		check(t, tn, typ, want{metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting, "being deleted"})
	}
	if meta.FindStatusCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionStalled) != nil {
		t.Error("a tenant being deleted is still Stalled")
	}
}

// TestTenantEvents: an Event per change of status, none for a status that stays.
func TestTenantEvents(t *testing.T) {
	status := func(plan string, conds ...metav1.Condition) *tenancyv1alpha1.TenantStatus {
		return &tenancyv1alpha1.TenantStatus{Plan: plan, Conditions: conds}
	}
	cond := func(typ string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg}
	}
	conflictNS := cond(tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonNamespaceConflict, "namespace acme-x belongs to tenant globex")
	stalledConflict := cond(tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, tenancyv1alpha1.ReasonNamespaceConflict, "namespace acme-x belongs to tenant globex")
	stalledPods := cond(tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, tenancyv1alpha1.ReasonPodsRejected, "Deployment acme/payments-api cannot create its Pods")
	tests := []struct {
		name          string
		before, after *tenancyv1alpha1.TenantStatus
		want          []string // "Type Reason: note part"
	}{
		{"nothing changed", status("pro", stalledPods), status("pro", stalledPods), nil},
		{"a new tenant gets a plan: no PlanChanged", status(""), status("pro"), nil},
		{"moved to another plan", status("free"), status("pro"), []string{"Normal PlanChanged: from free to pro"}},
		{"a conflict appears, stalled for it: one Event", status("pro"), status("pro", conflictNS, stalledConflict),
			[]string{"Warning NamespaceConflict: belongs to tenant globex"}},
		{"a conflict appears while stalled for something else: the conflict's Event", status("pro", stalledPods), status("pro", conflictNS, stalledPods),
			[]string{"Warning NamespaceConflict: belongs to tenant globex"}},
		{"stalled for a new reason", status("pro", stalledConflict), status("pro", stalledPods),
			[]string{"Warning PodsRejected: cannot create its Pods"}},
		{"healed: no Event", status("pro", stalledPods), status("pro"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TenantEvents(tc.before, tc.after)
			if len(got) != len(tc.want) {
				t.Fatalf("events %+v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				head, part, _ := strings.Cut(w, ": ")
				if got[i].Type+" "+got[i].Reason != head || !strings.Contains(got[i].Note, part) {
					t.Errorf("event %d = %s %s %q, want %s", i, got[i].Type, got[i].Reason, got[i].Note, w)
				}
			}
		})
	}
}
