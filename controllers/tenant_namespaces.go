package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// namespaceState is what the operator found for one of the namespaces a Tenant asks for.
type namespaceState struct {
	name    string
	phase   tenancyv1alpha1.NamespacePhase
	adopted bool
	// adopting is true for a namespace handed over by annotation that is not labelled yet.
	adopting bool
	// conflictOwner is the tenant that owns a conflicting namespace, if any.
	conflictOwner string
}

// usable reports whether the operator may write the namespace and its contents.
func (s namespaceState) usable() bool {
	return s.phase == tenancyv1alpha1.NamespacePending || s.phase == tenancyv1alpha1.NamespaceActive
}

// classifyNamespaces looks up every namespace the tenant asks for. A namespace that exists
// belongs to the tenant when it carries the tenant label, or when an admin annotated it
// tenancy.openplatform.io/adopt=<tenant> and no other tenant owns it. Anything else is a
// conflict and is left untouched.
func (r *TenantReconciler) classifyNamespaces(ctx context.Context, t *tenancyv1alpha1.Tenant) ([]namespaceState, error) {
	var states []namespaceState
	for _, want := range t.DesiredNamespaces() {
		ns := &corev1.Namespace{}
		err := r.Get(ctx, client.ObjectKey{Name: want.Name}, ns)
		if apierrors.IsNotFound(err) {
			states = append(states, namespaceState{name: want.Name, phase: tenancyv1alpha1.NamespacePending})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", want.Name, err)
		}
		owner := ns.Labels[tenancyv1alpha1.LabelTenant]
		s := namespaceState{name: want.Name, phase: tenancyv1alpha1.NamespaceActive}
		switch {
		case owner == t.Name:
			s.adopted = ns.Annotations[tenancyv1alpha1.AnnotationAdopted] == "true"
		case owner == "" && ns.Annotations[tenancyv1alpha1.AnnotationAdopt] == t.Name:
			s.adopted, s.adopting = true, true
		default:
			s.phase, s.conflictOwner = tenancyv1alpha1.NamespaceConflict, owner
		}
		if s.phase == tenancyv1alpha1.NamespaceActive && !ns.DeletionTimestamp.IsZero() {
			s.phase = tenancyv1alpha1.NamespaceTerminating
		}
		states = append(states, s)
	}
	return states, nil
}

// pruneNamespaces deletes the namespaces the tenant no longer lists that the operator
// created, and releases the adopted ones.
func (r *TenantReconciler) pruneNamespaces(ctx context.Context, t *tenancyv1alpha1.Tenant, desired map[string]bool) error {
	list := &corev1.NamespaceList{}
	if err := r.List(ctx, list, client.MatchingLabels{tenancyv1alpha1.LabelTenant: t.Name}); err != nil {
		return fmt.Errorf("listing the namespaces of tenant %s: %w", t.Name, err)
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if desired[ns.Name] || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		if ns.Annotations[tenancyv1alpha1.AnnotationAdopted] == "true" {
			if err := r.releaseNamespace(ctx, t, ns.Name); err != nil {
				return err
			}
			r.event(t, ns, corev1.EventTypeNormal, "NamespaceReleased", "Release",
				"Released adopted namespace %s: it is no longer listed in spec.namespaces", ns.Name)
			continue
		}
		if err := r.Delete(ctx, ns); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
		}
		r.event(t, ns, corev1.EventTypeNormal, "NamespaceDeleted", "Delete",
			"Deleted namespace %s: it is no longer listed in spec.namespaces", ns.Name)
	}
	return nil
}

// releaseNamespace hands an adopted namespace back: the operator's objects in it are deleted
// and the labels and annotations the operator set are removed; everything else stays.
func (r *TenantReconciler) releaseNamespace(ctx context.Context, t *tenancyv1alpha1.Tenant, name string) error {
	for _, kind := range namespacedKinds {
		list, err := r.listManaged(ctx, kind, t.Name, client.InNamespace(name))
		if err != nil {
			return err
		}
		for _, o := range list {
			if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting %s %s/%s: %w", kind, name, o.GetName(), err)
			}
		}
	}
	return r.applier().Release(ctx, render.ReleasedNamespace(name))
}

// conflictMessage explains conflicting namespaces and how to resolve them.
func conflictMessage(t *tenancyv1alpha1.Tenant, states []namespaceState) string {
	var parts []string
	for _, s := range states {
		if s.phase != tenancyv1alpha1.NamespaceConflict {
			continue
		}
		if s.conflictOwner != "" {
			parts = append(parts, fmt.Sprintf("namespace %s belongs to tenant %s", s.name, s.conflictOwner))
		} else {
			parts = append(parts, fmt.Sprintf("namespace %s already exists and does not belong to this tenant", s.name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ") + fmt.Sprintf(
		". Remove it from spec.namespaces, or have an admin annotate it %s=%s to hand it over.",
		tenancyv1alpha1.AnnotationAdopt, t.Name)
}
