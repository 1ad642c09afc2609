package rollout

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Event reasons of a rollout, recorded on the ApiProduct.
const (
	EventWaveStarted      = "WaveStarted"
	EventWaveSucceeded    = "WaveSucceeded"
	EventTenantFailed     = "TenantFailed"
	EventRolledBack       = "RolledBack"
	EventRolloutSucceeded = "RolloutSucceeded"
	EventRolloutReverted  = "RolloutReverted"
)

// maxListed caps status.rollout.failedTenants and the TenantFailed events of one pass.
const maxListed = 100

// Tenant is what a rollout knows of one tenant of the product.
type Tenant struct {
	Name   string
	Labels map[string]string
	Plan   string
	// Target is the revision the live spec gives the tenant.
	Target string
	// Current is the revision the tenant runs, "" until it has been provisioned once;
	// Previous the revision it ran before this rollout moved it.
	Current, Previous string
	// PinMoved: the tenant's own pin names another version than it runs (Pick moves it at
	// once; see PinMoved).
	PinMoved bool
	// Available: the tenant's product runs Current, every replica updated and ready.
	Available bool
	// Failure says why the product, running Current, cannot become available: its Pods are
	// refused or its Deployment passed its progress deadline. "" when neither.
	Failure string
	// Serves makes this a shared instance (named SharedUnit(version)) rather than a tenant:
	// the tenants it serves, by labels and plan. It moves as one, in the first wave that
	// selects one of them; Labels and Plan are not used.
	Serves []Placement
}

// Placement is what the waves select a tenant by.
type Placement struct {
	Labels map[string]string
	Plan   string
}

// unitName is how messages name a tenant or a shared instance.
func unitName(t *Tenant) string {
	if len(t.Serves) > 0 {
		if len(t.Serves) == 1 {
			return fmt.Sprintf("The shared instance %s (serving 1 tenant)", t.Name)
		}
		return fmt.Sprintf("The shared instance %s (serving %d tenants)", t.Name, len(t.Serves))
	}
	return "Tenant " + t.Name
}

// SharedUnit is the name a rollout gives the shared instance of a product version.
func SharedUnit(version string) string { return "shared:" + version }

// waveOf is the index in waves of the wave a tenant moves in: for a shared instance, the
// first wave that selects one of the tenants it serves.
func waveOf(waves []Wave, t *Tenant) int {
	if len(t.Serves) == 0 {
		return Assign(waves, t.Labels, t.Plan)
	}
	w := len(waves) - 1
	for _, s := range t.Serves {
		w = min(w, Assign(waves, s.Labels, s.Plan))
	}
	return w
}

// Input is one pass of a rollout.
type Input struct {
	Spec       *tenancyv1alpha1.RolloutSpec
	Generation int64
	// Status is the recorded state (nil on the first pass).
	Status  *tenancyv1alpha1.RolloutStatus
	Tenants []Tenant
	Now     time.Time
}

// Event is an Event to record on the ApiProduct; Tenant names the tenant it is about, if
// one (the Event's related object, so that each failed tenant has an Event of its own).
type Event struct {
	Type, Reason, Message string
	Tenant                string
}

// Result is the rollout's new state, the Events of what changed, and when to look again
// (0: when something changes).
type Result struct {
	Status       *tenancyv1alpha1.RolloutStatus
	Events       []Event
	RequeueAfter time.Duration
}

