package apiproduct

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/revision"
)

// defaultRevisionHistory is how many revisions no tenant needs are kept per product.
const defaultRevisionHistory = 5

// The revisions' permissions are a Role in the operator's namespace, not markers here (they
// would grant them in every namespace): config/rbac/revisions_role.yaml and the chart's
// templates/revisions-rbac.yaml.

// ensureRevisions stores the content of each of the product's versions as a
// ControllerRevision in the operator's namespace, creating that namespace if it is missing.
// It returns the product's revisions, existing and new.
func (r *Reconciler) ensureRevisions(ctx context.Context, p *tenancyv1alpha1.ApiProduct) ([]appsv1.ControllerRevision, error) {
	list := &appsv1.ControllerRevisionList{}
	if err := r.List(ctx, list, client.InNamespace(r.OperatorNamespace),
		client.MatchingLabels{tenancyv1alpha1.LabelProduct: p.Name}); err != nil {
		return nil, fmt.Errorf("listing the revisions of product %s: %w", p.Name, err)
	}
	have := map[string]bool{}
	next := int64(1)
	for _, cr := range list.Items {
		have[cr.Name] = true
		if cr.Revision >= next {
			next = cr.Revision + 1
		}
	}
	out := list.Items
	for i := range p.Spec.Versions {
		v := &p.Spec.Versions[i]
		if have[revision.Name(p.Name, v)] {
			continue
		}
		cr := revision.New(p, v, r.OperatorNamespace, next)
		err := r.Create(ctx, cr)
		if apierrors.IsNotFound(err) {
			if err = r.createNamespace(ctx); err == nil {
				err = r.Create(ctx, cr)
			}
		}
		switch {
		case apierrors.IsAlreadyExists(err):
			// Made by an earlier pass the cache has not caught up with.
		case err != nil:
			return nil, fmt.Errorf("storing revision %s/%s: %w", r.OperatorNamespace, cr.Name, err)
		default:
			log.FromContext(ctx).Info("stored product revision", "revision", cr.Name, "version", v.Name)
			out = append(out, *cr)
		}
		have[cr.Name] = true
		next++
	}
	return out, nil
}

// createNamespace creates the operator's namespace, where revisions are kept, when the
// operator runs outside it (make run) and it does not exist yet.
func (r *Reconciler) createNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.OperatorNamespace}}
	if err := r.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the operator namespace %s for product revisions: %w", r.OperatorNamespace, err)
	}
	log.FromContext(ctx).Info("created the operator namespace for product revisions", "operatorNamespace", r.OperatorNamespace)
	return nil
}

// pruneRevisions deletes the product's revisions beyond the history: it keeps every
// revision that a version's live content, the rollout, a shared instance or a tenant
// (running it or able to return to it) names, and the newest RevisionHistory of the others.
func (r *Reconciler) pruneRevisions(ctx context.Context, p *tenancyv1alpha1.ApiProduct, revs []appsv1.ControllerRevision, tenants []tenancyv1alpha1.Tenant) error {
	keep := map[string]bool{}
	for i := range p.Spec.Versions {
		keep[revision.Name(p.Name, &p.Spec.Versions[i])] = true
	}
	if ro := p.Status.Rollout; ro != nil {
		keep[ro.Revision], keep[ro.StableRevision] = true, true
		for _, t := range ro.TargetRevisions {
			keep[t] = true
		}
	}
	for _, inst := range p.Status.SharedInstances {
		keep[inst.Revision], keep[inst.PreviousRevision] = true, true
	}
	for _, t := range tenants {
		for _, s := range t.Status.Products {
			if s.Name == p.Name {
				keep[s.Revision], keep[s.PreviousRevision] = true, true
			}
		}
	}
	history := r.RevisionHistory
	if history <= 0 {
		history = defaultRevisionHistory
	}
	var spare []appsv1.ControllerRevision
	for _, cr := range revs {
		if !keep[cr.Name] {
			spare = append(spare, cr)
		}
	}
	sort.Slice(spare, func(i, j int) bool { return spare[i].Revision > spare[j].Revision })
	for i := history; i < len(spare); i++ {
		cr := spare[i]
		if err := r.Delete(ctx, &cr, client.Preconditions{UID: &cr.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("pruning revision %s/%s: %w", cr.Namespace, cr.Name, err)
		}
		log.FromContext(ctx).Info("pruned product revision", "revision", cr.Name)
	}
	return nil
}
