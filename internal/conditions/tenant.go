// Package conditions computes the status conditions of Tenants and ServicePlans from what a
// reconcile pass observed, and the Events a change of status stands for. It is pure: no
// client, no cluster, so every condition has a table test that runs without one.
package conditions

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/quota"
	"github.com/openplatform/tenant-operator/internal/render"
)

// DetailConditions are the conditions whose conjunction is Ready.
var DetailConditions = []string{
	tenancyv1alpha1.ConditionNamespacesReady,
	tenancyv1alpha1.ConditionQuotaReady,
	tenancyv1alpha1.ConditionNetworkIsolated,
	tenancyv1alpha1.ConditionAccessGranted,
	tenancyv1alpha1.ConditionProductsReady,
}

func set(t *tenancyv1alpha1.Tenant, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&t.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: t.Generation,
	})
}

// MarkProgressing says work is in flight: Ready=Unknown, Reconciling=True (kstatus InProgress).
func MarkProgressing(t *tenancyv1alpha1.Tenant, msg string) {
	set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionUnknown, tenancyv1alpha1.ReasonProgressing, msg)
	set(t, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenancyv1alpha1.ReasonProgressing, msg)
	meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionStalled)
}

// Stall reports an error that retrying cannot fix until someone changes an object:
// Ready=False and Stalled=True with the same reason (kstatus Failed). It heals by itself: the
// next pass after the missing object appears recomputes every condition. The Warning Event
// comes from the status change (TenantEvents).
func Stall(t *tenancyv1alpha1.Tenant, reason, msg string) {
	set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	set(t, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionReconciling)
}

// SetTenant computes every detail condition of a provisioning pass and the Ready,
// Reconciling and Stalled summary from them.
// ProductOutcome is what the product phase found: how many products there are and are
// available, or why they cannot be resolved.
type ProductOutcome struct {
	Total, Ready int
	Err          *render.ResolveError
	// Health says why products that are not available are not (from their Deployments).
	Health ProductHealth
	// PoliciesUnavailable says which exposed products get no route because the CRDs of
	// their gateway policies are not installed; "" when none.
	PoliciesUnavailable string
}

// Stalled reports whether the products cannot become available without a change by
// someone: they cannot be resolved, their gateway policies' CRDs are missing, or their
// Deployments' Pods are refused or missed their progress deadline.
func (p ProductOutcome) Stalled() bool {
	return p.Err != nil || p.PoliciesUnavailable != "" || (p.Ready < p.Total && (p.Health.Rejected != "" || p.Health.Deadline != ""))
}

func SetTenant(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, states []Namespace, failures map[string]error, overBudget, zeroShare string, products ProductOutcome) {
	// NamespacesReady.
	conflict := ConflictMessage(t, states)
	terminating := ""
	for _, s := range states {
		if s.Phase == tenancyv1alpha1.NamespaceTerminating {
			terminating = fmt.Sprintf("Namespace %s is still terminating; it is created again once it is gone.", s.Name)
		}
	}
	reserved := ReservedMessage(states)
	switch {
	case reserved != "":
		set(t, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonReservedNamespace, reserved)
	case conflict != "":
		set(t, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonNamespaceConflict, conflict)
	case failures[tenancyv1alpha1.ConditionNamespacesReady] != nil:
		set(t, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, FailureReason(failures[tenancyv1alpha1.ConditionNamespacesReady]),
			failures[tenancyv1alpha1.ConditionNamespacesReady].Error())
	case terminating != "":
		set(t, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonNamespaceTerminating, terminating)
	default:
		set(t, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled,
			fmt.Sprintf("All %d namespaces are active.", len(states)))
	}

	// QuotaReady: an apply failure, else usage above a share (OverBudget), else True.
	switch {
	case failures[tenancyv1alpha1.ConditionQuotaReady] != nil:
		set(t, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionFalse, FailureReason(failures[tenancyv1alpha1.ConditionQuotaReady]),
			failures[tenancyv1alpha1.ConditionQuotaReady].Error())
	case zeroShare != "":
		set(t, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonZeroQuotaShare, zeroShare)
	case overBudget != "":
		set(t, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonOverBudget, overBudget)
	case plan.Spec.Quota == nil || len(plan.Spec.Quota.Hard) == 0:
		set(t, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled,
			fmt.Sprintf("Plan %s sets no quota; NodePort and LoadBalancer Services are held at 0.", plan.Name))
	default:
		set(t, tenancyv1alpha1.ConditionQuotaReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled,
			fmt.Sprintf("Each namespace has its share of plan %s's quota.", plan.Name))
	}

	setApplied(t, tenancyv1alpha1.ConditionNetworkIsolated, failures,
		"Pods accept traffic only from the tenant's namespaces and the plan's allowed peers.")
	setApplied(t, tenancyv1alpha1.ConditionAccessGranted, failures,
		fmt.Sprintf("Owners have the %s role in every namespace and can read this Tenant.", ownerRole(plan)))

	setProductsReady(t, failures, products)

	stalled := conflict != "" || reserved != "" || zeroShare != "" || products.Stalled()
	for _, err := range failures {
		stalled = stalled || FailureReason(err) == tenancyv1alpha1.ReasonObjectConflict
	}
	summarize(t, stalled)
}

