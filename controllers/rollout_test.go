package controllers

// User stories of product rollouts (spec.rollout): a change of a product version reaches the
// tenants wave by wave, each wave gated on the moved tenants being healthy; a change whose
// Pods the API server refuses fails in the canary and is rolled back (or held, with
// failurePolicy Pause); a spec that returns to the stable content ends a rollout at once; an
// operator restart resumes from status.rollout; new tenants and pinned tenants.
//
// envtest runs no deployment controller, so each story starts its own (simDeployments): it
// asks the API server, with a dry-run create, whether a Pod of a Deployment's template would
// be admitted (LimitRanger and Pod Security run in envtest's API server, and the tenant
// namespaces carry their plan's LimitRange) and writes the status the deployment controller
// would: available, or ReplicaFailure=True (FailedCreate) quoting the refusal. The "bad"
// change of these stories is a container limit above the plan's limitRange max: Pods the
// API server really refuses.

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/revision"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// ---------------------------------------------------------------------------------------
// A simulated deployment controller.

// simTick is how often the simulated deployment controller and the rollout recorder look.
const simTick = 50 * time.Millisecond

// simGeneration is one generation of a Deployment as the simulated controller saw it.
type simGeneration struct {
	generation int64
	revision   string // the tenancy.openplatform.io/revision annotation
	image      string // the first container's image
	seen       time.Time
	// done is when the controller wrote the status of this generation (zero: not yet);
	// refused is the API server's refusal of its Pods ("" when admitted).
	done    time.Time
	refused string
}

// simDeployments does, for the Deployments of one product in a test's namespaces (its shared instances' too), what
// kube-controller-manager's deployment controller reports: a new generation's Pods are
// created (here: dry-run, as the replicaset-controller) after startDelay, and the status
// says whether they were admitted. While held, no generation is processed (Pods that never
// start). It records every generation it sees.
type simDeployments struct {
	product    string
	startDelay time.Duration
	asRS       client.Client

	mu         sync.Mutex
	namespaces map[string]bool
	held       bool
	history    map[string][]*simGeneration // by namespace/name
	errs       []string
}

// startSimDeployments starts the simulated deployment controller for product's Deployments
// in namespaces; it stops when the test ends.
func startSimDeployments(t *testing.T, product string, startDelay time.Duration, namespaces ...string) *simDeployments {
	t.Helper()
	s := &simDeployments{
		product: product, startDelay: startDelay,
		asRS:       impersonate(t, "system:serviceaccount:kube-system:replicaset-controller"),
		namespaces: map[string]bool{}, history: map[string][]*simGeneration{},
	}
	s.addNamespaces(namespaces...)
	stop := everyTick(s.sync)
	t.Cleanup(func() {
		stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.errs) > 0 {
			t.Logf("simulated deployment controller of %s: %d errors, the first: %s", product, len(s.errs), s.errs[0])
		}
	})
	return s
}

func (s *simDeployments) addNamespaces(namespaces ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ns := range namespaces {
		s.namespaces[ns] = true
	}
}

// removeNamespaces stops processing the Deployments of namespaces: their new generations
// never become available (Pods that never start).
func (s *simDeployments) removeNamespaces(namespaces ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ns := range namespaces {
		delete(s.namespaces, ns)
	}
}

// hold stops (true) or resumes (false) processing new generations.
func (s *simDeployments) hold(held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = held
}

// generations returns what the controller saw of a Deployment, oldest first.
func (s *simDeployments) generations(namespace, name string) []simGeneration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []simGeneration
	for _, g := range s.history[namespace+"/"+name] {
		out = append(out, *g)
	}
	return out
}

func (s *simDeployments) sync(ctx context.Context) {
	// The product's Deployments in tenant namespaces, and those of its shared instances.
	list, shared := &appsv1.DeploymentList{}, &appsv1.DeploymentList{}
	if err := k8s.List(ctx, list, client.MatchingLabels{tenancyv1alpha1.LabelProduct: s.product}); err != nil {
		s.fail(ctx, err)
		return
	}
	if err := k8s.List(ctx, shared, client.MatchingLabels{tenancyv1alpha1.LabelSharedProduct: s.product}); err != nil {
		s.fail(ctx, err)
		return
	}
	list.Items = append(list.Items, shared.Items...)
	for i := range list.Items {
		d := &list.Items[i]
		s.mu.Lock()
		mine, held := s.namespaces[d.Namespace], s.held
		key := d.Namespace + "/" + d.Name
		h := s.history[key]
		var cur *simGeneration
		if len(h) > 0 && h[len(h)-1].generation == d.Generation {
			cur = h[len(h)-1]
		} else if mine {
			cur = &simGeneration{generation: d.Generation, revision: d.Annotations[tenancyv1alpha1.AnnotationRevision],
				image: firstImage(d), seen: time.Now()}
			s.history[key] = append(h, cur)
		}
		s.mu.Unlock()
		if !mine || held || d.Status.ObservedGeneration >= d.Generation || time.Since(cur.seen) < s.startDelay {
			continue
		}
		refused, err := s.admit(ctx, d)
		if err != nil {
			s.fail(ctx, err)
			continue
		}
		d.Status = deploymentStatus(d, refused)
		if err := k8s.Status().Update(ctx, d); err != nil {
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				s.fail(ctx, err)
			}
			continue // the next tick looks again
		}
		s.mu.Lock()
		cur.done, cur.refused = time.Now(), refused
		s.mu.Unlock()
	}
}

// admit asks the API server whether the replicaset-controller may create a Pod of the
// Deployment's template: "" when it may, else the refusal.
func (s *simDeployments) admit(ctx context.Context, d *appsv1.Deployment) (string, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-sim", Namespace: d.Namespace,
			Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations,
		},
		Spec: *d.Spec.Template.Spec.DeepCopy(),
	}
	err := s.asRS.Create(ctx, pod, client.DryRunAll)
	switch {
	case err == nil:
		return "", nil
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
		return err.Error(), nil
	}
	return "", err
}

func (s *simDeployments) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err.Error())
}

// deploymentStatus is what the deployment controller reports for the Deployment's current
// generation: every replica updated, ready and available when its Pods are admitted; when
// they are refused, ReplicaFailure=True (FailedCreate) with the refusal, no updated replica,
// and the Pods of the previous generation still running (those it had available).
func deploymentStatus(d *appsv1.Deployment, refused string) appsv1.DeploymentStatus {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	now := metav1.Now()
	cond := func(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string) appsv1.DeploymentCondition {
		return appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: message, LastUpdateTime: now, LastTransitionTime: now}
	}
	if refused == "" {
		return appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want, ReadyReplicas: want, AvailableReplicas: want,
			Conditions: []appsv1.DeploymentCondition{
				cond(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability."),
				cond(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable",
					fmt.Sprintf("ReplicaSet %q has successfully progressed.", fmt.Sprintf("%s-%d", d.Name, d.Generation))),
			},
		}
	}
	old := d.Status.AvailableReplicas
	available := corev1.ConditionFalse
	availableReason, availableMessage := "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
	if old >= want {
		available, availableReason, availableMessage = corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability."
	}
	return appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: old, UpdatedReplicas: 0, ReadyReplicas: old, AvailableReplicas: old,
		UnavailableReplicas: max(want-old, 0),
		Conditions: []appsv1.DeploymentCondition{
			cond(appsv1.DeploymentAvailable, available, availableReason, availableMessage),
			cond(appsv1.DeploymentProgressing, corev1.ConditionTrue, "ReplicaSetUpdated",
				fmt.Sprintf("ReplicaSet %q is progressing.", fmt.Sprintf("%s-%d", d.Name, d.Generation))),
			cond(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "FailedCreate", refused),
		},
	}
}

