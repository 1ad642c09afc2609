package render_test

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestRenderedObjectsShareNoMapsWithInputs: a client that decodes the server's answer into
// the apply configuration it sent (controller-runtime's typed Apply does) must not change
// the plan or product it was rendered from. Those are shared: the informer cache's objects,
// and one plan for every tenant rendered in parallel. Found by the benchmark as a
// "concurrent map iteration and map write" crash.
func TestRenderedObjectsShareNoMapsWithInputs(t *testing.T) {
	product := ptPayments()
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1",
		Resources: &tenancyv1alpha1.ComputeResources{Requests: ptRes("cpu", "200m"), Limits: ptRes("cpu", "500m")}})
	plan.Spec.LimitRange = &tenancyv1alpha1.PlanLimitRange{
		Default: ptRes("cpu", "300m"), DefaultRequest: ptRes("cpu", "100m"),
		Max: ptRes("cpu", "2"), Min: ptRes("cpu", "10m"),
	}
	tn := ptTenant("acme", nil)
	planBefore, productBefore := plan.DeepCopy(), product.DeepCopy()

	objs := ptRender(t, tn, plan, nil, false, product)
	lr, ok := render.LimitRange(tn, plan, "acme")
	if !ok {
		t.Fatal("the plan has a limitRange but none was rendered")
	}
	objs = append(objs, lr)
	// What the server might answer: every quantity different.
	answers := map[string]string{
		render.KindDeployment: `{"spec":{"template":{"spec":{"containers":[{"name":"api","resources":{"requests":{"cpu":"9","memory":"9Gi"},"limits":{"cpu":"9"}}}]}}}}`,
		render.KindLimitRange: `{"spec":{"limits":[{"type":"Container","default":{"cpu":"9"},"defaultRequest":{"cpu":"9"},"max":{"cpu":"9"},"min":{"cpu":"9"}}]}}`,
	}
	decoded := 0
	for _, o := range objs {
		if a, ok := answers[o.Kind]; ok {
			if err := json.Unmarshal([]byte(a), o.Apply); err != nil {
				t.Fatalf("decoding into %s %s: %v", o.Kind, o.Name, err)
			}
			decoded++
		}
	}
	if decoded < 2 {
		t.Fatalf("decoded into %d objects, want a Deployment and the LimitRange", decoded)
	}
	if !equality.Semantic.DeepEqual(plan, planBefore) {
		t.Errorf("decoding into the rendered objects changed the plan:\n got  %+v\n want %+v", plan.Spec, planBefore.Spec)
	}
	if !equality.Semantic.DeepEqual(product, productBefore) {
		t.Errorf("decoding into the rendered objects changed the ApiProduct:\n got  %+v\n want %+v", product.Spec, productBefore.Spec)
	}
}