// FailureReason is the condition reason of a failure: ObjectConflict when an object the
// operator would write is not the tenant's (someone must rename or delete it), else
// ApplyFailed (retried).
func FailureReason(err error) string {
	var conflict *apply.ConflictError
	if errors.As(err, &conflict) {
		return tenancyv1alpha1.ReasonObjectConflict
	}
	return tenancyv1alpha1.ReasonApplyFailed
}

// setProductsReady reports whether every product's Deployments are updated and ready.
func setProductsReady(t *tenancyv1alpha1.Tenant, failures map[string]error, p ProductOutcome) {
	switch {
	case p.Err != nil:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, p.Err.Reason, p.Err.Message)
	case failures[tenancyv1alpha1.ConditionProductsReady] != nil:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, FailureReason(failures[tenancyv1alpha1.ConditionProductsReady]),
			failures[tenancyv1alpha1.ConditionProductsReady].Error())
	case p.PoliciesUnavailable != "":
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonGatewayPoliciesUnavailable, p.PoliciesUnavailable)
	case p.Total == 0:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonNoProducts,
			"The tenant has no API products.")
	case p.Ready < p.Total && p.Health.Rejected != "":
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonPodsRejected,
			fmt.Sprintf("%d of %d products are available. %s", p.Ready, p.Total, p.Health.Rejected))
	case p.Ready < p.Total && p.Health.Deadline != "":
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressDeadlineExceeded,
			fmt.Sprintf("%d of %d products are available. %s", p.Ready, p.Total, p.Health.Deadline))
	case p.Ready < p.Total:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonProgressing,
			fmt.Sprintf("%d of %d products are available; waiting for their Deployments to roll out.", p.Ready, p.Total))
	case t.Spec.Suspended:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonSuspended,
			"The tenant is suspended: every product is scaled to 0.")
	default:
		set(t, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled,
			fmt.Sprintf("All %d products are available.", p.Total))
	}
}

func setApplied(t *tenancyv1alpha1.Tenant, typ string, failures map[string]error, ok string) {
	if err := failures[typ]; err != nil {
		set(t, typ, metav1.ConditionFalse, FailureReason(err), err.Error())
		return
	}
	set(t, typ, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled, ok)
}

// summarize derives Ready, Reconciling and Stalled from the detail conditions. A namespace
// conflict needs an admin and stalls the tenant; other failures are retried (Reconciling).
// OverBudget is about the tenant's workloads, not provisioning: it does not make Ready False.
func summarize(t *tenancyv1alpha1.Tenant, stalled bool) {
	for _, typ := range DetailConditions {
		c := meta.FindStatusCondition(t.Status.Conditions, typ)
		if c == nil || c.Status == metav1.ConditionTrue || c.Reason == tenancyv1alpha1.ReasonOverBudget {
			continue
		}
		if stalled {
			set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, c.Reason, c.Message)
			set(t, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, c.Reason, c.Message)
			meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionReconciling)
			return
		}
		set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, c.Reason, c.Message)
		set(t, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, c.Reason, c.Message)
		meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionStalled)
		return
	}
	set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled,
		"The tenant's namespaces, quota, network isolation, access and products are in place.")
	meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionStalled)
}

func ownerRole(plan *tenancyv1alpha1.ServicePlan) string {
	if plan.Spec.OwnerRole == "" {
		return string(tenancyv1alpha1.OwnerRoleAdmin)
	}
	return string(plan.Spec.OwnerRole)
}

