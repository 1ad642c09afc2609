package rollout

import (
	"testing"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// sharedUnit is the shared instance of version v1, on r0 with target r1 (available when
// that is r0), serving tenants at these placements.
func sharedUnit(target string, serves ...Placement) Tenant {
	return Tenant{Name: SharedUnit("v1"), Current: r0, Target: target, Available: target == r0, Serves: serves}
}

var (
	freeTenant   = Placement{Plan: "free", Labels: map[string]string{"team": "s1"}}
	canaryTenant = Placement{Plan: "pro", Labels: map[string]string{"canary": "true"}}
	proTenant    = Placement{Plan: "pro", Labels: map[string]string{"team": "s2"}}
)

// sharedStepCases: a shared instance takes part in a rollout as one unit (it counts once, for
// all its tenants), in the first wave that selects one of the tenants it serves.
func sharedStepCases() []stepCase {
	progressing, rolledBack := tenancyv1alpha1.RolloutProgressing, tenancyv1alpha1.RolloutRolledBack
	unit := SharedUnit("v1")
	return []stepCase{
		{
			name:    "shared instance serving free tenants waits for the free wave",
			spec:    testSpec(maxConcurrent(4)),
			tenants: append(fleet(r1), sharedUnit(r1, freeTenant, freeTenant)),
			status:  succeededOn(r0),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 8, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "shared instance moves with the free wave, as one unit after the wave's tenants",
			spec:    testSpec(maxConcurrent(4)),
			tenants: append(fleet(r1, moved("c1", "c2")), sharedUnit(r1, freeTenant, proTenant)),
			status:  recorded(progressing, "canary", mv("c1", 0)),
			now:     minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f1", "f2", "f3", unit}, updated: 2, tenants: 8, stable: r0, revision: r1,
				events: []string{evWaveDone, evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "shared instance with one canary tenant among its tenants moves in the canary wave",
			spec:    testSpec(maxConcurrent(3)),
			tenants: append(fleet(r1), sharedUnit(r1, proTenant, canaryTenant, freeTenant)),
			status:  succeededOn(r0),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2", unit}, tenants: 8, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name: "shared instance whose Pods are refused: the rollout rolls back, naming the instance",
			spec: testSpec(maxConcurrent(3)),
			tenants: append(fleet(r1, moved("c1", "c2")), func() Tenant {
				u := sharedUnit(r1, canaryTenant)
				u.Current, u.Previous, u.Failure = r1, r0, rejected
				return u
			}()),
			status: recorded(progressing, "canary", mv(unit, 0)),
			now:    minute,
			want: want{phase: rolledBack, wave: "canary", updated: 2, tenants: 8, failed: []string{unit}, stable: r0, revision: r1,
				events: []string{evFailed, evRolledBack}, message: "The shared instance shared:v1 (serving 1 tenant) failed on revision " + r1},
		},
	}
}

// TestPickSharedUnit: the shared instance runs what the rollout tells it, as a tenant would.
func TestPickSharedUnit(t *testing.T) {
	spec := testSpec()
	unit := SharedUnit("v1")
	for _, c := range []struct {
		name    string
		status  *tenancyv1alpha1.RolloutStatus
		current string
		prev    string
		want    Choice
	}{
		{"held on its revision until its wave", recorded(tenancyv1alpha1.RolloutProgressing, "canary", mv("c1", 0)), r0, "", Choice{Revision: r0}},
		{"told to move", recorded(tenancyv1alpha1.RolloutProgressing, "free", mv(unit, 0)), r0, "", Choice{Revision: r1, Previous: r0}},
		{"rolled back", recorded(tenancyv1alpha1.RolloutRolledBack, "free"), r1, r0, Choice{Revision: r0}},
		{"new during the rollout: the stable revision", recorded(tenancyv1alpha1.RolloutProgressing, "canary"), "", "", Choice{Revision: r0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Pick(PickInput{Tenant: unit, Rollout: spec, Status: c.status, Target: r1, TargetVersion: "v1",
				Current: c.current, Previous: c.prev, CurrentVersion: "v1"})
			if got != c.want {
				t.Errorf("Pick = %+v, want %+v", got, c.want)
			}
		})
	}
}
