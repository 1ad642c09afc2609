package controllers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
)

// TestTenantBecomesReadyWithEveryObject: a tenant on a full plan gets every object of the
// contract, reports Ready with every detail condition, and then leaves everything alone.
func TestTenantBecomesReadyWithEveryObject(t *testing.T) {
	t.Parallel()
	const name, planName = "t01-acme", "p01-pro"
	dev := name + "-dev"
	reader := "tenancy:" + name + ":reader"

	mustCreate(t, &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: planName},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			MaxNamespaces: 2,
			Quota:         &tenancyv1alpha1.PlanQuota{Hard: rl("requests.cpu", "8", "pods", "100")},
			LimitRange: &tenancyv1alpha1.PlanLimitRange{
				DefaultRequest: rl("cpu", "100m", "memory", "128Mi"),
				Default:        rl("cpu", "500m", "memory", "512Mi"),
				Max:            rl("cpu", "4", "memory", "8Gi"),
			},
			OwnerRole: tenancyv1alpha1.OwnerRoleEdit,
			Network: tenancyv1alpha1.PlanNetwork{
				Egress:        tenancyv1alpha1.EgressRestricted,
				AllowEgressTo: []string{"10.20.0.0/16"},
			},
		},
	})
	mustCreate(t, &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: tenancyv1alpha1.TenantSpec{
			DisplayName: "Acme Corp",
			Plan:        planName,
			Owners: []tenancyv1alpha1.Owner{
				{Kind: tenancyv1alpha1.OwnerUser, Name: "alice@acme.example"},
				{Kind: tenancyv1alpha1.OwnerGroup, Name: "acme-admins"},
				{Kind: tenancyv1alpha1.OwnerServiceAccount, Name: "deployer", Namespace: name},
			},
			Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: name, QuotaWeight: 3}, {Name: dev, QuotaWeight: 1}},
		},
	})

	tn := waitTenantReady(t, name)

	// Status, as `kubectl get tenant -o yaml` shows it.
	for _, typ := range []string{
		tenancyv1alpha1.ConditionNamespacesReady, tenancyv1alpha1.ConditionQuotaReady,
		tenancyv1alpha1.ConditionNetworkIsolated, tenancyv1alpha1.ConditionAccessGranted,
		tenancyv1alpha1.ConditionProductsReady,
	} {
		if err := wantCondition(tn.Status.Conditions, typ, metav1.ConditionTrue, ""); err != nil {
			t.Error(err)
		}
	}
	for _, typ := range []string{tenancyv1alpha1.ConditionReconciling, tenancyv1alpha1.ConditionStalled} {
		if err := notTrue(tn.Status.Conditions, typ); err != nil {
			t.Error(err)
		}
	}
	if tn.Status.ObservedGeneration != tn.Generation {
		t.Errorf("status.observedGeneration = %d, want generation %d", tn.Status.ObservedGeneration, tn.Generation)
	}
	if len(tn.Status.Namespaces) != 2 {
		t.Errorf("status.namespaces = %+v, want %s and %s", tn.Status.Namespaces, name, dev)
	}
	for _, ns := range []string{name, dev} {
		if s, ok := namespaceStatus(tn, ns); !ok || s.Phase != tenancyv1alpha1.NamespaceActive || s.Adopted {
			t.Errorf("status.namespaces entry for %s = %+v (found %v), want phase Active, not adopted", ns, s, ok)
		}
	}
	if tn.Status.NamespaceCount != 2 {
		t.Errorf("status.namespaceCount = %d, want 2", tn.Status.NamespaceCount)
	}
	if tn.Status.ProductsReady != "0/0" {
		t.Errorf("status.productsReady = %q, want 0/0", tn.Status.ProductsReady)
	}
	if tn.Status.Plan != planName {
		t.Errorf("status.plan = %q, want %s", tn.Status.Plan, planName)
	}
	if tn.Status.Quota == nil {
		t.Errorf("status.quota is empty, want hard = the plan's budget")
	} else if err := sameResources(tn.Status.Quota.Hard, "requests.cpu", "8", "pods", "100"); err != nil {
		t.Errorf("status.quota.hard: %v", err)
	}
	if !slices.Contains(tn.Finalizers, tenancyv1alpha1.TenantFinalizer) {
		t.Errorf("finalizers = %v, want %s", tn.Finalizers, tenancyv1alpha1.TenantFinalizer)
	}

	// Namespaces.
	for _, nsName := range []string{name, dev} {
		ns := &corev1.Namespace{}
		if err := get(ns, "", nsName); err != nil {
			t.Fatalf("namespace %s: %v", nsName, err)
		}
		if err := hasTenantLabels(ns, name); err != nil {
			t.Error(err)
		}
		for _, mode := range []string{"enforce", "audit", "warn"} {
			if got := ns.Labels["pod-security.kubernetes.io/"+mode]; got != "restricted" {
				t.Errorf("namespace %s: pod-security.kubernetes.io/%s = %q, want restricted", nsName, mode, got)
			}
		}
	}

	// Quota shares: 3/4 and 1/4 of the budget.
	for ns, want := range map[string][]string{
		name: {"requests.cpu", "6", "pods", "75"},
		dev:  {"requests.cpu", "2", "pods", "25"},
	} {
		rq := &corev1.ResourceQuota{}
		if err := get(rq, ns, "tenant-quota"); err != nil {
			t.Errorf("tenant-quota in %s: %v", ns, err)
			continue
		}
		if err := sameResources(rq.Spec.Hard, withFencedServices(want...)...); err != nil {
			t.Errorf("tenant-quota in %s: %v", ns, err)
		}
		if err := hasTenantLabels(rq, name); err != nil {
			t.Error(err)
		}
	}

	for _, ns := range []string{name, dev} {
		// LimitRange from the plan.
		lr := &corev1.LimitRange{}
		if err := get(lr, ns, "tenant-limits"); err != nil {
			t.Errorf("tenant-limits in %s: %v", ns, err)
		} else {
			if err := hasTenantLabels(lr, name); err != nil {
				t.Error(err)
			}
			if len(lr.Spec.Limits) != 1 || lr.Spec.Limits[0].Type != corev1.LimitTypeContainer {
				t.Errorf("tenant-limits in %s: limits = %+v, want one Container item", ns, lr.Spec.Limits)
			} else {
				item := lr.Spec.Limits[0]
				if err := sameResources(item.Default, "cpu", "500m", "memory", "512Mi"); err != nil {
					t.Errorf("tenant-limits in %s: default: %v", ns, err)
				}
				if err := sameResources(item.DefaultRequest, "cpu", "100m", "memory", "128Mi"); err != nil {
					t.Errorf("tenant-limits in %s: defaultRequest: %v", ns, err)
				}
				if err := sameResources(item.Max, "cpu", "4", "memory", "8Gi"); err != nil {
					t.Errorf("tenant-limits in %s: max: %v", ns, err)
				}
			}
		}

		// Ingress isolation: from the tenant's own namespaces.
		iso := &networkingv1.NetworkPolicy{}
		if err := get(iso, ns, "tenant-isolation"); err != nil {
			t.Errorf("tenant-isolation in %s: %v", ns, err)
		} else {
			if err := hasTenantLabels(iso, name); err != nil {
				t.Error(err)
			}
			if !slices.Equal(iso.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) ||
				len(iso.Spec.PodSelector.MatchLabels)+len(iso.Spec.PodSelector.MatchExpressions) != 0 {
				t.Errorf("tenant-isolation in %s: want an Ingress policy on all pods, got %+v", ns, iso.Spec)
			}
			if !hasTenantNamespacePeer(iso.Spec.Ingress, name) {
				t.Errorf("tenant-isolation in %s: ingress %+v does not admit the tenant's namespaces", ns, iso.Spec.Ingress)
			}
		}

		// Restricted egress: tenant, DNS and the allowed CIDR.
		eg := &networkingv1.NetworkPolicy{}
		if err := get(eg, ns, "tenant-egress"); err != nil {
			t.Errorf("tenant-egress in %s: %v", ns, err)
		} else {
			if err := hasTenantLabels(eg, name); err != nil {
				t.Error(err)
			}
			if err := checkEgress(eg, name, "10.20.0.0/16"); err != nil {
				t.Errorf("tenant-egress in %s: %v", ns, err)
			}
		}

		// Owners get the plan's role.
		rb := &rbacv1.RoleBinding{}
		if err := get(rb, ns, "tenant-owners"); err != nil {
			t.Errorf("tenant-owners in %s: %v", ns, err)
		} else {
			if err := hasTenantLabels(rb, name); err != nil {
				t.Error(err)
			}
			if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "edit" {
				t.Errorf("tenant-owners in %s: roleRef = %+v, want ClusterRole edit", ns, rb.RoleRef)
			}
			if err := sameSubjects(rb.Subjects, acmeOwners(name)); err != nil {
				t.Errorf("tenant-owners in %s: %v", ns, err)
			}
		}
	}

	// Cluster-wide reader RBAC.
	cr := &rbacv1.ClusterRole{}
	if err := get(cr, "", reader); err != nil {
		t.Errorf("ClusterRole %s: %v", reader, err)
	} else {
		if err := hasTenantLabels(cr, name); err != nil {
			t.Error(err)
		}
		want := rbacv1.PolicyRule{
			APIGroups: []string{tenancyv1alpha1.GroupVersion.Group}, Resources: []string{"tenants"},
			ResourceNames: []string{name}, Verbs: []string{"get", "list", "watch"},
		}
		if len(cr.Rules) != 1 || !slices.Equal(cr.Rules[0].APIGroups, want.APIGroups) ||
			!slices.Equal(cr.Rules[0].Resources, want.Resources) ||
			!slices.Equal(cr.Rules[0].ResourceNames, want.ResourceNames) ||
			!slices.Equal(cr.Rules[0].Verbs, want.Verbs) {
			t.Errorf("ClusterRole %s: rules = %+v, want [%+v]", reader, cr.Rules, want)
		}
	}
	crb := &rbacv1.ClusterRoleBinding{}
	if err := get(crb, "", reader); err != nil {
		t.Errorf("ClusterRoleBinding %s: %v", reader, err)
	} else {
		if err := hasTenantLabels(crb, name); err != nil {
			t.Error(err)
		}
		if crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != reader {
			t.Errorf("ClusterRoleBinding %s: roleRef = %+v, want ClusterRole %s", reader, crb.RoleRef, reader)
		}
		if err := sameSubjects(crb.Subjects, acmeOwners(name)); err != nil {
			t.Errorf("ClusterRoleBinding %s: %v", reader, err)
		}
	}

	// Steady state: no hot loop, no needless writes.
	refs := []objRef{{&tenancyv1alpha1.Tenant{}, "", name}, {&rbacv1.ClusterRole{}, "", reader}, {&rbacv1.ClusterRoleBinding{}, "", reader}}
	for _, ns := range []string{name, dev} {
		refs = append(refs,
			objRef{&corev1.Namespace{}, "", ns},
			objRef{&corev1.ResourceQuota{}, ns, "tenant-quota"},
			objRef{&corev1.LimitRange{}, ns, "tenant-limits"},
			objRef{&networkingv1.NetworkPolicy{}, ns, "tenant-isolation"},
			objRef{&networkingv1.NetworkPolicy{}, ns, "tenant-egress"},
			objRef{&rbacv1.RoleBinding{}, ns, "tenant-owners"},
		)
	}
	before := resourceVersions(t, refs)
	consistently(t, 3*time.Second, func() error { return unchangedSince(refs, before) })
}

