package rollout

import (
	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// PickInput is what deciding a tenant's revision of one product needs.
type PickInput struct {
	// Tenant is the tenant's name.
	Tenant string
	// Rollout is the product's spec.rollout; nil moves every tenant at once.
	Rollout *tenancyv1alpha1.RolloutSpec
	// Status is the product's status.rollout (nil before the first pass over it).
	Status *tenancyv1alpha1.RolloutStatus
	// Target is the revision the live spec gives the tenant, of version TargetVersion.
	Target, TargetVersion string
	// Current and Previous are the revision the tenant runs and the one it ran before the
	// rollout moved it (its status.products[] entry), CurrentVersion the version of Current.
	Current, Previous, CurrentVersion string
	// Pinned is whether the tenant picks the version itself (spec.products[].version).
	Pinned bool
}

// Choice is the revision a tenant is to run, and the revision a rollback would return it to
// ("" when there is none to return to).
type Choice struct {
	Revision, Previous string
}

// Active reports whether a rollout is under way or stopped by a failure: not yet over.
func Active(s *tenancyv1alpha1.RolloutStatus) bool {
	return s != nil && s.Phase != "" && s.Phase != tenancyv1alpha1.RolloutSucceeded
}

// Pick is the revision a tenant runs:
//   - every tenant runs its target at once when the product has no spec.rollout;
//   - a new tenant runs the stable revision while a rollout to its target (the rollout's
//     revision) is not over, and its target otherwise;
//   - after a rollback, a moved tenant returns to the revision it ran before;
//   - a tenant's own pin to another version moves it at once, and so does a target that is
//     the revision the tenant ran before the rollout or the stable one (a reverted spec);
//   - a tenant the rollout told to move runs its target;
//   - every other tenant keeps the revision it runs.
func Pick(in PickInput) Choice {
	st := in.Status
	active := Active(st)
	switch {
	case in.Rollout == nil:
		return Choice{Revision: in.Target}
	case in.Current == "":
		if active && !in.Pinned && st.StableRevision != "" && in.Target == st.Revision {
			return Choice{Revision: st.StableRevision}
		}
		return Choice{Revision: in.Target}
	case st != nil && st.Phase == tenancyv1alpha1.RolloutRolledBack && in.Previous != "":
		return Choice{Revision: in.Previous}
	case PinMoved(in.Pinned, in.CurrentVersion, in.TargetVersion):
		return Choice{Revision: in.Target}
	case in.Current == in.Target:
		if active {
			return Choice{Revision: in.Target, Previous: in.Previous}
		}
		return Choice{Revision: in.Target}
	case in.Target == in.Previous || (st != nil && in.Target == st.StableRevision):
		return Choice{Revision: in.Target}
	case st != nil && (st.Phase == tenancyv1alpha1.RolloutProgressing || st.Phase == tenancyv1alpha1.RolloutPaused) &&
		moving(st, in.Tenant) && contains(st.TargetRevisions, in.Target):
		prev := in.Previous
		if prev == "" {
			prev = in.Current
		}
		return Choice{Revision: in.Target, Previous: prev}
	default:
		return Choice{Revision: in.Current, Previous: in.Previous}
	}
}

// PinMoved reports a tenant whose own pin (spec.products[].version) names another version
// than the one it runs: Pick moves it at once, and a rollout leaves it alone.
func PinMoved(pinned bool, currentVersion, targetVersion string) bool {
	return pinned && currentVersion != targetVersion
}

func moving(s *tenancyv1alpha1.RolloutStatus, tenant string) bool {
	for _, m := range s.MovingTenants {
		if m.Name == tenant {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