func firstImage(d *appsv1.Deployment) string {
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return ""
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// ---------------------------------------------------------------------------------------
// A recorder of the product's status.

// rolloutSnapshot is the product's status.rollout and Ready condition at one time.
type rolloutSnapshot struct {
	at         time.Time
	generation int64
	rollout    tenancyv1alpha1.RolloutStatus
	ready      metav1.Condition
}

// rolloutLog records every distinct status.rollout and Ready condition of a product.
type rolloutLog struct {
	mu    sync.Mutex
	snaps []rolloutSnapshot
}

// recordRollout watches the product until the test ends: every status write is recorded
// (a poll would miss a state that lasts shorter than its interval, such as a unit that
// becomes available within a tick of starting to move).
func recordRollout(t *testing.T, product string) *rolloutLog {
	t.Helper()
	wc, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	l := &rolloutLog{}
	ctx, cancel := context.WithCancel(testCtx)
	w, err := wc.Watch(ctx, &tenancyv1alpha1.ApiProductList{}, client.MatchingFields{"metadata.name": product})
	if err != nil {
		cancel()
		t.Fatalf("watching ApiProduct %s: %v", product, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			var ev watch.Event
			var ok bool
			select {
			case <-ctx.Done():
				return
			case ev, ok = <-w.ResultChan():
			}
			if !ok {
				if ctx.Err() == nil {
					t.Errorf("the watch of ApiProduct %s closed early", product)
				}
				return
			}
			p, isProduct := ev.Object.(*tenancyv1alpha1.ApiProduct)
			if !isProduct || ev.Type == watch.Deleted {
				if ev.Type == watch.Error {
					t.Errorf("watching ApiProduct %s: %v", product, ev.Object)
				}
				continue
			}
			l.record(p)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// record appends the product's status if it differs from the last one recorded.
func (l *rolloutLog) record(p *tenancyv1alpha1.ApiProduct) {
	s := rolloutSnapshot{at: time.Now(), generation: p.Generation}
	if p.Status.Rollout != nil {
		s.rollout = *p.Status.Rollout.DeepCopy()
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady); c != nil {
		s.ready = *c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.snaps); n == 0 || !equality.Semantic.DeepEqual(l.snaps[n-1].rollout, s.rollout) ||
		!equality.Semantic.DeepEqual(l.snaps[n-1].ready, s.ready) {
		l.snaps = append(l.snaps, s)
	}
}

func (l *rolloutLog) snapshots() []rolloutSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.snaps)
}

// describe renders the log for failure messages.
func (l *rolloutLog) describe() string {
	var b strings.Builder
	for _, s := range l.snapshots() {
		var moving []string
		for _, m := range s.rollout.MovingTenants {
			moving = append(moving, m.Name)
		}
		wst := ""
		if s.rollout.WaveSucceededTime != nil {
			wst = s.rollout.WaveSucceededTime.Format("15:04:05")
		}
		fmt.Fprintf(&b, "\n  %s gen %d %s wave=%q moving=%v updated=%d/%d waveSucceeded=%s failed=%v Ready=%s/%s",
			s.at.Format("15:04:05.000"), s.generation, s.rollout.Phase, s.rollout.Wave, moving,
			s.rollout.UpdatedTenants, s.rollout.Tenants, wst, s.rollout.FailedTenants, s.ready.Status, s.ready.Reason)
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------
// A product with a rollout, its plans and tenants.

// rolloutTenant is a tenant of a rollout story.
type rolloutTenant struct {
	name, plan string
	labels     map[string]string
}

// rolloutStory is a product whose tenants run, on the simulated deployment controller.
type rolloutStory struct {
	t       *testing.T
	product string
	tenants []rolloutTenant
	sim     *simDeployments
	log     *rolloutLog
	// base is the generation of each tenant's Deployment once the story is set up.
	base map[string]int64
}

// rolloutImage is the image of the api component of a product at a tag.
func rolloutImage(product, tag string) string {
	return "registry.example.com/" + product + "-api:" + tag
}

// rolloutPlanOf is a one-namespace plan with the product and a limitRange whose container
// max (cpu 500m) the stories' bad content exceeds.
func rolloutPlanOf(name, product string) *tenancyv1alpha1.ServicePlan {
	p := newProductPlan(name, tenancyv1alpha1.PlanProduct{Name: product})
	p.Spec.LimitRange = &tenancyv1alpha1.PlanLimitRange{
		DefaultRequest: rl("cpu", "100m", "memory", "64Mi"),
		Default:        rl("cpu", "200m", "memory", "128Mi"),
		Max:            rl("cpu", "500m", "memory", "256Mi"),
	}
	return p
}

// badResources are container limits above the plan's limitRange max: LimitRanger refuses
// the Pods.
func badResources() *tenancyv1alpha1.ComputeResources {
	return &tenancyv1alpha1.ComputeResources{Limits: rl("cpu", "2", "memory", "128Mi")}
}

// newRolloutStory creates the product (version v1: one component api at tag 1.0.0, plus
// extra versions), the plans, the simulated deployment controller and the tenants, and
// waits until every tenant runs v1 and the product's rollout says Succeeded on it.
func newRolloutStory(t *testing.T, product string, spec tenancyv1alpha1.RolloutSpec, startDelay time.Duration,
	plans []string, tenants []rolloutTenant, extra ...tenancyv1alpha1.ProductVersion) *rolloutStory {
	t.Helper()
	s := &rolloutStory{t: t, product: product, tenants: tenants, base: map[string]int64{}}
	p := newAPIProduct(product, "v1", append([]tenancyv1alpha1.ProductVersion{
		productVersion("v1", productComponent("api", rolloutImage(product, "1.0.0"), 8080))}, extra...)...)
	p.Spec.Rollout = spec.DeepCopy()
	mustCreate(t, p)
	for _, plan := range plans {
		mustCreate(t, rolloutPlanOf(plan, product))
	}
	var namespaces []string
	for _, tn := range tenants {
		namespaces = append(namespaces, tn.name)
	}
	s.sim = startSimDeployments(t, product, startDelay, namespaces...)
	for _, tn := range tenants {
		s.createTenant(tn)
	}
	rev1 := s.revision("v1")
	for _, tn := range tenants {
		s.waitTenantOn(tn.name, rev1, rolloutImage(product, "1.0.0"))
	}
	// Settled: the product counts every tenant updated on rev1.
	eventually(t, 0, func() error {
		ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1)
		if n := int32(len(tenants)); ro.Tenants != n || ro.UpdatedTenants != n {
			return fmt.Errorf("product %s: %d of %d tenants updated, want %d of %d", product, ro.UpdatedTenants, ro.Tenants, n, n)
		}
		return nil
	})
	s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	for _, tn := range tenants {
		d, err := fetchDeployment(tn.name, s.deployment())
		if err != nil {
			t.Fatal(err)
		}
		s.base[tn.name] = d.Generation
	}
	s.log = recordRollout(t, product)
	return s
}

func (s *rolloutStory) createTenant(tn rolloutTenant) {
	s.t.Helper()
	o := newTenant(tn.name, tn.plan)
	o.Labels = tn.labels
	mustCreate(s.t, o)
}

// deployment is the name of the product's api Deployment.
func (s *rolloutStory) deployment() string { return render.ComponentName(s.product, "api") }

// revision is the name of the revision of the live content of a version of the product.
func (s *rolloutStory) revision(version string) string {
	s.t.Helper()
	p, err := fetchProduct(s.product)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := range p.Spec.Versions {
		if p.Spec.Versions[i].Name == version {
			return revision.Name(p.Name, &p.Spec.Versions[i])
		}
	}
	s.t.Fatalf("product %s has no version %s", s.product, version)
	return ""
}

// setContent changes the api component of a version of the product (a new content, so a
// new revision) and returns the new revision.
func (s *rolloutStory) setContent(version, tag string, res *tenancyv1alpha1.ComputeResources) string {
	s.t.Helper()
	mustUpdate(s.t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: s.product}}, func(p *tenancyv1alpha1.ApiProduct) {
		for i := range p.Spec.Versions {
			if p.Spec.Versions[i].Name == version {
				p.Spec.Versions[i].Components[0].Image = rolloutImage(s.product, tag)
				p.Spec.Versions[i].Components[0].Resources = res.DeepCopy()
			}
		}
	})
	return s.revision(version)
}

// onRevision checks that the tenant's status and its Deployment say it runs revision with
// image (its Deployment rendered from it).
func (s *rolloutStory) onRevision(tenant, rev, image string) error {
	tn, err := fetchTenant(tenant)
	if err != nil {
		return err
	}
	ps, ok := productStatusOf(tn, s.product)
	if !ok {
		return fmt.Errorf("tenant %s reports no product %s: %+v", tenant, s.product, tn.Status.Products)
	}
	if ps.Revision != rev {
		return fmt.Errorf("tenant %s reports revision %q of %s, want %q", tenant, ps.Revision, s.product, rev)
	}
	d, err := fetchDeployment(tenant, s.deployment())
	if err != nil {
		return err
	}
	if got := d.Annotations[tenancyv1alpha1.AnnotationRevision]; got != rev {
		return fmt.Errorf("Deployment %s/%s has revision annotation %q, want %q", tenant, d.Name, got, rev)
	}
	if got := firstImage(d); got != image {
		return fmt.Errorf("Deployment %s/%s runs image %q, want %q", tenant, d.Name, got, image)
	}
	return nil
}

// waitTenantOn waits until the tenant runs revision with image, its product available.
func (s *rolloutStory) waitTenantOn(tenant, rev, image string) {
	s.t.Helper()
	eventually(s.t, 0, func() error {
		if err := s.onRevision(tenant, rev, image); err != nil {
			return err
		}
		tn, err := fetchTenant(tenant)
		if err != nil {
			return err
		}
		if tn.Status.ObservedGeneration != tn.Generation {
			return fmt.Errorf("tenant %s: status.observedGeneration %d, generation %d", tenant, tn.Status.ObservedGeneration, tn.Generation)
		}
		return wantCondition(tn.Status.Conditions, tenancyv1alpha1.ConditionProductsReady, metav1.ConditionTrue, "")
	})
}

// waitRollout waits until status.rollout has phase (and revision, unless ""), decided for
// the product's current generation, and returns it.
func (s *rolloutStory) waitRollout(phase tenancyv1alpha1.RolloutPhase, rev string) *tenancyv1alpha1.RolloutStatus {
	s.t.Helper()
	var ro *tenancyv1alpha1.RolloutStatus
	eventually(s.t, 30*time.Second, func() error {
		p, err := fetchProduct(s.product)
		if err != nil {
			return err
		}
		ro = p.Status.Rollout
		switch {
		case ro == nil:
			return fmt.Errorf("product %s has no status.rollout", s.product)
		case ro.Phase != phase || (rev != "" && ro.Revision != rev):
			return fmt.Errorf("product %s: rollout %s of %q (%s), want %s of %q", s.product, ro.Phase, ro.Revision, ro.Message, phase, rev)
		case p.Status.ObservedGeneration != p.Generation || ro.ObservedGeneration != p.Generation:
			return fmt.Errorf("product %s: status for generation %d (rollout %d), the product is at %d",
				s.product, p.Status.ObservedGeneration, ro.ObservedGeneration, p.Generation)
		}
		return nil
	})
	return ro
}

// waitReady waits, as `kubectl wait --for=condition=Ready` would, until the product's Ready
// condition has status (and reason) for its current generation.
func (s *rolloutStory) waitReady(status metav1.ConditionStatus, reason string) *tenancyv1alpha1.ApiProduct {
	s.t.Helper()
	var p *tenancyv1alpha1.ApiProduct
	eventually(s.t, 0, func() error {
		var err error
		if p, err = fetchProduct(s.product); err != nil {
			return err
		}
		if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady, status, reason); err != nil {
			return fmt.Errorf("product %s: %w", s.product, err)
		}
		if c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady); c.ObservedGeneration != p.Generation {
			return fmt.Errorf("product %s: Ready is for generation %d, the product is at %d", s.product, c.ObservedGeneration, p.Generation)
		}
		return nil
	})
	return p
}