// TestPlanChangeUpdatesQuotaOfAllTenants: editing a plan updates every tenant on it.
func TestPlanChangeUpdatesQuotaOfAllTenants(t *testing.T) {
	t.Parallel()
	const planName, a, b = "p02-shared", "t02-alpha", "t02-beta"
	plan := &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: planName},
		Spec: tenancyv1alpha1.ServicePlanSpec{
			Quota:      &tenancyv1alpha1.PlanQuota{Hard: rl("requests.cpu", "8", "pods", "100")},
			LimitRange: &tenancyv1alpha1.PlanLimitRange{Default: rl("cpu", "500m")},
		},
	}
	mustCreate(t, plan)
	mustCreate(t, newTenant(a, planName))
	mustCreate(t, newTenant(b, planName))
	for _, tn := range []string{a, b} {
		waitTenantReady(t, tn)
		waitQuota(t, tn, "requests.cpu", "8", "pods", "100")
	}

	// A smaller budget.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Quota.Hard = rl("requests.cpu", "4", "pods", "100") })
	for _, tn := range []string{a, b} {
		waitQuota(t, tn, "requests.cpu", "4", "pods", "100")
	}

	// A key the plan no longer sets disappears.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Quota.Hard = rl("requests.cpu", "4") })
	for _, tn := range []string{a, b} {
		waitQuota(t, tn, "requests.cpu", "4")
	}

	// Restricted egress adds tenant-egress; open egress removes it.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Network.Egress = tenancyv1alpha1.EgressRestricted })
	for _, tn := range []string{a, b} {
		eventually(t, 0, func() error { return get(&networkingv1.NetworkPolicy{}, tn, "tenant-egress") })
	}
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Network.Egress = tenancyv1alpha1.EgressOpen })
	for _, tn := range []string{a, b} {
		eventually(t, 0, func() error { return gone(&networkingv1.NetworkPolicy{}, tn, "tenant-egress") })
	}

	// No limitRange, no tenant-limits.
	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.LimitRange = nil })
	for _, tn := range []string{a, b} {
		eventually(t, 0, func() error { return gone(&corev1.LimitRange{}, tn, "tenant-limits") })
	}
	for _, tn := range []string{a, b} {
		waitTenantReady(t, tn)
		// The isolation policy and the owners stay.
		for _, o := range []objRef{{&networkingv1.NetworkPolicy{}, tn, "tenant-isolation"}, {&rbacv1.RoleBinding{}, tn, "tenant-owners"}} {
			if err := get(o.obj, o.namespace, o.name); err != nil {
				t.Errorf("%T %s/%s: %v", o.obj, o.namespace, o.name, err)
			}
		}
	}
}

