package health

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestAvailability: a Deployment at rest is available when every replica of its generation
// is ready; one an autoscaler is scaling up stays available while its minimum is ready.
func TestAvailability(t *testing.T) {
	deployment := func(spec, replicas, updated, ready int32, revision string, observed int64) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: 2, Annotations: map[string]string{tenancyv1alpha1.AnnotationRevision: revision}},
			Spec:       appsv1.DeploymentSpec{Replicas: &spec},
			Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas,
				UpdatedReplicas: updated, ReadyReplicas: ready},
		}
	}
	for _, tc := range []struct {
		name                string
		d                   *appsv1.Deployment
		available, scaledOK bool
	}{
		{"at rest", deployment(2, 2, 2, 2, "r1", 2), true, true},
		{"scaling up from 2 to 4, the new Pods not ready yet", deployment(4, 4, 4, 2, "r1", 2), false, true},
		{"below the minimum", deployment(4, 4, 4, 1, "r1", 2), false, false},
		{"a rollout: old Pods still there", deployment(2, 3, 1, 2, "r1", 2), false, false},
		{"another revision", deployment(2, 2, 2, 2, "r0", 2), false, false},
		{"a generation the controller has not seen", deployment(2, 2, 2, 2, "r1", 1), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Available(tc.d, "r1"); got != tc.available {
				t.Errorf("Available = %v, want %v", got, tc.available)
			}
			if got := AvailableAutoscaled(tc.d, "r1", 2); got != tc.scaledOK {
				t.Errorf("AvailableAutoscaled(min 2) = %v, want %v", got, tc.scaledOK)
			}
		})
	}
}
