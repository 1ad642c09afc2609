package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// The objects of TestRollout, all named after it.
const (
	rolloutProduct   = "e2e-rollout"
	rolloutPlanBasic = "e2e-rollout-basic"
	rolloutPlanGold  = "e2e-rollout-gold"
	// rolloutStage is the test's own kwok Stage: the gold tenants' Pods of the bad image
	// never become Ready.
	rolloutStage = "e2e-rollout-gold-never-ready"
	// rolloutTestLabel marks the test's ApiProduct, plans and tenants.
	rolloutTestLabel = "e2e.openplatform.io/test=rollout"
	rolloutImage     = "registry.example.com/e2e/rollout-api"
	// rolloutDeployment is the product's one Deployment in each tenant namespace.
	rolloutDeployment = rolloutProduct + "-api"
	revisionAnno      = "tenancy.openplatform.io/revision"

	rolloutTenantCount   = 20
	rolloutMaxConcurrent = 4
	rolloutHealthTimeout = 20 * time.Second
)

// The rollout's waves, in order, and which tenants each selects: e2e-rollout-00 and -01
// carry the canary label, -02 to -07 are on the gold plan (a wave selected by plan), the
// other twelve are on the basic plan and move last.
var rolloutWaves = []string{"canary", "gold", "everyone"}

func rolloutTenantName(i int) string { return fmt.Sprintf("e2e-rollout-%02d", i) }

func rolloutWaveOf(i int) int {
	switch {
	case i < 2:
		return 0
	case i < 8:
		return 1
	}
	return 2
}

// The parts of the ApiProduct, its Deployments, Tenants and Events this test reads.

type rolloutStatus struct {
	Revision        string   `json:"revision"`
	StableRevision  string   `json:"stableRevision"`
	TargetRevisions []string `json:"targetRevisions"`
	Phase           string   `json:"phase"`
	Wave            string   `json:"wave"`
	UpdatedTenants  int      `json:"updatedTenants"`
	Tenants         int      `json:"tenants"`
	FailedTenants   []string `json:"failedTenants"`
	MovingTenants   []struct {
		Name  string `json:"name"`
		Since string `json:"since"`
	} `json:"movingTenants"`
	Message string `json:"message"`
}

func (s rolloutStatus) moving() []string {
	var names []string
	for _, m := range s.MovingTenants {
		names = append(names, m.Name)
	}
	return names
}

type rolloutProductObject struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Status struct {
		Rollout    *rolloutStatus `json:"rollout"`
		Conditions []condition    `json:"conditions"`
	} `json:"status"`
}

func (p rolloutProductObject) rollout() rolloutStatus {
	if p.Status.Rollout == nil {
		return rolloutStatus{}
	}
	return *p.Status.Rollout
}

type rolloutDeploymentObject struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Generation  int64             `json:"generation"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int32 `json:"replicas"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		Replicas           int32 `json:"replicas"`
		UpdatedReplicas    int32 `json:"updatedReplicas"`
		ReadyReplicas      int32 `json:"readyReplicas"`
	} `json:"status"`
}

func (d rolloutDeploymentObject) revision() string { return d.Metadata.Annotations[revisionAnno] }

// availableOn: rendered from revision, and every replica of this generation updated and
// ready (what the operator's health check waits for).
func (d rolloutDeploymentObject) availableOn(revision string) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.revision() == revision && d.Status.ObservedGeneration >= d.Metadata.Generation &&
		d.Status.UpdatedReplicas == want && d.Status.ReadyReplicas == want && d.Status.Replicas == want
}

type rolloutTenantObject struct {
	Metadata objectMeta `json:"metadata"`
	Status   struct {
		Products []struct {
			Name             string `json:"name"`
			Revision         string `json:"revision"`
			PreviousRevision string `json:"previousRevision"`
			Replicas         int32  `json:"replicas"`
			ReadyReplicas    int32  `json:"readyReplicas"`
		} `json:"products"`
		Conditions []condition `json:"conditions"`
	} `json:"status"`
}

type rolloutEvent struct {
	Type           string `json:"type"`
	Reason         string `json:"reason"`
	Message        string `json:"message"`
	EventTime      string `json:"eventTime"`
	FirstTimestamp string `json:"firstTimestamp"`
	Metadata       struct {
		CreationTimestamp string `json:"creationTimestamp"`
	} `json:"metadata"`
	// Series counts the isomorphic events folded into this one by the recorder
	// (client-go's events.k8s.io recorder folds events of the same type, reason, action and
	// regarding object, whatever their message, into a series: only the first message
	// stays).
	Series *struct {
		Count int `json:"count"`
	} `json:"series"`
	at time.Time
}

