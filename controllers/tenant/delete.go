package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/conditions"
	"github.com/openplatform/tenant-operator/internal/render"
)

// NamespaceGoneRequeue is how often, by default, a deleting tenant checks that its
// namespaces are gone. The namespace watch is what finishes a deletion: a namespace that goes
// (or whose conditions change) queues its tenant at once; the check only makes up for a
// missed event. It runs at controller-runtime's low priority, behind every tenant with
// something to do, since in a mass deletion thousands of tenants wait at once: at 10,000
// tenants a check every 5 s asked for 2,000 passes a second, more than the workers ran, and
// the first passes of the tenants deleted later (the ones that delete their namespaces)
// queued behind them for 25 minutes.
const NamespaceGoneRequeue = time.Minute

// reconcileDelete cleans up a deleted Tenant. With deletionPolicy Delete it deletes the
// namespaces the operator created and releases adopted ones; with Retain it keeps every
// namespace and its contents and removes the tenant labels. Either way it removes the
// cluster-wide reader RBAC, and lets the Tenant go once no namespace is left to wait for.
func (r *Reconciler) reconcileDelete(ctx context.Context, t *tenancyv1alpha1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(t, tenancyv1alpha1.TenantFinalizer) {
		return ctrl.Result{}, nil
	}
	// Deleting the CRD deletes every Tenant. That is an uninstall (or a reinstall), not a
	// request to delete tenants: leave every namespace and object as it is, labels included,
	// so Tenants applied again pick them up, and let the CRD go. The API server is asked
	// until a pass has gone on with the deletion (its status says Deleting): from then on
	// the tenant's namespaces are going anyway, and the many passes while they go (one for
	// each change of them, and every NamespaceGoneRequeue) read nothing from the API server.
	if c := meta.FindStatusCondition(t.Status.Conditions, tenancyv1alpha1.ConditionReady); c == nil || c.Reason != tenancyv1alpha1.ReasonDeleting {
		if crdGoing, err := r.tenantCRDDeleting(ctx); err != nil {
			return ctrl.Result{}, err
		} else if crdGoing {
			log.FromContext(ctx).Info("the Tenant CRD is being deleted: keeping the tenant's namespaces and objects")
			return ctrl.Result{}, r.removeFinalizer(ctx, t)
		}
	}
	conditions.MarkDeleting(t, "Deleting the tenant's namespaces and access.")

	name := render.ReaderName(t.Name)
	for _, o := range []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}},
	} {
		// The cache holds the operator's RBAC: a pass while the namespaces go (there are
		// many) sends no delete for what an earlier pass deleted already.
		if err := r.Get(ctx, client.ObjectKeyFromObject(o), o); apierrors.IsNotFound(err) {
			continue
		}
		if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting %s: %w", name, err)
		}
	}

	list := &corev1.NamespaceList{}
	if err := r.List(ctx, list, ofTenant(t.Name)...); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the namespaces of tenant %s: %w", t.Name, err)
	}
	if t.Spec.DeletionPolicy == tenancyv1alpha1.DeletionRetain {
		names := make([]string, len(list.Items))
		for i := range list.Items {
			names[i] = list.Items[i].Name
		}
		if err := r.retainNamespaces(ctx, t, names); err != nil {
			return ctrl.Result{}, err
		}
		for i := range list.Items {
			r.event(t, &list.Items[i], corev1.EventTypeNormal, "NamespaceRetained", "Retain",
				"Kept namespace %s and its contents without the tenant's labels: the tenant is being deleted with deletionPolicy Retain", list.Items[i].Name)
		}
		return ctrl.Result{}, r.removeFinalizer(ctx, t)
	}
	var waiting []string
	for i := range list.Items {
		ns := &list.Items[i]
		switch {
		case ns.Annotations[tenancyv1alpha1.AnnotationAdopted] == "true":
			if err := r.releaseNamespace(ctx, t, ns.Name); err != nil {
				return ctrl.Result{}, err
			}
			r.event(t, ns, corev1.EventTypeNormal, "NamespaceReleased", "Release",
				"Released adopted namespace %s: the tenant is being deleted", ns.Name)
		default:
			waiting = append(waiting, stuckMessage(ns))
			if ns.DeletionTimestamp.IsZero() {
				if err := r.Delete(ctx, ns); err != nil {
					if apierrors.IsNotFound(err) {
						continue
					}
					return ctrl.Result{}, fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
				}
				r.event(t, ns, corev1.EventTypeNormal, "NamespaceDeleted", "Delete",
					"Deleted namespace %s: the tenant is being deleted", ns.Name)
			}
		}
	}
	if len(waiting) > 0 {
		conditions.MarkDeleting(t, "Waiting for "+strings.Join(waiting, "; ")+".")
		return ctrl.Result{RequeueAfter: r.namespaceGonePoll(), Priority: ptr.To(handler.LowPriority)}, nil
	}

	return ctrl.Result{}, r.removeFinalizer(ctx, t)
}