// Step advances a rollout by one pass. It is a pure function of the recorded state and what
// the tenants report, so a pass that is repeated (after a restart, or a status write that
// failed) decides the same: no tenant is moved twice or skipped.
//
// The tenants a rollout moves are those whose target differs from the revision they run
// (outdated), apart from those whose target is the revision they ran before or the stable
// one: Pick moves those at once. A set of targets that is not part of the recorded rollout
// starts a new one from the first wave. Waves go in order; a wave is done when none of its
// tenants is outdated or moving, and a tenant that joins a wave the rollout is past moves
// with the wave in progress. At most maxConcurrentTenants move at once; a moving tenant
// is done when available on its target, and fails when its Pods are refused, its progress
// deadline passes, or healthTimeout passes. The first failure stops the rollout: RolledBack
// (Pick returns the moved tenants) or Failed (failurePolicy Pause), held until the
// product's generation or the targets change.
func Step(in Input) Result {
	in.Spec = withDefaults(in.Spec)
	st := &tenancyv1alpha1.RolloutStatus{}
	if in.Status != nil {
		st = in.Status.DeepCopy()
	}
	var events []Event
	emit := func(typ, reason, format string, args ...any) {
		events = append(events, Event{Type: typ, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	byName := map[string]*Tenant{}
	for i := range in.Tenants {
		byName[in.Tenants[i].Name] = &in.Tenants[i]
	}
	// The tenants still moving: not gone, not yet available on their target, and moving to a
	// revision the rollout still moves to (a target back at the stable revision moves the
	// tenant at once: Pick).
	var moving []tenancyv1alpha1.MovingTenant
	for _, m := range st.MovingTenants {
		if t := byName[m.Name]; t != nil && contains(st.TargetRevisions, t.Target) && !(t.Current == t.Target && t.Available) {
			moving = append(moving, m)
		}
	}
	isMoving := map[string]bool{}
	for _, m := range moving {
		isMoving[m.Name] = true
	}

	stopped := st.Phase == tenancyv1alpha1.RolloutFailed || st.Phase == tenancyv1alpha1.RolloutRolledBack
	if Active(st) && (!stopped || st.ObservedGeneration != in.Generation) {
		// A tenant the rollout moved that is no longer available is watched again as if it
		// had just moved: a wave soaks healthy, and one that falls ill stops the rollout (at
		// once with its Pods refused, else after healthTimeout). On a retry this checks the
		// failed tenants again (under Pause they stay on the new revision).
		for _, t := range in.Tenants {
			if t.Current != "" && t.Current == t.Target && !t.Available && contains(st.TargetRevisions, t.Target) && !isMoving[t.Name] {
				moving = append(moving, tenancyv1alpha1.MovingTenant{Name: t.Name, Since: since(in.Now)})
				isMoving[t.Name] = true
				// The wave in progress (or soaking) is not healthy any more: its soak starts
				// again once it is.
				st.WaveSucceededTime = nil
			}
		}
	}

	// The targets of the tenants the rollout has to move.
	targetCount := map[string]int{}
	for _, t := range in.Tenants {
		if isMoving[t.Name] || outdated(t, st) {
			targetCount[t.Target]++
		}
	}
	targets := keys(targetCount)

	// A stopped rollout ends with nobody left to move only when the spec went back (no tenant
	// has one of its targets) or changed: a failed tenant is no success.
	if len(targets) == 0 && !(stopped && st.ObservedGeneration == in.Generation && targeted(st, in.Tenants)) {
		return Result{Status: finish(in, st, emit), Events: events}
	}
	if st.Phase == "" || st.Phase == tenancyv1alpha1.RolloutSucceeded || !subset(targets, st.TargetRevisions) {
		// A new rollout: the tenants' targets changed.
		// Its revision is the target most of its tenants move to; its stable revision what
		// most of those run now (new tenants of that target get it until the rollout ends),
		// unless an unfinished rollout already recorded one.
		rev := mostCommon(in.Tenants, func(t Tenant) (string, bool) { return t.Target, targetCount[t.Target] > 0 })
		stable := st.StableRevision
		if !Active(st) || stable == "" {
			stable = mostCommon(in.Tenants, func(t Tenant) (string, bool) { return t.Current, t.Target == rev && outdated(t, st) })
		}
		st = &tenancyv1alpha1.RolloutStatus{
			Revision:        rev,
			TargetRevisions: targets,
			StableRevision:  stable,
			Phase:           tenancyv1alpha1.RolloutProgressing,
		}
		moving, isMoving = nil, map[string]bool{}
	} else if stopped {
		if st.ObservedGeneration == in.Generation {
			count(st, in.Tenants, isMoving)
			return Result{Status: st, Events: events}
		}
		// The spec changed: try the same revisions again. The tenants already on them that
		// are not available (the failed ones, under Pause) are checked again, as if just moved.
		st.Phase, st.FailedTenants, st.Wave, st.WaveSucceededTime = tenancyv1alpha1.RolloutProgressing, nil, "", nil
	}
	st.ObservedGeneration = in.Generation
	var requeue time.Duration
	later := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}

	// The moving tenants: done, failed or still waited for.
	var failed []string
	failure := map[string]string{}
	kept := moving[:0:0]
	for _, m := range moving {
		t := byName[m.Name]
		deadline := m.Since.Add(in.Spec.HealthTimeout.Duration)
		switch {
		case t.Current == t.Target && t.Failure != "":
			failed, failure[t.Name] = append(failed, t.Name), t.Failure
		case !in.Now.Before(deadline):
			failed = append(failed, t.Name)
			failure[t.Name] = fmt.Sprintf("not available on revision %s within healthTimeout %s", t.Target, in.Spec.HealthTimeout.Duration)
		default:
			kept = append(kept, m)
			later(deadline.Sub(in.Now))
		}
	}
	moving = kept

	if len(failed) > 0 {
		sort.Strings(failed)
		for i, name := range failed {
			if i == maxListed {
				break
			}
			emit(corev1.EventTypeWarning, EventTenantFailed, "%s failed on revision %s: %s", unitName(byName[name]), byName[name].Target, failure[name])
			events[len(events)-1].Tenant = name
		}
		st.FailedTenants = capList(failed)
		st.MovingTenants = nil
		first := failed[0]
		if in.Spec.FailurePolicy == tenancyv1alpha1.FailurePause {
			st.Phase = tenancyv1alpha1.RolloutFailed
			st.Message = fmt.Sprintf("%s failed on revision %s (%s)%s. failurePolicy is Pause: the moved tenants stay, nobody else moves. Fix the product and change its spec, or return it to the stable revision %s.",
				unitName(byName[first]), byName[first].Target, failure[first], others(failed), st.StableRevision)
		} else {
			st.Phase = tenancyv1alpha1.RolloutRolledBack
			st.Message = fmt.Sprintf("%s failed on revision %s (%s)%s. The moved tenants return to the revision they ran before; nobody else moves until the product's spec changes.",
				unitName(byName[first]), byName[first].Target, failure[first], others(failed))
			emit(corev1.EventTypeWarning, EventRolledBack, "Rolling back %s: the tenants it moved return to the revision they ran before (stable: %s)", st.Revision, st.StableRevision)
		}
		count(st, in.Tenants, map[string]bool{})
		return Result{Status: st, Events: events}
	}

	if in.Spec.Paused {
		st.Phase = tenancyv1alpha1.RolloutPaused
		st.MovingTenants = moving
		count(st, in.Tenants, isMoving)
		st.Message = fmt.Sprintf("Paused in wave %s: %d of %d tenants run the new revision; set spec.rollout.paused to false to go on.", orNone(st.Wave), st.UpdatedTenants, st.Tenants)
		return Result{Status: st, Events: events, RequeueAfter: requeue}
	}
	st.Phase = tenancyv1alpha1.RolloutProgressing

	// The wave in progress: the first with a tenant that is outdated or moving.
	waves := Waves(in.Spec)
	cur, members := len(waves), map[int][]*Tenant{}
	for i := range in.Tenants {
		t := &in.Tenants[i]
		if !isMoving[t.Name] && !outdated(*t, st) {
			continue
		}
		w := waveOf(waves, t)
		members[w] = append(members[w], t)
		if w < cur {
			cur = w
		}
	}
	if cur == len(waves) {
		// Nobody to move after all.
		return Result{Status: finish(in, st, emit), Events: events}
	}
	// A rollout does not go back to a wave it is past: a tenant that joins an earlier wave
	// (a new tenant, or one on a new plan) moves with the wave in progress, before its own.
	inProgress := cur
	for i := cur + 1; i < len(waves); i++ {
		if waves[i].Name == st.Wave {
			inProgress = i
		}
	}
	wave := waves[inProgress]
	if st.Wave != wave.Name {
		if st.Wave != "" {
			if st.WaveSucceededTime == nil {
				now := since(in.Now)
				st.WaveSucceededTime = &now
				emit(corev1.EventTypeNormal, EventWaveSucceeded, "Wave %s of %s succeeded", st.Wave, st.Revision)
			}
			if end := st.WaveSucceededTime.Add(in.Spec.PauseBetweenWaves.Duration); in.Now.Before(end) {
				st.MovingTenants = moving
				count(st, in.Tenants, isMoving)
				st.Message = fmt.Sprintf("Wave %s succeeded; wave %s starts at %s (pauseBetweenWaves %s).",
					st.Wave, wave.Name, end.UTC().Format(time.RFC3339), in.Spec.PauseBetweenWaves.Duration)
				later(end.Sub(in.Now))
				return Result{Status: st, Events: events, RequeueAfter: requeue}
			}
		}
		st.Wave, st.WaveSucceededTime = wave.Name, nil
		emit(corev1.EventTypeNormal, EventWaveStarted, "Wave %s started: %s to %s", wave.Name, tenantsMove(len(members[inProgress])), st.Revision)
	}

	// Fill the free places with the wave's outdated tenants, by name, after those of earlier
	// waves.
	var candidates []*Tenant
	for i := cur; i <= inProgress; i++ {
		group := members[i]
		sort.Slice(group, func(a, b int) bool { return group[a].Name < group[b].Name })
		candidates = append(candidates, group...)
	}
	for _, t := range candidates {
		if int32(len(moving)) >= in.Spec.MaxConcurrentTenants {
			break
		}
		if isMoving[t.Name] {
			continue
		}
		moving = append(moving, tenancyv1alpha1.MovingTenant{Name: t.Name, Since: since(in.Now)})
		isMoving[t.Name] = true
		later(since(in.Now).Add(in.Spec.HealthTimeout.Duration).Sub(in.Now))
	}
	sort.Slice(moving, func(i, j int) bool { return moving[i].Name < moving[j].Name })
	st.MovingTenants = moving
	count(st, in.Tenants, isMoving)
	st.Message = fmt.Sprintf("Wave %s: %d of %d tenants run %s, %d moving.", wave.Name, st.UpdatedTenants, st.Tenants, st.Revision, len(moving))
	return Result{Status: st, Events: events, RequeueAfter: requeue}
}

// finish is the state once no tenant is outdated or moving: the rollout succeeded, or the
// spec went back to what the tenants run.
func finish(in Input, st *tenancyv1alpha1.RolloutStatus, emit func(string, string, string, ...any)) *tenancyv1alpha1.RolloutStatus {
	// WaveSucceeded of the last wave was recorded already if its soak began.
	waveDone := st.WaveSucceededTime != nil
	st.ObservedGeneration = in.Generation
	st.MovingTenants, st.WaveSucceededTime = nil, nil
	onTarget := targeted(st, in.Tenants)
	switch {
	case st.Phase == "" || (st.Phase == tenancyv1alpha1.RolloutSucceeded && !onTarget):
		// The first pass, or one after the tenants of the last rollout left: every tenant
		// already runs its target.
		st.Revision = mostCommon(in.Tenants, func(t Tenant) (string, bool) { return t.Current, t.Current != "" })
		st.TargetRevisions = nil
		if st.Revision != "" {
			st.TargetRevisions = []string{st.Revision}
		}
		st.StableRevision = st.Revision
		st.Message = "Every tenant runs its revision."
	case st.Phase == tenancyv1alpha1.RolloutSucceeded:
	case !onTarget && st.Revision != st.StableRevision:
		emit(corev1.EventTypeNormal, EventRolloutReverted, "The rollout of %s ended: the product's spec returned to what the tenants ran, %s", st.Revision, st.StableRevision)
		st.Message = fmt.Sprintf("The rollout of %s ended without moving anyone on: the spec returned to the stable revision %s.", st.Revision, st.StableRevision)
		st.Revision, st.TargetRevisions, st.FailedTenants, st.Wave = st.StableRevision, []string{st.StableRevision}, nil, ""
	default:
		if st.Wave != "" && !waveDone && (st.Phase == tenancyv1alpha1.RolloutProgressing || st.Phase == tenancyv1alpha1.RolloutPaused) {
			emit(corev1.EventTypeNormal, EventWaveSucceeded, "Wave %s of %s succeeded", st.Wave, st.Revision)
		}
		count(st, in.Tenants, map[string]bool{})
		emit(corev1.EventTypeNormal, EventRolloutSucceeded, "Revision %s reached all %d of its tenants", st.Revision, st.Tenants)
		st.StableRevision, st.FailedTenants = st.Revision, nil
		st.Message = fmt.Sprintf("Revision %s reached all %d of its tenants.", st.Revision, st.Tenants)
	}
	st.Phase = tenancyv1alpha1.RolloutSucceeded
	count(st, in.Tenants, map[string]bool{})
	return st
}

// since is a time as status.rollout records it: metav1.Time keeps whole seconds, so the
// time is rounded up, and a healthTimeout or pauseBetweenWaves counted from it is never
// shorter than asked (at most a second longer).
func since(t time.Time) metav1.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return metav1.NewTime(r.Add(time.Second))
	}
	return metav1.NewTime(t)
}

