package conditions

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Event is an Event that a change of a tenant's status stands for.
type Event struct {
	Type, Reason, Action, Note string
	// Related is the object the change is about (the new plan), or nil.
	Related client.Object
}

// TenantEvents are the Events for what changed between the status a pass started from and
// the one it wrote: the tenant moved to another plan, a namespace conflict appeared, the
// tenant became stalled (or stalled for another reason). They are emitted only after the
// status write succeeded with the starting status as its precondition, so that a pass
// working from a cache that lags behind the operator's own last write (which would see the
// same change again) writes nothing and reports nothing: no API read is needed to avoid
// repeats.
func TenantEvents(before, after *tenancyv1alpha1.TenantStatus) []Event {
	var out []Event
	if before.Plan != "" && after.Plan != "" && before.Plan != after.Plan {
		out = append(out, Event{corev1.EventTypeNormal, "PlanChanged", "ChangePlan",
			"Plan changed from " + before.Plan + " to " + after.Plan,
			&tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: after.Plan}}})
	}
	stalled := newly(before, after, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue)
	if c := newly(before, after, tenancyv1alpha1.ConditionNamespacesReady, metav1.ConditionFalse); c != nil &&
		c.Reason == tenancyv1alpha1.ReasonNamespaceConflict && (stalled == nil || stalled.Reason != c.Reason) {
		out = append(out, Event{corev1.EventTypeWarning, c.Reason, "Reconcile", c.Message, nil})
	}
	if stalled != nil {
		out = append(out, Event{corev1.EventTypeWarning, stalled.Reason, "Reconcile", stalled.Message, nil})
	}
	return out
}

// newly returns the condition of after with the given type and status when before did not
// have it with that status and reason, else nil.
func newly(before, after *tenancyv1alpha1.TenantStatus, typ string, status metav1.ConditionStatus) *metav1.Condition {
	c := meta.FindStatusCondition(after.Conditions, typ)
	if c == nil || c.Status != status {
		return nil
	}
	if b := meta.FindStatusCondition(before.Conditions, typ); b != nil && b.Status == status && b.Reason == c.Reason {
		return nil
	}
	return c
}
