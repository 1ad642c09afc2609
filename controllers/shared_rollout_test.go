package controllers

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
	"github.com/openplatform/tenant-operator/internal/rollout"
)

// sharedRollout: a product with a rollout (wave gold for plan gold, then everyone else) has
// one Dedicated tenant on gold and two Shared tenants on plan free. A change reaches the
// gold tenant first; the shared instance moves as one unit (shared:v1, counted once) in the
// next wave, never before the gold tenant is available on the new revision, and its tenants
// report the instance's revision. A later change whose shared instance never becomes
// available fails in that wave, after healthTimeout: the rollout rolls back, and the
// instance and the gold tenant return to the revision they ran.
func sharedRollout(t *testing.T) {
	const product, gold, free, gw = "ash9-roll", "psh9-gold", "psh9-free", "gw-sh9"
	const goldTenant = "tsh9-gold"
	shared := []string{"tsh9-a", "tsh9-b"}
	ns := "shared-" + product
	unit := rollout.SharedUnit("v1")
	deployment := render.SharedComponentName(product, "v1", "api")

	ap := sharedProduct(product, gw, 1, "v1")
	ap.Spec.Rollout = &tenancyv1alpha1.RolloutSpec{
		Waves:                []tenancyv1alpha1.RolloutWave{{Name: "gold", Plans: []string{gold}}},
		MaxConcurrentTenants: 5,
		HealthTimeout:        metav1.Duration{Duration: 8 * time.Second},
	}
	mustCreate(t, ap)
	mustCreate(t, sharedPlan(gold, product, tenancyv1alpha1.TenancyDedicated))
	mustCreate(t, sharedPlan(free, product, tenancyv1alpha1.TenancyShared))
	s := &rolloutStory{t: t, product: product, base: map[string]int64{}}
	s.sim = startSimDeployments(t, product, 0, goldTenant, ns)
	mustCreate(t, newTenant(goldTenant, gold))
	for _, n := range shared {
		mustCreate(t, newTenant(n, free))
	}
	image := func(tag string) string { return "registry.example.com/" + product + ":" + tag }
	rev1 := s.revision("v1")
	s.waitTenantOn(goldTenant, rev1, image("v1"))
	for _, n := range shared {
		waitTenantReady(t, n)
	}
	eventually(t, 0, func() error {
		if ro := s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev1); ro.Tenants != 2 || ro.UpdatedTenants != 2 {
			return fmt.Errorf("status.rollout: %d of %d tenants updated, want 2 of 2: the gold tenant and the shared instance (one unit for its 2 tenants)",
				ro.UpdatedTenants, ro.Tenants)
		}
		return nil
	})
	eventually(t, 0, func() error { return sharedOn(product, ns, deployment, shared, rev1, "", image("v1")) })
	s.log = recordRollout(t, product)

	// A good change: the gold tenant, then the shared instance.
	setImage := func(tag string) string {
		mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
			p.Spec.Versions[0].Components[0].Image = image(tag)
		})
		return s.revision("v1")
	}
	rev2 := setImage("v2")
	s.waitRollout(tenancyv1alpha1.RolloutSucceeded, rev2)
	s.waitTenantOn(goldTenant, rev2, image("v2"))
	eventually(t, 0, func() error { return sharedOn(product, ns, deployment, shared, rev2, "", image("v2")) })
	goldMoves, sharedMoves := s.moves(goldTenant, rev2), sharedGenerations(s.sim, ns, deployment, rev2)
	if len(goldMoves) == 0 || goldMoves[0].ready.IsZero() || len(sharedMoves) == 0 {
		t.Fatalf("the simulated controller saw gold %+v and shared %+v on %s", goldMoves, sharedMoves, rev2)
	}
	if sharedMoves[0].seen.Before(goldMoves[0].ready) {
		t.Errorf("the shared instance was rendered from %s at %s, before the gold tenant was available on it (%s):%s",
			rev2, sharedMoves[0].seen.Format("15:04:05.000"), goldMoves[0].ready.Format("15:04:05.000"), s.log.describe())
	}
	var waves []string
	for _, snap := range s.log.snapshots() {
		if slices.ContainsFunc(snap.rollout.MovingTenants, func(m tenancyv1alpha1.MovingTenant) bool { return m.Name == unit }) {
			waves = append(waves, snap.rollout.Wave)
			if slices.ContainsFunc(snap.rollout.MovingTenants, func(m tenancyv1alpha1.MovingTenant) bool { return slices.Contains(shared, m.Name) }) {
				t.Errorf("status.rollout.movingTenants names a Shared tenant besides its instance: %+v", snap.rollout.MovingTenants)
			}
		}
	}
	if len(waves) == 0 || slices.ContainsFunc(waves, func(w string) bool { return w != rollout.RemainingWave }) {
		t.Errorf("the shared instance moved in waves %v, want only %s:%s", waves, rollout.RemainingWave, s.log.describe())
	}

	// A change the shared instance never becomes available on: rolled back after healthTimeout.
	s.sim.removeNamespaces(ns)
	bad := setImage("v3")
	ro := s.waitRollout(tenancyv1alpha1.RolloutRolledBack, bad)
	if !slices.Equal(ro.FailedTenants, []string{unit}) || ro.Wave != rollout.RemainingWave ||
		!strings.Contains(ro.Message, "The shared instance "+unit+" (serving 2 tenants) failed on revision "+bad) {
		t.Errorf("status.rollout = %+v, want the shared instance %s failed in wave %s, named in the message", ro, unit, rollout.RemainingWave)
	}
	s.sim.addNamespaces(ns)
	s.waitTenantOn(goldTenant, rev2, image("v2"))
	eventually(t, 0, func() error { return sharedOn(product, ns, deployment, shared, rev2, "", image("v2")) })
	s.waitEvents([]wantEvent{{"Warning", rollout.EventTenantFailed, "The shared instance " + unit + " (serving 2 tenants) failed on revision " + bad}})
}

// sharedOn checks that the shared instance runs rev (its status, its Deployment's revision
// annotation and image) and that its tenants report rev.
func sharedOn(product, ns, deployment string, tenants []string, rev, previous, image string) error {
	p, err := fetchProduct(product)
	if err != nil {
		return err
	}
	inst := p.Status.SharedInstances
	if len(inst) != 1 || inst[0].Revision != rev || inst[0].PreviousRevision != previous {
		return fmt.Errorf("product %s: status.sharedInstances %+v, want one on revision %s (previous %q)", product, inst, rev, previous)
	}
	d, err := fetchDeployment(ns, deployment)
	if err != nil {
		return err
	}
	if got := d.Annotations[tenancyv1alpha1.AnnotationRevision]; got != rev || firstImage(d) != image {
		return fmt.Errorf("Deployment %s/%s: revision %q image %q, want %s and %s", ns, deployment, got, firstImage(d), rev, image)
	}
	for _, n := range tenants {
		tn, err := fetchTenant(n)
		if err != nil {
			return err
		}
		if ps, _ := productStatusOf(tn, product); ps.Revision != rev || ps.Tenancy != tenancyv1alpha1.TenancyShared {
			return fmt.Errorf("tenant %s reports %s revision %q, want Shared on %s", n, ps.Tenancy, ps.Revision, rev)
		}
	}
	return nil
}

// sharedGenerations are the generations of a shared Deployment the simulated controller saw
// rendered from rev.
func sharedGenerations(sim *simDeployments, ns, name, rev string) []simGeneration {
	var out []simGeneration
	for _, g := range sim.generations(ns, name) {
		if g.revision == rev {
			out = append(out, g)
		}
	}
	return out
}
