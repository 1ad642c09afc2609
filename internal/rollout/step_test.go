package rollout

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// t0 is when the tests' rollouts start; at and mt give times relative to it.
var t0 = time.Date(2030, time.March, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time   { return t0.Add(d) }
func mt(d time.Duration) metav1.Time { return metav1.NewTime(at(d)) }
func mtp(d time.Duration) *metav1.Time {
	m := mt(d)
	return &m
}

const (
	minute = time.Minute
	// rejected is what the ApiProduct reconciler reports for a tenant whose Pods are refused.
	rejected = "PodsRejected: pods \"pay-api-7d\" is forbidden: exceeded quota"
)

// testSpec is the spec.rollout of the Step tests: waves canary (label canary=true) and free
// (plan free), then (remaining); two tenants at a time, healthTimeout 10m.
func testSpec(opts ...func(*tenancyv1alpha1.RolloutSpec)) *tenancyv1alpha1.RolloutSpec {
	s := &tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: matchLabels("canary", "true")},
			{Name: "free", Plans: []string{"free"}},
		},
		MaxConcurrentTenants: 2,
		HealthTimeout:        metav1.Duration{Duration: 10 * minute},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func maxConcurrent(n int32) func(*tenancyv1alpha1.RolloutSpec) {
	return func(s *tenancyv1alpha1.RolloutSpec) { s.MaxConcurrentTenants = n }
}
func soak(d time.Duration) func(*tenancyv1alpha1.RolloutSpec) {
	return func(s *tenancyv1alpha1.RolloutSpec) { s.PauseBetweenWaves.Duration = d }
}
func paused(s *tenancyv1alpha1.RolloutSpec) { s.Paused = true }
func pausePolicy(s *tenancyv1alpha1.RolloutSpec) {
	s.FailurePolicy = tenancyv1alpha1.FailurePause
}

// fleet is the product's seven tenants: c1 and c2 carry canary=true (plan pro), f1-f3 are on
// plan free, p1 and p2 on plan pro; so the waves are canary: c1 c2, free: f1 f2 f3,
// (remaining): p1 p2. Each runs r0 and has target as its target (available when that is
// r0), then the changes are applied in order.
func fleet(target string, changes ...func(map[string]*Tenant)) []Tenant {
	var out []Tenant
	add := func(name, plan string, canary bool) {
		t := Tenant{Name: name, Plan: plan, Labels: map[string]string{"team": name}, Current: r0, Target: target}
		if canary {
			t.Labels["canary"] = "true"
		}
		t.Available = t.Current == t.Target
		out = append(out, t)
	}
	add("c1", "pro", true)
	add("c2", "pro", true)
	add("f1", "free", false)
	add("f2", "free", false)
	add("f3", "free", false)
	add("p1", "pro", false)
	add("p2", "pro", false)
	return apply(out, changes...)
}

func apply(ts []Tenant, changes ...func(map[string]*Tenant)) []Tenant {
	byName := map[string]*Tenant{}
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for _, c := range changes {
		c(byName)
	}
	return ts
}

func each(names []string, f func(*Tenant)) func(map[string]*Tenant) {
	return func(m map[string]*Tenant) {
		for _, n := range names {
			t := m[n]
			if t == nil {
				panic("no tenant " + n)
			}
			f(t)
		}
	}
}

// moved: the rollout moved these tenants from r0 to rev and they are available on it.
func movedTo(rev string, names ...string) func(map[string]*Tenant) {
	return each(names, func(t *Tenant) { t.Current, t.Previous, t.Available, t.Failure = rev, r0, true, "" })
}
func moved(names ...string) func(map[string]*Tenant) { return movedTo(r1, names...) }

// pending: the tenants run their target and are not available yet.
func pending(names ...string) func(map[string]*Tenant) {
	return each(names, func(t *Tenant) { t.Current, t.Previous, t.Available = t.Target, r0, false })
}

// failing: the tenants run their target and cannot become available.
func failing(msg string, names ...string) func(map[string]*Tenant) {
	return each(names, func(t *Tenant) { t.Current, t.Previous, t.Available, t.Failure = t.Target, r0, false, msg })
}

func targeting(rev string, names ...string) func(map[string]*Tenant) {
	return each(names, func(t *Tenant) { t.Target = rev; t.Available = t.Current == rev && t.Failure == "" })
}

func without(names ...string) func([]Tenant) []Tenant {
	return func(ts []Tenant) []Tenant {
		var out []Tenant
		for _, t := range ts {
			if !contains(names, t.Name) {
				out = append(out, t)
			}
		}
		return out
	}
}

func mv(name string, since time.Duration) tenancyv1alpha1.MovingTenant {
	return tenancyv1alpha1.MovingTenant{Name: name, Since: mt(since)}
}

// recorded is a status.rollout of a rollout of r1 from r0, decided for generation 1.
func recorded(phase tenancyv1alpha1.RolloutPhase, wave string, moving ...tenancyv1alpha1.MovingTenant) *tenancyv1alpha1.RolloutStatus {
	return &tenancyv1alpha1.RolloutStatus{
		Revision: r1, TargetRevisions: []string{r1}, StableRevision: r0,
		Phase: phase, Wave: wave, MovingTenants: moving, ObservedGeneration: 1,
	}
}

func succeededOn(rev string) *tenancyv1alpha1.RolloutStatus {
	return &tenancyv1alpha1.RolloutStatus{
		Revision: rev, TargetRevisions: []string{rev}, StableRevision: rev,
		Phase: tenancyv1alpha1.RolloutSucceeded, ObservedGeneration: 1,
	}
}

func with(s *tenancyv1alpha1.RolloutStatus, f func(*tenancyv1alpha1.RolloutStatus)) *tenancyv1alpha1.RolloutStatus {
	f(s)
	return s
}