// namespaceGonePoll is NamespaceGonePoll, or NamespaceGoneRequeue when not set.
func (r *Reconciler) namespaceGonePoll() time.Duration {
	if r.NamespaceGonePoll > 0 {
		return r.NamespaceGonePoll
	}
	return NamespaceGoneRequeue
}

func (r *Reconciler) removeFinalizer(ctx context.Context, t *tenancyv1alpha1.Tenant) error {
	base := t.DeepCopy()
	controllerutil.RemoveFinalizer(t, tenancyv1alpha1.TenantFinalizer)
	if err := r.Patch(ctx, t, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing the finalizer of tenant %s: %w", t.Name, err)
	}
	return nil
}

// tenantCRD is the name of the Tenant CustomResourceDefinition.
const tenantCRD = "tenants.tenancy.openplatform.io"

// tenantCRDDeleting reports whether the Tenant CRD is being deleted, read from the API
// server (the cache does not hold that CRD).
func (r *Reconciler) tenantCRDDeleting(ctx context.Context) (bool, error) {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := reader.Get(ctx, client.ObjectKey{Name: tenantCRD}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("reading CRD %s: %w", tenantCRD, err)
	}
	return !crd.DeletionTimestamp.IsZero(), nil
}

// retainNamespaces keeps namespaces and their contents but removes the tenant labels (from
// the namespaces and from the operator's objects in them) so nothing marks them as managed
// any more. The retained NetworkPolicies keep fencing the namespaces in, but no longer by
// the tenant label, which a new tenant of the same name would get: their peers that
// selected the tenant's namespaces by label now name the retained namespaces themselves.
func (r *Reconciler) retainNamespaces(ctx context.Context, t *tenancyv1alpha1.Tenant, names []string) error {
	for _, name := range names {
		err := r.eachManaged(ctx, t, name, func(kind string, o client.Object) error {
			if np, ok := o.(*networkingv1.NetworkPolicy); ok {
				return r.retainNetworkPolicy(ctx, t, np, names)
			}
			if err := r.Patch(ctx, o, apply.UnlabelPatch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("removing the tenant labels from %s %s/%s: %w", kind, name, o.GetName(), err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := r.Patch(ctx, ns, apply.UnlabelPatch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing the tenant labels from namespace %s: %w", name, err)
		}
	}
	return nil
}

// retainNetworkPolicy rewrites a retained NetworkPolicy: peers that select the tenant's
// namespaces by its label select the retained namespaces by name instead, and the
// operator's labels and hash are removed.
func (r *Reconciler) retainNetworkPolicy(ctx context.Context, t *tenancyv1alpha1.Tenant, np *networkingv1.NetworkPolicy, names []string) error {
	base := np.DeepCopy()
	byName := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: names,
	}}}
	rewrite := func(peers []networkingv1.NetworkPolicyPeer) {
		for i := range peers {
			if s := peers[i].NamespaceSelector; s != nil && s.MatchLabels[tenancyv1alpha1.LabelTenant] == t.Name {
				peers[i].NamespaceSelector = byName.DeepCopy()
			}
		}
	}
	for i := range np.Spec.Ingress {
		rewrite(np.Spec.Ingress[i].From)
	}
	for i := range np.Spec.Egress {
		rewrite(np.Spec.Egress[i].To)
	}
	delete(np.Labels, tenancyv1alpha1.LabelManagedBy)
	delete(np.Labels, tenancyv1alpha1.LabelTenant)
	delete(np.Annotations, apply.AnnotationHash)
	if err := r.Patch(ctx, np, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("retaining NetworkPolicy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}

// stuckMessage says what a namespace being deleted waits for: the namespace controller's
// conditions that hold it (content or finalizers remaining, a failed discovery or deletion)
// quoted, so that a finalizer a tenant added is named.
func stuckMessage(ns *corev1.Namespace) string {
	var holds []string
	for _, c := range ns.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Message != "" {
			holds = append(holds, c.Message)
		}
	}
	if len(holds) == 0 {
		return fmt.Sprintf("namespace %s to be deleted", ns.Name)
	}
	return fmt.Sprintf("namespace %s to be deleted (%s)", ns.Name, strings.Join(holds, " "))
}
