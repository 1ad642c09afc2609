package rollout

import (
	"testing"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// The revisions of the Pick tests: r0 is what every tenant ran (stable), r1 the change being
// rolled out, r2 a later change; v2r is a revision of another version.
const (
	r0  = "pay-v1-0000000000"
	r1  = "pay-v1-1111111111"
	r2  = "pay-v1-2222222222"
	v2r = "pay-v2-aaaaaaaaaa"
)

func rolloutStatus(phase tenancyv1alpha1.RolloutPhase, moving ...string) *tenancyv1alpha1.RolloutStatus {
	s := &tenancyv1alpha1.RolloutStatus{
		Revision: r1, TargetRevisions: []string{r1}, StableRevision: r0, Phase: phase,
	}
	for _, m := range moving {
		s.MovingTenants = append(s.MovingTenants, tenancyv1alpha1.MovingTenant{Name: m, Since: mt(0)})
	}
	return s
}

func TestPick(t *testing.T) {
	spec := &tenancyv1alpha1.RolloutSpec{}
	succeeded := &tenancyv1alpha1.RolloutStatus{Revision: r1, TargetRevisions: []string{r1}, StableRevision: r1, Phase: tenancyv1alpha1.RolloutSucceeded}
	noStable := rolloutStatus(tenancyv1alpha1.RolloutProgressing)
	noStable.StableRevision = ""
	cases := []struct {
		name string
		in   PickInput
		want Choice
	}{
		// No spec.rollout: every tenant runs its target at once.
		{"no rollout: target at once", PickInput{Tenant: "a", Target: r1, TargetVersion: "v1", Current: r0, CurrentVersion: "v1"},
			Choice{Revision: r1}},
		{"no rollout: target at once even while a recorded rollout holds others",
			PickInput{Tenant: "a", Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r1, Current: r0, Previous: r0},
			Choice{Revision: r1}},
		{"no rollout: a new tenant gets its target", PickInput{Tenant: "a", Target: r1}, Choice{Revision: r1}},

		// New tenants.
		{"new tenant before the first pass: target", PickInput{Tenant: "n", Rollout: spec, Target: r1},
			Choice{Revision: r1}},
		{"new tenant during a rollout to its target: stable", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r1, TargetVersion: "v1"},
			Choice{Revision: r0}},
		{"new tenant while the rollout is paused: stable", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutPaused), Target: r1},
			Choice{Revision: r0}},
		{"new tenant after the rollout failed (Pause): stable", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutFailed), Target: r1},
			Choice{Revision: r0}},
		{"new tenant after the rollout rolled back: stable", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutRolledBack), Target: r1},
			Choice{Revision: r0}},
		{"new pinned tenant during a rollout: its target", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r1, TargetVersion: "v1", Pinned: true},
			Choice{Revision: r1}},
		{"new tenant whose target is another of the rollout's targets: its target (the stable revision is of the rollout's revision)",
			PickInput{Tenant: "n", Rollout: spec, Status: &tenancyv1alpha1.RolloutStatus{Revision: r1, TargetRevisions: []string{r1, v2r}, StableRevision: r0, Phase: tenancyv1alpha1.RolloutProgressing}, Target: v2r, TargetVersion: "v2"},
			Choice{Revision: v2r}},
		{"new tenant whose target the rollout does not move to: its target", PickInput{Tenant: "n", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: v2r, TargetVersion: "v2"},
			Choice{Revision: v2r}},
		{"new tenant after the rollout succeeded: its target", PickInput{Tenant: "n", Rollout: spec, Status: succeeded, Target: r1},
			Choice{Revision: r1}},
		{"new tenant during a rollout without a stable revision: its target", PickInput{Tenant: "n", Rollout: spec, Status: noStable, Target: r1},
			Choice{Revision: r1}},

		// Rollback.
		{"rolled back: a moved tenant returns to its previous revision", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutRolledBack), Target: r1, Current: r1, Previous: r0},
			Choice{Revision: r0}},
		{"rolled back: a tenant never moved stays", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutRolledBack), Target: r1, Current: r0},
			Choice{Revision: r0}},
		{"rolled back: a tenant moved by an earlier rollout of the same stable returns to it", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutRolledBack), Target: r2, Current: r1, Previous: r0},
			Choice{Revision: r0}},
		{"failed (Pause): a moved tenant stays, keeping where it came from", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutFailed, "a"), Target: r1, Current: r1, Previous: r0},
			Choice{Revision: r1, Previous: r0}},
		{"failed (Pause): a tenant told to move but not yet moved stays", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutFailed, "a"), Target: r1, Current: r0},
			Choice{Revision: r0}},

		// Pins.
		{"own pin to another version moves at once, mid-rollout", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: v2r, TargetVersion: "v2", Current: r0, CurrentVersion: "v1", Pinned: true},
			Choice{Revision: v2r}},
		{"own pin to another version moves at once, before the first pass", PickInput{Tenant: "a", Rollout: spec, Target: v2r, TargetVersion: "v2", Current: r0, CurrentVersion: "v1", Pinned: true},
			Choice{Revision: v2r}},
		{"pinned to the version whose content changes: follows the rollout", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r1, TargetVersion: "v1", Current: r0, CurrentVersion: "v1", Pinned: true},
			Choice{Revision: r0}},

		// Reverted spec.
		{"target back to the revision it ran before: moves at once", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r0, Current: r1, Previous: r0},
			Choice{Revision: r0}},
		{"target is the stable revision: moves at once", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing), Target: r0, Current: r2},
			Choice{Revision: r0}},
		{"target back to its previous while paused: moves at once", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutPaused, "a"), Target: r0, Current: r1, Previous: r0},
			Choice{Revision: r0}},

		// Told to move.
		{"moving tenant runs its target and remembers where it came from", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing, "a", "b"), Target: r1, Current: r0},
			Choice{Revision: r1, Previous: r0}},
		{"moving tenant keeps an earlier previous (moved again by a new rollout)", PickInput{Tenant: "a", Rollout: spec, Status: &tenancyv1alpha1.RolloutStatus{Revision: r2, TargetRevisions: []string{r2}, StableRevision: r0, Phase: tenancyv1alpha1.RolloutProgressing, MovingTenants: []tenancyv1alpha1.MovingTenant{{Name: "a"}}}, Target: r2, Current: r1, Previous: r0},
			Choice{Revision: r2, Previous: r0}},
		{"moving tenant while paused still moves", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutPaused, "a"), Target: r1, Current: r0},
			Choice{Revision: r1, Previous: r0}},
		{"moving tenant already on its target keeps its previous while active", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing, "a"), Target: r1, Current: r1, Previous: r0},
			Choice{Revision: r1, Previous: r0}},
		{"moving tenant whose target changed since it was told: stays", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing, "a"), Target: r2, Current: r0},
			Choice{Revision: r0}},

		// Sticky.
		{"not told to move: keeps its revision", PickInput{Tenant: "b", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutProgressing, "a"), Target: r1, Current: r0},
			Choice{Revision: r0}},
		{"not told to move: keeps its revision and previous", PickInput{Tenant: "b", Rollout: spec, Status: &tenancyv1alpha1.RolloutStatus{Revision: r2, TargetRevisions: []string{r2}, StableRevision: r0, Phase: tenancyv1alpha1.RolloutProgressing}, Target: r2, Current: r1, Previous: r0},
			Choice{Revision: r1, Previous: r0}},
		{"before the first pass: keeps its revision", PickInput{Tenant: "a", Rollout: spec, Target: r1, Current: r0},
			Choice{Revision: r0}},
		{"a change the succeeded rollout has not seen yet: keeps its revision", PickInput{Tenant: "a", Rollout: spec, Status: succeeded, Target: r2, Current: r1},
			Choice{Revision: r1}},

		// Previous is only kept while a rollout is not over.
		{"succeeded: previous is cleared", PickInput{Tenant: "a", Rollout: spec, Status: succeeded, Target: r1, Current: r1, Previous: r0},
			Choice{Revision: r1}},
		{"no status: previous is cleared", PickInput{Tenant: "a", Rollout: spec, Target: r1, Current: r1, Previous: r0},
			Choice{Revision: r1}},
		{"rolled back, on target without previous: stays", PickInput{Tenant: "a", Rollout: spec, Status: rolloutStatus(tenancyv1alpha1.RolloutRolledBack), Target: r1, Current: r1},
			Choice{Revision: r1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pick(tc.in); got != tc.want {
				t.Errorf("Pick() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestActive(t *testing.T) {
	for _, tc := range []struct {
		status *tenancyv1alpha1.RolloutStatus
		want   bool
	}{
		{nil, false},
		{&tenancyv1alpha1.RolloutStatus{}, false},
		{rolloutStatus(tenancyv1alpha1.RolloutSucceeded), false},
		{rolloutStatus(tenancyv1alpha1.RolloutProgressing), true},
		{rolloutStatus(tenancyv1alpha1.RolloutPaused), true},
		{rolloutStatus(tenancyv1alpha1.RolloutFailed), true},
		{rolloutStatus(tenancyv1alpha1.RolloutRolledBack), true},
	} {
		if got := Active(tc.status); got != tc.want {
			t.Errorf("Active(%v) = %v, want %v", tc.status, got, tc.want)
		}
	}
}