// TestOwnerRoleFollowsThePlan: a RoleBinding's role cannot change in place, so when a tenant
// moves to a plan with another ownerRole, or its plan's ownerRole changes, the operator
// replaces tenant-owners in every namespace and the tenant stays Ready.
func TestOwnerRoleFollowsThePlan(t *testing.T) {
	t.Parallel()
	const name, editPlan, adminPlan = "t02-role", "p02-role-edit", "p02-role-admin"
	edit, admin := newPlan(editPlan, 2), newPlan(adminPlan, 2)
	edit.Spec.OwnerRole, admin.Spec.OwnerRole = tenancyv1alpha1.OwnerRoleEdit, tenancyv1alpha1.OwnerRoleAdmin
	mustCreate(t, edit)
	mustCreate(t, admin)
	tn := newTenant(name, editPlan, name, name+"-dev")
	mustCreate(t, tn)
	waitTenantReady(t, name)

	waitRole := func(role tenancyv1alpha1.OwnerRole) {
		t.Helper()
		for _, ns := range []string{name, name + "-dev"} {
			eventually(t, 0, func() error {
				rb := &rbacv1.RoleBinding{}
				if err := get(rb, ns, "tenant-owners"); err != nil {
					return err
				}
				if rb.RoleRef.Name != string(role) || len(rb.Subjects) != 1 || rb.Subjects[0].Name != tn.Spec.Owners[0].Name {
					return fmt.Errorf("RoleBinding %s/tenant-owners binds %s to %v, want %s to the owner", ns, rb.RoleRef.Name, rb.Subjects, role)
				}
				return hasTenantLabels(rb, name)
			})
		}
		got := waitTenantReady(t, name)
		if err := wantCondition(got.Status.Conditions, tenancyv1alpha1.ConditionAccessGranted, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled); err != nil {
			t.Error(err)
		}
	}
	waitRole(tenancyv1alpha1.OwnerRoleEdit)

	// Moving the tenant to a plan with another role.
	mustUpdate(t, tn, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Plan = adminPlan })
	waitRole(tenancyv1alpha1.OwnerRoleAdmin)

	// Changing the role of the tenant's plan.
	mustUpdate(t, admin, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.OwnerRole = tenancyv1alpha1.OwnerRoleView })
	waitRole(tenancyv1alpha1.OwnerRoleView)
}

