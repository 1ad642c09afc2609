// Package controllers wires the reconcilers of the three kinds into a manager: the caches
// they share, the field indexes and the scheme. Each kind has its own package:
// controllers/tenant (namespaces, their contents and products), controllers/serviceplan and
// controllers/apiproduct (status and in-use protection). What they share lives in internal/
// (apply, conditions, index, inuse, render, quota).
package controllers

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/controllers/apiproduct"
	"github.com/openplatform/tenant-operator/controllers/serviceplan"
	"github.com/openplatform/tenant-operator/controllers/tenant"
	"github.com/openplatform/tenant-operator/internal/index"
)

// CacheOptions limits the informer caches to what the operator manages: every kind it writes
// is cached only when it carries the managed-by label (the default selector, which also
// covers HTTPRoutes once the Gateway API is installed), so memory grows with tenants, not with
// the cluster. Seen whole: the tenancy kinds, and namespaces, because the operator must see
// existing namespaces to detect conflicts and adoption annotations. CRDs are cached as
// their name and timestamps alone, to notice the Gateway API and Envoy Gateway being
// installed or removed. Product revisions (ControllerRevisions) are cached from the
// operator's namespace only.
func CacheOptions(operatorNamespace string) cache.Options {
	managed, _ := labels.NewRequirement(tenancyv1alpha1.LabelManagedBy, selection.Equals,
		[]string{tenancyv1alpha1.ManagedByValue})
	everything := cache.ByObject{Label: labels.Everything()}
	return cache.Options{
		DefaultTransform:     cache.TransformStripManagedFields(),
		DefaultLabelSelector: labels.NewSelector().Add(*managed),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:            everything,
			&tenancyv1alpha1.Tenant{}:      everything,
			&tenancyv1alpha1.ServicePlan{}: everything,
			&tenancyv1alpha1.ApiProduct{}:  everything,
			&appsv1.ControllerRevision{}: {
				Namespaces: map[string]cache.Config{operatorNamespace: {}},
			},
			&apiextensionsv1.CustomResourceDefinition{}: {
				Label:     labels.Everything(),
				Transform: crdIdentity,
			},
		},
	}
}

// crdIdentity keeps of a CRD's metadata what telling whether it is installed needs: a
// client-side applied CRD carries its whole schema in an annotation.
func crdIdentity(o any) (any, error) {
	if m, ok := o.(metav1.Object); ok {
		m.SetAnnotations(nil)
		m.SetLabels(nil)
		m.SetManagedFields(nil)
		m.SetOwnerReferences(nil)
	}
	return o, nil
}

// ClientOptions make the manager's client read Envoy Gateway policies, which the operator
// handles as unstructured objects, from the cache like every other kind it writes.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{Unstructured: true}}
}

// Options tune the reconcilers.
type Options struct {
	// TenantConcurrency is how many tenants are reconciled at once (default 8).
	TenantConcurrency int
	// OperatorNamespace is the namespace the operator runs in. It can never become a tenant
	// namespace: the admission policies exempt the operator's ServiceAccount by name, so a
	// tenant that could create that ServiceAccount would be exempt too.
	OperatorNamespace string
	// RevisionHistory is how many product revisions no tenant runs are kept per product
	// (default 5).
	RevisionHistory int
	// NamespaceGonePoll is how often a deleting tenant checks that its namespaces are gone,
	// besides the namespace watch (default tenant.NamespaceGoneRequeue, a minute).
	NamespaceGonePoll time.Duration
}

// Setup registers the indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := index.Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	// Every write, status and finalizers included, under one field manager, so that what the
	// operator owns is plain to see next to a GitOps tool's fields.
	c := client.WithFieldOwner(mgr.GetClient(), tenancyv1alpha1.FieldManager)
	if err := (&tenant.Reconciler{
		Client:            c,
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("tenant-operator"),
		Concurrency:       opts.TenantConcurrency,
		OperatorNamespace: opts.OperatorNamespace,
		NamespaceGonePoll: opts.NamespaceGonePoll,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&apiproduct.Reconciler{
		Client:            c,
		APIReader:         mgr.GetAPIReader(),
		Recorder:          mgr.GetEventRecorder("tenant-operator"),
		OperatorNamespace: opts.OperatorNamespace,
		RevisionHistory:   opts.RevisionHistory,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&serviceplan.Reconciler{Client: c}).SetupWithManager(mgr)
}

// AddToScheme registers every kind the operator reads or writes.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, tenancyv1alpha1.AddToScheme, gatewayv1.Install, apiextensionsv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}