// moves are, for a tenant, the times its Deployment was first seen rendered from rev and
// when that generation was available: one entry per generation on rev.
type move struct{ moved, ready time.Time }

func (s *rolloutStory) moves(tenant, rev string) []move {
	var out []move
	for _, g := range s.sim.generations(tenant, s.deployment()) {
		if g.revision == rev {
			out = append(out, move{moved: g.seen, ready: g.done})
		}
	}
	return out
}

// untouched checks that the tenant's Deployment kept its generation (no template change)
// since the story was set up, and that the controller saw no other generation of it.
func (s *rolloutStory) untouched(tenant string) error {
	d, err := fetchDeployment(tenant, s.deployment())
	if err != nil {
		return err
	}
	if d.Generation != s.base[tenant] {
		return fmt.Errorf("Deployment %s/%s is at generation %d (revision %s), it was at %d: it was changed",
			tenant, d.Name, d.Generation, d.Annotations[tenancyv1alpha1.AnnotationRevision], s.base[tenant])
	}
	for _, g := range s.sim.generations(tenant, s.deployment()) {
		if g.generation > s.base[tenant] {
			return fmt.Errorf("Deployment %s/%s had generation %d (revision %s)", tenant, d.Name, g.generation, g.revision)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Events of a product.

// productEvents lists the events.k8s.io Events regarding the product, each as
// "Type Reason: note".
func productEvents(name string) ([]string, error) {
	p, err := fetchProduct(name)
	if err != nil {
		return nil, err
	}
	events, err := regardingEvents("ApiProduct", name, p.UID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Note))
	}
	slices.Sort(out)
	return out, nil
}

// hasEvents reports the wanted Events the product lacks (each wanted at least once), and
// any Event that forbidden names: by reason ("RolledBack"), or by reason and the start of
// the note ("WaveStarted: Wave gold").
func hasEvents(name string, want []wantEvent, forbidden ...string) error {
	got, err := productEvents(name)
	if err != nil {
		return err
	}
	var problems []string
	for _, w := range want {
		if !slices.ContainsFunc(got, func(s string) bool {
			return strings.HasPrefix(s, w.typ+" "+w.reason+": ") && strings.Contains(s, w.note)
		}) {
			problems = append(problems, "missing "+w.String())
		}
	}
	for _, s := range got {
		_, reasonNote, _ := strings.Cut(s, " ")
		for _, f := range forbidden {
			if strings.HasPrefix(reasonNote, f+": ") || (strings.Contains(f, ": ") && strings.HasPrefix(reasonNote, f)) {
				problems = append(problems, "unexpected "+s)
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("events of product %s: %s\nall events:\n  %s", name, strings.Join(problems, "; "), strings.Join(got, "\n  "))
	}
	return nil
}

func (s *rolloutStory) waitEvents(want []wantEvent, forbidden ...string) {
	s.t.Helper()
	eventually(s.t, 0, func() error { return hasEvents(s.product, want, forbidden...) })
}

// ---------------------------------------------------------------------------------------
// Stories.

// TestRolloutWavesInOrder: a good change moves the canary (by label), then the tenants of
// plan gold, then the rest, at most maxConcurrentTenants at a time, each wave soaking
// pauseBetweenWaves before the next starts. The product is Ready=False, RollingOut, while
// it runs, and Ready=True with the new revision stable at the end; the Events tell the
// story.
func TestRolloutWavesInOrder(t *testing.T) {
	t.Parallel()
	const product, gold, std = "row-api", "row-gold", "row-std"
	const canaryLabel, pause, maxConcurrent = "row.example.com/canary", 3 * time.Second, 2
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
			{Name: "gold", Plans: []string{gold}},
		},
		MaxConcurrentTenants: maxConcurrent,
		HealthTimeout:        metav1.Duration{Duration: time.Minute},
		PauseBetweenWaves:    metav1.Duration{Duration: pause},
	}
	waves := map[string][]string{
		"canary":              {"row-canary"},
		"gold":                {"row-g1", "row-g2"},
		rollout.RemainingWave: {"row-r1", "row-r2", "row-r3"},
	}
	order := []string{"canary", "gold", rollout.RemainingWave}
	tenants := []rolloutTenant{{name: "row-canary", plan: std, labels: map[string]string{canaryLabel: "true"}}}
	for _, n := range waves["gold"] {
		tenants = append(tenants, rolloutTenant{name: n, plan: gold})
	}
	for _, n := range waves[rollout.RemainingWave] {
		tenants = append(tenants, rolloutTenant{name: n, plan: std})
	}
	// Pods take 400ms to start: a moving tenant is visibly unavailable for a while.
	s := newRolloutStory(t, product, spec, 400*time.Millisecond, []string{gold, std}, tenants)
	rev1 := s.revision("v1")

	started := time.Now()
	rev2 := s.setContent("v1", "1.1.0", nil)
	if rev2 == rev1 {
		t.Fatalf("a new image made no new revision: %s", rev2)
	}
	ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev2)
	t.Logf("the rollout of %s took %v:%s", rev2, time.Since(started).Round(100*time.Millisecond), s.log.describe())

	if ro.StableRevision != rev2 || ro.UpdatedTenants != 6 || ro.Tenants != 6 || len(ro.FailedTenants) > 0 || len(ro.MovingTenants) > 0 {
		t.Errorf("status.rollout = %+v, want stableRevision %s, 6 of 6 tenants updated, none failed or moving", ro, rev2)
	}
	// The metrics say so too.
	eventually(t, 0, func() error { return rolloutMetrics(t, product, tenancyv1alpha1.RolloutSucceeded, 6, 6) })
	image := rolloutImage(product, "1.1.0")
	for _, tn := range tenants {
		if err := s.onRevision(tn.name, rev2, image); err != nil {
			t.Error(err)
		}
		// The rollout's end reaches each tenant's status in the tenant's next pass.
		eventually(t, 0, func() error {
			tenant, err := fetchTenant(tn.name)
			if err != nil {
				return err
			}
			if ps, _ := productStatusOf(tenant, product); ps.PreviousRevision != "" {
				return fmt.Errorf("tenant %s: previousRevision %q after the rollout, want none", tn.name, ps.PreviousRevision)
			}
			return nil
		})
	}

	// Each tenant moved exactly once (one generation of its Deployment on rev2, one template
	// change in all), in the order of the waves.
	moved := map[string]move{}
	for _, tn := range tenants {
		m := s.moves(tn.name, rev2)
		if len(m) != 1 || m[0].ready.IsZero() {
			t.Fatalf("tenant %s: Deployment generations on %s: %+v, want exactly one, available", tn.name, rev2, m)
		}
		moved[tn.name] = m[0]
		d, err := fetchDeployment(tn.name, s.deployment())
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != s.base[tn.name]+1 {
			t.Errorf("Deployment %s/%s: generation %d, was %d: want exactly one template change", tn.name, d.Name, d.Generation, s.base[tn.name])
		}
	}
	// When each wave became healthy, as recorded in status.rollout.waveSucceededTime.
	succeeded := map[string]time.Time{}
	for _, snap := range s.log.snapshots() {
		if wst := snap.rollout.WaveSucceededTime; wst != nil && succeeded[snap.rollout.Wave].IsZero() {
			succeeded[snap.rollout.Wave] = wst.Time
		}
	}
	for i := 1; i < len(order); i++ {
		prev, next := order[i-1], order[i]
		var lastPrevReady, firstNext time.Time
		for _, n := range waves[prev] {
			if r := moved[n].ready; r.After(lastPrevReady) {
				lastPrevReady = r
			}
		}
		for _, n := range waves[next] {
			if m := moved[n].moved; firstNext.IsZero() || m.Before(firstNext) {
				firstNext = m
			}
		}
		if !firstNext.After(lastPrevReady) {
			t.Errorf("wave %s started (%s) before every tenant of wave %s was available (%s)",
				next, firstNext.Format("15:04:05.000"), prev, lastPrevReady.Format("15:04:05.000"))
		}
		wst, ok := succeeded[prev]
		if !ok {
			t.Errorf("status.rollout never recorded waveSucceededTime for wave %s", prev)
			continue
		}
		if end := wst.Add(pause); firstNext.Before(end) {
			t.Errorf("wave %s started at %s, before wave %s's waveSucceededTime %s + pauseBetweenWaves %s",
				next, firstNext.Format("15:04:05.000"), prev, wst.Format("15:04:05"), pause)
		}
		// waveSucceededTime is stored to the second: the soak is at most 1s shorter.
		if gap := firstNext.Sub(lastPrevReady); gap < pause-time.Second {
			t.Errorf("wave %s soaked %v before wave %s started, want at least pauseBetweenWaves %v (less 1s of rounding)", prev, gap, next, pause)
		}
	}
	// At most maxConcurrentTenants were on rev2 and not yet available at any time (from the
	// Deployments), and the rollout did tell that many to move together (from its status).
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, m := range moved {
		edges = append(edges, edge{m.moved, 1}, edge{m.ready, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].at.Before(edges[j].at)
	})
	inFlight, most := 0, 0
	for _, e := range edges {
		inFlight += e.delta
		most = max(most, inFlight)
	}
	if most > maxConcurrent {
		t.Errorf("%d tenants were moving at once, more than maxConcurrentTenants %d", most, maxConcurrent)
	}
	sawRollingOut, mostTold := false, 0
	for _, snap := range s.log.snapshots() {
		mostTold = max(mostTold, len(snap.rollout.MovingTenants))
		if n := len(snap.rollout.MovingTenants); n > maxConcurrent {
			t.Errorf("status.rollout.movingTenants had %d tenants at %s, more than %d", n, snap.at.Format("15:04:05.000"), maxConcurrent)
		}
		if snap.rollout.Phase == tenancyv1alpha1.RolloutProgressing {
			if snap.ready.Status != metav1.ConditionFalse || snap.ready.Reason != tenancyv1alpha1.ReasonRollingOut {
				t.Errorf("while the rollout progressed (%s), Ready=%s reason %s, want False RollingOut", snap.rollout.Message, snap.ready.Status, snap.ready.Reason)
			}
			sawRollingOut = true
		}
	}
	if !sawRollingOut {
		t.Error("status.rollout never said Progressing")
	}
	if mostTold != maxConcurrent {
		t.Errorf("status.rollout.movingTenants never held more than %d tenants, want maxConcurrentTenants %d at a time in waves that large", mostTold, maxConcurrent)
	}

	p := s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	for _, typ := range []string{tenancyv1alpha1.ConditionReconciling, tenancyv1alpha1.ConditionStalled} {
		if err := notTrue(p.Status.Conditions, typ); err != nil {
			t.Error(err)
		}
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeNormal, rollout.EventWaveStarted, "Wave canary started"},
		{corev1.EventTypeNormal, rollout.EventWaveSucceeded, "Wave canary of " + rev2 + " succeeded"},
		{corev1.EventTypeNormal, rollout.EventWaveStarted, "Wave gold started"},
		{corev1.EventTypeNormal, rollout.EventWaveSucceeded, "Wave gold of " + rev2 + " succeeded"},
		{corev1.EventTypeNormal, rollout.EventWaveStarted, "Wave " + rollout.RemainingWave + " started"},
		{corev1.EventTypeNormal, rollout.EventWaveSucceeded, "Wave " + rollout.RemainingWave + " of " + rev2 + " succeeded"},
		{corev1.EventTypeNormal, rollout.EventRolloutSucceeded, "Revision " + rev2 + " reached all 6 of its tenants"},
	}, rollout.EventTenantFailed, rollout.EventRolledBack)
}