// TestDeletedOrEditedChildIsRestored: the operator repairs its objects when someone deletes
// or edits them.
func TestDeletedOrEditedChildIsRestored(t *testing.T) {
	t.Parallel()
	const name, planName = "t03-repair", "p03-repair"
	reader := "tenancy:" + name + ":reader"
	mustCreate(t, newPlan(planName, 1))
	mustCreate(t, newTenant(name, planName))
	waitTenantReady(t, name)
	waitQuota(t, name, "requests.cpu", "4", "pods", "20")

	// A deleted NetworkPolicy comes back.
	iso := &networkingv1.NetworkPolicy{}
	if err := get(iso, name, "tenant-isolation"); err != nil {
		t.Fatal(err)
	}
	oldUID := iso.UID
	mustDelete(t, iso)
	eventually(t, 0, func() error {
		np := &networkingv1.NetworkPolicy{}
		if err := get(np, name, "tenant-isolation"); err != nil {
			return err
		}
		if np.UID == oldUID {
			return fmt.Errorf("tenant-isolation not recreated yet")
		}
		return hasTenantLabels(np, name)
	})

	// An edited quota is set back, even when another field manager made the edit.
	rq := &corev1.ResourceQuota{}
	if err := get(rq, name, "tenant-quota"); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, rq, func(q *corev1.ResourceQuota) {
		q.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse("100")
	}, client.FieldOwner("someone-else"))
	waitQuota(t, name, "requests.cpu", "4", "pods", "20")

	// The same with a string in the edited object that only reads as a quantity, and an
	// enormous one (33605 × 10^2222045540; a hex hash can look like that): the operator
	// compares it as a string and sets the quota back.
	if err := get(rq, name, "tenant-quota"); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, rq, func(q *corev1.ResourceQuota) {
		q.Annotations[apply.AnnotationHash] = "33605e2222045540"
		q.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse("100")
	}, client.FieldOwner("someone-else"))
	waitQuota(t, name, "requests.cpu", "4", "pods", "20")
	eventually(t, 0, func() error {
		if err := get(rq, name, "tenant-quota"); err != nil {
			return err
		}
		if h := rq.Annotations[apply.AnnotationHash]; h == "33605e2222045540" {
			return fmt.Errorf("the quota's %s is still the edited %s", apply.AnnotationHash, h)
		}
		return nil
	})

	// A deleted ClusterRoleBinding comes back.
	crb := &rbacv1.ClusterRoleBinding{}
	if err := get(crb, "", reader); err != nil {
		t.Fatal(err)
	}
	oldUID = crb.UID
	mustDelete(t, crb)
	eventually(t, 0, func() error {
		c := &rbacv1.ClusterRoleBinding{}
		if err := get(c, "", reader); err != nil {
			return err
		}
		if c.UID == oldUID {
			return fmt.Errorf("ClusterRoleBinding %s not recreated yet", reader)
		}
		return sameSubjects(c.Subjects, []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "owner@" + name + ".example"},
		})
	})
	waitTenantReady(t, name)
}