// want is what a user sees of one pass: status.rollout and the Events.
type want struct {
	phase            tenancyv1alpha1.RolloutPhase
	wave             string
	moving           []string
	since            map[string]time.Duration // when given, when each moving tenant was told
	updated, tenants int32
	failed           []string
	stable, revision string
	targets          []string // nil: just revision (none when revision is "")
	events           []string
	requeue          time.Duration
	message          string // a part of status.rollout.message, when given
}

type stepCase struct {
	name    string
	spec    *tenancyv1alpha1.RolloutSpec
	gen     int64 // 1 when 0
	status  *tenancyv1alpha1.RolloutStatus
	tenants []Tenant
	now     time.Duration
	want    want
}

func (c stepCase) input() Input {
	gen := c.gen
	if gen == 0 {
		gen = 1
	}
	spec := c.spec
	if spec == nil {
		spec = testSpec()
	}
	var st *tenancyv1alpha1.RolloutStatus
	if c.status != nil {
		st = c.status.DeepCopy()
	}
	ts := make([]Tenant, len(c.tenants))
	copy(ts, c.tenants)
	return Input{Spec: spec, Generation: gen, Status: st, Tenants: ts, Now: at(c.now)}
}

func reasons(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return out
}

func movingNames(s *tenancyv1alpha1.RolloutStatus) []string {
	var out []string
	for _, m := range s.MovingTenants {
		out = append(out, m.Name)
	}
	return out
}