// TestRolloutBadChangeRollsBack: a change whose Pods the API server refuses (a container
// limit above the plan's limitRange max) fails in the canary at once (PodsRejected, long
// before healthTimeout), the canary returns to the stable revision, nobody else is touched,
// and the product says RolloutFailed and Stalled. The next spec change, a good one, heals
// it.
func TestRolloutBadChangeRollsBack(t *testing.T) {
	t.Parallel()
	const product, gold, std = "rob-api", "rob-gold", "rob-std"
	const canaryLabel = "rob.example.com/canary"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
			{Name: "gold", Plans: []string{gold}},
		},
		MaxConcurrentTenants: 2,
		HealthTimeout:        metav1.Duration{Duration: 10 * time.Minute},
	}
	const canary = "rob-canary"
	later := []string{"rob-g1", "rob-r1"}
	s := newRolloutStory(t, product, spec, 0, []string{gold, std}, []rolloutTenant{
		{name: canary, plan: std, labels: map[string]string{canaryLabel: "true"}},
		{name: later[0], plan: gold},
		{name: later[1], plan: std},
	})
	rev1, image1 := s.revision("v1"), rolloutImage(product, "1.0.0")

	started := time.Now()
	bad := s.setContent("v1", "2.0.0", badResources())
	ro := s.waitRollout(tenancyv1alpha1.RolloutRolledBack, bad)
	t.Logf("rolled back after %v:%s", time.Since(started).Round(100*time.Millisecond), s.log.describe())
	eventually(t, 0, func() error { return rolloutMetrics(t, product, tenancyv1alpha1.RolloutRolledBack, 0, 3) })
	if !slices.Equal(ro.FailedTenants, []string{canary}) || ro.StableRevision != rev1 || ro.Wave != "canary" {
		t.Errorf("status.rollout = %+v, want failedTenants [%s], stableRevision %s, wave canary", ro, canary, rev1)
	}
	if !strings.Contains(ro.Message, canary) || !strings.Contains(ro.Message, tenancyv1alpha1.ReasonPodsRejected) ||
		!strings.Contains(ro.Message, "maximum cpu usage per Container is 500m") {
		t.Errorf("status.rollout.message %q does not name the canary, PodsRejected and the LimitRange refusal", ro.Message)
	}
	// The canary did run the bad revision, and its Pods were refused by the API server.
	gens := s.sim.generations(canary, s.deployment())
	if !slices.ContainsFunc(gens, func(g simGeneration) bool {
		return g.revision == bad && strings.Contains(g.refused, "maximum cpu usage")
	}) {
		t.Errorf("the canary's Deployment never ran %s with its Pods refused: %+v", bad, gens)
	}

	p := s.waitReady(metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutFailed)
	if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, tenancyv1alpha1.ReasonRolloutFailed); err != nil {
		t.Error(err)
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, tenancyv1alpha1.ConditionReady); !strings.Contains(c.Message, canary) {
		t.Errorf("Ready message %q does not name the failed tenant %s", c.Message, canary)
	}
	// The canary returns to the stable revision, available; the later waves never moved.
	s.waitTenantOn(canary, rev1, image1)
	if tn, err := fetchTenant(canary); err == nil {
		if ps, _ := productStatusOf(tn, product); ps.PreviousRevision != "" {
			t.Errorf("tenant %s: previousRevision %q after the rollback, want none", canary, ps.PreviousRevision)
		}
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeNormal, rollout.EventWaveStarted, "Wave canary started"},
		{corev1.EventTypeWarning, rollout.EventTenantFailed, "Tenant " + canary + " failed on revision " + bad + ": " + tenancyv1alpha1.ReasonPodsRejected},
		{corev1.EventTypeWarning, rollout.EventRolledBack, "Rolling back " + bad},
	}, rollout.EventRolloutSucceeded)
	// Held: nobody moves until the spec changes.
	consistently(t, 2*time.Second, func() error {
		for _, n := range later {
			if err := s.untouched(n); err != nil {
				return err
			}
		}
		if err := s.onRevision(canary, rev1, image1); err != nil {
			return err
		}
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.Rollout.Phase != tenancyv1alpha1.RolloutRolledBack {
			return fmt.Errorf("the rollout left RolledBack: %+v", p.Status.Rollout)
		}
		return nil
	})
	if err := hasEvents(product, nil, "WaveStarted: Wave gold", rollout.EventRolloutSucceeded); err != nil {
		t.Error(err)
	}

	// A good change heals it: a new rollout, to every tenant.
	good := s.setContent("v1", "2.0.1", nil)
	ro = s.waitRollout(tenancyv1alpha1.RolloutSucceeded, good)
	if ro.StableRevision != good || len(ro.FailedTenants) > 0 {
		t.Errorf("status.rollout = %+v, want stableRevision %s and no failed tenants", ro, good)
	}
	for _, n := range append([]string{canary}, later...) {
		s.waitTenantOn(n, good, rolloutImage(product, "2.0.1"))
	}
	p = s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	if err := notTrue(p.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
	s.waitEvents([]wantEvent{{corev1.EventTypeNormal, rollout.EventRolloutSucceeded, "Revision " + good + " reached all 3"}})
}

