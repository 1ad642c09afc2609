package apply

// Tests of the fields an object leaves to others (render.Object.LeftToOthers: an autoscaled
// Deployment's replicas): the pure helpers, the hash, and the requests Ensure sends to an
// API server whose server-side apply is the API server's own field manager (see lfServer).

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields/managedfieldstest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

var replicasPath = [][]string{{"spec", "replicas"}}

func TestWithoutPaths(t *testing.T) {
	const src = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"c"}]}}}}`
	m := obj(t, src)
	got := withoutPaths(m, replicasPath)
	if want := obj(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("withoutPaths = %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(m, obj(t, src)) {
		t.Errorf("withoutPaths changed its input: %v", m)
	}
	// A deep copy: changing the result leaves the input alone.
	got["spec"].(map[string]any)["template"].(map[string]any)["x"] = "y"
	if !reflect.DeepEqual(m, obj(t, src)) {
		t.Errorf("the result of withoutPaths shares maps with its input: %v", m)
	}
	// No paths: a copy.
	c := withoutPaths(m, nil)
	if !reflect.DeepEqual(c, m) {
		t.Errorf("withoutPaths(m, nil) = %v, want %v", c, m)
	}
	c["metadata"].(map[string]any)["name"] = "b"
	if m["metadata"].(map[string]any)["name"] != "a" {
		t.Error("withoutPaths(m, nil) is not a copy")
	}
	// A path that is not there, or runs through a non-map.
	for _, p := range [][][]string{{{"spec", "paused"}}, {{"status", "replicas"}}, {{"kind", "x"}}} {
		if got := withoutPaths(m, p); !reflect.DeepEqual(got, m) {
			t.Errorf("withoutPaths(%v) = %v, want the object unchanged", p, got)
		}
	}
}

func TestUnsetLeftToOthers(t *testing.T) {
	cases := []struct {
		live  string
		paths [][]string
		want  bool
	}{
		{`{"spec":{"replicas":5}}`, replicasPath, false},
		{`{"spec":{"replicas":1}}`, replicasPath, false},
		{`{"spec":{"replicas":0}}`, replicasPath, true},
		{`{"spec":{"replicas":null}}`, replicasPath, true},
		{`{"spec":{}}`, replicasPath, true},
		{`{}`, replicasPath, true},
		{`{"spec":{"replicas":0}}`, nil, false},
		{`{"spec":{"replicas":2,"paused":true}}`, [][]string{{"spec", "replicas"}, {"spec", "minReadySeconds"}}, true},
	}
	for _, tc := range cases {
		if got := unsetLeftToOthers(obj(t, tc.live), tc.paths); got != tc.want {
			t.Errorf("unsetLeftToOthers(%s, %v) = %v, want %v", tc.live, tc.paths, got, tc.want)
		}
	}
	// Integers as the unstructured converter gives them.
	if !unsetLeftToOthers(map[string]any{"spec": map[string]any{"replicas": int64(0)}}, replicasPath) {
		t.Error("int64 0 counts as set")
	}
	if unsetLeftToOthers(map[string]any{"spec": map[string]any{"replicas": int64(4)}}, replicasPath) {
		t.Error("int64 4 counts as unset")
	}
}

// --- rendered Deployments ----------------------------------------------------------------

// lfDeployment renders payments-api for tenant acme with autoscaling (min > 0) or with
// fixed replicas (min 0, replicas given), or suspended.
func lfDeployment(t *testing.T, min, replicas int32, suspended bool, image string) render.Object {
	t.Helper()
	tn := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec: tenancyv1alpha1.TenantSpec{Plan: "pro", Suspended: suspended,
			Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: "acme"}}},
	}
	entry := tenancyv1alpha1.PlanProduct{Name: "payments"}
	if min > 0 {
		entry.Autoscaling = &tenancyv1alpha1.Autoscaling{MinReplicas: min, MaxReplicas: 10}
	} else {
		entry.Replicas = ptr(replicas)
	}
	plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "pro"},
		Spec: tenancyv1alpha1.ServicePlanSpec{Products: []tenancyv1alpha1.PlanProduct{entry}}}
	product := &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.ApiProductSpec{DefaultVersion: "v1", Versions: []tenancyv1alpha1.ProductVersion{{
			Name: "v1", Components: []tenancyv1alpha1.Component{{Name: "api", Image: image, Port: ptr(int32(8080))}},
		}}},
	}
	resolved, rerr := render.ResolveProducts(tn, plan, map[string]*tenancyv1alpha1.ApiProduct{"payments": product})
	if rerr != nil {
		t.Fatalf("ResolveProducts: %v", rerr)
	}
	for _, o := range render.Product(render.ProductInput{Tenant: tn, Resolved: resolved[0]}) {
		if o.Kind == render.KindDeployment {
			if (min > 0 && !suspended) != (len(o.LeftToOthers) > 0) {
				t.Fatalf("rendered Deployment leaves %v to others, autoscaled %v", o.LeftToOthers, min > 0 && !suspended)
			}
			return o
		}
	}
	t.Fatal("no Deployment rendered")
	return render.Object{}
}

// ensureDesired is what Ensure applies to an existing object: the rendered one without the
// fields left to others, with its hash.
func ensureDesired(t *testing.T, o render.Object) map[string]any {
	t.Helper()
	m, err := toMap(o.Apply)
	if err != nil {
		t.Fatal(err)
	}
	d := withoutPaths(m, o.LeftToOthers)
	setHash(d)
	return d
}

// TestLeftToOthersHash: the hash of an autoscaled Deployment is of the object without
// replicas, so the rendered minimum does not count: not when the minimum changes (the
// autoscaler follows its own spec), and not when the live count differs from it.
func TestLeftToOthersHash(t *testing.T) {
	min2 := ensureDesired(t, lfDeployment(t, 2, 0, false, "i:1"))
	min4 := ensureDesired(t, lfDeployment(t, 4, 0, false, "i:1"))
	if _, found := min2["spec"].(map[string]any)["replicas"]; found {
		t.Fatalf("the desired autoscaled Deployment sets replicas: %v", min2["spec"])
	}
	if h2, h4 := hashOf(t, min2), hashOf(t, min4); h2 != h4 {
		t.Errorf("hashes %s (min 2) and %s (min 4) differ: a change of the minimum would rewrite the Deployment", h2, h4)
	}
	if h2, hi := hashOf(t, min2), hashOf(t, ensureDesired(t, lfDeployment(t, 2, 0, false, "i:2"))); h2 == hi {
		t.Errorf("a new image gives the same hash %s", h2)
	}
	// The same object with replicas set is another desired object.
	fixed := ensureDesired(t, lfDeployment(t, 0, 2, false, "i:1"))
	if hashOf(t, fixed) == hashOf(t, min2) {
		t.Error("the Deployment with replicas 2 has the hash of the autoscaled one: switching to autoscaling would not be applied")
	}

	// The live object the operator created (replicas = the minimum, the hash without it),
	// scaled to 5 by the autoscaler: no change.
	for _, replicas := range []float64{2, 5} {
		live := deepCopy(t, min2)
		live["spec"].(map[string]any)["replicas"] = replicas
		live["status"] = map[string]any{"replicas": replicas}
		if changes, err := Changes(live, min2); err != nil || changes {
			t.Errorf("live replicas %v, desired without replicas: Changes = %v, %v, want false", replicas, changes, err)
		}
	}
	// Without the left-to-others handling a scaled Deployment would be drift.
	m, _ := toMap(lfDeployment(t, 2, 0, false, "i:1").Apply)
	setHash(m)
	live := deepCopy(t, m)
	live["spec"].(map[string]any)["replicas"] = float64(5)
	if changes, _ := Changes(live, m); !changes {
		t.Error("Changes does not see replicas 5 against a desired 2: the test above proves nothing")
	}
}

// --- requests Ensure sends -----------------------------------------------------------------

// lfRequest is an apply Ensure sent: its field manager, whether it forced, and the object.
type lfRequest struct {
	manager string
	force   bool
	object  map[string]any
}

func (r lfRequest) replicas() (float64, bool) {
	spec, _ := r.object["spec"].(map[string]any)
	v, ok := spec["replicas"]
	f, _ := v.(float64)
	return f, ok
}

// lfServer is an API server holding the one Deployment payments-api, that records the
// applies it receives. Its server-side apply is the API server's own field manager stack
// (managedfieldstest, with client-go's schema): it removes a field whose last applier
// stops applying it and keeps one that another manager holds. It neither converts nor
// defaults (a removed replicas stays missing, where the API server would set 1).
//
// controller-runtime's fake client cannot stand in: it decodes an apply into the typed
// Deployment before the field manager sees it, so a partial apply such as the handover
// ({spec: {replicas}}) claims selector and template as null and conflicts with the
// operator's ownership of them, which the API server does not.
type lfServer struct {
	client.Client // only Get and Apply are served
	fm            managedfieldstest.TestFieldManager
	exists        bool
	// typeMeta: Get sets apiVersion and kind, as the manager's cache does; without it Get
	// leaves them empty, as a typed read from the API server (the Applier's Reader) does.
	typeMeta bool
	applies  []lfRequest
}

var deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")

func newLFServer(t *testing.T, typeMeta bool) *lfServer {
	t.Helper()
	builtin, _ := converters()
	return &lfServer{fm: managedfieldstest.NewTestFieldManager(builtin, deploymentGVK), typeMeta: typeMeta}
}

func (s *lfServer) Get(_ context.Context, key client.ObjectKey, o client.Object, _ ...client.GetOption) error {
	if !s.exists || key != (client.ObjectKey{Namespace: "acme", Name: "payments-api"}) {
		return apierrors.NewNotFound(appsv1.Resource("deployments"), key.Name)
	}
	live := s.fm.Live().(*unstructured.Unstructured)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, o); err != nil {
		return err
	}
	if s.typeMeta {
		o.GetObjectKind().SetGroupVersionKind(deploymentGVK)
	} else {
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	}
	return nil
}

func (s *lfServer) Apply(_ context.Context, ac runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	b, err := json.Marshal(ac)
	if err != nil {
		return err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	ao := &client.ApplyOptions{}
	ao.ApplyOptions(opts)
	force := ao.Force != nil && *ao.Force
	s.applies = append(s.applies, lfRequest{manager: ao.FieldManager, force: force, object: m})
	if ao.FieldManager == "" {
		return fmt.Errorf("an apply without a field manager")
	}
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(m)}
	if u.GroupVersionKind() != deploymentGVK || u.GetName() != "payments-api" || u.GetNamespace() != "acme" {
		return fmt.Errorf("apply of %v %s/%s, want a Deployment acme/payments-api", u.GroupVersionKind(), u.GetNamespace(), u.GetName())
	}
	if err := s.fm.Apply(u, ao.FieldManager, force); err != nil {
		return err
	}
	s.exists = true
	return nil
}

// ensure runs Ensure and returns the applies it sent.
func (s *lfServer) ensure(t *testing.T, o render.Object) (bool, []lfRequest) {
	t.Helper()
	s.applies = nil
	// The namespace is one the Applier made: a Deployment missing from it is applied, not
	// looked up and created (the path of a new tenant's first pass).
	a := &Applier{Client: s, fresh: map[string]bool{"acme": true}}
	wrote, err := a.Ensure(context.Background(), o)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return wrote, s.applies
}

// live reads the Deployment: its replicas (nil when missing) and image.
func (s *lfServer) live(t *testing.T) (*int32, string) {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := s.Get(context.Background(), client.ObjectKey{Namespace: "acme", Name: "payments-api"}, d); err != nil {
		t.Fatalf("reading the Deployment: %v", err)
	}
	return d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image
}

// scale sets the live replicas as an autoscaler does: an update (not an apply) under its
// own field manager, which takes the field from whoever applied it.
func (s *lfServer) scale(t *testing.T, n int32) {
	t.Helper()
	u := s.fm.Live().(*unstructured.Unstructured)
	if err := unstructured.SetNestedField(u.Object, int64(n), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if err := s.fm.Update(u, "kube-controller-manager"); err != nil {
		t.Fatalf("scaling to %d: %v", n, err)
	}
}

func wantReplicas(t *testing.T, c *lfServer, want int32) {
	t.Helper()
	if got, _ := c.live(t); got == nil || *got != want {
		t.Errorf("live replicas = %v, want %d", got, want)
	}
}

// checkOperatorApply: an apply of the operator's (its field manager, forced), with replicas
// at want (or without replicas, want < 0).
func checkOperatorApply(t *testing.T, r lfRequest, want float64) {
	t.Helper()
	if r.manager != tenancyv1alpha1.FieldManager || !r.force {
		t.Errorf("apply by %q (force %v), want the operator's %q, forced", r.manager, r.force, tenancyv1alpha1.FieldManager)
	}
	got, ok := r.replicas()
	switch {
	case want < 0 && ok:
		t.Errorf("the operator's apply sets replicas %v, want none (left to the autoscaler)", got)
	case want >= 0 && (!ok || got != want):
		t.Errorf("the operator's apply sets replicas %v (set %v), want %v", got, ok, want)
	}
	if _, ok := r.object["spec"].(map[string]any)["template"]; !ok {
		t.Errorf("the operator's apply has no Pod template: %v", r.object)
	}
}

// checkHandover: the handover apply holds only the live replicas, under HandoverManager,
// not forced.
func checkHandover(t *testing.T, r lfRequest, want float64) {
	t.Helper()
	if r.manager != HandoverManager || r.force {
		t.Errorf("apply by %q (force %v), want %q, not forced", r.manager, r.force, HandoverManager)
	}
	wantObj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "payments-api", "namespace": "acme"},
		"spec":     map[string]any{"replicas": want},
	}
	if !reflect.DeepEqual(r.object, wantObj) {
		t.Errorf("handover apply %v\nwant %v", r.object, wantObj)
	}
}

// TestEnsureLeftToOthers: the applies Ensure sends for an autoscaled Deployment, and the
// replicas the API server holds after them, with the live object read from the cache
// (apiVersion and kind set) and from the API server (none).
func TestEnsureLeftToOthers(t *testing.T) {
	if HandoverManager != "tenant-operator-handover" || HandoverManager == tenancyv1alpha1.FieldManager {
		t.Fatalf("HandoverManager = %q (operator's: %q)", HandoverManager, tenancyv1alpha1.FieldManager)
	}
	for _, typeMeta := range []bool{true, false} {
		t.Run(map[bool]string{true: "read from the cache", false: "read from the API server"}[typeMeta], func(t *testing.T) {
			ensureLeftToOthers(t, typeMeta)
		})
	}
}

func ensureLeftToOthers(t *testing.T, typeMeta bool) {

	t.Run("create: one apply with the minimum", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		if !wrote || len(applies) != 1 {
			t.Fatalf("wrote %v with %d applies, want one", wrote, len(applies))
		}
		checkOperatorApply(t, applies[0], 2)
		wantReplicas(t, c, 2)
	})

	t.Run("existing and unchanged: no request, whatever the live count", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		if wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1")); wrote || len(applies) != 0 {
			t.Errorf("at the minimum: wrote %v with %d applies, want none", wrote, len(applies))
		}
		c.scale(t, 5)
		if wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1")); wrote || len(applies) != 0 {
			t.Errorf("scaled to 5: wrote %v with %d applies, want none", wrote, len(applies))
		}
		// Nor when the plan's minimum changes: the autoscaler's spec carries it.
		if wrote, applies := c.ensure(t, lfDeployment(t, 3, 0, false, "i:1")); wrote || len(applies) != 0 {
			t.Errorf("minimum raised to 3: wrote %v with %d applies, want none", wrote, len(applies))
		}
		wantReplicas(t, c, 5)
	})

	t.Run("existing and changed after the autoscaler scaled: handover with the live count, then the apply without replicas", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		c.scale(t, 5)
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:2"))
		if !wrote || len(applies) != 2 {
			t.Fatalf("wrote %v with %d applies, want the handover and the operator's", wrote, len(applies))
		}
		checkHandover(t, applies[0], 5)
		checkOperatorApply(t, applies[1], -1)
		wantReplicas(t, c, 5)
		if _, image := c.live(t); image != "i:2" {
			t.Errorf("live image %q, want i:2", image)
		}
	})

	t.Run("existing and changed while the operator still holds replicas: the count stays", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:2"))
		if !wrote || len(applies) != 2 {
			t.Fatalf("wrote %v with %d applies, want the handover and the operator's", wrote, len(applies))
		}
		checkHandover(t, applies[0], 2)
		checkOperatorApply(t, applies[1], -1)
		wantReplicas(t, c, 2)
	})

	t.Run("control: without the handover lfServer removes replicas", func(t *testing.T) {
		// What the handover prevents, so that the test above can fail.
		c := newLFServer(t, typeMeta)
		o := lfDeployment(t, 2, 0, false, "i:1")
		c.ensure(t, o)
		next := ensureDesired(t, lfDeployment(t, 2, 0, false, "i:2"))
		if err := (&Applier{Client: c}).apply(context.Background(), o, next, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.live(t); got != nil {
			t.Errorf("live replicas %d after an apply without them: lfServer does not remove fields, and the handover tests prove nothing", *got)
		}
	})

	t.Run("from fixed replicas to autoscaling: the fixed count is handed over", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 0, 3, false, "i:1"))
		wantReplicas(t, c, 3)
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		if !wrote || len(applies) != 2 {
			t.Fatalf("wrote %v with %d applies, want the handover and the operator's", wrote, len(applies))
		}
		checkHandover(t, applies[0], 3)
		checkOperatorApply(t, applies[1], -1)
		wantReplicas(t, c, 3)
		if wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1")); wrote || len(applies) != 0 {
			t.Errorf("next pass: wrote %v with %d applies, want none", wrote, len(applies))
		}
	})

	t.Run("resumed from suspension: the minimum again, no handover", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		c.scale(t, 5)
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, true, "i:1"))
		if !wrote || len(applies) != 1 {
			t.Fatalf("suspend: wrote %v with %d applies, want one", wrote, len(applies))
		}
		checkOperatorApply(t, applies[0], 0)
		wantReplicas(t, c, 0)

		wrote, applies = c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		if !wrote || len(applies) != 1 {
			t.Fatalf("resume: wrote %v with %d applies, want the operator's only", wrote, len(applies))
		}
		checkOperatorApply(t, applies[0], 2)
		wantReplicas(t, c, 2)

		if wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1")); wrote || len(applies) != 0 {
			t.Errorf("next pass: wrote %v with %d applies, want none", wrote, len(applies))
		}
	})

	t.Run("scaled to 0 by someone else while autoscaled: the minimum again", func(t *testing.T) {
		c := newLFServer(t, typeMeta)
		c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		c.scale(t, 0)
		wrote, applies := c.ensure(t, lfDeployment(t, 2, 0, false, "i:1"))
		if !wrote || len(applies) != 1 {
			t.Fatalf("wrote %v with %d applies, want the operator's only", wrote, len(applies))
		}
		checkOperatorApply(t, applies[0], 2)
		wantReplicas(t, c, 2)
	})
}

// TestSteadyStateAvailability: like TestSteadyState, for the objects of an autoscaled
// product with 2 or more replicas and metrics: once the API server holds what Ensure
// applied (an existing object's desired form, decoded into its Go type), Ensure finds
// nothing to do.
func TestSteadyStateAvailability(t *testing.T) {
	tn := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec:       tenancyv1alpha1.TenantSpec{Plan: "pro", Namespaces: []tenancyv1alpha1.TenantNamespace{{Name: "acme"}}},
	}
	plan := &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "pro"},
		Spec: tenancyv1alpha1.ServicePlanSpec{Products: []tenancyv1alpha1.PlanProduct{{Name: "payments",
			Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 6}}}}}
	product := &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.ApiProductSpec{DefaultVersion: "v1", Versions: []tenancyv1alpha1.ProductVersion{{
			Name: "v1", Components: []tenancyv1alpha1.Component{
				{Name: "api", Image: "i:1", Port: ptr(int32(8080)), Metrics: &tenancyv1alpha1.ComponentMetrics{Port: 9090}},
				{Name: "worker", Image: "w:1", Metrics: &tenancyv1alpha1.ComponentMetrics{Port: 9100, Path: "/m"}},
			},
		}}},
	}
	resolved, rerr := render.ResolveProducts(tn, plan, map[string]*tenancyv1alpha1.ApiProduct{"payments": product})
	if rerr != nil {
		t.Fatalf("ResolveProducts: %v", rerr)
	}
	kinds := map[string]int{}
	for _, o := range render.Product(render.ProductInput{Tenant: tn, Resolved: resolved[0], Monitoring: true}) {
		kinds[o.Kind]++
		t.Run(o.Kind+"/"+o.Name, func(t *testing.T) {
			desired := ensureDesired(t, o)
			b, err := json.Marshal(desired)
			if err != nil {
				t.Fatal(err)
			}
			typed, err := NewObject(o.Kind)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, typed); err != nil {
				t.Fatalf("decoding %s into %T: %v", b, typed, err)
			}
			live, err := toMap(typed)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind == render.KindDeployment {
				live["spec"].(map[string]any)["replicas"] = float64(4) // the autoscaler's
			}
			if changes, err := Changes(live, desired); err != nil || changes {
				lb, _ := json.Marshal(live)
				t.Errorf("Changes = %v, %v: the object would be applied on every reconcile\napplied: %s\nlive:    %s", changes, err, b, lb)
			}
		})
	}
	want := map[string]int{render.KindDeployment: 2, render.KindHorizontalPodAutoscaler: 2, render.KindPodDisruptionBudget: 2,
		render.KindService: 2, render.KindServiceMonitor: 2}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("rendered %v, want %v", kinds, want)
	}
}

// TestAvailabilityKinds: the operator knows the new kinds as namespaced product kinds, the
// ServiceMonitor as an unstructured object of the prometheus-operator's CRD.
func TestAvailabilityKinds(t *testing.T) {
	for _, name := range []string{render.KindHorizontalPodAutoscaler, render.KindPodDisruptionBudget, render.KindServiceMonitor} {
		k, ok := KindOf(name)
		if !ok || !k.Product || !k.Namespaced || !k.Watched || k.Condition != tenancyv1alpha1.ConditionProductsReady {
			t.Errorf("kind %s: %+v, want a watched namespaced product kind reporting on ProductsReady", name, k)
		}
		if _, err := NewObject(name); err != nil {
			t.Errorf("NewObject(%s): %v", name, err)
		}
	}
	if k, _ := KindOf(render.KindServiceMonitor); k.CRD != "servicemonitors.monitoring.coreos.com" {
		t.Errorf("ServiceMonitor CRD %q", k.CRD)
	}
	o, _ := NewObject(render.KindServiceMonitor)
	if gvk := o.GetObjectKind().GroupVersionKind(); gvk != (schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}) {
		t.Errorf("NewObject(ServiceMonitor) is a %v", gvk)
	}
	for _, name := range []string{render.KindHorizontalPodAutoscaler, render.KindPodDisruptionBudget} {
		if k, _ := KindOf(name); k.CRD != "" {
			t.Errorf("built-in kind %s waits for CRD %q", name, k.CRD)
		}
	}
}
