package rollout

import (
	"fmt"
	"testing"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// BenchmarkStep measures one rollout pass over a fleet in the middle of a rollout: a third
// of the tenants moved, maxConcurrentTenants moving, the rest waiting, in three waves. Run:
// go test ./internal/rollout -run '^$' -bench Step -benchmem
func BenchmarkStep(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			tenants := make([]Tenant, n)
			for i := range tenants {
				t := Tenant{Name: fmt.Sprintf("tenant-%05d", i), Labels: map[string]string{}, Plan: "pro", Current: r0, Target: r1}
				switch {
				case i%50 == 0:
					t.Labels["canary"] = "true"
				case i%3 == 0:
					t.Plan = "free"
				}
				if i < n/3 {
					t.Current, t.Previous, t.Available = r1, r0, true
				}
				tenants[i] = t
			}
			spec := testSpec(maxConcurrent(10))
			st := recorded(tenancyv1alpha1.RolloutProgressing, "free")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res := Step(Input{Spec: spec, Generation: 1, Status: st, Tenants: tenants, Now: at(0)})
				if len(res.Status.MovingTenants) != 10 {
					b.Fatalf("moving %d, want 10", len(res.Status.MovingTenants))
				}
			}
		})
	}
}

// BenchmarkPick measures the Tenant reconciler's decision for one product.
func BenchmarkPick(b *testing.B) {
	st := rolloutStatus(tenancyv1alpha1.RolloutProgressing, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	in := PickInput{Tenant: "j", Rollout: &tenancyv1alpha1.RolloutSpec{}, Status: st, Target: r1, TargetVersion: "v1",
		Current: r0, CurrentVersion: "v1"}
	b.ReportAllocs()
	for range b.N {
		if c := Pick(in); c.Revision != r1 {
			b.Fatalf("picked %s", c.Revision)
		}
	}
}