// TestRolloutFailurePolicyPause: with failurePolicy Pause a failed canary stays on the bad
// revision, nobody else moves, and the product says RolloutFailed and Stalled.
func TestRolloutFailurePolicyPause(t *testing.T) {
	t.Parallel()
	const product, plan = "rop-api", "rop-std"
	const canaryLabel, canary = "rop.example.com/canary", "rop-canary"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout: metav1.Duration{Duration: 10 * time.Minute},
		FailurePolicy: tenancyv1alpha1.FailurePause,
	}
	later := []string{"rop-r1", "rop-r2"}
	s := newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: later[0], plan: plan},
		{name: later[1], plan: plan},
	})
	rev1 := s.revision("v1")

	bad := s.setContent("v1", "2.0.0", badResources())
	ro := s.waitRollout(tenancyv1alpha1.RolloutFailed, bad)
	t.Logf("failed:%s", s.log.describe())
	if !slices.Equal(ro.FailedTenants, []string{canary}) || ro.StableRevision != rev1 {
		t.Errorf("status.rollout = %+v, want failedTenants [%s] and stableRevision %s", ro, canary, rev1)
	}
	if !strings.Contains(ro.Message, "failurePolicy is Pause") {
		t.Errorf("status.rollout.message %q does not say the moved tenants stay", ro.Message)
	}
	p := s.waitReady(metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutFailed)
	if err := wantCondition(p.Status.Conditions, tenancyv1alpha1.ConditionStalled, metav1.ConditionTrue, tenancyv1alpha1.ReasonRolloutFailed); err != nil {
		t.Error(err)
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeWarning, rollout.EventTenantFailed, "Tenant " + canary + " failed on revision " + bad},
	}, rollout.EventRolledBack, rollout.EventRolloutSucceeded)
	// The canary stays on the bad revision (its Pods still refused), the others on rev1.
	consistently(t, 2*time.Second, func() error {
		if err := s.onRevision(canary, bad, rolloutImage(product, "2.0.0")); err != nil {
			return err
		}
		d, err := fetchDeployment(canary, s.deployment())
		if err != nil {
			return err
		}
		if c := findDeploymentCondition(d, appsv1.DeploymentReplicaFailure); c == nil || c.Status != corev1.ConditionTrue {
			return fmt.Errorf("Deployment %s/%s has no ReplicaFailure=True: %+v", canary, d.Name, d.Status.Conditions)
		}
		for _, n := range later {
			if err := s.untouched(n); err != nil {
				return err
			}
		}
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.Rollout.Phase != tenancyv1alpha1.RolloutFailed {
			return fmt.Errorf("the rollout left Failed: %+v", p.Status.Rollout)
		}
		return nil
	})
	if err := hasEvents(product, nil, rollout.EventRolledBack); err != nil {
		t.Error(err)
	}

	// Returning the spec to the stable content ends it: the canary goes back, nobody else
	// moves, the product is Ready again.
	if back := s.setContent("v1", "1.0.0", nil); back != rev1 {
		t.Fatalf("the stable content again is revision %s, want %s", back, rev1)
	}
	ro = s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1)
	if ro.StableRevision != rev1 || len(ro.FailedTenants) > 0 {
		t.Errorf("status.rollout = %+v, want revision = stableRevision = %s, no failed tenants", ro, rev1)
	}
	s.waitTenantOn(canary, rev1, rolloutImage(product, "1.0.0"))
	for _, n := range later {
		if err := s.untouched(n); err != nil {
			t.Error(err)
		}
	}
	p = s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	if err := notTrue(p.Status.Conditions, tenancyv1alpha1.ConditionStalled); err != nil {
		t.Error(err)
	}
	s.waitEvents([]wantEvent{{corev1.EventTypeNormal, rollout.EventRolloutReverted, "The rollout of " + bad + " ended"}})
}