// withDefaults fills what the API server defaults, for a spec that did not come through it.
func withDefaults(spec *tenancyv1alpha1.RolloutSpec) *tenancyv1alpha1.RolloutSpec {
	s := spec.DeepCopy()
	if s.MaxConcurrentTenants < 1 {
		s.MaxConcurrentTenants = 10
	}
	if s.HealthTimeout.Duration <= 0 {
		s.HealthTimeout.Duration = 10 * time.Minute
	}
	if s.FailurePolicy == "" {
		s.FailurePolicy = tenancyv1alpha1.FailureRollback
	}
	return s
}

// outdated: the tenant runs another revision than its target, and the rollout is what moves
// it (not Pick at once: a target that is its previous or the stable revision, or its own
// pin of another version).
func outdated(t Tenant, st *tenancyv1alpha1.RolloutStatus) bool {
	return t.Current != "" && t.Current != t.Target && t.Target != t.Previous && !t.PinMoved &&
		(st.StableRevision == "" || t.Target != st.StableRevision)
}

// count sets tenants (those whose target is one of the rollout's) and updatedTenants (those
// of them on their target, available and not moving).
func count(st *tenancyv1alpha1.RolloutStatus, tenants []Tenant, isMoving map[string]bool) {
	st.Tenants, st.UpdatedTenants = 0, 0
	for _, t := range tenants {
		if t.Current == "" || !contains(st.TargetRevisions, t.Target) {
			continue
		}
		st.Tenants++
		if t.Current == t.Target && t.Available && !isMoving[t.Name] {
			st.UpdatedTenants++
		}
	}
}

