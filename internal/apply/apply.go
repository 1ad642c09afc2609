// Package apply writes the operator's objects with server-side apply, and only when they
// would change: in steady state the operator sends no mutating request.
//
// An object is skipped when applying it to the live copy (read from the informer cache)
// would change nothing, judged by the kind's schema (see Changes): atomic fields such as
// label selectors must match whole, so drift in anything the operator sets is always
// applied again. The desired object carries a hash of itself in an annotation, so a field
// that the operator stops setting (for example a quota key removed from a plan) changes the
// hash and the object is applied again, which lets server-side apply remove the field.
// Comparing this way needs no managedFields, so the caches can drop them.
//
// The operator writes only into what is the tenant's (see Applier.Ensure).
package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// AnnotationHash holds the hash of the desired object the operator last applied.
const AnnotationHash = "tenancy.openplatform.io/applied-hash"

// Kind is what the operator knows about a kind it writes: how to make one, where it lives,
// what it is part of, which Tenant condition reports on it and which fields cannot change.
// Kinds is the one list of them; everything that goes over the operator's kinds (pruning,
// releasing, watches, failures) reads it.
type Kind struct {
	Name    string
	New     func() client.Object
	NewList func() client.ObjectList
	// Namespaced kinds live in tenant namespaces (the others are cluster-scoped).
	Namespaced bool
	// Product kinds make up a tenant's products: they are kept while the products cannot be
	// resolved.
	Product bool
	// Condition is the Tenant condition that reports a failure of an object of the kind.
	Condition string
	// Immutable are the fields the API server refuses to change once an object exists; the
	// operator owns these objects, so it replaces them instead (a plan whose ownerRole
	// changes gets its tenants new owner bindings).
	Immutable []string
	// Watched kinds reconcile their tenant when one of the operator's objects of the kind
	// changes (namespaces are watched on their own). Kinds with a CRD are watched once it is
	// installed.
	Watched bool
	// SharedOnly kinds are written only into the shared namespaces of products' shared
	// instances, never for a tenant.
	SharedOnly bool
	// Atomic are the paths of maps that must match whole in a kind compared without a
	// schema (a label selector): merging key by key would not see an extra key as drift.
	Atomic [][]string
	// CRD names the CustomResourceDefinition of a kind that is not built into Kubernetes:
	// the kind may not be installed, and is written, listed and watched only while it is.
	CRD string
}

