package apiproduct

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/health"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// rolloutTenants is what the rollout knows of each tenant of the product: its target from
// the live spec (through its plan), the revision it runs and the one it ran before (its
// status), and whether its product is available on the revision it runs (its Deployments).
// Tenants being deleted, and tenants whose product cannot be resolved, take no part. The
// tenants a shared instance serves take part through it: one unit per version, whose
// revisions are in status.sharedInstances and whose health is its Deployments'.
func (r *Reconciler) rolloutTenants(ctx context.Context, p *tenancyv1alpha1.ApiProduct, tenants []tenancyv1alpha1.Tenant) ([]rollout.Tenant, error) {
	plans := map[string]*tenancyv1alpha1.ServicePlan{}
	var out []rollout.Tenant
	units := map[string]*rollout.Tenant{}
	var versions []*tenancyv1alpha1.ProductVersion
	for i := range tenants {
		t := &tenants[i]
		if !t.DeletionTimestamp.IsZero() {
			continue
		}
		plan, ok := plans[t.Spec.Plan]
		if !ok {
			plan = &tenancyv1alpha1.ServicePlan{}
			if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.Plan}, plan); apierrors.IsNotFound(err) {
				plan = nil
			} else if err != nil {
				return nil, fmt.Errorf("reading plan %s: %w", t.Spec.Plan, err)
			}
			plans[t.Spec.Plan] = plan
		}
		if plan == nil {
			continue
		}
		rp, rerr := render.ResolveProduct(t, plan, p)
		if rerr != nil || rp == nil {
			continue
		}
		if rp.PlanEntry.Tenancy == tenancyv1alpha1.TenancyShared && render.SharedCheck(*rp, plan.Name) == nil {
			// Served by the shared instance of its version, which moves as one unit.
			u := units[rp.Version.Name]
			if u == nil {
				u = &rollout.Tenant{Name: rollout.SharedUnit(rp.Version.Name), Target: rp.Revision}
				units[rp.Version.Name] = u
				versions = append(versions, rp.Version)
			}
			u.Serves = append(u.Serves, rollout.Placement{Labels: t.Labels, Plan: t.Spec.Plan})
			continue
		}
		rt := rollout.Tenant{Name: t.Name, Labels: t.Labels, Plan: t.Spec.Plan, Target: rp.Revision}
		for _, s := range t.Status.Products {
			if s.Name == p.Name {
				rt.Current, rt.Previous = s.Revision, s.PreviousRevision
				rt.PinMoved = s.Revision != "" && rollout.PinMoved(rp.Pinned, s.Version, rp.Version.Name)
			}
		}
		if rt.Current != "" && rt.Current == rt.Target {
			var err error
			if rt.Available, rt.Failure, err = r.productHealth(ctx, rp); err != nil {
				return nil, err
			}
		}
		out = append(out, rt)
	}
	for _, v := range versions {
		u := units[v.Name]
		if inst := sharedInstanceStatus(p, v.Name); inst != nil {
			u.Current, u.Previous = inst.Revision, inst.PreviousRevision
		}
		if u.Current != "" && u.Current == u.Target {
			rep, err := health.Shared(ctx, r.Client, p, v, u.Target)
			if err != nil {
				return nil, err
			}
			u.Available, u.Failure = rep.Available, trouble(rep)
		}
		out = append(out, *u)
	}
	return out, nil
}

// sharedInstanceStatus is the status of the product's shared instance of a version, or nil.
func sharedInstanceStatus(p *tenancyv1alpha1.ApiProduct, version string) *tenancyv1alpha1.SharedInstanceStatus {
	for i := range p.Status.SharedInstances {
		if p.Status.SharedInstances[i].Version == version {
			return &p.Status.SharedInstances[i]
		}
	}
	return nil
}

// trouble is what keeps Deployments from becoming available, as a rollout failure: their
// Pods refused, or their progress deadline passed ("" when neither).
func trouble(rep health.Report) string {
	switch {
	case rep.Rejected != "":
		return tenancyv1alpha1.ReasonPodsRejected + ": " + rep.Rejected
	case rep.Deadline != "":
		return tenancyv1alpha1.ReasonProgressDeadlineExceeded + ": " + rep.Deadline
	}
	return ""
}

// productHealth reads the Deployments of a tenant's product on its target revision: whether
// every one was rendered from it and is available, and what keeps one from it.
func (r *Reconciler) productHealth(ctx context.Context, rp *render.Resolved) (available bool, failure string, err error) {
	rep, err := health.Product(ctx, r.Client, rp)
	if err != nil {
		return false, "", err
	}
	return rep.Available, trouble(rep), nil
}

// rolloutConditions sets Ready, Reconciling and Stalled from the rollout: Ready only when
// no rollout is under way, Stalled after one failed.
func rolloutConditions(p *tenancyv1alpha1.ApiProduct, ready metav1.Condition) {
	ro := p.Status.Rollout
	reconciling := metav1.Condition{Type: tenancyv1alpha1.ConditionReconciling, Status: metav1.ConditionFalse,
		Reason: tenancyv1alpha1.ReasonReconciled, ObservedGeneration: p.Generation, Message: "No rollout is moving tenants."}
	stalled := metav1.Condition{Type: tenancyv1alpha1.ConditionStalled, Status: metav1.ConditionFalse,
		Reason: tenancyv1alpha1.ReasonReconciled, ObservedGeneration: p.Generation, Message: "No rollout failed."}
	if ro != nil && ready.Status == metav1.ConditionTrue {
		switch ro.Phase {
		case tenancyv1alpha1.RolloutProgressing:
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, tenancyv1alpha1.ReasonRollingOut, ro.Message
			reconciling.Status, reconciling.Reason, reconciling.Message = metav1.ConditionTrue, tenancyv1alpha1.ReasonRollingOut, ro.Message
		case tenancyv1alpha1.RolloutPaused:
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutPaused, ro.Message
		case tenancyv1alpha1.RolloutFailed, tenancyv1alpha1.RolloutRolledBack:
			ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutFailed, ro.Message
			stalled.Status, stalled.Reason, stalled.Message = metav1.ConditionTrue, tenancyv1alpha1.ReasonRolloutFailed, ro.Message
		}
	}
	meta.SetStatusCondition(&p.Status.Conditions, ready)
	meta.SetStatusCondition(&p.Status.Conditions, reconciling)
	meta.SetStatusCondition(&p.Status.Conditions, stalled)
}