func checkResult(t *testing.T, got Result, w want) {
	t.Helper()
	st := got.Status
	if st == nil {
		t.Fatal("Step returned no status")
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	targets := w.targets
	if targets == nil && w.revision != "" {
		targets = []string{w.revision}
	}
	eq("phase", st.Phase, w.phase)
	eq("wave", st.Wave, w.wave)
	eq("movingTenants", movingNames(st), w.moving)
	eq("updatedTenants", st.UpdatedTenants, w.updated)
	eq("tenants", st.Tenants, w.tenants)
	eq("failedTenants", st.FailedTenants, w.failed)
	eq("stableRevision", st.StableRevision, w.stable)
	eq("revision", st.Revision, w.revision)
	eq("targetRevisions", st.TargetRevisions, targets)
	eq("event reasons", reasons(got.Events), w.events)
	eq("requeueAfter", got.RequeueAfter, w.requeue)
	for name, d := range w.since {
		found := false
		for _, m := range st.MovingTenants {
			if m.Name == name {
				found = true
				if !m.Since.Time.Equal(at(d)) {
					t.Errorf("movingTenants[%s].since = %s, want t0+%s", name, m.Since.Time, d)
				}
			}
		}
		if !found {
			t.Errorf("%s is not moving", name)
		}
	}
	if w.message != "" && !strings.Contains(st.Message, w.message) {
		t.Errorf("message %q does not say %q", st.Message, w.message)
	}
	for _, e := range got.Events {
		if e.Type != "Normal" && e.Type != "Warning" {
			t.Errorf("event %s has type %q", e.Reason, e.Type)
		}
		if e.Message == "" {
			t.Errorf("event %s has no message", e.Reason)
		}
		// Each failed tenant's Event relates to it, so the recorder keeps one per tenant.
		if (e.Reason == EventTenantFailed) != (e.Tenant != "") {
			t.Errorf("event %s names tenant %q: only TenantFailed relates to a tenant", e.Reason, e.Tenant)
		}
		if e.Tenant != "" && !strings.Contains(e.Message, "Tenant "+e.Tenant+" ") && !strings.Contains(e.Message, "shared instance "+e.Tenant+" ") {
			t.Errorf("event %s relates to %s but says %q", e.Reason, e.Tenant, e.Message)
		}
	}
}

const (
	evWaveStarted = EventWaveStarted
	evWaveDone    = EventWaveSucceeded
	evFailed      = EventTenantFailed
	evRolledBack  = EventRolledBack
	evSucceeded   = EventRolloutSucceeded
	evReverted    = EventRolloutReverted
)

func stepCases() []stepCase {
	var (
		progressing = tenancyv1alpha1.RolloutProgressing
		pausedPhase = tenancyv1alpha1.RolloutPaused
		succeeded   = tenancyv1alpha1.RolloutSucceeded
		failedPhase = tenancyv1alpha1.RolloutFailed
		rolledBack  = tenancyv1alpha1.RolloutRolledBack
		remaining   = RemainingWave
		everyone    = []string{"c1", "c2", "f1", "f2", "f3", "p1", "p2"}
	)
	return append([]stepCase{
		// ---- No rollout under way.
		{
			name:    "first pass, every tenant up to date: Succeeded, no events",
			tenants: fleet(r0),
			want:    want{phase: succeeded, updated: 7, tenants: 7, stable: r0, revision: r0},
		},
		{
			name:    "first pass, no tenant provisioned yet",
			tenants: apply(fleet(r1), each(everyone, func(t *Tenant) { t.Current = "" })),
			want:    want{phase: succeeded},
		},
		{
			name:    "succeeded and nothing changed: held, no events",
			status:  succeededOn(r1),
			tenants: fleet(r1, moved(everyone...)),
			want:    want{phase: succeeded, updated: 7, tenants: 7, stable: r1, revision: r1},
		},
		{
			name:    "first pass with outdated tenants (operator upgraded mid-change): a rollout from the canary wave",
			tenants: fleet(r1),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},

		// ---- A change starts and moves wave by wave.
		{
			name:    "a change starts in the canary wave, one tenant at a time",
			spec:    testSpec(maxConcurrent(1)),
			status:  succeededOn(r0),
			tenants: fleet(r1),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1"}, since: map[string]time.Duration{"c1": 0},
				tenants: 7, stable: r0, revision: r1, events: []string{evWaveStarted}, requeue: 10 * minute, message: "Wave canary"},
		},
		{
			name:    "a wave never moves more than its own tenants, however many may move at once",
			spec:    testSpec(maxConcurrent(100)),
			status:  succeededOn(r0),
			tenants: fleet(r1),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "a moving tenant not yet available is waited for, its since kept",
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, pending("c1")), // c2's tenant reconciler has not run yet
			now:     3 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, since: map[string]time.Duration{"c1": 0, "c2": 0},
				tenants: 7, stable: r0, revision: r1, requeue: 7 * minute},
		},
		{
			name:    "a moving tenant becoming available frees its slot for the next of the wave",
			spec:    testSpec(maxConcurrent(1)),
			status:  recorded(progressing, "canary", mv("c1", 0)),
			tenants: fleet(r1, moved("c1")),
			now:     2 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c2"}, since: map[string]time.Duration{"c2": 2 * minute},
				updated: 1, tenants: 7, stable: r0, revision: r1, requeue: 10 * minute},
		},
		{
			name:    "canary done: the plan wave starts",
			status:  recorded(progressing, "canary", mv("c2", 1*minute)),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     4 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f1", "f2"}, since: map[string]time.Duration{"f1": 4 * minute, "f2": 4 * minute},
				updated: 2, tenants: 7, stable: r0, revision: r1, events: []string{evWaveDone, evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "within a wave: a done tenant's slot goes to the wave's next, the earliest deadline is when to look again",
			status:  recorded(progressing, "free", mv("f1", 4*minute), mv("f2", 4*minute)),
			tenants: fleet(r1, moved("c1", "c2", "f1"), pending("f2")),
			now:     6 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f2", "f3"}, since: map[string]time.Duration{"f2": 4 * minute, "f3": 6 * minute},
				updated: 3, tenants: 7, stable: r0, revision: r1, requeue: 8 * minute},
		},
		{
			name:    "plan wave done: the (remaining) wave starts",
			status:  recorded(progressing, "free", mv("f3", 6*minute)),
			tenants: fleet(r1, moved("c1", "c2", "f1", "f2", "f3")),
			now:     7 * minute,
			want: want{phase: progressing, wave: remaining, moving: []string{"p1", "p2"}, updated: 5, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveDone, evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "last wave done: Succeeded, the revision is the new stable",
			status:  recorded(progressing, remaining, mv("p1", 7*minute), mv("p2", 7*minute)),
			tenants: fleet(r1, moved(everyone...)),
			now:     9 * minute,
			want: want{phase: succeeded, wave: remaining, updated: 7, tenants: 7, stable: r1, revision: r1,
				events: []string{evWaveDone, evSucceeded}, message: "reached all 7"},
		},
		{
			name:    "a tenant deleted while moving frees its slot",
			spec:    testSpec(maxConcurrent(1)),
			status:  recorded(progressing, "canary", mv("c1", 0)),
			tenants: without("c1")(fleet(r1)),
			now:     1 * minute,
			want:    want{phase: progressing, wave: "canary", moving: []string{"c2"}, tenants: 6, stable: r0, revision: r1, requeue: 10 * minute},
		},
		{
			name:    "two versions changed at once: one rollout of both revisions, through the same waves",
			tenants: fleet(r1, each([]string{"p1", "p2"}, func(t *Tenant) { t.Current, t.Target = v2r, "pay-v2-bbbbbbbbbb" })),
			status:  succeededOn(r0),
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r1,
				targets: []string{r1, "pay-v2-bbbbbbbbbb"}, events: []string{evWaveStarted}, requeue: 10 * minute},
		},

		// ---- pauseBetweenWaves.
		{
			name:    "wave done with pauseBetweenWaves: the next wave is held, and looked at again when the soak ends",
			spec:    testSpec(soak(30 * minute)),
			status:  recorded(progressing, "canary", mv("c2", 1*minute)),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     5 * minute,
			want: want{phase: progressing, wave: "canary", updated: 2, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveDone}, requeue: 30 * minute, message: "starts at 2030-03-01T09:35:00Z"},
		},
		{
			name:    "during the soak: nobody moves, no events, requeue for the remaining time",
			spec:    testSpec(soak(30 * minute)),
			status:  with(recorded(progressing, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.WaveSucceededTime = mtp(5 * minute) }),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     20 * minute,
			want:    want{phase: progressing, wave: "canary", updated: 2, tenants: 7, stable: r0, revision: r1, requeue: 15 * minute},
		},
		{
			name:    "the soak is over: the next wave starts",
			spec:    testSpec(soak(30 * minute)),
			status:  with(recorded(progressing, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.WaveSucceededTime = mtp(5 * minute) }),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     35 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f1", "f2"}, updated: 2, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},

		// ---- Failures.
		{
			name:    "a moved tenant whose Pods are refused fails at once: RolledBack",
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, failing(rejected, "c1"), pending("c2")),
			now:     1 * minute,
			want: want{phase: rolledBack, wave: "canary", failed: []string{"c1"}, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed, evRolledBack}, message: "Tenant c1 failed on revision " + r1 + " (PodsRejected"},
		},
		{
			name:    "a moved tenant one second before its healthTimeout is still waited for",
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, pending("c1"), moved("c2")),
			now:     10*minute - time.Second,
			want: want{phase: progressing, wave: "canary", moving: []string{"c1"}, updated: 1, tenants: 7, stable: r0, revision: r1,
				requeue: time.Second},
		},
		{
			name:    "healthTimeout passed: the tenant fails, and one never switched fails too",
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, pending("c1")), // c2 still runs r0
			now:     10 * minute,
			want: want{phase: rolledBack, wave: "canary", failed: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed, evFailed, evRolledBack}, message: "within healthTimeout"},
		},
		{
			name:    "failurePolicy Pause: Failed, the moved tenants stay, no RolledBack event",
			spec:    testSpec(pausePolicy),
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, failing(rejected, "c2"), moved("c1")),
			now:     1 * minute,
			want: want{phase: failedPhase, wave: "canary", failed: []string{"c2"}, updated: 1, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed}, message: "failurePolicy is Pause"},
		},
		{
			name:    "a failure in a later wave rolls back the rollout",
			status:  recorded(progressing, "free", mv("f1", 4*minute), mv("f2", 4*minute)),
			tenants: fleet(r1, moved("c1", "c2", "f1"), failing("ProgressDeadlineExceeded: deployment pay-api", "f2")),
			now:     6 * minute,
			want: want{phase: rolledBack, wave: "free", failed: []string{"f2"}, updated: 3, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed, evRolledBack}},
		},

		// ---- A stopped rollout.
		{
			name:    "rolled back: held while the generation is unchanged",
			status:  with(recorded(rolledBack, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c1"} }),
			tenants: fleet(r1), // the moved tenants are back on r0
			now:     30 * minute,
			want:    want{phase: rolledBack, wave: "canary", failed: []string{"c1"}, tenants: 7, stable: r0, revision: r1},
		},
		{
			name:    "rolled back: held even before the moved tenants are back, when nobody else is left to move",
			status:  with(recorded(rolledBack, remaining), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"p2"} }),
			tenants: fleet(r1, moved("c1", "c2", "f1", "f2", "f3", "p1"), failing(rejected, "p2")),
			now:     30 * minute,
			want:    want{phase: rolledBack, wave: remaining, failed: []string{"p2"}, updated: 6, tenants: 7, stable: r0, revision: r1},
		},
		{
			name:    "failed (Pause): held while the generation is unchanged, even with every tenant moved",
			spec:    testSpec(pausePolicy),
			status:  with(recorded(failedPhase, remaining), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"p2"} }),
			tenants: fleet(r1, moved("c1", "c2", "f1", "f2", "f3", "p1"), failing(rejected, "p2")),
			now:     30 * minute,
			want:    want{phase: failedPhase, wave: remaining, failed: []string{"p2"}, updated: 6, tenants: 7, stable: r0, revision: r1},
		},
		{
			name:    "rolled back, then the generation changes: the same revisions are tried again from the first wave",
			gen:     2,
			status:  with(recorded(rolledBack, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c1"} }),
			tenants: fleet(r1),
			now:     30 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "failed (Pause), then the generation changes: goes on with the tenants not moved",
			spec:    testSpec(pausePolicy),
			gen:     2,
			status:  with(recorded(failedPhase, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c2"} }),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     30 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f1", "f2"}, updated: 2, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "failed (Pause), then the generation changes: the failed tenant, still refused, fails again",
			spec:    testSpec(pausePolicy),
			gen:     2,
			status:  with(recorded(failedPhase, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c2"} }),
			tenants: fleet(r1, moved("c1"), failing(rejected, "c2")),
			now:     30 * minute,
			want: want{phase: failedPhase, failed: []string{"c2"}, updated: 1, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed}},
		},
		{
			name:    "failed (Pause), then the generation changes: the failed tenant is checked again, with a new healthTimeout",
			spec:    testSpec(pausePolicy),
			gen:     2,
			status:  with(recorded(failedPhase, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c2"} }),
			tenants: fleet(r1, moved("c1"), pending("c2")),
			now:     30 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c2"}, since: map[string]time.Duration{"c2": 30 * minute},
				updated: 1, tenants: 7, stable: r0, revision: r1, events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "rolled back, then a fix (new content): a new rollout from the first wave, same stable",
			status:  with(recorded(rolledBack, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c1"} }),
			gen:     2,
			tenants: fleet(r2),
			now:     30 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, tenants: 7, stable: r0, revision: r2,
				events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "failed (Pause), then the spec returns to the stable revision: the rollout ends, nobody else moves",
			spec:    testSpec(pausePolicy),
			gen:     2,
			status:  with(recorded(failedPhase, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.FailedTenants = []string{"c2"} }),
			tenants: fleet(r0, moved("c1"), each([]string{"c2"}, func(t *Tenant) { t.Current, t.Previous, t.Failure = r1, r0, rejected })),
			now:     30 * minute,
			want: want{phase: succeeded, updated: 5, tenants: 7, stable: r0, revision: r0,
				events: []string{evReverted}},
		},

		// ---- The spec changes under a rollout.
		{
			name:    "a tenant's own pin to another version is no rollout: Pick moves it at once",
			status:  succeededOn(r0),
			tenants: fleet(r0, each([]string{"p1"}, func(t *Tenant) { t.Target, t.PinMoved, t.Available = r2, true, false })),
			want:    want{phase: succeeded, updated: 6, tenants: 6, stable: r0, revision: r0},
		},
		{
			name:    "a moved tenant that falls ill while its wave soaks is watched again, and the next wave waits for it",
			spec:    testSpec(soak(10 * minute)),
			status:  with(recorded(progressing, "canary"), func(s *tenancyv1alpha1.RolloutStatus) { s.WaveSucceededTime = mtp(5 * minute) }),
			tenants: fleet(r1, moved("c1", "c2"), each([]string{"c2"}, func(t *Tenant) { t.Available = false })),
			now:     7 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c2"}, since: map[string]time.Duration{"c2": 7 * minute},
				updated: 1, tenants: 7, stable: r0, revision: r1, requeue: 10 * minute},
		},
		{
			name:    "a moved tenant whose Pods are refused after it was done stops the rollout",
			status:  recorded(progressing, "free", mv("f1", 4*minute)),
			tenants: fleet(r1, moved("c1"), failing(rejected, "c2"), pending("f1")),
			now:     5 * minute,
			want: want{phase: rolledBack, wave: "free", failed: []string{"c2"}, updated: 1, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed, evRolledBack}},
		},
		{
			name:    "a new set of targets mid-rollout: a new rollout from the first wave, keeping the stable revision",
			status:  recorded(progressing, "free", mv("f1", 4*minute)),
			tenants: fleet(r2, moved("c1", "c2"), each([]string{"f1"}, func(t *Tenant) { t.Current, t.Previous = r1, r0 })),
			now:     5 * minute,
			want: want{phase: progressing, wave: "canary", moving: []string{"c1", "c2"}, since: map[string]time.Duration{"c1": 5 * minute, "c2": 5 * minute},
				tenants: 7, stable: r0, revision: r2, events: []string{evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "spec reverted to the stable revision: the rollout ends at once, nobody moved",
			status:  recorded(progressing, "free"),
			tenants: fleet(r0, moved("c1", "c2")),
			now:     5 * minute,
			want: want{phase: succeeded, updated: 5, tenants: 7, stable: r0, revision: r0,
				events: []string{evReverted}, message: "returned to the stable revision"},
		},
		{
			name:    "spec reverted to the stable revision while tenants are moving: the rollout ends at once",
			status:  recorded(progressing, "free", mv("f1", 4*minute), mv("f2", 4*minute)),
			tenants: fleet(r0, moved("c1", "c2"), each([]string{"f1"}, func(t *Tenant) { t.Current, t.Previous, t.Available = r1, r0, false })),
			now:     5 * minute,
			want: want{phase: succeeded, updated: 4, tenants: 7, stable: r0, revision: r0,
				events: []string{evReverted}},
		},
		{
			name:   "a tenant joining an earlier wave mid-rollout moves with the wave in progress",
			status: recorded(progressing, "free", mv("f1", 4*minute)),
			// c3 is new: Pick gave it the stable revision, so the rollout has to move it.
			tenants: append(fleet(r1, moved("c1", "c2"), pending("f1")),
				Tenant{Name: "c3", Labels: map[string]string{"canary": "true"}, Plan: "pro", Current: r0, Target: r1}),
			now: 5 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"c3", "f1"}, since: map[string]time.Duration{"f1": 4 * minute, "c3": 5 * minute},
				updated: 2, tenants: 8, stable: r0, revision: r1, requeue: 9 * minute},
		},
		{
			name:    "a tenant whose plan changes to an earlier wave's mid-rollout moves with the wave in progress",
			spec:    testSpec(soak(30 * minute)),
			status:  recorded(progressing, remaining, mv("p1", 40*minute)),
			tenants: fleet(r1, moved("c1", "c2", "f1", "f2", "f3"), pending("p1"), each([]string{"p2"}, func(t *Tenant) { t.Plan = "free" })),
			now:     41 * minute,
			want: want{phase: progressing, wave: remaining, moving: []string{"p1", "p2"}, updated: 5, tenants: 7, stable: r0, revision: r1,
				requeue: 9 * minute},
		},

		// ---- Paused.
		{
			name:    "paused: a freed slot is not refilled",
			spec:    testSpec(paused, maxConcurrent(1)),
			status:  recorded(progressing, "canary", mv("c1", 0)),
			tenants: fleet(r1, moved("c1")),
			now:     2 * minute,
			want:    want{phase: pausedPhase, wave: "canary", updated: 1, tenants: 7, stable: r0, revision: r1, message: "Paused in wave canary"},
		},
		{
			name:    "paused: a moving tenant is still waited for",
			spec:    testSpec(paused),
			status:  recorded(progressing, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, pending("c1"), moved("c2")),
			now:     4 * minute,
			want: want{phase: pausedPhase, wave: "canary", moving: []string{"c1"}, since: map[string]time.Duration{"c1": 0}, updated: 1, tenants: 7,
				stable: r0, revision: r1, requeue: 6 * minute},
		},
		{
			name:    "paused: a failure is still detected",
			spec:    testSpec(paused),
			status:  recorded(pausedPhase, "canary", mv("c1", 0), mv("c2", 0)),
			tenants: fleet(r1, failing(rejected, "c1"), moved("c2")),
			now:     4 * minute,
			want: want{phase: rolledBack, wave: "canary", failed: []string{"c1"}, updated: 1, tenants: 7, stable: r0, revision: r1,
				events: []string{evFailed, evRolledBack}},
		},
		{
			name:    "paused at the end of a wave: the next wave does not start",
			spec:    testSpec(paused),
			status:  recorded(progressing, "canary", mv("c2", 1*minute)),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     4 * minute,
			want:    want{phase: pausedPhase, wave: "canary", updated: 2, tenants: 7, stable: r0, revision: r1},
		},
		{
			name:    "unpaused: the rollout goes on with the next wave",
			status:  recorded(pausedPhase, "canary"),
			tenants: fleet(r1, moved("c1", "c2")),
			now:     60 * minute,
			want: want{phase: progressing, wave: "free", moving: []string{"f1", "f2"}, updated: 2, tenants: 7, stable: r0, revision: r1,
				events: []string{evWaveDone, evWaveStarted}, requeue: 10 * minute},
		},
		{
			name:    "a change while paused: recorded, nobody moves",
			spec:    testSpec(paused),
			status:  succeededOn(r0),
			tenants: fleet(r1),
			want:    want{phase: pausedPhase, tenants: 7, stable: r0, revision: r1, message: "(none yet)"},
		},
		{
			name:    "paused when the last moving tenant becomes available: Succeeded",
			spec:    testSpec(paused),
			status:  recorded(pausedPhase, remaining, mv("p2", 8*minute)),
			tenants: fleet(r1, moved(everyone...)),
			now:     9 * minute,
			want: want{phase: succeeded, wave: remaining, updated: 7, tenants: 7, stable: r1, revision: r1,
				events: []string{evWaveDone, evSucceeded}},
		},
	}, sharedStepCases()...)
}

// step is Step, with a panic (which would crash the operator) failing the test instead.
func step(t *testing.T, in Input) (res Result) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Step panicked: %v", r)
		}
	}()
	return Step(in)
}

