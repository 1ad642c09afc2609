// Package apply writes the operator's objects with server-side apply, and only when they
// would change: in steady state the operator sends no mutating request.
//
// An object is skipped when the live copy (read from the informer cache) already holds every
// field of the desired object. The desired object carries a hash of itself in an annotation,
// so a field that the operator stops setting (for example a quota key removed from a plan)
// changes the hash and the object is applied again, which lets server-side apply remove the
// field. Comparing this way needs no managedFields, so the caches can drop them.
package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// AnnotationHash holds the hash of the desired object the operator last applied.
const AnnotationHash = "tenancy.openplatform.io/applied-hash"

// kinds maps each kind the operator writes to constructors of an empty object and list.
var kinds = map[string]struct {
	object func() client.Object
	list   func() client.ObjectList
}{
	render.KindNamespace:          {func() client.Object { return &corev1.Namespace{} }, func() client.ObjectList { return &corev1.NamespaceList{} }},
	render.KindResourceQuota:      {func() client.Object { return &corev1.ResourceQuota{} }, func() client.ObjectList { return &corev1.ResourceQuotaList{} }},
	render.KindLimitRange:         {func() client.Object { return &corev1.LimitRange{} }, func() client.ObjectList { return &corev1.LimitRangeList{} }},
	render.KindNetworkPolicy:      {func() client.Object { return &networkingv1.NetworkPolicy{} }, func() client.ObjectList { return &networkingv1.NetworkPolicyList{} }},
	render.KindRoleBinding:        {func() client.Object { return &rbacv1.RoleBinding{} }, func() client.ObjectList { return &rbacv1.RoleBindingList{} }},
	render.KindClusterRole:        {func() client.Object { return &rbacv1.ClusterRole{} }, func() client.ObjectList { return &rbacv1.ClusterRoleList{} }},
	render.KindClusterRoleBinding: {func() client.Object { return &rbacv1.ClusterRoleBinding{} }, func() client.ObjectList { return &rbacv1.ClusterRoleBindingList{} }},
	render.KindDeployment:         {func() client.Object { return &appsv1.Deployment{} }, func() client.ObjectList { return &appsv1.DeploymentList{} }},
	render.KindService:            {func() client.Object { return &corev1.Service{} }, func() client.ObjectList { return &corev1.ServiceList{} }},
	render.KindSecret:             {func() client.Object { return &corev1.Secret{} }, func() client.ObjectList { return &corev1.SecretList{} }},
	render.KindHTTPRoute:          {func() client.Object { return &gatewayv1.HTTPRoute{} }, func() client.ObjectList { return &gatewayv1.HTTPRouteList{} }},
}

// NewObject returns an empty object of a kind the operator writes.
func NewObject(kind string) (client.Object, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return k.object(), nil
}

// NewList returns an empty list of a kind the operator writes.
func NewList(kind string) (client.ObjectList, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return k.list(), nil
}

// Applier applies desired objects through a client whose reads come from the cache.
type Applier struct {
	Client client.Client
}

// Ensure makes the live object hold the desired one. It reports whether it wrote. An object
// whose immutable fields must change is deleted and created again.
func (a *Applier) Ensure(ctx context.Context, o render.Object) (bool, error) {
	desired, err := toMap(o.Apply)
	if err != nil {
		return false, err
	}
	setHash(desired)

	live, err := NewObject(o.Kind)
	if err != nil {
		return false, err
	}
	err = a.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, live)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return false, fmt.Errorf("reading %s %s: %w", o.Kind, name(o), err)
	default:
		liveMap, err := toMap(live)
		if err != nil {
			return false, err
		}
		if Contains(liveMap, desired) {
			return false, nil
		}
		if field := changedImmutable(o.Kind, liveMap, desired); field != "" {
			if err := a.replace(ctx, o, live, field); err != nil {
				return false, err
			}
		}
	}
	u := &unstructured.Unstructured{Object: desired}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenancyv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("applying %s %s: %w", o.Kind, name(o), err)
	}
	return true, nil
}

// immutable lists, by kind, the fields the API server refuses to change once an object
// exists. The operator owns these objects, so it replaces them instead: a plan whose
// ownerRole changes gets its tenants new owner bindings.
var immutable = map[string][]string{
	render.KindRoleBinding:        {"roleRef"},
	render.KindClusterRoleBinding: {"roleRef"},
}

// changedImmutable returns the first immutable field of the kind whose live value differs
// from the desired one, or "".
func changedImmutable(kind string, live, desired map[string]any) string {
	for _, f := range immutable[kind] {
		if w, ok := desired[f]; ok && !contains(live[f], w) {
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

// Release applies the object as given, without a hash: used to give up fields (for example
// the tenant labels of a namespace the operator lets go of).
func (a *Applier) Release(ctx context.Context, o render.Object) error {
	m, err := toMap(o.Apply)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tenancyv1alpha1.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("releasing %s %s: %w", o.Kind, name(o), err)
	}
	return nil
}

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

// Contains reports whether live holds every field of want. Lists must have the same length
// and hold want's elements in order; strings that are both quantities compare by value
// (the API server may write 0.5 as 500m). apiVersion and kind at the top are not compared:
// typed objects from the cache do not carry them.
func Contains(live, want map[string]any) bool {
	for k, w := range want {
		if k == "apiVersion" || k == "kind" {
			continue
		}
		if !contains(live[k], w) {
			return false
		}
	}
	return true
}

func contains(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(w) == 0 && live == nil
		}
		for k, v := range w {
			if !contains(l[k], v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return len(w) == 0 && live == nil
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	case string:
		l, ok := live.(string)
		if !ok {
			return live == nil && w == "" // typed objects omit empty strings, e.g. an env var without a value
		}
		if l == w {
			return true
		}
		lq, err1 := resource.ParseQuantity(l)
		wq, err2 := resource.ParseQuantity(w)
		return err1 == nil && err2 == nil && lq.Cmp(wq) == 0
	default:
		return reflect.DeepEqual(live, want)
	}
}