// Kinds are the kinds the operator writes, in the order it writes them.
var Kinds = []Kind{
	{Name: render.KindNamespace, New: func() client.Object { return &corev1.Namespace{} }, NewList: func() client.ObjectList { return &corev1.NamespaceList{} },
		Condition: tenancyv1alpha1.ConditionNamespacesReady},
	{Name: render.KindResourceQuota, New: func() client.Object { return &corev1.ResourceQuota{} }, NewList: func() client.ObjectList { return &corev1.ResourceQuotaList{} },
		Namespaced: true, Condition: tenancyv1alpha1.ConditionQuotaReady, Watched: true},
	{Name: render.KindLimitRange, New: func() client.Object { return &corev1.LimitRange{} }, NewList: func() client.ObjectList { return &corev1.LimitRangeList{} },
		Namespaced: true, Condition: tenancyv1alpha1.ConditionQuotaReady, Watched: true},
	{Name: render.KindNetworkPolicy, New: func() client.Object { return &networkingv1.NetworkPolicy{} }, NewList: func() client.ObjectList { return &networkingv1.NetworkPolicyList{} },
		Namespaced: true, Condition: tenancyv1alpha1.ConditionNetworkIsolated, Watched: true},
	{Name: render.KindRoleBinding, New: func() client.Object { return &rbacv1.RoleBinding{} }, NewList: func() client.ObjectList { return &rbacv1.RoleBindingList{} },
		Namespaced: true, Condition: tenancyv1alpha1.ConditionAccessGranted, Immutable: []string{"roleRef"}, Watched: true},
	{Name: render.KindClusterRole, New: func() client.Object { return &rbacv1.ClusterRole{} }, NewList: func() client.ObjectList { return &rbacv1.ClusterRoleList{} },
		Condition: tenancyv1alpha1.ConditionAccessGranted, Watched: true},
	{Name: render.KindClusterRoleBinding, New: func() client.Object { return &rbacv1.ClusterRoleBinding{} }, NewList: func() client.ObjectList { return &rbacv1.ClusterRoleBindingList{} },
		Condition: tenancyv1alpha1.ConditionAccessGranted, Immutable: []string{"roleRef"}, Watched: true},
	{Name: render.KindDeployment, New: func() client.Object { return &appsv1.Deployment{} }, NewList: func() client.ObjectList { return &appsv1.DeploymentList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, Watched: true},
	{Name: render.KindHorizontalPodAutoscaler, New: func() client.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }, NewList: func() client.ObjectList { return &autoscalingv2.HorizontalPodAutoscalerList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, Watched: true},
	{Name: render.KindPodDisruptionBudget, New: func() client.Object { return &policyv1.PodDisruptionBudget{} }, NewList: func() client.ObjectList { return &policyv1.PodDisruptionBudgetList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, Watched: true},
	{Name: render.KindService, New: func() client.Object { return &corev1.Service{} }, NewList: func() client.ObjectList { return &corev1.ServiceList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, Watched: true},
	{Name: render.KindServiceMonitor, New: unstructuredOf(render.MonitoringGroup, render.MonitoringVersion, render.KindServiceMonitor),
		NewList:    unstructuredListOf(render.MonitoringGroup, render.MonitoringVersion, render.KindServiceMonitor),
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, CRD: render.ServiceMonitorCRD, Watched: true,
		Atomic: [][]string{{"spec", "selector"}}},
	{Name: render.KindSecret, New: func() client.Object { return &corev1.Secret{} }, NewList: func() client.ObjectList { return &corev1.SecretList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, Watched: true},
	// Shared-instance kinds are written by the ApiProduct reconciler into shared namespaces
	// only, never a tenant's.
	{Name: render.KindReferenceGrant, New: func() client.Object { return &gatewayv1.ReferenceGrant{} }, NewList: func() client.ObjectList { return &gatewayv1.ReferenceGrantList{} },
		Namespaced: true, SharedOnly: true, Condition: tenancyv1alpha1.ConditionProductsReady, CRD: render.ReferenceGrantCRD,
		// Watched: a tenant moving onto a shared instance waits for its grant.
		Watched: true},
	// Gateway policies come before the route they guard: a route is never written before
	// them, and pruning (in the reverse order) deletes it first.
	{Name: render.KindSecurityPolicy, New: unstructuredOf(render.EnvoyGatewayGroup, render.EnvoyGatewayVersion, render.KindSecurityPolicy),
		NewList:    unstructuredListOf(render.EnvoyGatewayGroup, render.EnvoyGatewayVersion, render.KindSecurityPolicy),
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, CRD: render.SecurityPolicyCRD, Watched: true},
	{Name: render.KindBackendTrafficPolicy, New: unstructuredOf(render.EnvoyGatewayGroup, render.EnvoyGatewayVersion, render.KindBackendTrafficPolicy),
		NewList:    unstructuredListOf(render.EnvoyGatewayGroup, render.EnvoyGatewayVersion, render.KindBackendTrafficPolicy),
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, CRD: render.BackendTrafficPolicyCRD, Watched: true},
	{Name: render.KindHTTPRoute, New: func() client.Object { return &gatewayv1.HTTPRoute{} }, NewList: func() client.ObjectList { return &gatewayv1.HTTPRouteList{} },
		Namespaced: true, Product: true, Condition: tenancyv1alpha1.ConditionProductsReady, CRD: render.HTTPRouteCRD, Watched: true},
}

// unstructuredOf makes empty objects of a kind of another project's CRD (Envoy Gateway's,
// the prometheus-operator's): the operator has no Go types for them, so they are read as
// unstructured objects.
func unstructuredOf(group, version, kind string) func() client.Object {
	return func() client.Object {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(group + "/" + version)
		u.SetKind(kind)
		return u
	}
}

func unstructuredListOf(group, version, kind string) func() client.ObjectList {
	return func() client.ObjectList {
		u := &unstructured.UnstructuredList{}
		u.SetAPIVersion(group + "/" + version)
		u.SetKind(kind + "List")
		return u
	}
}

// KindOf returns the Kind of a name, and whether the operator writes it.
func KindOf(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// NewObject returns an empty object of a kind the operator writes.
func NewObject(kind string) (client.Object, error) {
	k, ok := KindOf(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return k.New(), nil
}

// NewList returns an empty list of a kind the operator writes.
func NewList(kind string) (client.ObjectList, error) {
	k, ok := KindOf(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return k.NewList(), nil
}

// Applier applies desired objects through a client whose reads come from the cache.
type Applier struct {
	Client client.Client
	// Reader reads from the API server, for the reads the cache cannot answer: the cache
	// holds only the operator's objects, so an object it does not have may still exist (a
	// user's, in an adopted namespace), and whose is a namespace that already exists.
	// Default: Client.
	Reader client.Reader
	// fresh are the namespaces this Applier created: nothing but the operator's objects can
	// be in them yet, so an object missing from the cache is not looked up.
	fresh map[string]bool
}

// ConflictError says that an object the operator would write exists and is not the
// tenant's: it lacks the operator's labels for this tenant. The operator never writes
// into such an object (it would take over, and later delete, what a user made).
type ConflictError struct {
	Kind, Namespace, Name string
	// Tenant is the tenant the operator would write the object for.
	Tenant string
	// Owner is the tenant whose label the object carries, if any.
	Owner string
	// SharedProduct is the product whose shared instance the object would be part of, for
	// an object in a shared namespace.
	SharedProduct string
}

func (e *ConflictError) Error() string {
	what := e.Kind + " " + e.Name
	if e.Namespace != "" {
		what = e.Kind + " " + e.Namespace + "/" + e.Name
	}
	if e.SharedProduct != "" {
		return fmt.Sprintf("%s exists and is not part of the shared instances of product %s (label %s=%s): rename or delete it, or set the ApiProduct's spec.shared.namespace to another namespace",
			what, e.SharedProduct, tenancyv1alpha1.LabelSharedProduct, e.SharedProduct)
	}
	if e.Kind == render.KindNamespace {
		if e.Owner != "" {
			return fmt.Sprintf("namespace %s belongs to tenant %s", e.Name, e.Owner)
		}
		return fmt.Sprintf("namespace %s already exists and does not belong to tenant %s", e.Name, e.Tenant)
	}
	if e.Owner != "" {
		return fmt.Sprintf("%s belongs to tenant %s, not %s: the operator leaves it alone", what, e.Owner, e.Tenant)
	}
	return fmt.Sprintf("%s exists and is not tenant %s's: rename or delete it and the operator creates its own, or label it %s=%s to hand it to the tenant",
		what, e.Tenant, tenancyv1alpha1.LabelTenant, e.Tenant)
}

// Ensure makes the live object hold the desired one. It reports whether it wrote. An object
// whose immutable fields must change is deleted and created again.
//
// It writes only what is the tenant's: an existing object must carry the desired object's
// tenant label, else Ensure returns a *ConflictError and writes nothing. An object the cache
// does not hold is made with a create request (two tenants racing for one namespace name
// cannot both win, and nobody's existing object is taken over), except in a namespace this
// Applier created, where nothing else can be yet and it is applied. An existing namespace
// is written only while it carries the tenant's label or an adopt annotation naming the
// tenant, with its resourceVersion as a precondition so that a namespace that changed
// hands since it was read is not written.
func (a *Applier) Ensure(ctx context.Context, o render.Object) (bool, error) {
	initial, err := toMap(o.Apply)
	if err != nil {
		return false, err
	}
	// A new object gets the fields left to others at their rendered value (an autoscaled
	// Deployment starts at its minimum); an existing one is applied without them. The hash
	// is of the latter, so that neither counts the fields as drift.
	desired := withoutPaths(initial, o.LeftToOthers)
	setHash(desired)
	if len(o.LeftToOthers) > 0 {
		initial = withoutPaths(initial, nil)
		initial["metadata"] = desired["metadata"]
	} else {
		initial = desired
	}
	tenant := labelOf(desired, tenancyv1alpha1.LabelTenant)
	shared := labelOf(desired, tenancyv1alpha1.LabelSharedProduct)

	live, err := NewObject(o.Kind)
	if err != nil {
		return false, err
	}
	err = a.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, live)
	if apierrors.IsNotFound(err) {
		if a.fresh[o.Namespace] {
			return true, a.apply(ctx, o, initial, "")
		}
		// Not the operator's (the cache would hold it), or not there at all: a create
		// request, which cannot take over an object that exists (a namespace of that name,
		// a user's object). The API server says whose an existing one is.
		created, cerr := a.create(ctx, o, initial)
		if cerr != nil || created {
			return created, cerr
		}
		err = a.reader().Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, live)
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("%s %s exists and is gone again: retrying", o.Kind, name(o))
		}
	}
	if err != nil {
		return false, fmt.Errorf("reading %s %s: %w", o.Kind, name(o), err)
	}
	if err := owned(o, live, tenant, shared); err != nil {
		return false, err
	}
	liveMap, err := toMap(live)
	if err != nil {
		return false, err
	}
	if unsetLeftToOthers(liveMap, o.LeftToOthers) {
		// An autoscaler does not scale a Deployment up from 0 replicas (a tenant resumed
		// from suspension): the operator sets the rendered value again, and leaves it to
		// the autoscaler from there.
		desired = initial
	}
	changes, err := Changes(liveMap, desired)
	if err != nil {
		return false, err
	}
	if !changes && !atomicDrift(o.Kind, liveMap, desired) {
		return false, nil
	}
	precondition := ""
	if o.Kind == render.KindNamespace {
		precondition = live.GetResourceVersion()
	}
	if field := changedImmutable(o.Kind, liveMap, desired); field != "" {
		if err := a.replace(ctx, o, live, field); err != nil {
			return false, err
		}
	}
	if len(o.LeftToOthers) > 0 && !unsetLeftToOthers(liveMap, o.LeftToOthers) {
		if err := a.handOver(ctx, o, desired, liveMap); err != nil {
			return false, err
		}
	}
	if rv, err := a.upgradeOwnership(ctx, o, live); err != nil {
		return false, err
	} else if rv != "" && precondition != "" {
		precondition = rv
	}
	return true, a.apply(ctx, o, desired, precondition)
}

// AnnotationCreated marks an object the operator made with a create request rather than a
// server-side apply (see Applier.create). Its fields belong to the create's Update entry in
// managedFields until the first apply that changes the object moves them to the operator's
// apply entry (upgradeOwnership); that apply also drops the annotation.
const AnnotationCreated = "tenancy.openplatform.io/created"

// create makes an object that the cache does not hold with one create request, carrying
// everything the operator sets (and its hash, so the next pass finds nothing to write). A
// create cannot take over an existing object the way an apply would; it returns false, nil
// when the object exists. A namespace it creates is fresh: nothing in it can be anyone
// else's yet.
func (a *Applier) create(ctx context.Context, o render.Object, obj map[string]any) (bool, error) {
	u := (&unstructured.Unstructured{Object: obj}).DeepCopy()
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationCreated] = "true"
	u.SetAnnotations(annotations)
	err := a.Client.Create(ctx, u, client.FieldOwner(tenancyv1alpha1.FieldManager))
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating %s %s: %w", o.Kind, name(o), err)
	}
	if o.Kind == render.KindNamespace {
		if a.fresh == nil {
			a.fresh = map[string]bool{}
		}
		a.fresh[o.Name] = true
	}
	return true, nil
}

// Created reports whether this Applier created the namespace: nothing but what the operator
// wrote since can be in it, so an object missing from the cache need not be looked up.
func (a *Applier) Created(namespace string) bool { return a.fresh[namespace] }

// upgradeOwnership moves the fields of an object the operator created (AnnotationCreated)
// from the create's Update entry of managedFields to the operator's apply entry, with
// client-go's csaupgrade, so that the apply that follows removes what the operator no
// longer sets. The caches drop managedFields, so the object is read from the API server.
// It returns the object's new resourceVersion when it patched, else "".
func (a *Applier) upgradeOwnership(ctx context.Context, o render.Object, live client.Object) (string, error) {
	if live.GetAnnotations()[AnnotationCreated] == "" {
		return "", nil
	}
	fresh, err := NewObject(o.Kind)
	if err != nil {
		return "", err
	}
	if err := a.reader().Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, fresh); err != nil {
		return "", fmt.Errorf("reading %s %s: %w", o.Kind, name(o), err)
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(fresh, sets.New(tenancyv1alpha1.FieldManager), tenancyv1alpha1.FieldManager)
	if err != nil || patch == nil {
		return "", err
	}
	if err := a.Client.Patch(ctx, fresh, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return "", fmt.Errorf("moving the fields of %s %s to the operator's server-side apply: %w", o.Kind, name(o), err)
	}
	return fresh.GetResourceVersion(), nil
}

// HandoverManager is the field manager that holds the fields the operator leaves to others
// (render.Object.LeftToOthers) at the value they had when it let go.
const HandoverManager = "tenant-operator-handover"

// handOver applies, under HandoverManager, the live values of the fields the object leaves
// to others, before the operator's own apply without them. Server-side apply removes a
// field its last manager stops applying: a Deployment whose replicas the operator set would
// drop to 1 when an autoscaler takes over. Shared with HandoverManager, the field keeps its
// value, and the autoscaler's own writes take it from there. It is sent only with an apply
// that changes the object, so an object in steady state costs no request.
func (a *Applier) handOver(ctx context.Context, o render.Object, desired, live map[string]any) error {
	if len(o.LeftToOthers) == 0 {
		return nil
	}
	// apiVersion and kind are the desired object's: a typed object read from the API
	// server (the Reader) carries none.
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": desired["apiVersion"], "kind": desired["kind"]}}
	u.SetName(o.Name)
	u.SetNamespace(o.Namespace)
	held := false
	for _, path := range o.LeftToOthers {
		v, found, err := unstructured.NestedFieldNoCopy(live, path...)
		if err != nil || !found {
			continue
		}
		if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
			return fmt.Errorf("handing %v of %s %s over: %w", path, o.Kind, name(o), err)
		}
		held = true
	}
	if !held {
		return nil
	}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(HandoverManager)); err != nil {
		return fmt.Errorf("handing fields of %s %s over before the operator lets go of them: %w", o.Kind, name(o), err)
	}
	return nil
}