// TestRemovedNamespaceIsPruned: a namespace dropped from spec.namespaces is deleted and the
// remaining namespace gets the whole budget.
func TestRemovedNamespaceIsPruned(t *testing.T) {
	t.Parallel()
	const name, planName = "t10-prune", "p10-prune"
	extra := name + "-extra"
	mustCreate(t, newPlan(planName, 2))
	tenant := newTenant(name, planName, name, extra)
	mustCreate(t, tenant)
	waitTenantReady(t, name)
	waitQuota(t, name, "requests.cpu", "2", "pods", "10")
	waitQuota(t, extra, "requests.cpu", "2", "pods", "10")

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Namespaces = []tenancyv1alpha1.TenantNamespace{{Name: name, QuotaWeight: 1}}
	})
	eventually(t, 0, func() error { return terminating(extra) })
	tn := waitTenantReady(t, name)
	if len(tn.Status.Namespaces) != 1 || tn.Status.Namespaces[0].Name != name ||
		tn.Status.Namespaces[0].Phase != tenancyv1alpha1.NamespaceActive {
		t.Errorf("status.namespaces = %+v, want only %s, Active", tn.Status.Namespaces, name)
	}
	if tn.Status.NamespaceCount != 1 {
		t.Errorf("status.namespaceCount = %d, want 1", tn.Status.NamespaceCount)
	}
	if err := terminating(name); err == nil {
		t.Errorf("namespace %s is being deleted, want it kept", name)
	}
	waitQuota(t, name, "requests.cpu", "4", "pods", "20")
}