func TestStep(t *testing.T) {
	for _, tc := range stepCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, step(t, tc.input()), tc.want)
		})
	}
}

// TestStepRestart feeds every case's result back in with the same tenants, spec and time, as
// after an operator restart or a status write that failed: the pass decides the same, moves
// nobody more and records no Event twice.
func TestStepRestart(t *testing.T) {
	for _, tc := range stepCases() {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.input()
			first := step(t, in)
			again := tc.input()
			again.Status = first.Status.DeepCopy()
			second := step(t, again)
			if len(second.Events) != 0 {
				t.Errorf("the repeated pass recorded %v", reasons(second.Events))
			}
			// Semantic: a nil and an empty list are stored alike.
			if !apiequality.Semantic.DeepEqual(second.Status, first.Status) {
				t.Errorf("the repeated pass changed the status:\n first: %+v\nsecond: %+v", first.Status, second.Status)
			}
			if second.RequeueAfter != first.RequeueAfter {
				t.Errorf("requeueAfter %s, then %s", first.RequeueAfter, second.RequeueAfter)
			}
		})
	}
}

// TestStepDoesNotChangeItsInput: the recorded status is the ApiProduct's, from the cache.
func TestStepDoesNotChangeItsInput(t *testing.T) {
	for _, tc := range stepCases() {
		in := tc.input()
		var before *tenancyv1alpha1.RolloutStatus
		if in.Status != nil {
			before = in.Status.DeepCopy()
		}
		spec := in.Spec.DeepCopy()
		ts := append([]Tenant(nil), in.Tenants...)
		func() {
			defer func() { _ = recover() }() // TestStep reports it
			Step(in)
		}()
		if !reflect.DeepEqual(in.Status, before) || !reflect.DeepEqual(in.Spec, spec) || !reflect.DeepEqual(in.Tenants, ts) {
			t.Errorf("%s: Step changed its input", tc.name)
		}
	}
}