// owned returns a *ConflictError unless the live object is the tenant's: it carries the
// tenant's label (the operator sets it; an admin may set it to hand an object over, such as
// the credentials Secret of a retained tenant brought back), or, for a namespace, it is
// handed to the tenant with the adopt annotation and not labelled for another tenant.
//
// An object of a product's shared instances (desired with the shared-product label) is the
// operator's only when it carries that label and no tenant's.
func owned(o render.Object, live client.Object, tenant, shared string) error {
	l := live.GetLabels()
	owner := l[tenancyv1alpha1.LabelTenant]
	if shared != "" {
		if l[tenancyv1alpha1.LabelSharedProduct] == shared && owner == "" {
			return nil
		}
		return &ConflictError{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Owner: owner, SharedProduct: shared}
	}
	if owner == tenant {
		return nil
	}
	if o.Kind == render.KindNamespace && owner == "" && live.GetAnnotations()[tenancyv1alpha1.AnnotationAdopt] == tenant {
		return nil
	}
	return &ConflictError{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Tenant: tenant, Owner: owner}
}

func (a *Applier) reader() client.Reader {
	if a.Reader != nil {
		return a.Reader
	}
	return a.Client
}

// apply server-side applies the desired object, with a resourceVersion precondition when
// one is given.
func (a *Applier) apply(ctx context.Context, o render.Object, desired map[string]any, resourceVersion string) error {
	u := &unstructured.Unstructured{Object: desired}
	if resourceVersion != "" {
		u = u.DeepCopy()
		u.SetResourceVersion(resourceVersion)
	}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenancyv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", o.Kind, name(o), err)
	}
	return nil
}