// ---------------------------------------------------------------------------------------

// objRef names an object to read.
type objRef struct {
	obj       client.Object
	namespace string
	name      string
}

// resourceVersions reads the objects and returns their resourceVersions by "Type ns/name".
func resourceVersions(t *testing.T, refs []objRef) map[string]string {
	t.Helper()
	out, err := readResourceVersions(refs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readResourceVersions(refs []objRef) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range refs {
		if err := get(r.obj, r.namespace, r.name); err != nil {
			return nil, fmt.Errorf("%T %s: %w", r.obj, objName(r.namespace, r.name), err)
		}
		out[fmt.Sprintf("%T %s", r.obj, objName(r.namespace, r.name))] = r.obj.GetResourceVersion()
	}
	return out, nil
}

// unchangedSince reports the objects whose resourceVersion is no longer the one in before.
func unchangedSince(refs []objRef, before map[string]string) error {
	now, err := readResourceVersions(refs)
	if err != nil {
		return err
	}
	var changed []string
	for k, v := range before {
		if now[k] != v {
			changed = append(changed, fmt.Sprintf("%s changed in steady state: resourceVersion %s -> %s", k, v, now[k]))
		}
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		return errors.New(strings.Join(changed, "; "))
	}
	return nil
}

// hasTenantNamespacePeer reports whether an ingress rule admits every pod of the tenant's
// namespaces.
func hasTenantNamespacePeer(rules []networkingv1.NetworkPolicyIngressRule, tenant string) bool {
	for _, r := range rules {
		for _, p := range r.From {
			if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels[tenancyv1alpha1.LabelTenant] == tenant && p.PodSelector == nil {
				return true
			}
		}
	}
	return false
}

// checkEgress checks a Restricted egress policy: the tenant's namespaces, cluster DNS on
// port 53 UDP and TCP, and the CIDR.
func checkEgress(np *networkingv1.NetworkPolicy, tenant, cidr string) error {
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) {
		return fmt.Errorf("policyTypes = %v, want [Egress]", np.Spec.PolicyTypes)
	}
	var toTenant, dns, toCIDR bool
	for _, r := range np.Spec.Egress {
		for _, p := range r.To {
			if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels[tenancyv1alpha1.LabelTenant] == tenant {
				toTenant = true
			}
			if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system" &&
				p.PodSelector != nil && p.PodSelector.MatchLabels["k8s-app"] == "kube-dns" {
				protocols := map[corev1.Protocol]bool{}
				for _, port := range r.Ports {
					if port.Port != nil && port.Port.IntValue() == 53 && port.Protocol != nil {
						protocols[*port.Protocol] = true
					}
				}
				dns = protocols[corev1.ProtocolUDP] && protocols[corev1.ProtocolTCP]
			}
			if p.IPBlock != nil && p.IPBlock.CIDR == cidr {
				toCIDR = true
			}
		}
	}
	if !toTenant || !dns || !toCIDR {
		return fmt.Errorf("egress %+v: to the tenant's namespaces %v, to DNS on 53/UDP+TCP %v, to %s %v",
			np.Spec.Egress, toTenant, dns, cidr, toCIDR)
	}
	return nil
}

// acmeOwners are the subjects made from TestTenantBecomesReadyWithEveryObject's owners.
func acmeOwners(saNamespace string) []rbacv1.Subject {
	return []rbacv1.Subject{
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice@acme.example"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "acme-admins"},
		{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: saNamespace},
	}
}

// sameSubjects checks a binding's subjects.
func sameSubjects(got, want []rbacv1.Subject) error {
	if !slices.Equal(got, want) {
		return fmt.Errorf("subjects = %+v, want %+v", got, want)
	}
	return nil
}