// times is " (x<count>)" for an event that stands for several.
func (e rolloutEvent) times() string {
	if e.Series != nil && e.Series.Count > 1 {
		return fmt.Sprintf(" (x%d)", e.Series.Count)
	}
	return ""
}

// readRolloutProduct reads the ApiProduct.
func readRolloutProduct() (rolloutProductObject, error) {
	var p rolloutProductObject
	out, err := runKubectl(nil, "get", "apiproduct", rolloutProduct, "-o", "json")
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal([]byte(out), &p)
}

// readRolloutDeployments reads the product's Deployments of every tenant, by tenant, in
// one list: one consistent view of the cluster.
func readRolloutDeployments() (map[string]rolloutDeploymentObject, error) {
	out, err := runKubectl(nil, "get", "deployments", "-A", "-l", "tenancy.openplatform.io/product="+rolloutProduct, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []rolloutDeploymentObject `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	byTenant := map[string]rolloutDeploymentObject{}
	for _, d := range list.Items {
		if d.Metadata.Name == rolloutDeployment {
			byTenant[d.Metadata.Labels[tenantLabel]] = d
		}
	}
	return byTenant, nil
}

// readRolloutTenants reads the test's tenants, by name.
func readRolloutTenants() (map[string]rolloutTenantObject, error) {
	out, err := runKubectl(nil, "get", "tenants", "-l", rolloutTestLabel, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []rolloutTenantObject `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	byName := map[string]rolloutTenantObject{}
	for _, tn := range list.Items {
		byName[tn.Metadata.Name] = tn
	}
	return byName, nil
}

// tenantRevision is the revision a tenant's status says it runs of the product.
func (tn rolloutTenantObject) revision() string {
	for _, p := range tn.Status.Products {
		if p.Name == rolloutProduct {
			return p.Revision
		}
	}
	return ""
}

// readRolloutEvents reads the Events on the ApiProduct, oldest first.
func readRolloutEvents() ([]rolloutEvent, error) {
	out, err := runKubectl(nil, "get", "events", "-A", "--field-selector",
		"involvedObject.kind=ApiProduct,involvedObject.name="+rolloutProduct, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []rolloutEvent `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	for i := range list.Items {
		e := &list.Items[i]
		for _, s := range []string{e.EventTime, e.FirstTimestamp, e.Metadata.CreationTimestamp} {
			if at, err := time.Parse(time.RFC3339Nano, s); err == nil && s != "" {
				e.at = at
				break
			}
		}
	}
	sort.SliceStable(list.Items, func(i, j int) bool { return list.Items[i].at.Before(list.Items[j].at) })
	return list.Items, nil
}

// rolloutWatch samples the rollout while the test waits on it: status.rollout as it
// changes (for the timeline), and in every sample the tenants' Deployments, checked
// against the contract while the rollout is in progress: no tenant of a wave moves before
// every tenant of the earlier waves is available on the new revision, and at most
// maxConcurrentTenants are moving (told to move, or rendered from the new revision and not
// yet available).
type rolloutWatch struct {
	t        *testing.T
	start    time.Time
	timeline []timelineEntry
	lastKey  string

	// Of the rollout being watched (reset by expect):
	stable  string          // the revision it starts from
	target  string          // the revision it moves to, once status.rollout names it
	seenOn  map[string]bool // tenants whose Deployment was rendered from target in a sample
	availOn map[string]bool // ... and available on it
	// maxMoving and maxInFlight are the largest movingTenants and the most Deployments on
	// target and not available in a sample of the rollout in progress.
	maxMoving, maxInFlight   int
	samples                  int
	orderErr, concurrencyErr string
}

type timelineEntry struct {
	at   time.Time
	what string
}

// expect starts watching a rollout away from the stable revision.
func (w *rolloutWatch) expect(stable string) {
	w.stable, w.target = stable, ""
	w.seenOn, w.availOn = map[string]bool{}, map[string]bool{}
	w.maxMoving, w.maxInFlight, w.samples = 0, 0, 0
	w.orderErr, w.concurrencyErr = "", ""
}

func (w *rolloutWatch) note(at time.Time, format string, args ...any) {
	w.timeline = append(w.timeline, timelineEntry{at: at, what: fmt.Sprintf(format, args...)})
}

// sample reads the Deployments, then the ApiProduct. In that order, a product still
// Progressing on the target means no rollback had begun when the Deployments were read
// (tenants go back only once the product's status says RolledBack).
func (w *rolloutWatch) sample() (rolloutProductObject, map[string]rolloutDeploymentObject, error) {
	ds, err := readRolloutDeployments()
	if err != nil {
		return rolloutProductObject{}, nil, err
	}
	p, err := readRolloutProduct()
	if err != nil {
		return rolloutProductObject{}, nil, err
	}
	now := time.Now()
	st := p.rollout()
	ready := productsCondition(p.Status.Conditions, "Ready")
	readyText := "Ready=?"
	if ready != nil {
		readyText = "Ready=" + ready.Status + "/" + ready.Reason
	}
	key := fmt.Sprint(st.Revision, st.Phase, st.Wave, st.UpdatedTenants, st.Tenants, st.moving(), st.FailedTenants, readyText)
	if key != w.lastKey {
		w.lastKey = key
		w.note(now, "status   %s wave=%s updated=%d/%d moving=%v failed=%v %s revision=%s stable=%s",
			orDash(st.Phase), orDash(st.Wave), st.UpdatedTenants, st.Tenants, st.moving(), st.FailedTenants, readyText,
			orDash(st.Revision), orDash(st.StableRevision))
	}
	if w.stable == "" {
		return p, ds, nil
	}
	if w.target == "" && st.Revision != "" && st.Revision != w.stable {
		w.target = st.Revision
		w.note(now, "watch    the rollout of %s (from %s) begins", w.target, w.stable)
	}
	if w.target == "" {
		return p, ds, nil
	}
	w.samples++
	var inFlight []string
	on := map[string]bool{}
	avail := map[string]bool{}
	for i := range rolloutTenantCount {
		name := rolloutTenantName(i)
		d, ok := ds[name]
		if !ok || d.revision() != w.target {
			continue
		}
		on[name], avail[name] = true, d.availableOn(w.target)
		if !w.seenOn[name] {
			w.seenOn[name] = true
			w.note(now, "tenant   %s (wave %s) rendered from %s", name, rolloutWaves[rolloutWaveOf(i)], w.target)
		}
		if avail[name] && !w.availOn[name] {
			w.availOn[name] = true
		}
		if !avail[name] {
			inFlight = append(inFlight, name)
		}
	}
	if st.Phase != "Progressing" || st.Revision != w.target {
		return p, ds, nil
	}
	// The rollout is in progress: check this sample against the contract.
	w.maxMoving = max(w.maxMoving, len(st.MovingTenants))
	w.maxInFlight = max(w.maxInFlight, len(inFlight))
	if (len(st.MovingTenants) > rolloutMaxConcurrent || len(inFlight) > rolloutMaxConcurrent) && w.concurrencyErr == "" {
		w.concurrencyErr = fmt.Sprintf("at %s: %d tenants in status.rollout.movingTenants %v and %d Deployments on %s not yet available %v; maxConcurrentTenants is %d",
			w.since(now), len(st.MovingTenants), st.moving(), len(inFlight), w.target, inFlight, rolloutMaxConcurrent)
	}
	for i := range rolloutTenantCount {
		if !on[rolloutTenantName(i)] || w.orderErr != "" {
			continue
		}
		for j := range rolloutTenantCount {
			if rolloutWaveOf(j) < rolloutWaveOf(i) && !avail[rolloutTenantName(j)] {
				w.orderErr = fmt.Sprintf("at %s: %s of wave %s runs %s while %s of the earlier wave %s is not available on it (rendered from %q)",
					w.since(now), rolloutTenantName(i), rolloutWaves[rolloutWaveOf(i)], w.target,
					rolloutTenantName(j), rolloutWaves[rolloutWaveOf(j)], ds[rolloutTenantName(j)].revision())
				break
			}
		}
	}
	return p, ds, nil
}

// until samples every quarter second until done accepts a sample, and fails the test with
// done's last complaint after timeout.
func (w *rolloutWatch) until(timeout time.Duration, what string,
	done func(rolloutProductObject, map[string]rolloutDeploymentObject) error,
) (rolloutProductObject, map[string]rolloutDeploymentObject) {
	w.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		p, ds, err := w.sample()
		if err == nil {
			if err = done(p, ds); err == nil {
				w.note(time.Now(), "reached  %s (%v)", what, time.Since(start).Round(100*time.Millisecond))
				return p, ds
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not reached within %v: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkContract fails the test for what the samples of the rollout found against the
// contract.
func (w *rolloutWatch) checkContract(name string) {
	w.t.Helper()
	w.t.Logf("%s rollout: %d samples in progress; at most %d tenants in movingTenants, %d Deployments in flight at once (maxConcurrentTenants %d)",
		name, w.samples, w.maxMoving, w.maxInFlight, rolloutMaxConcurrent)
	if w.samples == 0 {
		w.t.Errorf("%s rollout: no sample saw it in progress", name)
	}
	if w.orderErr != "" {
		w.t.Errorf("%s rollout: waves out of order: %s", name, w.orderErr)
	}
	if w.concurrencyErr != "" {
		w.t.Errorf("%s rollout: too many tenants moving: %s", name, w.concurrencyErr)
	}
}

func (w *rolloutWatch) since(at time.Time) string {
	return "+" + at.Sub(w.start).Round(10*time.Millisecond).String()
}

// print logs the timeline: the status changes and tenant moves sampled, the steps of the
// test and the Events on the ApiProduct, in the order they happened.
func (w *rolloutWatch) print() {
	entries := slices.Clone(w.timeline)
	if events, err := readRolloutEvents(); err != nil {
		w.t.Logf("reading the ApiProduct's events: %v", err)
	} else {
		for _, e := range events {
			entries = append(entries, timelineEntry{at: e.at, what: fmt.Sprintf("event    %s %s%s: %s", e.Type, e.Reason, e.times(), e.Message)})
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].at.Before(entries[j].at) })
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%10s  %s\n", w.since(e.at), e.what)
	}
	w.t.Logf("rollout timeline (from %s):\n%s", w.start.UTC().Format(time.RFC3339), b.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rolloutNeverReadyStage is the test's kwok Stage: hack/stages/pod-never-ready.yaml's
// status (Running, never Ready) for the Pods of the gold tenants with the given image
// only. The shipped stage selects any image containing "never-ready", for every tenant;
// a rollout changes the image of every tenant, so to fail one wave only, this one
// selects by the tenant label the operator puts on product Pods too. Its weight makes
// kwok play it, not pod-ready (weight 0), on the Pods both select.
func rolloutNeverReadyStage(t *testing.T, image string, tenants []string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.StagesDir(repoRoot), "pod-never-ready.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var stage map[string]any
	if err := yaml.Unmarshal(b, &stage); err != nil {
		t.Fatalf("hack/stages/pod-never-ready.yaml: %v", err)
	}
	spec, _ := stage["spec"].(map[string]any)
	if w, _ := spec["weight"].(float64); w <= 0 {
		t.Fatalf("hack/stages/pod-never-ready.yaml has weight %v: the test's stage needs a positive one to win over pod-ready", spec["weight"])
	}
	stage["metadata"] = map[string]any{"name": rolloutStage}
	spec["selector"] = map[string]any{"matchExpressions": []any{
		map[string]any{"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
		map[string]any{"key": ".status.phase", "operator": "In", "values": []string{"Pending"}},
		map[string]any{"key": `.metadata.labels["` + tenantLabel + `"]`, "operator": "In", "values": tenants},
		map[string]any{"key": ".spec.containers.[].image", "operator": "In", "values": []string{image}},
	}}
	out, err := yaml.Marshal(stage)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// rolloutObjects are the test's ApiProduct (image given), plans and tenants.
func rolloutObjects(image string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata:
  name: %[1]s
  labels: {e2e.openplatform.io/test: rollout}
spec:
  displayName: Rollout test
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - name: api
      image: %[2]s
  auth:
    type: None
  rollout:
    waves:
    - name: canary
      tenantSelector:
        matchLabels: {tenancy.openplatform.io/canary: "true"}
    - name: gold
      plans: [%[4]s]
    - name: everyone
    maxConcurrentTenants: %[5]d
    healthTimeout: %[6]s
    pauseBetweenWaves: 0s
    failurePolicy: Rollback
`, rolloutProduct, image, rolloutPlanBasic, rolloutPlanGold, rolloutMaxConcurrent, rolloutHealthTimeout)
	for _, plan := range []string{rolloutPlanBasic, rolloutPlanGold} {
		fmt.Fprintf(&b, `---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata:
  name: %s
  labels: {e2e.openplatform.io/test: rollout}
spec:
  displayName: Rollout test
  products:
  - name: %s
    replicas: 1
`, plan, rolloutProduct)
	}
	for i := range rolloutTenantCount {
		plan, canary := rolloutPlanBasic, ""
		switch rolloutWaveOf(i) {
		case 0:
			canary = `, tenancy.openplatform.io/canary: "true"`
		case 1:
			plan = rolloutPlanGold
		}
		fmt.Fprintf(&b, `---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata:
  name: %s
  labels: {e2e.openplatform.io/test: rollout%s}
spec:
  displayName: Rollout test tenant
  plan: %s
  owners:
  - {kind: User, name: e2e@example.com}
`, rolloutTenantName(i), canary, plan)
	}
	return b.String()
}

// setRolloutImage changes the image of the product's one component: a new content of v1,
// a new revision, rolled out in waves.
func setRolloutImage(t *testing.T, w *rolloutWatch, image string) {
	t.Helper()
	kubectl(t, "patch", "apiproduct", rolloutProduct, "--type=json", "-p",
		fmt.Sprintf(`[{"op":"replace","path":"/spec/versions/0/components/0/image","value":%q}]`, image))
	w.note(time.Now(), "test     the product's image is now %s", image)
}

// allOn checks that every tenant's Deployment is available on revision and its status
// says it runs it.
func allOn(revision string, ds map[string]rolloutDeploymentObject, tenants []int) error {
	tns, err := readRolloutTenants()
	if err != nil {
		return err
	}
	for _, i := range tenants {
		name := rolloutTenantName(i)
		d, ok := ds[name]
		if !ok {
			return fmt.Errorf("tenant %s has no Deployment %s yet", name, rolloutDeployment)
		}
		if !d.availableOn(revision) {
			return fmt.Errorf("tenant %s: Deployment %s is not available on %s (rendered from %q, %d/%d ready)",
				name, rolloutDeployment, revision, d.revision(), d.Status.ReadyReplicas, d.Status.Replicas)
		}
		if got := tns[name].revision(); got != revision {
			return fmt.Errorf("tenant %s: status.products[%s].revision is %q, want %s", name, rolloutProduct, got, revision)
		}
	}
	return nil
}

func everyTenant() []int {
	var all []int
	for i := range rolloutTenantCount {
		all = append(all, i)
	}
	return all
}

// reasonsInOrder checks that the events hold, in this order (others between them), one of
// each reason, each with a message containing the matching word ("" for any).
func reasonsInOrder(events []rolloutEvent, want ...[2]string) error {
	i := 0
	for _, e := range events {
		if i < len(want) && e.Reason == want[i][0] && strings.Contains(e.Message, want[i][1]) {
			i++
		}
	}
	if i < len(want) {
		var got []string
		for _, e := range events {
			got = append(got, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("no %s event (mentioning %q) after the ones before it; the events:\n%s", want[i][0], want[i][1], strings.Join(got, "\n"))
	}
	return nil
}

// eventsSince are the events at or after a time (a second of slack for the API server's
// clock, which is this machine's).
func eventsSince(t *testing.T, from time.Time) []rolloutEvent {
	t.Helper()
	events, err := readRolloutEvents()
	if err != nil {
		t.Fatal(err)
	}
	var out []rolloutEvent
	for _, e := range events {
		if !e.at.Before(from.Add(-time.Second)) {
			out = append(out, e)
		}
	}
	return out
}

// TestRollout: a product change reaches 20 tenants in waves (canary by label, gold by
// plan, everyone else), at most maxConcurrentTenants at a time, each wave only once the
// previous one is available; a later change whose Pods never become Ready in the gold wave
// (a kwok Stage) passes the canary, fails there within healthTimeout, and rolls back: the
// moved tenants return to the stable revision, the later tenants are never touched, and
// the product reports Ready=False, RolloutFailed and Stalled. Returning the spec to the
// stable content heals it without moving anyone. The timeline (status changes, tenant
// moves, Events) is logged.
func TestRollout(t *testing.T) {
	parallelStory(t)
	dumpOnFailure(t)
	w := &rolloutWatch{t: t, start: time.Now()}
	var gold []string
	for i := range rolloutTenantCount {
		if rolloutWaveOf(i) == 1 {
			gold = append(gold, rolloutTenantName(i))
		}
	}
	badImage := rolloutImage + ":3"

	// Cleanups run last first: tenants, then product and plans, then the Stage.
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "stages.kwok.x-k8s.io", rolloutStage, "--ignore-not-found"); err != nil {
			t.Logf("deleting Stage %s: %v", rolloutStage, err)
		}
	})
	t.Cleanup(func() {
		for _, kind := range []string{"apiproducts", "serviceplans"} {
			if _, err := runKubectl(nil, "delete", kind, "-l", rolloutTestLabel, "--ignore-not-found", "--wait", "--timeout=60s"); err != nil {
				t.Logf("deleting the test's %s: %v", kind, err)
			}
		}
	})
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "tenants", "-l", rolloutTestLabel, "--ignore-not-found", "--wait", "--timeout=180s"); err != nil {
			t.Logf("deleting the test's tenants: %v", err)
		}
	})
	t.Cleanup(func() {
		w.print()
		if t.Failed() {
			for _, args := range [][]string{
				{"get", "apiproduct", rolloutProduct, "-o", "yaml"},
				{"get", "deployments", "-A", "-l", "tenancy.openplatform.io/product=" + rolloutProduct, "-o", "wide"},
				{"get", "pods", "-A", "-l", "tenancy.openplatform.io/product=" + rolloutProduct, "-o", "wide"},
				{"get", "controllerrevisions", "-n", env.operatorSA.Namespace, "-l", "tenancy.openplatform.io/product=" + rolloutProduct},
			} {
				out, err := runKubectl(nil, args...)
				if err != nil {
					t.Logf("%v", err)
					continue
				}
				t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
			}
		}
	})

	kubectlApply(t, rolloutNeverReadyStage(t, badImage, gold))
	kubectlApply(t, rolloutObjects(rolloutImage+":1"))
	w.note(time.Now(), "test     created the product (image %s:1), 2 plans and %d tenants", rolloutImage, rolloutTenantCount)

	// Provisioned: every tenant runs the first revision, available; the product says so.
	p, _ := w.until(120*time.Second, "every tenant provisioned", func(p rolloutProductObject, ds map[string]rolloutDeploymentObject) error {
		st := p.rollout()
		if st.Phase != "Succeeded" || st.Revision == "" || st.Tenants != rolloutTenantCount {
			return fmt.Errorf("status.rollout: phase %q, revision %q, %d tenants; want Succeeded on one revision for %d", st.Phase, st.Revision, st.Tenants, rolloutTenantCount)
		}
		return allOn(st.Revision, ds, everyTenant())
	})
	first := p.rollout().Revision
	if !strings.HasPrefix(first, rolloutProduct+"-v1-") {
		t.Errorf("status.rollout.revision is %q, want a revision named %s-v1-<hash>", first, rolloutProduct)
	}

	// A good change: every wave in turn, to Succeeded.
	w.expect(first)
	goodStart := time.Now()
	setRolloutImage(t, w, rolloutImage+":2")
	p, _ = w.until(90*time.Second, "the good rollout succeeded", func(p rolloutProductObject, ds map[string]rolloutDeploymentObject) error {
		st := p.rollout()
		if w.target == "" || st.Revision != w.target || st.Phase != "Succeeded" {
			return fmt.Errorf("status.rollout: revision %q phase %q (wave %q, %d/%d updated), want a new revision Succeeded", st.Revision, st.Phase, st.Wave, st.UpdatedTenants, st.Tenants)
		}
		return allOn(st.Revision, ds, everyTenant())
	})
	good := w.target
	w.checkContract("good")
	t.Logf("good rollout of %s: %v", good, time.Since(goodStart).Round(100*time.Millisecond))
	if st := p.rollout(); st.StableRevision != good || st.UpdatedTenants != rolloutTenantCount || st.Tenants != rolloutTenantCount || len(st.FailedTenants) > 0 {
		t.Errorf("after the good rollout: status.rollout %+v, want stableRevision %s, %d of %d tenants updated, none failed", st, good, rolloutTenantCount, rolloutTenantCount)
	}
	if !strings.HasPrefix(good, rolloutProduct+"-v1-") || good == first {
		t.Errorf("the good rollout's revision is %q, want a new %s-v1-<hash> (the first was %s)", good, rolloutProduct, first)
	}
	if len(w.seenOn) != rolloutTenantCount {
		t.Errorf("the samples saw %d tenants rendered from %s, want all %d", len(w.seenOn), good, rolloutTenantCount)
	}
	if err := reasonsInOrder(eventsSince(t, goodStart),
		[2]string{"WaveStarted", "canary"}, [2]string{"WaveSucceeded", "canary"},
		[2]string{"WaveStarted", "gold"}, [2]string{"WaveSucceeded", "gold"},
		[2]string{"WaveStarted", "everyone"}, [2]string{"WaveSucceeded", "everyone"},
		[2]string{"RolloutSucceeded", ""}); err != nil {
		t.Errorf("events of the good rollout: %v", err)
	}
	if _, err := runKubectl(nil, "wait", "--for=condition=Ready", "apiproduct/"+rolloutProduct, "--timeout=30s"); err != nil {
		t.Errorf("after the good rollout: %v", err)
	}
	out := kubectl(t, "get", "controllerrevisions", "-n", env.operatorSA.Namespace, "-l", "tenancy.openplatform.io/product="+rolloutProduct, "-o", "name")
	for _, rev := range []string{first, good} {
		if !strings.Contains(out, "controllerrevision.apps/"+rev+"\n") {
			t.Errorf("no ControllerRevision %s in %s; there are:\n%s", rev, env.operatorSA.Namespace, out)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// A bad change: the canary passes, the gold wave's Pods never become Ready.
	before, err := readRolloutDeployments()
	if err != nil {
		t.Fatal(err)
	}
	w.expect(good)
	badStart := time.Now()
	setRolloutImage(t, w, badImage)
	p, _ = w.until(rolloutHealthTimeout+60*time.Second, "the bad rollout rolled back", func(p rolloutProductObject, ds map[string]rolloutDeploymentObject) error {
		st := p.rollout()
		if w.target == "" || st.Revision != w.target || st.Phase != "RolledBack" {
			return fmt.Errorf("status.rollout: revision %q phase %q (wave %q, moving %v), want a new revision RolledBack", st.Revision, st.Phase, st.Wave, st.moving())
		}
		// Every tenant back on the stable revision, available, and saying so.
		return allOn(good, ds, everyTenant())
	})
	bad := w.target
	w.checkContract("bad")
	t.Logf("bad rollout of %s, rolled back: %v", bad, time.Since(badStart).Round(100*time.Millisecond))
	st := p.rollout()
	if st.StableRevision != good || st.Wave != "gold" {
		t.Errorf("after the rollback: status.rollout has stableRevision %q and wave %q, want %s and gold", st.StableRevision, st.Wave, good)
	}
	if len(st.FailedTenants) == 0 {
		t.Errorf("after the rollback: status.rollout.failedTenants is empty")
	}
	for _, name := range st.FailedTenants {
		if !slices.Contains(gold, name) || !w.seenOn[name] {
			t.Errorf("failed tenant %s: want one of the gold tenants %v that moved to %s", name, gold, bad)
		}
	}
	for _, name := range st.FailedTenants {
		if !strings.Contains(st.Message, name) {
			t.Errorf("status.rollout.message %q does not name the failed tenant %s", st.Message, name)
		}
	}
	var movedGold []string
	for i := range rolloutTenantCount {
		name := rolloutTenantName(i)
		switch wave := rolloutWaveOf(i); {
		case wave == 0 && !w.availOn[name]:
			// The canary passed: each canary tenant ran the bad revision, available.
			t.Errorf("canary tenant %s was never seen available on %s", name, bad)
		case wave == 1 && w.seenOn[name]:
			movedGold = append(movedGold, name)
			if w.availOn[name] {
				t.Errorf("gold tenant %s was available on %s: the Stage %s did not keep its Pods from Ready", name, bad, rolloutStage)
			}
		case wave > 1 && w.seenOn[name]:
			t.Errorf("tenant %s of wave %s was rendered from %s: the rollout never reached its wave", name, rolloutWaves[wave], bad)
		}
	}
	if len(movedGold) == 0 || len(movedGold) > rolloutMaxConcurrent {
		t.Errorf("gold tenants moved to %s: %v, want 1 to %d (maxConcurrentTenants)", bad, movedGold, rolloutMaxConcurrent)
	}
	t.Logf("moved and rolled back: the canary tenants and %v; never moved: the other gold tenants and the everyone wave", movedGold)
	after, err := readRolloutDeployments()
	if err != nil {
		t.Fatal(err)
	}
	for i := range rolloutTenantCount {
		name := rolloutTenantName(i)
		moved := rolloutWaveOf(i) == 0 || slices.Contains(movedGold, name)
		g0, g1 := before[name].Metadata.Generation, after[name].Metadata.Generation
		switch {
		case !moved && g0 != g1:
			t.Errorf("tenant %s never moved, yet its Deployment went from generation %d to %d", name, g0, g1)
		case moved && g1 == g0:
			t.Errorf("tenant %s moved and back, yet its Deployment kept generation %d", name, g0)
		}
		if rev := after[name].revision(); rev != good {
			t.Errorf("tenant %s: Deployment annotation %s=%q, want the stable %s", name, revisionAnno, rev, good)
		}
	}
	cond := func(typ string) condition {
		if c := productsCondition(p.Status.Conditions, typ); c != nil {
			return *c
		}
		return condition{Type: typ, Status: "missing"}
	}
	if c := cond("Ready"); c.Status != "False" || c.Reason != "RolloutFailed" {
		t.Errorf("after the rollback: condition %+v, want Ready=False, reason RolloutFailed", c)
	}
	if c := cond("Stalled"); c.Status != "True" {
		t.Errorf("after the rollback: condition %+v, want Stalled=True", c)
	}
	// Events keep whole seconds: those of the good rollout's last second are read too, and
	// are told apart by the revision they name.
	var events []rolloutEvent
	for _, e := range eventsSince(t, badStart) {
		if strings.Contains(e.Message, bad) {
			events = append(events, e)
		}
	}
	if err := reasonsInOrder(events,
		[2]string{"WaveStarted", "canary"}, [2]string{"WaveSucceeded", "canary"},
		[2]string{"WaveStarted", "gold"}, [2]string{"TenantFailed", ""}, [2]string{"RolledBack", ""}); err != nil {
		t.Errorf("events of the bad rollout: %v", err)
	}
	for _, e := range events {
		if e.Reason == "RolloutSucceeded" || (e.Reason == "WaveStarted" && strings.Contains(e.Message, "everyone")) {
			t.Errorf("the bad rollout has a %s event: %s", e.Reason, e.Message)
		}
	}
	table := kubectl(t, "get", "apiproduct", rolloutProduct)
	t.Logf("kubectl get apiproduct %s:\n%s", rolloutProduct, table)
	if rows := parseTable(table).rows; len(rows) != 1 || rows[0]["ROLLOUT"] != "RolledBack" || rows[0]["WAVE"] != "gold" || rows[0]["READY"] != "False" {
		t.Errorf("kubectl get apiproduct: want ROLLOUT RolledBack, WAVE gold, READY False:\n%s", table)
	}

	// Back to the stable content: the rollout ends at once, nobody moves, Ready again.
	healStart := time.Now()
	setRolloutImage(t, w, rolloutImage+":2")
	if _, err := runKubectl(nil, "wait", "--for=condition=Ready", "apiproduct/"+rolloutProduct, "--timeout=30s"); err != nil {
		t.Errorf("after returning to the stable content: %v", err)
	}
	p, _ = w.until(30*time.Second, "healed on the stable revision", func(p rolloutProductObject, ds map[string]rolloutDeploymentObject) error {
		st := p.rollout()
		if st.Phase != "Succeeded" || st.Revision != good || len(st.FailedTenants) > 0 {
			return fmt.Errorf("status.rollout: phase %q revision %q failed %v, want Succeeded on %s", st.Phase, st.Revision, st.FailedTenants, good)
		}
		if c := productsCondition(p.Status.Conditions, "Stalled"); c == nil || c.Status != "False" {
			return fmt.Errorf("condition Stalled %+v, want False", c)
		}
		return allOn(good, ds, everyTenant())
	})
	t.Logf("returned to %s: healed in %v", good, time.Since(healStart).Round(100*time.Millisecond))
	healed, err := readRolloutDeployments()
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range healed {
		if g := after[name].Metadata.Generation; d.Metadata.Generation != g {
			t.Errorf("tenant %s: returning to the stable content changed its Deployment (generation %d to %d)", name, g, d.Metadata.Generation)
		}
	}
}