// labelOf returns a label of a desired object's metadata.
func labelOf(m map[string]any, key string) string {
	meta, _ := m["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	v, _ := labels[key].(string)
	return v
}

// atomicDrift reports whether one of the kind's atomic maps differs between live and
// desired.
func atomicDrift(kind string, live, desired map[string]any) bool {
	k, _ := KindOf(kind)
	for _, p := range k.Atomic {
		l, _, _ := unstructured.NestedFieldNoCopy(live, p...)
		d, _, _ := unstructured.NestedFieldNoCopy(desired, p...)
		if !sameValue(l, d) {
			return true
		}
	}
	return false
}

// changedImmutable returns the first immutable field of the kind whose live value differs
// from the desired one, or "".
func changedImmutable(kind string, live, desired map[string]any) string {
	k, _ := KindOf(kind)
	for _, f := range k.Immutable {
		if w, ok := desired[f]; ok && !sameValue(live[f], w) {
			return f
		}
	}
	return ""
}

// replace deletes the live object so that the apply that follows creates it anew. The
// precondition makes sure it deletes the object it compared, not one that already
// replaced it.
func (a *Applier) replace(ctx context.Context, o render.Object, live client.Object, field string) error {
	uid := live.GetUID()
	err := a.Client.Delete(ctx, live, client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting %s %s to change its %s: %w", o.Kind, name(o), field, err)
	}
	return nil
}

// Release gives up what the operator set on an object: it applies the object as given,
// without a hash (server-side apply then removes the fields the operator owned and no
// longer sets, for example a namespace's Pod Security labels; the fields of an object the
// operator created are first moved to its apply entry), and removes the tenant labels,
// which the apply keeps.
func (a *Applier) Release(ctx context.Context, o render.Object) error {
	m, err := toMap(o.Apply)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	live, err := NewObject(o.Kind)
	if err != nil {
		return err
	}
	if err := a.reader().Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, live); err != nil {
		return client.IgnoreNotFound(err)
	}
	if _, err := a.upgradeOwnership(ctx, o, live); err != nil {
		return err
	}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenancyv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("releasing %s %s: %w", o.Kind, name(o), err)
	}
	if err := a.Client.Patch(ctx, u, UnlabelPatch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing the tenant labels from %s %s: %w", o.Kind, name(o), err)
	}
	return nil
}