// TestRolloutHealthTimeout: a moved tenant whose Pods never become ready (admitted, but
// never available) fails once healthTimeout passes, and is rolled back; the rest never move.
func TestRolloutHealthTimeout(t *testing.T) {
	t.Parallel()
	const product, plan = "rot-api", "rot-std"
	const canaryLabel, canary, other = "rot.example.com/canary", "rot-canary", "rot-r1"
	const timeout = 2 * time.Second
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout: metav1.Duration{Duration: timeout},
	}
	s := newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: other, plan: plan},
	})
	rev1 := s.revision("v1")

	s.sim.hold(true)
	rev2 := s.setContent("v1", "1.1.0", nil)
	eventually(t, 0, func() error { return s.onRevision(canary, rev2, rolloutImage(product, "1.1.0")) })
	ro := s.waitRollout(tenancyv1alpha1.RolloutRolledBack, rev2)
	t.Logf("failed:%s", s.log.describe())
	// Not before healthTimeout from when it was told to move (status.rollout.movingTenants
	// [].since, as recorded: to the second).
	var since, failedAt time.Time
	eventually(t, 0, func() error {
		for _, snap := range s.log.snapshots() {
			for _, m := range snap.rollout.MovingTenants {
				if m.Name == canary && since.IsZero() {
					since = m.Since.Time
				}
			}
			if snap.rollout.Phase == tenancyv1alpha1.RolloutRolledBack && failedAt.IsZero() {
				failedAt = snap.at
			}
		}
		if since.IsZero() || failedAt.IsZero() {
			return fmt.Errorf("the log has no movingTenants entry for %s (%v) or no RolledBack (%v):%s", canary, since, failedAt, s.log.describe())
		}
		return nil
	})
	t.Logf("told to move at %s (recorded since %s), failed at %s",
		toldAt(s.log, canary).Format("15:04:05.000"), since.Format("15:04:05"), failedAt.Format("15:04:05.000"))
	if failedAt.Before(since.Add(timeout)) {
		t.Errorf("the canary failed at %s, before it was told to move (%s) + healthTimeout %v",
			failedAt.Format("15:04:05.000"), since.Format("15:04:05"), timeout)
	}
	if !slices.Equal(ro.FailedTenants, []string{canary}) || !strings.Contains(ro.Message, "within healthTimeout "+timeout.String()) {
		t.Errorf("status.rollout = %+v, want failedTenants [%s] and a message about healthTimeout", ro, canary)
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeWarning, rollout.EventTenantFailed, "Tenant " + canary + " failed on revision " + rev2 + ": not available on revision " + rev2 + " within healthTimeout " + timeout.String()},
		{corev1.EventTypeWarning, rollout.EventRolledBack, "Rolling back " + rev2},
	})
	// Its Pods start once it is back on the stable revision.
	s.sim.hold(false)
	s.waitTenantOn(canary, rev1, rolloutImage(product, "1.0.0"))
	if err := s.untouched(other); err != nil {
		t.Error(err)
	}
	s.waitReady(metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutFailed)
}

// TestRolloutPaused: spec.rollout.paused holds a rollout: the tenant already moving
// finishes, nobody else moves, the product says Ready=False, RolloutPaused; unpaused, it
// goes on to the end.
func TestRolloutPaused(t *testing.T) {
	t.Parallel()
	const product, plan = "rou-api", "rou-std"
	const canaryLabel, canary = "rou.example.com/canary", "rou-canary"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout: metav1.Duration{Duration: 10 * time.Minute},
	}
	later := []string{"rou-r1", "rou-r2"}
	s := newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: later[0], plan: plan},
		{name: later[1], plan: plan},
	})

	s.sim.hold(true)
	rev2 := s.setContent("v1", "1.1.0", nil)
	image2 := rolloutImage(product, "1.1.0")
	eventually(t, 0, func() error { return s.onRevision(canary, rev2, image2) })
	setPaused := func(paused bool) {
		mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
			p.Spec.Rollout.Paused = paused
		})
	}
	setPaused(true)
	s.waitRollout(tenancyv1alpha1.RolloutPaused, rev2)
	s.waitReady(metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutPaused)
	// The canary, moving already, finishes; nobody else moves.
	s.sim.hold(false)
	s.waitTenantOn(canary, rev2, image2)
	consistently(t, 2*time.Second, func() error {
		for _, n := range later {
			if err := s.untouched(n); err != nil {
				return err
			}
		}
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.Rollout.Phase != tenancyv1alpha1.RolloutPaused {
			return fmt.Errorf("the rollout left Paused: %+v", p.Status.Rollout)
		}
		return nil
	})
	setPaused(false)
	s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev2)
	t.Logf("done:%s", s.log.describe())
	for _, n := range later {
		s.waitTenantOn(n, rev2, image2)
	}
	s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
}

func findDeploymentCondition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// TestRolloutRevertedSpecEndsIt: while the canary wave soaks (a long pauseBetweenWaves),
// the spec returns to the stable content: the rollout ends at once, Succeeded on the stable
// revision, the canary returns, and the later wave never moved.
func TestRolloutRevertedSpecEndsIt(t *testing.T) {
	t.Parallel()
	const product = "rov-api"
	s, canary, later, rev1, rev2 := newSoakingCanary(t, "rov")
	image1 := rolloutImage(product, "1.0.0")

	reverted := time.Now()
	if back := s.setContent("v1", "1.0.0", nil); back != rev1 {
		t.Fatalf("the stable content again is revision %s, want %s", back, rev1)
	}
	ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1)
	t.Logf("ended %v after the revert:%s", time.Since(reverted).Round(100*time.Millisecond), s.log.describe())
	if ro.StableRevision != rev1 || len(ro.MovingTenants) > 0 || len(ro.FailedTenants) > 0 {
		t.Errorf("status.rollout = %+v, want revision = stableRevision = %s, nobody moving or failed", ro, rev1)
	}
	s.waitTenantOn(canary, rev1, image1)
	s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	eventually(t, 0, func() error {
		ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1)
		if ro.Tenants != 3 || ro.UpdatedTenants != 3 {
			return fmt.Errorf("status.rollout counts %d of %d tenants updated, want 3 of 3", ro.UpdatedTenants, ro.Tenants)
		}
		return nil
	})
	for _, n := range later {
		if err := s.untouched(n); err != nil {
			t.Error(err)
		}
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeNormal, rollout.EventWaveSucceeded, "Wave canary of " + rev2 + " succeeded"},
		{corev1.EventTypeNormal, rollout.EventRolloutReverted, "The rollout of " + rev2 + " ended"},
	}, rollout.EventRolloutSucceeded, rollout.EventRolledBack, rollout.EventTenantFailed, "WaveStarted: Wave "+rollout.RemainingWave)
	// The canary moved there and back: two template changes, no more.
	if d, err := fetchDeployment(canary, s.deployment()); err != nil {
		t.Error(err)
	} else if d.Generation != s.base[canary]+2 {
		t.Errorf("the canary's Deployment is at generation %d, was %d: want two template changes (there and back)", d.Generation, s.base[canary])
	}
}

// newSoakingCanary is the story of product <prefix>-api on plan <prefix>-std: a canary
// wave (tenant <prefix>-canary) that soaks an hour, then <prefix>-r1 and <prefix>-r2. It
// changes the content (rev1 to rev2) and returns once the canary runs rev2 and its wave
// soaks.
func newSoakingCanary(t *testing.T, prefix string) (s *rolloutStory, canary string, later []string, rev1, rev2 string) {
	t.Helper()
	product, plan, canaryLabel := prefix+"-api", prefix+"-std", prefix+".example.com/canary"
	canary, later = prefix+"-canary", []string{prefix + "-r1", prefix + "-r2"}
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout:     metav1.Duration{Duration: 10 * time.Minute},
		PauseBetweenWaves: metav1.Duration{Duration: time.Hour},
	}
	s = newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: later[0], plan: plan},
		{name: later[1], plan: plan},
	})
	rev1 = s.revision("v1")
	rev2 = s.setContent("v1", "1.1.0", nil)
	s.waitTenantOn(canary, rev2, rolloutImage(product, "1.1.0"))
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		ro := p.Status.Rollout
		if ro == nil || ro.Phase != tenancyv1alpha1.RolloutProgressing || ro.Wave != "canary" || ro.WaveSucceededTime == nil {
			return fmt.Errorf("want the canary wave soaking, have %+v", ro)
		}
		return nil
	})
	return s, canary, later, rev1, rev2
}

