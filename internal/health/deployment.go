// Package health reads what a product Deployment's own status says: whether it runs a
// revision available, and why it cannot. The Tenant reconciler reports it in the tenant's
// status; the rollout waits on it.
package health

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// deadlineReason is the reason of a Deployment's Progressing=False condition once its
// progressDeadlineSeconds passed (the deployment controller's constant).
const deadlineReason = "ProgressDeadlineExceeded"

// Available reports whether a Deployment was rendered from revision and its controller has
// every replica of this generation updated and ready.
func Available(d *appsv1.Deployment, revision string) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Annotations[tenancyv1alpha1.AnnotationRevision] == revision &&
		d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas == want &&
		d.Status.ReadyReplicas == want &&
		d.Status.Replicas == want
}

// AvailableAutoscaled reports whether a Deployment whose replica count an autoscaler owns
// was rendered from revision and serves with at least min ready replicas, all of this
// generation: Pods an autoscaler is adding while it scales up do not make the product
// unavailable (Available would, until every new Pod is ready).
func AvailableAutoscaled(d *appsv1.Deployment, revision string, min int32) bool {
	return d.Annotations[tenancyv1alpha1.AnnotationRevision] == revision &&
		d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas == d.Status.Replicas &&
		d.Status.ReadyReplicas >= min
}

// Trouble reads a Deployment's own conditions, as its controller writes them for the
// current generation: a ReplicaFailure (the API server refused its Pods: quota, Pod
// Security, LimitRange) quoted with the refusal, and a progress deadline exceeded. Both are
// "" when the Deployment reports neither.
func Trouble(d *appsv1.Deployment) (rejected, deadline string) {
	if d.Status.ObservedGeneration < d.Generation {
		return "", "" // its controller has not looked at this generation yet
	}
	name := d.Namespace + "/" + d.Name
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			rejected = fmt.Sprintf("Deployment %s cannot create its Pods: %s", name, c.Message)
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == deadlineReason:
			deadline = fmt.Sprintf("Deployment %s did not become available within its progress deadline (%ds): %s",
				name, value(d.Spec.ProgressDeadlineSeconds), c.Message)
		}
	}
	return rejected, deadline
}

func value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// Report is what the Deployments of one product of a tenant say.
type Report struct {
	// Available: every component's Deployment exists, was rendered from the product's
	// revision and is available.
	Available bool
	// Replicas and ReadyReplicas are summed over the Deployments.
	Replicas, ReadyReplicas int32
	// Rejected and Deadline are the first refusal of Pods and the first progress deadline
	// exceeded among the Deployments rendered from the revision (see Trouble).
	Rejected, Deadline string
}

// Product reads the Deployments of a tenant's product, as rendered from rp.Revision.
func Product(ctx context.Context, c client.Reader, rp *render.Resolved) (Report, error) {
	rep := Report{Available: true}
	for _, comp := range rp.Version.Components {
		d := &appsv1.Deployment{}
		err := c.Get(ctx, client.ObjectKey{Namespace: rp.Namespace, Name: render.ComponentName(rp.Product.Name, comp.Name)}, d)
		if apierrors.IsNotFound(err) {
			rep.Available = false
			continue
		}
		if err != nil {
			return Report{}, err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		rep.Replicas += want
		rep.ReadyReplicas += d.Status.ReadyReplicas
		if Available(d, rp.Revision) {
			continue
		}
		if a := rp.PlanEntry.Autoscaling; a != nil && AvailableAutoscaled(d, rp.Revision, a.MinReplicas) {
			continue
		}
		rep.Available = false
		if d.Annotations[tenancyv1alpha1.AnnotationRevision] != rp.Revision {
			continue // not rendered from the revision yet: what it says is about another
		}
		rejected, deadline := Trouble(d)
		if rep.Rejected == "" {
			rep.Rejected = rejected
		}
		if rep.Deadline == "" {
			rep.Deadline = deadline
		}
	}
	return rep, nil
}

// Shared reports on the Deployments of a product's shared instance of a version, rendered
// from revision, as Product does on a tenant's own.
func Shared(ctx context.Context, c client.Reader, p *tenancyv1alpha1.ApiProduct, v *tenancyv1alpha1.ProductVersion, revision string) (Report, error) {
	rep := Report{Available: true}
	for _, comp := range v.Components {
		d := &appsv1.Deployment{}
		err := c.Get(ctx, client.ObjectKey{Namespace: render.SharedNamespace(p), Name: render.SharedComponentName(p.Name, v.Name, comp.Name)}, d)
		if apierrors.IsNotFound(err) {
			rep.Available = false
			continue
		}
		if err != nil {
			return Report{}, err
		}
		if d.Spec.Replicas != nil {
			rep.Replicas += *d.Spec.Replicas
		}
		rep.ReadyReplicas += d.Status.ReadyReplicas
		if Available(d, revision) {
			continue
		}
		rep.Available = false
		if d.Annotations[tenancyv1alpha1.AnnotationRevision] != revision {
			continue
		}
		rejected, deadline := Trouble(d)
		if rep.Rejected == "" {
			rep.Rejected = rejected
		}
		if rep.Deadline == "" {
			rep.Deadline = deadline
		}
	}
	return rep, nil
}