func TestStepDefaults(t *testing.T) {
	// A spec that did not come through the API server: maxConcurrentTenants 10,
	// healthTimeout 10m, failurePolicy Rollback.
	var ts []Tenant
	for i := 0; i < 12; i++ {
		ts = append(ts, Tenant{Name: fmt.Sprintf("t%02d", i), Current: r0, Target: r1})
	}
	res := Step(Input{Spec: &tenancyv1alpha1.RolloutSpec{}, Generation: 1, Status: succeededOn(r0), Tenants: ts, Now: t0})
	if got := len(res.Status.MovingTenants); got != 10 {
		t.Errorf("%d tenants moving, want the default 10", got)
	}
	if res.RequeueAfter != 10*minute {
		t.Errorf("requeueAfter %s, want the default healthTimeout 10m", res.RequeueAfter)
	}
	if res.Status.Wave != RemainingWave {
		t.Errorf("wave %q, want %s", res.Status.Wave, RemainingWave)
	}
	ts[0].Current, ts[0].Failure = r1, rejected
	res = Step(Input{Spec: &tenancyv1alpha1.RolloutSpec{}, Generation: 1, Status: res.Status, Tenants: ts, Now: at(minute)})
	if res.Status.Phase != tenancyv1alpha1.RolloutRolledBack {
		t.Errorf("phase %s, want the default failurePolicy's RolledBack", res.Status.Phase)
	}
}

