package apply

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayapplyconfiguration "sigs.k8s.io/gateway-api/applyconfiguration"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/openplatform/tenant-operator/internal/render"
)

// converters turn objects into values typed by the API's own schema: client-go's for the
// built-in kinds, the Gateway API's for HTTPRoutes. The schema says, field by field, how
// server-side apply merges: which maps and lists are granular (merged key by key) and
// which fields are atomic (replaced whole, like every label selector).
var converters = sync.OnceValues(func() (builtin, gateway managedfields.TypeConverter) {
	gw := runtime.NewScheme()
	if err := gatewayv1.Install(gw); err != nil {
		panic(fmt.Sprintf("registering the Gateway API types: %v", err))
	}
	return applyconfigurations.NewTypeConverter(clientgoscheme.Scheme), gatewayapplyconfiguration.NewTypeConverter(gw)
})

// deduced types objects by their content alone (structured-merge-diff's deduced type).
type deduced struct{}

func (deduced) ObjectToTyped(o runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	return typed.DeducedParseableType.FromUnstructured(u, opts...)
}

func (deduced) TypedToObject(v *typed.TypedValue) (runtime.Object, error) {
	m, ok := v.AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a typed value that is not an object")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// Changes reports whether applying desired (an object the operator would apply) would
// change live (the object as the API server has it, with apiVersion and kind taken from
// desired when it lacks them). It merges desired into live the way server-side apply
// does, by the kind's schema, and compares the result with live: a field the operator
// sets is drift when its live value differs, and an atomic field (a label selector, an
// atomic list) must be equal as a whole, so that a superset such as
// podSelector {matchLabels: {nothing: matches}} against the desired {} is drift. Fields
// others added to granular maps and keyed lists (a label, a sidecar container) are not.
// Strings that are both quantities compare by value (the API server may write 0.5 as
// 500m), and an empty string, map or list equals a missing one (typed objects omit them).
func Changes(live, desired map[string]any) (bool, error) {
	if live == nil {
		return true, nil
	}
	u := &unstructured.Unstructured{Object: desired}
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return false, fmt.Errorf("the desired object has no apiVersion or kind")
	}
	builtin, gateway := converters()
	conv := builtin
	switch gvk.Group {
	case gatewayv1.GroupName:
		conv = gateway
	case render.EnvoyGatewayGroup, render.MonitoringGroup:
		// No schema at hand: maps merge key by key and lists are atomic, so the policies are
		// written with the values the CRDs default inside lists.
		conv = deduced{}
	}
	withType := make(map[string]any, len(live)+2)
	for k, v := range live {
		withType[k] = v
	}
	withType["apiVersion"], withType["kind"] = desired["apiVersion"], desired["kind"]
	lt, err := conv.ObjectToTyped(&unstructured.Unstructured{Object: withType}, typed.AllowDuplicates)
	if err != nil {
		return false, fmt.Errorf("reading the live %s: %w", gvk.Kind, err)
	}
	dt, err := conv.ObjectToTyped(u, typed.AllowDuplicates)
	if err != nil {
		return false, fmt.Errorf("reading the desired %s: %w", gvk.Kind, err)
	}
	merged, err := lt.Merge(dt)
	if err != nil {
		return false, fmt.Errorf("merging the desired %s into the live one: %w", gvk.Kind, err)
	}
	return !sameValue(merged.AsValue().Unstructured(), any(withType)), nil
}

// sameValue compares two decoded JSON values: quantities by value, and empty strings,
// maps and lists equal to missing ones.
func sameValue(a, b any) bool {
	if empty(a) && empty(b) {
		return true
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range av {
			if !sameValue(v, bv[k]) {
				return false
			}
		}
		for k, v := range bv {
			if _, seen := av[k]; !seen && !empty(v) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !sameValue(av[i], bv[i]) {
				return false
			}
		}
		return true
	case string:
		bv, ok := b.(string)
		if !ok {
			return false
		}
		if av == bv {
			return true
		}
		aq, ok := quantity(av)
		if !ok {
			return false
		}
		bq, ok := quantity(bv)
		return ok && aq.Cmp(bq) == 0
	default:
		return reflect.DeepEqual(numeric(a), numeric(b))
	}
}

// maxQuantityLength and maxExponentDigits bound the strings compared as quantities.
// resource.ParseQuantity computes 10^n exactly for a decimal exponent n, so a string that
// only reads as a quantity, such as the applied-hash annotation 33605e2222045540 (a hex
// hash made of digits and one e), kept a worker busy for as long as the 10,000-tenant
// benchmark ran and the manager's heap grew by gigabytes. Every quantity the operator
// writes or the API server writes back has an exponent of at most two digits (e18 is exa)
// and is far shorter than 64 characters, the plans' own limit.
const (
	maxQuantityLength = 64
	maxExponentDigits = 2
)

// quantity parses s as a resource quantity, refusing without parsing it a string longer
// than maxQuantityLength or with a decimal exponent of more than maxExponentDigits digits.
func quantity(s string) (resource.Quantity, bool) {
	if len(s) > maxQuantityLength {
		return resource.Quantity{}, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		// "E" and "Ei" are suffixes (exa, exbi); "e3", "E+3" and "e-3" are exponents.
		exp := strings.TrimLeft(s[i+1:], "+-")
		if len(exp) > maxExponentDigits {
			return resource.Quantity{}, false
		}
	}
	q, err := resource.ParseQuantity(s)
	return q, err == nil
}

// empty reports whether v is missing, an empty string, an empty map or an empty list.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// numeric folds the number types a decoded or merged value may hold into float64, so
// that 2 (int64, from the schema's merge) equals 2 (float64, from JSON).
func numeric(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	}
	return v
}