// TestRolloutResumesAfterOperatorRestart: the operator is stopped while the canary is
// moving and restarted after the canary became available, then restarted again while the
// next wave is moving. The rollout resumes from status.rollout: every tenant moved exactly
// once (one template change of its Deployment), none skipped, maxConcurrentTenants held
// across the restart, and the moving tenants kept their healthTimeout clock.
//
// Not parallel: it stops and starts the shared manager.
func TestRolloutResumesAfterOperatorRestart(t *testing.T) {
	const product, plan = "ror-api", "ror-std"
	const canaryLabel, canary = "ror.example.com/canary", "ror-canary"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		MaxConcurrentTenants: 2,
		HealthTimeout:        metav1.Duration{Duration: 10 * time.Minute},
	}
	rest := []string{"ror-r1", "ror-r2", "ror-r3"}
	tenants := []rolloutTenant{{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}}}
	for _, n := range rest {
		tenants = append(tenants, rolloutTenant{name: n, plan: plan})
	}
	s := newRolloutStory(t, product, spec, 0, []string{plan}, tenants)

	// Pods do not start: the canary moves and stays unavailable.
	s.sim.hold(true)
	rev2 := s.setContent("v1", "1.1.0", nil)
	image2 := rolloutImage(product, "1.1.0")
	movingIs := func(names ...string) (*tenancyv1alpha1.RolloutStatus, error) {
		p, err := fetchProduct(product)
		if err != nil {
			return nil, err
		}
		ro := p.Status.Rollout
		var moving []string
		if ro != nil {
			for _, m := range ro.MovingTenants {
				moving = append(moving, m.Name)
			}
		}
		if ro == nil || ro.Phase != tenancyv1alpha1.RolloutProgressing || !slices.Equal(moving, names) {
			return nil, fmt.Errorf("want the rollout progressing with %v moving, have %+v", names, ro)
		}
		for _, n := range names {
			if err := s.onRevision(n, rev2, image2); err != nil {
				return nil, err
			}
		}
		return ro, nil
	}
	var before *tenancyv1alpha1.RolloutStatus
	eventually(t, 0, func() error {
		var err error
		before, err = movingIs(canary)
		return err
	})

	// The operator is down while the canary's Pods start.
	withManagerStopped(t, func() {
		s.sim.hold(false)
		eventually(t, 0, func() error {
			d, err := fetchDeployment(canary, s.deployment())
			if err != nil {
				return err
			}
			if d.Status.ObservedGeneration != d.Generation || d.Status.AvailableReplicas != 1 {
				return fmt.Errorf("the canary's Deployment is not available yet: %+v", d.Status)
			}
			return nil
		})
		s.sim.hold(true)
		p, err := fetchProduct(product)
		if err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(p.Status.Rollout.MovingTenants, before.MovingTenants) {
			t.Fatalf("status.rollout changed with no operator running: %+v", p.Status.Rollout)
		}
	})
	// The new operator finds the canary done and starts the next wave: two of the three.
	var during *tenancyv1alpha1.RolloutStatus
	eventually(t, 0, func() error {
		var err error
		during, err = movingIs(rest[0], rest[1])
		return err
	})
	if during.Wave != rollout.RemainingWave {
		t.Errorf("status.rollout.wave = %q, want %s", during.Wave, rollout.RemainingWave)
	}

	// Restarted again while those two move: they stay told (with the same healthTimeout
	// clock), the third waits, nobody moves again.
	restartManager(t)
	consistently(t, 2*time.Second, func() error {
		ro, err := movingIs(rest[0], rest[1])
		if err != nil {
			return err
		}
		if !equality.Semantic.DeepEqual(ro.MovingTenants, during.MovingTenants) {
			return fmt.Errorf("movingTenants changed from %+v to %+v", during.MovingTenants, ro.MovingTenants)
		}
		return s.untouched(rest[2])
	})

	s.sim.hold(false)
	ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev2)
	t.Logf("resumed:%s", s.log.describe())
	if ro.StableRevision != rev2 || ro.UpdatedTenants != 4 {
		t.Errorf("status.rollout = %+v, want stableRevision %s and 4 tenants updated", ro, rev2)
	}
	for _, tn := range tenants {
		s.waitTenantOn(tn.name, rev2, image2)
		d, err := fetchDeployment(tn.name, s.deployment())
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != s.base[tn.name]+1 {
			t.Errorf("tenant %s: its Deployment went from generation %d to %d, want exactly one template change", tn.name, s.base[tn.name], d.Generation)
		}
		if m := s.moves(tn.name, rev2); len(m) != 1 {
			t.Errorf("tenant %s: Deployment generations on %s: %+v, want exactly one", tn.name, rev2, m)
		}
	}
	s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
	s.waitEvents([]wantEvent{
		{corev1.EventTypeNormal, rollout.EventRolloutSucceeded, "Revision " + rev2 + " reached all 4 of its tenants"},
	}, rollout.EventTenantFailed, rollout.EventRolledBack)
}

// TestRolloutTriggers: a change of the product's defaultVersion, and then of a plan's
// products[].version, each roll out in waves like a change of content: the canary first,
// every tenant moved once.
func TestRolloutTriggers(t *testing.T) {
	t.Parallel()
	const product, plan = "roz-api", "roz-std"
	const canaryLabel, canary, other = "roz.example.com/canary", "roz-canary", "roz-r1"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout: metav1.Duration{Duration: 10 * time.Minute},
	}
	s := newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: other, plan: plan},
	}, productVersion("v2", productComponent("api", rolloutImage(product, "2.0.0"), 8080)),
		productVersion("v3", productComponent("api", rolloutImage(product, "3.0.0"), 8080)))
	inOrder := func(rev string) {
		t.Helper()
		c, o := s.moves(canary, rev), s.moves(other, rev)
		if len(c) != 1 || len(o) != 1 {
			t.Fatalf("Deployment generations on %s: canary %+v, %s %+v; want one each", rev, c, other, o)
		}
		if !o[0].moved.After(c[0].ready) {
			t.Errorf("%s moved to %s at %s, before the canary was available on it (%s)", other, rev,
				o[0].moved.Format("15:04:05.000"), c[0].ready.Format("15:04:05.000"))
		}
	}

	mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.DefaultVersion = "v2"
	})
	rev2 := s.revision("v2")
	s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev2)
	s.waitTenantOn(other, rev2, rolloutImage(product, "2.0.0"))
	inOrder(rev2)

	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: plan}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Version = "v3"
	})
	rev3 := s.revision("v3")
	s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev3)
	s.waitTenantOn(other, rev3, rolloutImage(product, "3.0.0"))
	inOrder(rev3)
	t.Logf("two rollouts:%s", s.log.describe())
	s.waitEvents([]wantEvent{
		{corev1.EventTypeNormal, rollout.EventRolloutSucceeded, "Revision " + rev2 + " reached all 2"},
		{corev1.EventTypeNormal, rollout.EventRolloutSucceeded, "Revision " + rev3 + " reached all 2"},
	})
}