func TestStepListsAtMost100FailedTenants(t *testing.T) {
	var ts []Tenant
	var moving []tenancyv1alpha1.MovingTenant
	for i := 0; i < 150; i++ {
		name := fmt.Sprintf("t%03d", i)
		ts = append(ts, Tenant{Name: name, Current: r1, Previous: r0, Target: r1, Failure: rejected})
		moving = append(moving, mv(name, 0))
	}
	res := Step(Input{Spec: testSpec(maxConcurrent(1000)), Generation: 1, Status: recorded(tenancyv1alpha1.RolloutProgressing, RemainingWave, moving...), Tenants: ts, Now: at(minute)})
	if got := len(res.Status.FailedTenants); got != 100 {
		t.Errorf("%d failed tenants listed, want 100", got)
	}
	if res.Status.FailedTenants[0] != "t000" || res.Status.FailedTenants[99] != "t099" {
		t.Errorf("failed tenants listed %s..%s, want t000..t099 by name", res.Status.FailedTenants[0], res.Status.FailedTenants[99])
	}
	n := 0
	for _, e := range res.Events {
		if e.Reason == EventTenantFailed {
			n++
		}
	}
	if n != 100 {
		t.Errorf("%d TenantFailed events, want 100", n)
	}
	if r := reasons(res.Events); r[len(r)-1] != EventRolledBack {
		t.Errorf("last event %s, want RolledBack", r[len(r)-1])
	}
	if !strings.Contains(res.Status.Message, "and 149 more") {
		t.Errorf("message %q does not count the other failed tenants", res.Status.Message)
	}
}

// ---- Simulation: the ApiProduct reconciler (Step) and the Tenant reconciler (Pick) taking
// turns over 20 tenants, with a fake clock.

type simTenant struct {
	name, plan        string
	labels            map[string]string
	current, previous string
	moves             []string // the revisions it was moved to, in order
}

type simulation struct {
	t        *testing.T
	spec     *tenancyv1alpha1.RolloutSpec
	target   string
	bad      map[string]bool
	tenants  []*simTenant
	status   *tenancyv1alpha1.RolloutStatus
	now      time.Time
	events   []Event
	eventAt  []time.Time
	arrivals []string // the tenants in the order they became available on the target
	wave     map[string]string
	maxSeen  int
}

func newSimulation(t *testing.T, bad ...string) *simulation {
	s := &simulation{
		t: t,
		spec: &tenancyv1alpha1.RolloutSpec{
			Waves: []tenancyv1alpha1.RolloutWave{
				{Name: "canary", TenantSelector: matchLabels("canary", "true")},
				{Name: "free", Plans: []string{"free"}},
			},
			MaxConcurrentTenants: 3,
			HealthTimeout:        metav1.Duration{Duration: 10 * minute},
			PauseBetweenWaves:    metav1.Duration{Duration: 5 * minute},
		},
		target: r1, bad: map[string]bool{}, now: t0, wave: map[string]string{},
	}
	for _, b := range bad {
		s.bad[b] = true
	}
	// 20 tenants: 4 canaries (on plan pro), 8 on plan free, 8 on plan pro; listed out of
	// wave order so that the order the rollout moves them is its own.
	for i := 0; i < 20; i++ {
		st := &simTenant{name: fmt.Sprintf("t%02d", i), labels: map[string]string{}, current: r0}
		switch {
		case i%5 == 0:
			st.plan, st.labels["canary"] = "pro", "true"
			s.wave[st.name] = "canary"
		case i%2 == 1:
			st.plan = "free"
			s.wave[st.name] = "free"
		default:
			st.plan = "pro"
			s.wave[st.name] = RemainingWave
		}
		s.tenants = append(s.tenants, st)
	}
	// The first pass over the product: every tenant runs r0.
	s.step(r0)
	return s
}