// targeted reports whether a provisioned tenant has one of the rollout's targets.
func targeted(st *tenancyv1alpha1.RolloutStatus, tenants []Tenant) bool {
	for _, t := range tenants {
		if t.Current != "" && contains(st.TargetRevisions, t.Target) {
			return true
		}
	}
	return false
}

// mostCommon is the most frequent value among the tenants f selects, the first by name on a
// tie, or "".
func mostCommon(tenants []Tenant, f func(Tenant) (string, bool)) string {
	n := map[string]int{}
	for _, t := range tenants {
		if v, ok := f(t); ok && v != "" {
			n[v]++
		}
	}
	best := ""
	for _, v := range keys(n) {
		if best == "" || n[v] > n[best] {
			best = v
		}
	}
	return best
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func capList(names []string) []string {
	if len(names) > maxListed {
		return names[:maxListed]
	}
	return names
}

func others(failed []string) string {
	if len(failed) < 2 {
		return ""
	}
	return fmt.Sprintf(", and %d more: %s", len(failed)-1, strings.Join(capList(failed[1:]), ", "))
}

func tenantsMove(n int) string {
	if n == 1 {
		return "1 tenant moves"
	}
	return fmt.Sprintf("%d tenants move", n)
}

func orNone(s string) string {
	if s == "" {
		return "(none yet)"
	}
	return s
}