// UnlabelPatch removes the labels and annotations that mark an object as a tenant's.
var UnlabelPatch = client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(
	`{"metadata":{"labels":{%q:null,%q:null,%q:null},"annotations":{%q:null,%q:null,%q:null,%q:null,%q:null}}}`,
	tenancyv1alpha1.LabelManagedBy, tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelEgress,
	tenancyv1alpha1.AnnotationAdopted, AnnotationHash, tenancyv1alpha1.AnnotationAllowEgressTo, tenancyv1alpha1.AnnotationHostnames,
	AnnotationCreated)))

func name(o render.Object) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// unsetLeftToOthers reports whether one of the fields left to others is missing or zero in
// the live object.
func unsetLeftToOthers(live map[string]any, paths [][]string) bool {
	for _, p := range paths {
		v, found, _ := unstructured.NestedFieldNoCopy(live, p...)
		if !found || v == nil {
			return true
		}
		switch n := v.(type) {
		case int64:
			if n == 0 {
				return true
			}
		case float64:
			if n == 0 {
				return true
			}
		}
	}
	return false
}

// withoutPaths is a deep copy of m without the fields at paths.
func withoutPaths(m map[string]any, paths [][]string) map[string]any {
	out := runtime.DeepCopyJSON(m)
	for _, p := range paths {
		unstructured.RemoveNestedField(out, p...)
	}
	return out
}

// setHash stores the hash of the desired object in its annotations.
func setHash(desired map[string]any) {
	b, _ := json.Marshal(desired) // map keys are sorted: the hash is stable
	h := fnv.New64a()
	_, _ = h.Write(b)
	meta, _ := desired["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		desired["metadata"] = meta
	}
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann[AnnotationHash] = fmt.Sprintf("%016x", h.Sum64())
}