func (s *simulation) inputs() []Tenant {
	var out []Tenant
	for _, st := range s.tenants {
		t := Tenant{Name: st.name, Labels: st.labels, Plan: st.plan, Target: s.target, Current: st.current, Previous: st.previous}
		if t.Current == t.Target {
			t.Available = !(s.bad[st.name] && t.Current != r0)
		}
		out = append(out, t)
	}
	return out
}

// step is one pass of the ApiProduct reconciler, repeated (a restart) to check it decides
// the same, then one pass of the Tenant reconciler over every tenant.
func (s *simulation) step(target string) {
	s.t.Helper()
	s.target = target
	in := Input{Spec: s.spec, Generation: 1, Status: s.status, Tenants: s.inputs(), Now: s.now}
	res := step(s.t, in)
	in.Status = res.Status.DeepCopy()
	again := step(s.t, in)
	if len(again.Events) != 0 || !apiequality.Semantic.DeepEqual(again.Status, res.Status) {
		s.t.Fatalf("at %s: repeating the pass decided otherwise: events %v, status %+v, then %+v", s.now, reasons(again.Events), res.Status, again.Status)
	}
	s.status = res.Status
	s.events = append(s.events, res.Events...)
	for range res.Events {
		s.eventAt = append(s.eventAt, s.now)
	}
	if n := len(s.status.MovingTenants); n > s.maxSeen {
		s.maxSeen = n
	}
	earliestWave := ""
	for _, m := range s.status.MovingTenants {
		if earliestWave == "" {
			earliestWave = s.wave[m.Name]
		}
		if s.wave[m.Name] != earliestWave {
			s.t.Errorf("at %s: tenants of waves %s and %s move at the same time", s.now, earliestWave, s.wave[m.Name])
		}
	}
	for _, st := range s.tenants {
		wasOn := st.current
		ch := Pick(PickInput{Tenant: st.name, Rollout: s.spec, Status: s.status, Target: s.target, TargetVersion: "v1",
			Current: st.current, Previous: st.previous, CurrentVersion: "v1"})
		st.current, st.previous = ch.Revision, ch.Previous
		if st.current != wasOn {
			st.moves = append(st.moves, st.current)
			if st.current == s.target && !moving(s.status, st.name) {
				s.t.Errorf("at %s: %s moved to the target without being told to", s.now, st.name)
			}
			if st.current == s.target && !s.bad[st.name] {
				s.arrivals = append(s.arrivals, st.name)
			}
		}
	}
	s.now = s.now.Add(minute)
}

func (s *simulation) run(passes int) {
	s.t.Helper()
	for i := 0; i < passes && (s.status.Phase != tenancyv1alpha1.RolloutSucceeded || i == 0); i++ {
		s.step(r1)
		if s.status.Phase == tenancyv1alpha1.RolloutRolledBack || s.status.Phase == tenancyv1alpha1.RolloutFailed {
			break
		}
	}
}

func TestSimulationGoodRollout(t *testing.T) {
	s := newSimulation(t)
	if s.status.Phase != tenancyv1alpha1.RolloutSucceeded || s.status.StableRevision != r0 || len(s.events) != 0 {
		t.Fatalf("first pass: %+v, events %v", s.status, reasons(s.events))
	}
	s.run(200)
	if s.status.Phase != tenancyv1alpha1.RolloutSucceeded || s.status.StableRevision != r1 {
		t.Fatalf("the rollout did not succeed: %+v", s.status)
	}
	if s.maxSeen > 3 {
		t.Errorf("%d tenants moving at once, maxConcurrentTenants is 3", s.maxSeen)
	} else if s.maxSeen != 3 {
		t.Errorf("at most %d tenants moved at once, want the 3 allowed", s.maxSeen)
	}
	for _, st := range s.tenants {
		if st.current != r1 || !reflect.DeepEqual(st.moves, []string{r1}) {
			t.Errorf("%s moved %v, want once to %s", st.name, st.moves, r1)
		}
		if st.previous != "" {
			t.Errorf("%s still has previous %s after the rollout succeeded", st.name, st.previous)
		}
	}
	// Wave by wave, and by name within a wave.
	want := []string{
		"t00", "t05", "t10", "t15", // canary
		"t01", "t03", "t07", "t09", "t11", "t13", "t17", "t19", // free
		"t02", "t04", "t06", "t08", "t12", "t14", "t16", "t18", // (remaining)
	}
	// t05 and t15 are canaries although their names sort among the free tenants: the order
	// follows the waves, not the names.
	if !reflect.DeepEqual(s.arrivals, want) {
		t.Errorf("tenants reached the target in the order\n%v, want\n%v", s.arrivals, want)
	}
	wantEvents := []string{
		EventWaveStarted, EventWaveSucceeded, // canary
		EventWaveStarted, EventWaveSucceeded, // free
		EventWaveStarted, EventWaveSucceeded, // (remaining)
		EventRolloutSucceeded,
	}
	if got := reasons(s.events); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("events %v, want %v", got, wantEvents)
	}
	// pauseBetweenWaves: each wave after the first starts 5 minutes after the one before
	// succeeded (the passes are a minute apart, so exactly then).
	for i := 1; i < len(s.events); i++ {
		if s.events[i].Reason == EventWaveStarted && s.events[i-1].Reason == EventWaveSucceeded {
			if d := s.eventAt[i].Sub(s.eventAt[i-1]); d != 5*minute {
				t.Errorf("%q came %s after %q, want pauseBetweenWaves 5m", s.events[i].Message, d, s.events[i-1].Message)
			}
		}
	}
}

