package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// TestArgoCDHealth evaluates config/argocd/health.lua the way Argo CD does (gopher-lua, the
// object as the global obj) against status objects the operator wrote in this suite.
func TestArgoCDHealth(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile(filepath.Join("..", "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}

	const (
		readyPlan, readyTenant = "p17-health", "t17-healthy"
		stalledTenant          = "t17-stalled"
		productPlan, product   = "p17-products", "t17-svc"
		progressingTenant      = "t17-rolling"
		brokenPlan             = "p17-broken"
	)
	mustCreate(t, newPlan(readyPlan, 1))
	mustCreate(t, newTenant(readyTenant, readyPlan))
	mustCreate(t, newTenant(stalledTenant, "p17-missing"))
	mustCreate(t, &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: product},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v1",
			Versions: []tenancyv1alpha1.ProductVersion{{Name: "v1", Components: []tenancyv1alpha1.Component{
				{Name: "api", Image: "registry.k8s.io/e2e-test-images/agnhost:2.53", Port: ptr.To[int32](8080)},
			}}},
		},
	})
	withProduct := newPlan(productPlan, 1)
	withProduct.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: product}}
	mustCreate(t, withProduct)
	// envtest runs no Deployment controller: the product never becomes available.
	mustCreate(t, newTenant(progressingTenant, productPlan))
	broken := newPlan(brokenPlan, 1)
	broken.Spec.Products = []tenancyv1alpha1.PlanProduct{{Name: "t17-absent"}}
	mustCreate(t, broken)
	waitTenantReady(t, readyTenant)
	waitTenantStalled(t, stalledTenant, tenancyv1alpha1.ReasonPlanNotFound)

	for _, tc := range []struct {
		kind, name   string
		status, text string
		bumpGen      bool
	}{
		{"Tenant", readyTenant, "Healthy", "are in place", false},
		{"Tenant", stalledTenant, "Degraded", "PlanNotFound", false},
		{"Tenant", progressingTenant, "Progressing", "products are available", false},
		{"Tenant", readyTenant, "Progressing", "observe generation", true},
		{"ServicePlan", readyPlan, "Healthy", "in use by", false},
		{"ServicePlan", brokenPlan, "Degraded", "ProductNotFound", false},
		{"ApiProduct", product, "Healthy", "runs for", false},
	} {
		t.Run(fmt.Sprintf("%s %s %s", tc.kind, tc.name, tc.status), func(t *testing.T) {
			eventually(t, 0, func() error {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(schema.GroupVersionKind{Group: tenancyv1alpha1.GroupVersion.Group,
					Version: tenancyv1alpha1.GroupVersion.Version, Kind: tc.kind})
				if err := k8s.Get(testCtx, client.ObjectKey{Name: tc.name}, u); err != nil {
					return err
				}
				if tc.bumpGen { // as while a new spec waits for the operator
					u.SetGeneration(u.GetGeneration() + 1)
				}
				status, msg, err := argoHealth(string(script), u.Object)
				if err != nil {
					return err
				}
				if status != tc.status || !strings.Contains(msg, tc.text) {
					return fmt.Errorf("health = %s %q, want %s with %q", status, msg, tc.status, tc.text)
				}
				return nil
			})
		})
	}
}

// argoHealth runs a health script on an object as Argo CD does and returns its verdict.
func argoHealth(script string, obj map[string]any) (string, string, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return "", "", err
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(hs.RawGetString("status")), lua.LVAsString(hs.RawGetString("message")), nil
}

// toLua converts decoded JSON to Lua values: objects and arrays become tables.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	}
	return lua.LString(fmt.Sprint(v))
}