// ZeroShares says which namespaces that run a product get a share of 0 of a key the plan's
// quota limits (pods: "1" over three namespaces): quota admission refuses every Pod of the
// product there. "" when none does.
func ZeroShares(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, resolved []render.Resolved) string {
	if plan.Spec.Quota == nil || len(plan.Spec.Quota.Hard) == 0 || len(resolved) == 0 {
		return ""
	}
	namespaces := t.DesiredNamespaces()
	weights := make([]int64, len(namespaces))
	for i, ns := range namespaces {
		weights[i] = int64(ns.QuotaWeight)
	}
	shares, err := quota.Split(plan.Spec.Quota.Hard, weights)
	if err != nil {
		return "" // reported as InvalidQuota
	}
	products := map[string][]string{}
	for _, rp := range resolved {
		products[rp.Namespace] = append(products[rp.Namespace], rp.Product.Name)
	}
	var parts []string
	for i, ns := range namespaces {
		if len(products[ns.Name]) == 0 {
			continue
		}
		var keys []string
		for name, budget := range plan.Spec.Quota.Hard {
			share := shares[i][name]
			if podResource(name) && budget.Sign() > 0 && share.Sign() == 0 {
				keys = append(keys, fmt.Sprintf("%s (the plan's %s split over %d namespaces)", name, budget.String(), len(namespaces)))
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			parts = append(parts, fmt.Sprintf("namespace %s runs %s but its share of %s is 0",
				ns.Name, strings.Join(products[ns.Name], ", "), strings.Join(keys, ", ")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + fmt.Sprintf(
		": its Pods would be refused. Raise plan %s's spec.quota.hard, give that namespace a larger quotaWeight, or run the product in another namespace.", plan.Name)
}

// podResource reports whether every Pod (with the LimitRange's defaults) counts against a
// quota key: pods, and the compute requests and limits.
func podResource(name corev1.ResourceName) bool {
	switch n := string(name); {
	case n == "pods", n == "cpu", n == "memory", n == "ephemeral-storage":
		return true
	case strings.HasPrefix(n, "requests.") || strings.HasPrefix(n, "limits."):
		return n != "requests.storage" // persistent volume claims, not Pods
	}
	return false
}

// Namespace is what the operator found for one of the namespaces a Tenant asks for.
type Namespace struct {
	Name    string
	Phase   tenancyv1alpha1.NamespacePhase
	Adopted bool
	// Adopting is true for a namespace handed over by annotation that is not labelled yet.
	Adopting bool
	// ConflictOwner is the tenant that owns a conflicting namespace, if any.
	ConflictOwner string
	// Reserved says why the namespace can never be a tenant namespace (empty: it can).
	Reserved string
	// ReleaseReserved is set for a reserved namespace that still carries this tenant's
	// label (it became reserved after the tenant got it): the operator lets go of it.
	ReleaseReserved bool
}

// Usable reports whether the operator may write the namespace and its contents.
func (s Namespace) Usable() bool {
	return s.Phase == tenancyv1alpha1.NamespacePending || s.Phase == tenancyv1alpha1.NamespaceActive
}

// ReservedMessage explains the tenant's reserved namespaces, or "".
func ReservedMessage(states []Namespace) string {
	var parts []string
	for _, s := range states {
		if s.Reserved != "" {
			parts = append(parts, fmt.Sprintf("namespace %s is reserved: %s", s.Name, s.Reserved))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + ". Remove it from spec.namespaces: reserved namespaces never become tenant namespaces, not even by adoption."
}

// ConflictMessage explains conflicting namespaces and how to resolve them.
func ConflictMessage(t *tenancyv1alpha1.Tenant, states []Namespace) string {
	var parts []string
	for _, s := range states {
		if s.Phase != tenancyv1alpha1.NamespaceConflict || s.Reserved != "" {
			continue
		}
		if s.ConflictOwner != "" {
			parts = append(parts, fmt.Sprintf(
				"namespace %s belongs to tenant %s: remove it from spec.namespaces here (adoption cannot take a namespace from another tenant)",
				s.Name, s.ConflictOwner))
		} else {
			parts = append(parts, fmt.Sprintf(
				"namespace %s already exists and does not belong to this tenant: remove it from spec.namespaces, or have an admin annotate it %s=%s to hand it over",
				s.Name, tenancyv1alpha1.AnnotationAdopt, t.Name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ") + "."
}

// ProductHealth is what the product Deployments' own conditions say about the products
// that are not available: the first refusal of Pods, the first progress deadline exceeded.
type ProductHealth struct {
	// Rejected names a Deployment whose Pods the API server refuses (ReplicaFailure) and
	// quotes the refusal; "" when none.
	Rejected string
	// Deadline names a Deployment that did not become available within its progress
	// deadline; "" when none.
	Deadline string
}

// MarkDeleting reports a tenant being deleted: Ready=False, Reconciling=True, and every
// detail condition False with reason Deleting, so that none still says what was true before
// the deletion (namespaces active, products available).
func MarkDeleting(t *tenancyv1alpha1.Tenant, msg string) {
	set(t, tenancyv1alpha1.ConditionReady, metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting, msg)
	set(t, tenancyv1alpha1.ConditionReconciling, metav1.ConditionTrue, tenancyv1alpha1.ReasonDeleting, msg)
	for _, typ := range DetailConditions {
		set(t, typ, metav1.ConditionFalse, tenancyv1alpha1.ReasonDeleting, "The tenant is being deleted.")
	}
	meta.RemoveStatusCondition(&t.Status.Conditions, tenancyv1alpha1.ConditionStalled)
}