func TestSimulationBadCanaryRollsBack(t *testing.T) {
	s := newSimulation(t, "t10") // a canary that never becomes available on r1
	s.run(200)
	if s.status.Phase != tenancyv1alpha1.RolloutRolledBack {
		t.Fatalf("phase %s, want RolledBack: %+v", s.status.Phase, s.status)
	}
	if !reflect.DeepEqual(s.status.FailedTenants, []string{"t10"}) {
		t.Errorf("failedTenants %v, want [t10]", s.status.FailedTenants)
	}
	// Keep the reconcilers going: the rollout stays stopped and returns the moved tenants.
	for i := 0; i < 30; i++ {
		s.step(r1)
	}
	if s.status.Phase != tenancyv1alpha1.RolloutRolledBack {
		t.Fatalf("phase %s after the rollback, want RolledBack held", s.status.Phase)
	}
	movedAny := false
	for _, st := range s.tenants {
		if len(st.moves) > 0 {
			movedAny = true
			if s.wave[st.name] != "canary" {
				t.Errorf("%s of wave %s moved %v while the canary wave failed", st.name, s.wave[st.name], st.moves)
			}
			if !reflect.DeepEqual(st.moves, []string{r1, r0}) {
				t.Errorf("%s moved %v, want to %s and back to %s", st.name, st.moves, r1, r0)
			}
		}
		if st.current != r0 {
			t.Errorf("%s runs %s after the rollback, want %s", st.name, st.current, r0)
		}
	}
	if !movedAny {
		t.Fatal("nobody moved")
	}
	if s.maxSeen > 3 {
		t.Errorf("%d tenants moving at once, maxConcurrentTenants is 3", s.maxSeen)
	}
	want := []string{EventWaveStarted, EventTenantFailed, EventRolledBack}
	if got := reasons(s.events); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// A fix: new content. A new rollout from the canary wave, the stable revision unchanged,
	// and with the bad tenant healthy on the fix it succeeds.
	delete(s.bad, "t10")
	for i := 0; i < 200 && s.status.Phase != tenancyv1alpha1.RolloutSucceeded; i++ {
		s.step(r2)
		if i == 0 && (s.status.StableRevision != r0 || s.status.Revision != r2 || s.status.Wave != "canary") {
			t.Fatalf("the fix started %+v", s.status)
		}
	}
	if s.status.Phase != tenancyv1alpha1.RolloutSucceeded || s.status.StableRevision != r2 {
		t.Fatalf("the fix did not succeed: %+v", s.status)
	}
	for _, st := range s.tenants {
		if st.current != r2 {
			t.Errorf("%s runs %s, want %s", st.name, st.current, r2)
		}
	}
}

func TestSimulationBadTenantInLaterWavePause(t *testing.T) {
	s := newSimulation(t, "t07") // on plan free
	s.spec.FailurePolicy = tenancyv1alpha1.FailurePause
	s.run(200)
	if s.status.Phase != tenancyv1alpha1.RolloutFailed || s.status.Wave != "free" {
		t.Fatalf("phase %s in wave %s, want Failed in free", s.status.Phase, s.status.Wave)
	}
	for i := 0; i < 30; i++ {
		s.step(r1)
	}
	if s.status.Phase != tenancyv1alpha1.RolloutFailed {
		t.Fatalf("phase %s, want Failed held", s.status.Phase)
	}
	for _, st := range s.tenants {
		switch s.wave[st.name] {
		case "canary":
			if st.current != r1 {
				t.Errorf("canary %s runs %s, want it to stay on %s", st.name, st.current, r1)
			}
		case RemainingWave:
			if len(st.moves) != 0 {
				t.Errorf("%s of the last wave moved %v", st.name, st.moves)
			}
		}
		if len(st.moves) > 1 {
			t.Errorf("%s moved %v: failurePolicy Pause moves nobody back", st.name, st.moves)
		}
	}
}

// TestStepHandWrittenStatus: a stopped status that still lists moving tenants (as no pass
// writes it: an edit by hand, or an older operator) must not crash the operator.
func TestStepHandWrittenStatus(t *testing.T) {
	st := recorded(tenancyv1alpha1.RolloutFailed, "canary", mv("c1", 0))
	res := step(t, Input{Spec: testSpec(), Generation: 2, Status: st, Tenants: fleet(r1, moved("c2", "f1", "f2", "f3", "p1", "p2"), pending("c1")), Now: at(minute)})
	if res.Status.Phase == "" {
		t.Errorf("no phase: %+v", res.Status)
	}
}

func TestSinceRoundsUpToTheSecond(t *testing.T) {
	for _, c := range []struct{ in, want time.Time }{
		{at(0), at(0)},
		{at(300 * time.Millisecond), at(time.Second)},
		{at(time.Second + time.Nanosecond), at(2 * time.Second)},
	} {
		if got := since(c.in); !got.Time.Equal(c.want) {
			t.Errorf("since(%s) = %s, want %s", c.in, got.Time, c.want)
		}
	}
	// A tenant told to move at 0.3 s with healthTimeout 2s is not failed at 2.1 s.
	res := Step(Input{Spec: testSpec(func(s *tenancyv1alpha1.RolloutSpec) { s.HealthTimeout.Duration = 2 * time.Second }),
		Generation: 1, Status: recorded(tenancyv1alpha1.RolloutProgressing, "canary"), Tenants: fleet(r1), Now: at(300 * time.Millisecond)})
	res = Step(Input{Spec: testSpec(func(s *tenancyv1alpha1.RolloutSpec) { s.HealthTimeout.Duration = 2 * time.Second }),
		Generation: 1, Status: res.Status, Tenants: fleet(r1, pending("c1", "c2")), Now: at(2100 * time.Millisecond)})
	if res.Status.Phase != tenancyv1alpha1.RolloutProgressing {
		t.Errorf("phase %s at 2.1 s (%s), want Progressing: the 2s healthTimeout counts from 0.3 s", res.Status.Phase, res.Status.Message)
	}
}