// TestRolloutNewAndPinnedTenants: a tenant created while a rollout soaks gets the stable
// revision, and the new one only once the rollout reaches it; a tenant that pins another
// version moves to it at once, whatever wave it is in.
func TestRolloutNewAndPinnedTenants(t *testing.T) {
	t.Parallel()
	const product, plan = "ron-api", "ron-std"
	const canaryLabel, canary = "ron.example.com/canary", "ron-canary"
	spec := tenancyv1alpha1.RolloutSpec{
		Waves: []tenancyv1alpha1.RolloutWave{
			{Name: "canary", TenantSelector: &metav1.LabelSelector{MatchLabels: map[string]string{canaryLabel: "true"}}},
		},
		HealthTimeout:     metav1.Duration{Duration: 10 * time.Minute},
		PauseBetweenWaves: metav1.Duration{Duration: time.Hour},
	}
	const old, pinned, fresh = "ron-r1", "ron-pin", "ron-new"
	s := newRolloutStory(t, product, spec, 0, []string{plan}, []rolloutTenant{
		{name: canary, plan: plan, labels: map[string]string{canaryLabel: "true"}},
		{name: old, plan: plan},
		{name: pinned, plan: plan},
	}, productVersion("v2", productComponent("api", rolloutImage(product, "2.0.0"), 8080)))
	rev1, image1 := s.revision("v1"), rolloutImage(product, "1.0.0")
	revV2 := s.revision("v2")

	rev1b := s.setContent("v1", "1.1.0", nil)
	s.waitTenantOn(canary, rev1b, rolloutImage(product, "1.1.0"))
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if ro := p.Status.Rollout; ro == nil || ro.Phase != tenancyv1alpha1.RolloutProgressing || ro.WaveSucceededTime == nil {
			return fmt.Errorf("want the canary wave soaking, have %+v", ro)
		}
		return nil
	})

	// A new tenant, while the rollout soaks, runs the stable revision.
	s.sim.addNamespaces(fresh)
	s.createTenant(rolloutTenant{name: fresh, plan: plan})
	s.waitTenantOn(fresh, rev1, image1)
	// A tenant that pins v2 moves at once.
	mustUpdate(t, &tenancyv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: pinned}}, func(tn *tenancyv1alpha1.Tenant) {
		tn.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v2"}}
	})
	s.waitTenantOn(pinned, revV2, rolloutImage(product, "2.0.0"))
	p, err := fetchProduct(product)
	if err != nil {
		t.Fatal(err)
	}
	if ro := p.Status.Rollout; ro.Phase != tenancyv1alpha1.RolloutProgressing || ro.Wave != "canary" || ro.Revision != rev1b {
		t.Errorf("the pin changed the rollout: %+v", ro)
	}
	if err := s.untouched(old); err != nil {
		t.Error(err)
	}
	if err := s.onRevision(fresh, rev1, image1); err != nil {
		t.Error(err)
	}

	// The soak ends (pauseBetweenWaves 0s): the rest move, the new tenant with them.
	mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Rollout.PauseBetweenWaves = metav1.Duration{}
	})
	ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1b)
	t.Logf("done:%s", s.log.describe())
	if ro.StableRevision != rev1b || ro.Tenants != 3 || ro.UpdatedTenants != 3 {
		t.Errorf("status.rollout = %+v, want stableRevision %s, 3 of 3 tenants (the pinned one is on another version)", ro, rev1b)
	}
	for _, n := range []string{canary, old, fresh} {
		s.waitTenantOn(n, rev1b, rolloutImage(product, "1.1.0"))
	}
	if m := s.moves(fresh, rev1); len(m) != 1 {
		t.Errorf("the new tenant's Deployment on %s: %+v, want one generation (created on it)", rev1, m)
	}
	if err := s.onRevision(pinned, revV2, rolloutImage(product, "2.0.0")); err != nil {
		t.Error(err)
	}
	s.waitReady(metav1.ConditionTrue, tenancyv1alpha1.ReasonReconciled)
}

// toldAt is when the log first saw the tenant in status.rollout.movingTenants.
func toldAt(l *rolloutLog, tenant string) time.Time {
	for _, snap := range l.snapshots() {
		for _, m := range snap.rollout.MovingTenants {
			if m.Name == tenant {
				return snap.at
			}
		}
	}
	return time.Time{}
}

// TestRolloutTenantFallingIllStopsIt: a wave soaks healthy. The canary, moved and available,
// loses its Pods while its wave soaks (its ReplicaSet cannot replace them: the API server
// refuses them), and the rollout stops there: RolledBack, the canary named, the next wave
// never started.
func TestRolloutTenantFallingIllStopsIt(t *testing.T) {
	t.Parallel()
	const product = "roi-api"
	s, canary, later, rev1, rev2 := newSoakingCanary(t, "roi")
	image1 := rolloutImage(product, "1.0.0")

	// The canary's Pods are gone and cannot be made again, as its deployment controller
	// would report it.
	s.sim.hold(true)
	const refusal = `pods "roi-api-6f7d9c-x2k4q" is forbidden: exceeded quota: compute, requested: requests.cpu=100m, used: requests.cpu=2, limited: requests.cpu=2`
	d, err := fetchDeployment(canary, s.deployment())
	if err != nil {
		t.Fatal(err)
	}
	d.Status = deploymentStatus(d, refusal)
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UnavailableReplicas = 0, 0, 0, 1
	if err := k8s.Status().Update(testCtx, d); err != nil {
		t.Fatal(err)
	}

	ro := s.waitRollout(tenancyv1alpha1.RolloutRolledBack, rev2)
	if !reflect.DeepEqual(ro.FailedTenants, []string{canary}) || !strings.Contains(ro.Message, "exceeded quota") {
		t.Errorf("status.rollout failedTenants %v, message %q: want the canary named with its refusal", ro.FailedTenants, ro.Message)
	}
	s.waitReady(metav1.ConditionFalse, tenancyv1alpha1.ReasonRolloutFailed)
	s.sim.hold(false)
	s.waitTenantOn(canary, rev1, image1)
	for _, n := range later {
		if err := s.untouched(n); err != nil {
			t.Error(err)
		}
	}
	s.waitEvents([]wantEvent{
		{corev1.EventTypeWarning, rollout.EventTenantFailed, "Tenant " + canary + " failed on revision " + rev2},
		{corev1.EventTypeWarning, rollout.EventRolledBack, "Rolling back " + rev2},
	}, rollout.EventRolloutSucceeded)
}

// rolloutMetrics checks the product's rollout series: 1 for the phase and 0 for the others,
// and the updated and total tenants.
func rolloutMetrics(t *testing.T, product string, phase tenancyv1alpha1.RolloutPhase, updated, tenants float64) error {
	t.Helper()
	for _, ph := range []tenancyv1alpha1.RolloutPhase{tenancyv1alpha1.RolloutProgressing, tenancyv1alpha1.RolloutPaused,
		tenancyv1alpha1.RolloutSucceeded, tenancyv1alpha1.RolloutFailed, tenancyv1alpha1.RolloutRolledBack} {
		want := 0.0
		if ph == phase {
			want = 1
		}
		if v := gaugeValue(t, "tenant_operator_rollout_phase", "product", product, "phase", string(ph)); v != want {
			return fmt.Errorf("tenant_operator_rollout_phase{product=%q,phase=%q} = %v, want %v", product, ph, v, want)
		}
	}
	if v := gaugeValue(t, "tenant_operator_rollout_updated_tenants", "product", product); v != updated {
		return fmt.Errorf("tenant_operator_rollout_updated_tenants{product=%q} = %v, want %v", product, v, updated)
	}
	if v := gaugeValue(t, "tenant_operator_rollout_tenants", "product", product); v != tenants {
		return fmt.Errorf("tenant_operator_rollout_tenants{product=%q} = %v, want %v", product, v, tenants)
	}
	return nil
}

// TestRevisionsArePruned: every content of a version becomes a revision in the operator's
// namespace; of those no version, rollout or tenant names, the newest --revision-history
// (5 by default) stay and older ones are deleted, while the live content's stays.
func TestRevisionsArePruned(t *testing.T) {
	t.Parallel()
	const product = "rvp-api"
	mustCreate(t, newAPIProduct(product, "v1", productVersion("v1", productComponent("api", rolloutImage(product, "1.0.0"), 8080))))
	var made []string
	for i := 0; i < 8; i++ {
		if i > 0 {
			mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
				p.Spec.Versions[0].Components[0].Image = rolloutImage(product, fmt.Sprintf("1.0.%d", i))
			})
		}
		p, err := fetchProduct(product)
		if err != nil {
			t.Fatal(err)
		}
		rev := revision.Name(product, &p.Spec.Versions[0])
		made = append(made, rev)
		// Each content is stored before the next one is written, so their order is known.
		eventually(t, 0, func() error {
			return get(&appsv1.ControllerRevision{}, testOperatorNamespace, rev)
		})
	}
	// The live content (made[7]) and the five newest of the others (made[2..6]) stay.
	want := append([]string(nil), made[2:]...)
	slices.Sort(want)
	eventually(t, 0, func() error {
		list := &appsv1.ControllerRevisionList{}
		if err := k8s.List(testCtx, list, client.InNamespace(testOperatorNamespace),
			client.MatchingLabels{tenancyv1alpha1.LabelProduct: product}); err != nil {
			return err
		}
		var got []string
		for _, cr := range list.Items {
			got = append(got, cr.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("revisions of %s: %v, want %v (the live one and the 5 newest others; %v pruned)", product, got, want, made[:2])
		}
		return nil
	})
}

// everyTick runs sync at once and then every simTick until the returned stop is called; stop
// waits for the last run to end.
func everyTick(sync func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(testCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(simTick)
		defer tick.Stop()
		for {
			sync(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
