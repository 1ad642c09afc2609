package tenant

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/render"
)

// classifyNamespaces looks up every namespace the tenant asks for. A namespace that exists
// belongs to the tenant when it carries the tenant label, or when an admin annotated it
// tenancy.openplatform.io/adopt=<tenant> and no other tenant owns it. Anything else is a
// conflict and is left untouched.
func (r *Reconciler) classifyNamespaces(ctx context.Context, t *tenancyv1alpha1.Tenant) ([]conditions.Namespace, error) {
	reserved, err := r.reservedNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	var states []conditions.Namespace
	for _, want := range t.DesiredNamespaces() {
		ns := &corev1.Namespace{}
		err := r.Get(ctx, client.ObjectKey{Name: want.Name}, ns)
		if why := reserved(want.Name); why != "" {
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading namespace %s: %w", want.Name, err)
			}
			s := conditions.Namespace{Name: want.Name, Phase: tenancyv1alpha1.NamespaceConflict, Reserved: why}
			if err == nil && ns.Labels[tenancyv1alpha1.LabelTenant] == t.Name {
				s.ReleaseReserved = true
			}
			states = append(states, s)
			continue
		}
		if apierrors.IsNotFound(err) {
			states = append(states, conditions.Namespace{Name: want.Name, Phase: tenancyv1alpha1.NamespacePending})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading namespace %s: %w", want.Name, err)
		}
		owner := ns.Labels[tenancyv1alpha1.LabelTenant]
		s := conditions.Namespace{Name: want.Name, Phase: tenancyv1alpha1.NamespaceActive}
		switch {
		case owner == t.Name:
			s.Adopted = ns.Annotations[tenancyv1alpha1.AnnotationAdopted] == "true"
		case owner == "" && ns.Annotations[tenancyv1alpha1.AnnotationAdopt] == t.Name:
			s.Adopted, s.Adopting = true, true
		default:
			s.Phase, s.ConflictOwner = tenancyv1alpha1.NamespaceConflict, owner
		}
		if s.Phase == tenancyv1alpha1.NamespaceActive && !ns.DeletionTimestamp.IsZero() {
			s.Phase = tenancyv1alpha1.NamespaceTerminating
		}
		states = append(states, s)
	}
	return states, nil
}

// pruneNamespaces deletes the namespaces the tenant no longer lists that the operator
// created, and releases the adopted ones; with deletionPolicy Retain it keeps them all,
// unlabelled (see retainNamespaces).
func (r *Reconciler) pruneNamespaces(ctx context.Context, t *tenancyv1alpha1.Tenant, desired map[string]bool) error {
	list := &corev1.NamespaceList{}
	if err := r.List(ctx, list, ofTenant(t.Name)...); err != nil {
		return fmt.Errorf("listing the namespaces of tenant %s: %w", t.Name, err)
	}
	for i := range list.Items {
		ns := &list.Items[i]
		if desired[ns.Name] || !ns.DeletionTimestamp.IsZero() {
			continue
		}
		if t.Spec.DeletionPolicy == tenancyv1alpha1.DeletionRetain {
			if err := r.retainNamespaces(ctx, t, []string{ns.Name}); err != nil {
				return err
			}
			r.event(t, ns, corev1.EventTypeNormal, "NamespaceRetained", "Retain",
				"Kept namespace %s and its contents without the tenant's labels: it is no longer listed in spec.namespaces and deletionPolicy is Retain", ns.Name)
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
func (r *Reconciler) releaseNamespace(ctx context.Context, t *tenancyv1alpha1.Tenant, name string) error {
	err := r.eachManaged(ctx, t, name, func(kind string, o client.Object) error {
		if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s %s/%s: %w", kind, name, o.GetName(), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.applier().Release(ctx, render.ReleasedNamespace(name))
}

// eachManaged calls fn for every object of the tenant's, of every namespaced kind, in a
// namespace; the first error stops it. Kinds come in the reverse of the order they are
// written (a route before the gateway policies that guard it).
func (r *Reconciler) eachManaged(ctx context.Context, t *tenancyv1alpha1.Tenant, namespace string, fn func(kind string, o client.Object) error) error {
	kinds := namespacedKinds()
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		if !r.served(ctx, k) {
			continue // not installed: there are none
		}
		objs, err := r.listManaged(ctx, k.Name, t.Name, client.InNamespace(namespace))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := fn(k.Name, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// reservedNamespaces returns a function that says why a namespace can never become a
// tenant namespace, or "": Kubernetes' own (default, kube-*), the operator's namespace
// (the admission policies exempt the operator's ServiceAccount by name: a tenant that
// could create it there would be exempt too), and every namespace a ServicePlan admits as
// a peer (allowIngressFrom by kubernetes.io/metadata.name) or an ApiProduct names as its
// gateway's: a tenant owning one would own what every tenant trusts.
func (r *Reconciler) reservedNamespaces(ctx context.Context) (func(string) string, error) {
	plans := &tenancyv1alpha1.ServicePlanList{}
	if err := r.List(ctx, plans); err != nil {
		return nil, fmt.Errorf("listing plans: %w", err)
	}
	products := &tenancyv1alpha1.ApiProductList{}
	if err := r.List(ctx, products); err != nil {
		return nil, fmt.Errorf("listing products: %w", err)
	}
	why := map[string]string{}
	if r.OperatorNamespace != "" {
		why[r.OperatorNamespace] = "it is the tenant-operator's own namespace"
	}
	for i := range plans.Items {
		for _, ns := range peerNamespaces(&plans.Items[i]) {
			if why[ns] == "" {
				why[ns] = fmt.Sprintf("ServicePlan %s admits it as a peer in spec.network.allowIngressFrom", plans.Items[i].Name)
			}
		}
	}
	for i := range products.Items {
		p := &products.Items[i]
		if e := p.Spec.Exposure; e != nil && e.Gateway.Namespace != "" && why[e.Gateway.Namespace] == "" {
			why[e.Gateway.Namespace] = fmt.Sprintf("ApiProduct %s's gateway runs there (spec.exposure.gateway)", p.Name)
		}
		if ns := render.SharedNamespace(p); why[ns] == "" {
			why[ns] = fmt.Sprintf("it is the namespace of ApiProduct %s's shared instances (spec.shared.namespace, default shared-<product>)", p.Name)
		}
	}
	return func(name string) string {
		switch {
		case name == metav1.NamespaceDefault || strings.HasPrefix(name, "kube-"):
			return "it is Kubernetes' own"
		default:
			return why[name]
		}
	}, nil
}

// peerNamespaces are the namespaces a plan's allowIngressFrom peers name by
// kubernetes.io/metadata.name (matchLabels, or matchExpressions with operator In).
func peerNamespaces(plan *tenancyv1alpha1.ServicePlan) []string {
	var out []string
	for _, p := range plan.Spec.Network.AllowIngressFrom {
		if p.NamespaceSelector == nil {
			continue
		}
		if n := p.NamespaceSelector.MatchLabels[corev1.LabelMetadataName]; n != "" {
			out = append(out, n)
		}
		for _, e := range p.NamespaceSelector.MatchExpressions {
			if e.Key == corev1.LabelMetadataName && e.Operator == metav1.LabelSelectorOpIn {
				out = append(out, e.Values...)
			}
		}
	}
	return out
}
