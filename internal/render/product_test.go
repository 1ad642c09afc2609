package render_test

// Unit tests of the per-tenant rendering of API products (internal/render/product.go),
// against the "Per product" section of the API contract. Objects are inspected the way the
// API server would receive them: each apply configuration is marshalled to JSON and decoded
// into the typed object.

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// ---------------------------------------------------------------------------------------
// Fixtures. Names are prefixed with pt so they never clash with other test files.

func ptPort(p int32) *int32 { return &p }

func ptRes(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// ptPayments is a product like the sample: v1 (api with a port, health path, env and
// resources; worker without a port) and v2 (a newer api only), default v2, exposed, APIKey.
func ptPayments() *tenancyv1alpha1.ApiProduct {
	return &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v2",
			Versions: []tenancyv1alpha1.ProductVersion{
				{Name: "v1", Components: []tenancyv1alpha1.Component{
					{
						Name: "api", Image: "registry.example.com/payments-api:1.8.0", Port: ptPort(8080),
						HealthPath: "/healthz", Args: []string{"serve", "--port=8080"},
						Env:       []tenancyv1alpha1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
						Resources: &tenancyv1alpha1.ComputeResources{Requests: ptRes("cpu", "100m", "memory", "128Mi")},
					},
					{Name: "worker", Image: "registry.example.com/payments-worker:1.8.0"},
				}},
				{Name: "v2", Components: []tenancyv1alpha1.Component{
					{Name: "api", Image: "registry.example.com/payments-api:2.0.0", Port: ptPort(9090), HealthPath: "/ready"},
				}},
			},
			Exposure: &tenancyv1alpha1.Exposure{
				Component: "api",
				Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
				Hostname:  "{tenant}.api.example.com",
			},
			Auth: tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthAPIKey},
		},
	}
}

// ptReports is a worker-only product without auth.
func ptReports() *tenancyv1alpha1.ApiProduct {
	return &tenancyv1alpha1.ApiProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "reports"},
		Spec: tenancyv1alpha1.ApiProductSpec{
			DefaultVersion: "v1",
			Versions: []tenancyv1alpha1.ProductVersion{{Name: "v1", Components: []tenancyv1alpha1.Component{
				{Name: "worker", Image: "registry.example.com/reports:1.0.0"},
			}}},
			Auth: tenancyv1alpha1.Auth{Type: tenancyv1alpha1.AuthNone},
		},
	}
}

func ptPlan(entries ...tenancyv1alpha1.PlanProduct) *tenancyv1alpha1.ServicePlan {
	return &tenancyv1alpha1.ServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: "gold"},
		Spec:       tenancyv1alpha1.ServicePlanSpec{MaxNamespaces: 5, Products: entries},
	}
}

func ptTenant(name string, namespaces []string, products ...tenancyv1alpha1.TenantProduct) *tenancyv1alpha1.Tenant {
	t := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       tenancyv1alpha1.TenantSpec{Plan: "gold", Products: products},
	}
	for _, ns := range namespaces {
		t.Spec.Namespaces = append(t.Spec.Namespaces, tenancyv1alpha1.TenantNamespace{Name: ns})
	}
	return t
}

func ptCatalog(ps ...*tenancyv1alpha1.ApiProduct) map[string]*tenancyv1alpha1.ApiProduct {
	m := map[string]*tenancyv1alpha1.ApiProduct{}
	for _, p := range ps {
		m[p.Name] = p
	}
	return m
}

// ptResolveOne resolves a tenant's single product and fails the test if that fails.
func ptResolveOne(t *testing.T, tn *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, ps ...*tenancyv1alpha1.ApiProduct) render.Resolved {
	t.Helper()
	got, err := render.ResolveProducts(tn, plan, ptCatalog(ps...))
	if err != nil {
		t.Fatalf("ResolveProducts: %s: %s", err.Reason, err.Message)
	}
	if len(got) != 1 {
		t.Fatalf("ResolveProducts returned %d products, want 1", len(got))
	}
	return got[0]
}

// ptRender resolves and renders the tenant's single product.
func ptRender(t *testing.T, tn *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, cred *render.Credential, routes bool, ps ...*tenancyv1alpha1.ApiProduct) []render.Object {
	t.Helper()
	r := ptResolveOne(t, tn, plan, ps...)
	return render.Product(render.ProductInput{Tenant: tn, Resolved: r, Credential: cred, Routes: routes})
}

// ptFind returns the rendered object of a kind and name, or nil.
func ptFind(objs []render.Object, kind, name string) *render.Object {
	for i := range objs {
		if objs[i].Kind == kind && objs[i].Name == name {
			return &objs[i]
		}
	}
	return nil
}

// ptDecode marshals an apply configuration and decodes it into a typed object.
func ptDecode(t *testing.T, o *render.Object, into any) []byte {
	t.Helper()
	b, err := json.Marshal(o.Apply)
	if err != nil {
		t.Fatalf("marshalling %s %s: %v", o.Kind, o.Name, err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("decoding %s %s: %v", o.Kind, o.Name, err)
	}
	return b
}

func ptDeployment(t *testing.T, objs []render.Object, name string) *appsv1.Deployment {
	t.Helper()
	o := ptFind(objs, render.KindDeployment, name)
	if o == nil {
		t.Fatalf("no Deployment %s in %v", name, ptKeys(objs))
	}
	d := &appsv1.Deployment{}
	ptDecode(t, o, d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", name, len(d.Spec.Template.Spec.Containers))
	}
	return d
}

func ptKeys(objs []render.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Kind+" "+o.Namespace+"/"+o.Name)
	}
	return out
}

func ptEnv(c corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

// ---------------------------------------------------------------------------------------
// Resolution.

func TestProductResolveVersionAndNamespace(t *testing.T) {
	pin := func(version, namespace string) tenancyv1alpha1.TenantProduct {
		return tenancyv1alpha1.TenantProduct{Name: "payments", Version: version, Namespace: namespace}
	}
	cases := []struct {
		name          string
		namespaces    []string
		tenant        []tenancyv1alpha1.TenantProduct
		planVersion   string
		wantVersion   string
		wantNamespace string
	}{
		{name: "product defaultVersion when neither tenant nor plan pins", wantVersion: "v2", wantNamespace: "acme"},
		{name: "plan version over defaultVersion", planVersion: "v1", wantVersion: "v1", wantNamespace: "acme"},
		{name: "tenant pin over plan version", tenant: []tenancyv1alpha1.TenantProduct{pin("v2", "")}, planVersion: "v1",
			wantVersion: "v2", wantNamespace: "acme"},
		{name: "tenant pin over defaultVersion", tenant: []tenancyv1alpha1.TenantProduct{pin("v1", "")},
			wantVersion: "v1", wantNamespace: "acme"},
		{name: "tenant entry without version falls back to plan version", tenant: []tenancyv1alpha1.TenantProduct{pin("", "")},
			planVersion: "v1", wantVersion: "v1", wantNamespace: "acme"},
		{name: "default namespace is the first tenant namespace", namespaces: []string{"acme-prod", "acme-dev"},
			wantVersion: "v2", wantNamespace: "acme-prod"},
		{name: "explicit namespace", namespaces: []string{"acme-prod", "acme-dev"},
			tenant: []tenancyv1alpha1.TenantProduct{pin("", "acme-dev")}, wantVersion: "v2", wantNamespace: "acme-dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := ptTenant("acme", tc.namespaces, tc.tenant...)
			plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: tc.planVersion})
			r := ptResolveOne(t, tn, plan, ptPayments())
			if r.Product == nil || r.Product.Name != "payments" {
				t.Fatalf("resolved product %+v, want payments", r.Product)
			}
			if r.Version == nil || r.Version.Name != tc.wantVersion {
				t.Errorf("version = %+v, want %s", r.Version, tc.wantVersion)
			}
			if r.Namespace != tc.wantNamespace {
				t.Errorf("namespace = %q, want %q", r.Namespace, tc.wantNamespace)
			}
			if r.PlanEntry.Name != "payments" || r.PlanEntry.Version != tc.planVersion {
				t.Errorf("plan entry = %+v, want the plan's payments entry", r.PlanEntry)
			}
		})
	}
}

func TestProductResolveErrors(t *testing.T) {
	badDefault := ptPayments()
	badDefault.Spec.DefaultVersion = "v7"
	cases := []struct {
		name     string
		tenant   []tenancyv1alpha1.TenantProduct
		plan     []tenancyv1alpha1.PlanProduct
		products []*tenancyv1alpha1.ApiProduct
		reason   string
		// mention are substrings the message must contain.
		mention []string
	}{
		{
			name:   "unknown version pinned by the tenant",
			tenant: []tenancyv1alpha1.TenantProduct{{Name: "payments", Version: "v9"}},
			plan:   []tenancyv1alpha1.PlanProduct{{Name: "payments", Version: "v1"}}, products: []*tenancyv1alpha1.ApiProduct{ptPayments()},
			reason: tenancyv1alpha1.ReasonVersionNotFound, mention: []string{"payments", "v9", "spec.products", "v1, v2"},
		},
		{
			name:     "unknown version set by the plan",
			plan:     []tenancyv1alpha1.PlanProduct{{Name: "payments", Version: "v8"}},
			products: []*tenancyv1alpha1.ApiProduct{ptPayments()},
			reason:   tenancyv1alpha1.ReasonVersionNotFound, mention: []string{"payments", "v8", "plan gold"},
		},
		{
			name:     "unknown defaultVersion of the product",
			plan:     []tenancyv1alpha1.PlanProduct{{Name: "payments"}},
			products: []*tenancyv1alpha1.ApiProduct{badDefault},
			reason:   tenancyv1alpha1.ReasonVersionNotFound, mention: []string{"payments", "v7", "defaultVersion"},
		},
		{
			name:   "product listed by the tenant but not in the plan",
			tenant: []tenancyv1alpha1.TenantProduct{{Name: "payments"}, {Name: "reports"}},
			plan:   []tenancyv1alpha1.PlanProduct{{Name: "payments"}}, products: []*tenancyv1alpha1.ApiProduct{ptPayments(), ptReports()},
			reason: tenancyv1alpha1.ReasonProductNotInPlan, mention: []string{"reports", "gold"},
		},
		{
			name:     "product in the plan that does not exist",
			plan:     []tenancyv1alpha1.PlanProduct{{Name: "payments"}, {Name: "reports"}},
			products: []*tenancyv1alpha1.ApiProduct{ptPayments()},
			reason:   tenancyv1alpha1.ReasonProductNotFound, mention: []string{"reports"},
		},
		{
			name:   "product listed by the tenant, in the plan, that does not exist",
			tenant: []tenancyv1alpha1.TenantProduct{{Name: "reports"}},
			plan:   []tenancyv1alpha1.PlanProduct{{Name: "payments"}, {Name: "reports"}}, products: []*tenancyv1alpha1.ApiProduct{ptPayments()},
			reason: tenancyv1alpha1.ReasonProductNotFound, mention: []string{"reports"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render.ResolveProducts(ptTenant("acme", nil, tc.tenant...), ptPlan(tc.plan...), ptCatalog(tc.products...))
			if err == nil {
				t.Fatalf("ResolveProducts = %d products and no error, want reason %s", len(got), tc.reason)
			}
			if got != nil {
				t.Errorf("ResolveProducts returned %d products with an error, want none", len(got))
			}
			if err.Reason != tc.reason {
				t.Errorf("reason = %q, want %q (message %q)", err.Reason, tc.reason, err.Message)
			}
			if err.Error() != err.Message {
				t.Errorf("Error() = %q, want the message %q", err.Error(), err.Message)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Message, m) {
					t.Errorf("message %q does not mention %q", err.Message, m)
				}
			}
		})
	}
}

func TestProductResolveProductList(t *testing.T) {
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments"}, tenancyv1alpha1.PlanProduct{Name: "reports"})
	catalog := ptCatalog(ptPayments(), ptReports())
	names := func(rs []render.Resolved) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Product.Name)
		}
		return out
	}

	// No spec.products: every product of the plan, in the plan's order.
	got, err := render.ResolveProducts(ptTenant("acme", nil), plan, catalog)
	if err != nil {
		t.Fatalf("ResolveProducts: %v", err)
	}
	if want := []string{"payments", "reports"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("default products = %v, want the plan's %v", names(got), want)
	}

	// spec.products: only those.
	got, err = render.ResolveProducts(ptTenant("acme", nil, tenancyv1alpha1.TenantProduct{Name: "reports"}), plan, catalog)
	if err != nil {
		t.Fatalf("ResolveProducts: %v", err)
	}
	if want := []string{"reports"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("products = %v, want the tenant's %v", names(got), want)
	}

	// A plan without products and a tenant without spec.products: nothing.
	got, err = render.ResolveProducts(ptTenant("acme", nil), ptPlan(), catalog)
	if err != nil || len(got) != 0 {
		t.Errorf("ResolveProducts on a plan without products = %v, %v; want nothing", names(got), err)
	}
}

// ---------------------------------------------------------------------------------------
// Deployments.

func TestProductReplicas(t *testing.T) {
	three := int32(3)
	zero := int32(0)
	cases := []struct {
		name      string
		replicas  *int32
		suspended bool
		want      int32
	}{
		{name: "default 1", want: 1},
		{name: "from the plan", replicas: &three, want: 3},
		{name: "plan sets 0", replicas: &zero, want: 0},
		{name: "suspended", replicas: &three, suspended: true, want: 0},
		{name: "suspended with the default", suspended: true, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := ptTenant("acme", nil)
			tn.Spec.Suspended = tc.suspended
			plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Replicas: tc.replicas})
			objs := ptRender(t, tn, plan, nil, false, ptPayments())
			for _, name := range []string{"payments-api", "payments-worker"} {
				d := ptDeployment(t, objs, name)
				if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.want {
					t.Errorf("Deployment %s: replicas = %v, want %d", name, d.Spec.Replicas, tc.want)
				}
			}
		})
	}
}

func TestProductResources(t *testing.T) {
	planRes := &tenancyv1alpha1.ComputeResources{
		Requests: ptRes("cpu", "200m", "memory", "256Mi"),
		Limits:   ptRes("cpu", "500m"),
	}
	cases := []struct {
		name      string
		plan      *tenancyv1alpha1.ComputeResources
		component string
		want      *corev1.ResourceRequirements
	}{
		{name: "plan entry overrides the component", plan: planRes, component: "payments-api",
			want: &corev1.ResourceRequirements{Requests: planRes.Requests, Limits: planRes.Limits}},
		{name: "plan entry applies to a component without resources", plan: planRes, component: "payments-worker",
			want: &corev1.ResourceRequirements{Requests: planRes.Requests, Limits: planRes.Limits}},
		{name: "component resources without a plan entry", component: "payments-api",
			want: &corev1.ResourceRequirements{Requests: ptRes("cpu", "100m", "memory", "128Mi")}},
		{name: "none", component: "payments-worker", want: &corev1.ResourceRequirements{}},
		{name: "empty plan entry falls back to nothing", plan: &tenancyv1alpha1.ComputeResources{}, component: "payments-worker",
			want: &corev1.ResourceRequirements{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Resources: tc.plan})
			objs := ptRender(t, ptTenant("acme", nil), plan, nil, false, ptPayments())
			d := ptDeployment(t, objs, tc.component)
			got := d.Spec.Template.Spec.Containers[0].Resources
			if !ptSameList(got.Requests, tc.want.Requests) || !ptSameList(got.Limits, tc.want.Limits) {
				t.Errorf("resources = requests %v limits %v, want requests %v limits %v",
					got.Requests, got.Limits, tc.want.Requests, tc.want.Limits)
			}
		})
	}
	// No resources at all: the apply configuration sets no resources field.
	objs := ptRender(t, ptTenant("acme", nil), ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, ptPayments())
	b, _ := json.Marshal(ptFind(objs, render.KindDeployment, "payments-worker").Apply)
	if strings.Contains(string(b), `"resources"`) {
		t.Errorf("payments-worker without resources anywhere renders a resources field: %s", b)
	}
}

func ptSameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		w, ok := b[k]
		if !ok || q.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestProductSecurityContextIsRestricted(t *testing.T) {
	objs := ptRender(t, ptTenant("acme", nil), ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, ptPayments())
	for _, name := range []string{"payments-api", "payments-worker"} {
		d := ptDeployment(t, objs, name)
		pod := d.Spec.Template.Spec.SecurityContext
		if pod == nil {
			t.Fatalf("%s: no pod security context", name)
		}
		if pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
			t.Errorf("%s: pod runAsNonRoot = %v, want true", name, pod.RunAsNonRoot)
		}
		if pod.RunAsUser == nil || *pod.RunAsUser != 65532 {
			t.Errorf("%s: pod runAsUser = %v, want 65532", name, pod.RunAsUser)
		}
		if pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod seccompProfile = %+v, want RuntimeDefault", name, pod.SeccompProfile)
		}
		c := d.Spec.Template.Spec.Containers[0].SecurityContext
		if c == nil {
			t.Fatalf("%s: no container security context", name)
		}
		if c.RunAsNonRoot == nil || !*c.RunAsNonRoot {
			t.Errorf("%s: container runAsNonRoot = %v, want true", name, c.RunAsNonRoot)
		}
		if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
			t.Errorf("%s: container allowPrivilegeEscalation = %v, want false", name, c.AllowPrivilegeEscalation)
		}
		if c.Capabilities == nil || !reflect.DeepEqual(c.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(c.Capabilities.Add) > 0 {
			t.Errorf("%s: container capabilities = %+v, want drop [ALL] and no add", name, c.Capabilities)
		}
		if c.SeccompProfile == nil || c.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: container seccompProfile = %+v, want RuntimeDefault", name, c.SeccompProfile)
		}
		if c.Privileged != nil && *c.Privileged {
			t.Errorf("%s: container is privileged", name)
		}
	}
}

func TestProductContainerFromVersion(t *testing.T) {
	tn := ptTenant("acme", nil)
	objs := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, ptPayments())

	api := ptDeployment(t, objs, "payments-api")
	c := api.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.com/payments-api:1.8.0" {
		t.Errorf("payments-api image = %q, want the v1 api image", c.Image)
	}
	if !reflect.DeepEqual(c.Args, []string{"serve", "--port=8080"}) {
		t.Errorf("payments-api args = %q, want the component's", c.Args)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("payments-api ports = %+v, want 8080", c.Ports)
	}
	p := c.ReadinessProbe
	switch {
	case p == nil || p.HTTPGet == nil:
		t.Errorf("payments-api readiness probe = %+v, want HTTP GET /healthz on 8080", p)
	case p.HTTPGet.Path != "/healthz":
		t.Errorf("payments-api readiness probe path = %q, want /healthz", p.HTTPGet.Path)
	case p.HTTPGet.Port != intstr.FromInt32(8080) && !(len(c.Ports) == 1 && p.HTTPGet.Port == intstr.FromString(c.Ports[0].Name)):
		t.Errorf("payments-api readiness probe port = %v, want 8080", p.HTTPGet.Port)
	}

	worker := ptDeployment(t, objs, "payments-worker").Spec.Template.Spec.Containers[0]
	if worker.Image != "registry.example.com/payments-worker:1.8.0" {
		t.Errorf("payments-worker image = %q", worker.Image)
	}
	if len(worker.Ports) != 0 || worker.ReadinessProbe != nil {
		t.Errorf("payments-worker without a port has ports %+v and probe %+v, want none", worker.Ports, worker.ReadinessProbe)
	}

	// A port without a healthPath: no probe. (v2's api has /ready on 9090.)
	noHealth := ptPayments()
	noHealth.Spec.Versions[0].Components[0].HealthPath = ""
	objs = ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, noHealth)
	if p := ptDeployment(t, objs, "payments-api").Spec.Template.Spec.Containers[0].ReadinessProbe; p != nil {
		t.Errorf("api without healthPath has readiness probe %+v, want none", p)
	}
	objs = ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments"}), nil, false, ptPayments())
	v2 := ptDeployment(t, objs, "payments-api").Spec.Template.Spec.Containers[0]
	if v2.Image != "registry.example.com/payments-api:2.0.0" || v2.ReadinessProbe == nil || v2.ReadinessProbe.HTTPGet == nil ||
		v2.ReadinessProbe.HTTPGet.Path != "/ready" || len(v2.Ports) != 1 || v2.Ports[0].ContainerPort != 9090 {
		t.Errorf("v2 payments-api = image %q ports %+v probe %+v, want the v2 image, port 9090 and /ready", v2.Image, v2.Ports, v2.ReadinessProbe)
	}
	if ptFind(objs, render.KindDeployment, "payments-worker") != nil {
		t.Errorf("v2 has no worker, yet a payments-worker Deployment is rendered")
	}
}

func TestProductEnv(t *testing.T) {
	cases := []struct {
		name      string
		rateLimit *tenancyv1alpha1.RateLimit
		wantRPM   string // "" means absent
	}{
		{name: "without a rate limit"},
		{name: "with a rate limit", rateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 1200}, wantRPM: "1200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", RateLimit: tc.rateLimit})
			objs := ptRender(t, ptTenant("acme", nil), plan, nil, false, ptPayments())
			for _, name := range []string{"payments-api", "payments-worker"} {
				env := ptEnv(ptDeployment(t, objs, name).Spec.Template.Spec.Containers[0])
				if e := env[render.EnvTenant]; e.Value != "acme" || e.ValueFrom != nil {
					t.Errorf("%s: TENANT = %+v, want acme", name, e)
				}
				if e := env[render.EnvProductVersion]; e.Value != "v1" || e.ValueFrom != nil {
					t.Errorf("%s: PRODUCT_VERSION = %+v, want v1", name, e)
				}
				e, ok := env[render.EnvRateLimit]
				switch {
				case tc.wantRPM == "" && ok:
					t.Errorf("%s: RATE_LIMIT_RPM = %+v, want absent without a plan rate limit", name, e)
				case tc.wantRPM != "" && (!ok || e.Value != tc.wantRPM):
					t.Errorf("%s: RATE_LIMIT_RPM = %+v (present %v), want %s", name, e, ok, tc.wantRPM)
				}
				if _, ok := env[render.EnvAPIKey]; ok {
					t.Errorf("%s: API_KEY set without a credential", name)
				}
			}
			api := ptEnv(ptDeployment(t, objs, "payments-api").Spec.Template.Spec.Containers[0])
			if e := api["LOG_LEVEL"]; e.Value != "info" {
				t.Errorf("payments-api: LOG_LEVEL = %+v, want the component's info", e)
			}
		})
	}
}

func TestProductAPIKeyOnlyAsSecretReference(t *testing.T) {
	const key = "3f2a9c0b7d1e4a5f8b6c2d0e9f1a3b4c5d6e7f8a9b0c1d2e"
	tn := ptTenant("acme", nil)
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"})
	objs := ptRender(t, tn, plan, &render.Credential{Key: key, Rotation: "r1"}, false, ptPayments())

	for _, name := range []string{"payments-api", "payments-worker"} {
		o := ptFind(objs, render.KindDeployment, name)
		if o == nil {
			t.Fatalf("no Deployment %s", name)
		}
		d := &appsv1.Deployment{}
		raw := ptDecode(t, o, d)
		if strings.Contains(string(raw), key) {
			t.Errorf("Deployment %s contains the API key literally: %s", name, raw)
		}
		env := ptEnv(d.Spec.Template.Spec.Containers[0])
		var ref *corev1.SecretKeySelector
		for _, e := range env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref = e.ValueFrom.SecretKeyRef
				if e.Value != "" {
					t.Errorf("%s: env %s has both a value and a secret reference", name, e.Name)
				}
			}
		}
		if ref == nil || ref.Name != "payments-credentials" || ref.Key != "api-key" {
			t.Errorf("%s: secret reference = %+v, want payments-credentials/api-key", name, ref)
		}
		hash := d.Spec.Template.Annotations[render.AnnotationCredentialsHash]
		if hash == "" || hash != render.CredentialsHash(key) {
			t.Errorf("%s: pod template %s = %q, want CredentialsHash(key) %q", name, render.AnnotationCredentialsHash, hash, render.CredentialsHash(key))
		}
	}

	// A new key changes the pod template annotation (the Deployment rolls); the same key
	// does not.
	before := ptDeployment(t, objs, "payments-api").Spec.Template.Annotations[render.AnnotationCredentialsHash]
	same := ptRender(t, tn, plan, &render.Credential{Key: key, Rotation: "r1"}, false, ptPayments())
	if got := ptDeployment(t, same, "payments-api").Spec.Template.Annotations[render.AnnotationCredentialsHash]; got != before {
		t.Errorf("credentials hash changed from %q to %q with the same key", before, got)
	}
	rotated := ptRender(t, tn, plan, &render.Credential{Key: key + "x", Rotation: "r2"}, false, ptPayments())
	if got := ptDeployment(t, rotated, "payments-api").Spec.Template.Annotations[render.AnnotationCredentialsHash]; got == before || got == "" {
		t.Errorf("credentials hash after rotation = %q, want a new value (was %q)", got, before)
	}
	if render.CredentialsHash("a") == render.CredentialsHash("b") || strings.Contains(render.CredentialsHash(key), key) {
		t.Errorf("CredentialsHash does not distinguish keys or contains the key")
	}

	// Without a credential: no annotation, no secret reference.
	none := ptRender(t, tn, plan, nil, false, ptPayments())
	d := ptDeployment(t, none, "payments-api")
	if _, ok := d.Spec.Template.Annotations[render.AnnotationCredentialsHash]; ok {
		t.Errorf("pod template has %s without a credential", render.AnnotationCredentialsHash)
	}
}

func TestProductCredentialsSecret(t *testing.T) {
	const key = "k-0123456789abcdef"
	tn := ptTenant("acme", []string{"acme", "acme-dev"}, tenancyv1alpha1.TenantProduct{Name: "payments", Version: "v1", Namespace: "acme-dev"})
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments"})
	objs := ptRender(t, tn, plan, &render.Credential{Key: key, Rotation: "r1"}, false, ptPayments())
	o := ptFind(objs, render.KindSecret, "payments-credentials")
	if o == nil {
		t.Fatalf("no Secret payments-credentials in %v", ptKeys(objs))
	}
	if o.Namespace != "acme-dev" {
		t.Errorf("Secret namespace = %q, want the product's acme-dev", o.Namespace)
	}
	s := &corev1.Secret{}
	ptDecode(t, o, s)
	if s.Name != "payments-credentials" || s.Namespace != "acme-dev" {
		t.Errorf("Secret is %s/%s, want acme-dev/payments-credentials", s.Namespace, s.Name)
	}
	if len(s.Data) != 1 || string(s.Data["api-key"]) != key {
		t.Errorf("Secret data = %v, want only api-key = the key", s.Data)
	}
	if s.Annotations[render.AnnotationRotation] != "r1" {
		t.Errorf("Secret %s = %q, want r1", render.AnnotationRotation, s.Annotations[render.AnnotationRotation])
	}
	if render.CredentialsName("payments") != "payments-credentials" {
		t.Errorf("CredentialsName(payments) = %q", render.CredentialsName("payments"))
	}

	// No credential (auth None, OAuth2): no Secret.
	objs = ptRender(t, tn, plan, nil, false, ptPayments())
	for _, o := range objs {
		if o.Kind == render.KindSecret {
			t.Errorf("a Secret %s is rendered without a credential", o.Name)
		}
	}

	// Which auth types hand out API keys.
	for typ, want := range map[tenancyv1alpha1.AuthType]bool{
		"": true, tenancyv1alpha1.AuthAPIKey: true, tenancyv1alpha1.AuthNone: false, tenancyv1alpha1.AuthOAuth2: false,
	} {
		p := ptPayments()
		p.Spec.Auth.Type = typ
		if got := render.UsesAPIKey(p); got != want {
			t.Errorf("UsesAPIKey(auth.type %q) = %v, want %v", typ, got, want)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Services, routes, endpoints.

func TestProductServices(t *testing.T) {
	tn := ptTenant("acme", nil)
	objs := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, ptPayments())
	if o := ptFind(objs, render.KindService, "payments-worker"); o != nil {
		t.Errorf("a Service is rendered for payments-worker, which has no port")
	}
	o := ptFind(objs, render.KindService, "payments-api")
	if o == nil {
		t.Fatalf("no Service payments-api in %v", ptKeys(objs))
	}
	svc := &corev1.Service{}
	ptDecode(t, o, svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
		t.Fatalf("Service ports = %+v, want 8080", svc.Spec.Ports)
	}
	d := ptDeployment(t, objs, "payments-api")
	c := d.Spec.Template.Spec.Containers[0]
	// The Service's target port reaches the container's port, by number or by name.
	tp := svc.Spec.Ports[0].TargetPort
	if !(tp == intstr.FromInt32(8080) || (tp.Type == intstr.String && len(c.Ports) == 1 && c.Ports[0].Name == tp.StrVal)) {
		t.Errorf("Service targetPort %v does not reach container port %+v", tp, c.Ports)
	}
	// The Service selects the Deployment's pods.
	if len(svc.Spec.Selector) == 0 || !reflect.DeepEqual(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("Service selector = %v, want the Deployment's selector %v", svc.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	if render.ComponentName("payments", "api") != "payments-api" {
		t.Errorf("ComponentName(payments, api) = %q", render.ComponentName("payments", "api"))
	}
}

func TestProductHTTPRoute(t *testing.T) {
	cases := []struct {
		name       string
		exposed    bool
		routes     bool
		pathPrefix string
		hostname   string
		wantRoute  bool
		wantPath   string
		wantHost   string
	}{
		{name: "exposed, routes installed, default path", exposed: true, routes: true, hostname: "{tenant}.api.example.com",
			wantRoute: true, wantPath: "/payments", wantHost: "acme.api.example.com"},
		{name: "exposed, routes installed, explicit path", exposed: true, routes: true, pathPrefix: "/pay/v1", hostname: "api.example.com",
			wantRoute: true, wantPath: "/pay/v1", wantHost: "api.example.com"},
		{name: "exposed, routes installed, no hostname", exposed: true, routes: true, wantRoute: true, wantPath: "/payments"},
		{name: "exposed, routes not installed", exposed: true, hostname: "{tenant}.api.example.com"},
		{name: "not exposed, routes installed", routes: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ptPayments()
			if tc.exposed {
				p.Spec.Exposure.PathPrefix = tc.pathPrefix
				p.Spec.Exposure.Hostname = tc.hostname
			} else {
				p.Spec.Exposure = nil
			}
			tn := ptTenant("acme", []string{"acme", "acme-dev"})
			objs := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, tc.routes, p)
			var routes []render.Object
			for _, o := range objs {
				if o.Kind == render.KindHTTPRoute {
					routes = append(routes, o)
				}
			}
			if !tc.wantRoute {
				if len(routes) > 0 {
					t.Errorf("HTTPRoutes rendered: %v, want none", ptKeys(routes))
				}
				return
			}
			if len(routes) != 1 || routes[0].Name != "payments" || routes[0].Namespace != "acme" {
				t.Fatalf("HTTPRoutes = %v, want one named payments in acme", ptKeys(routes))
			}
			r := &gatewayv1.HTTPRoute{}
			ptDecode(t, &routes[0], r)
			if r.Name != "payments" || r.Namespace != "acme" {
				t.Errorf("HTTPRoute is %s/%s, want acme/payments", r.Namespace, r.Name)
			}
			var hosts []string
			for _, h := range r.Spec.Hostnames {
				hosts = append(hosts, string(h))
			}
			if tc.wantHost == "" && len(hosts) != 0 || tc.wantHost != "" && !reflect.DeepEqual(hosts, []string{tc.wantHost}) {
				t.Errorf("hostnames = %v, want %q", hosts, tc.wantHost)
			}
			if len(r.Spec.ParentRefs) != 1 {
				t.Fatalf("parentRefs = %+v, want one", r.Spec.ParentRefs)
			}
			pr := r.Spec.ParentRefs[0]
			if pr.Name != "public" || pr.Namespace == nil || *pr.Namespace != "platform-gateway" {
				t.Errorf("parentRef = %+v, want public in platform-gateway", pr)
			}
			if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].Matches) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 {
				t.Fatalf("rules = %+v, want one rule with one match and one backend", r.Spec.Rules)
			}
			m := r.Spec.Rules[0].Matches[0]
			if m.Path == nil || m.Path.Value == nil || *m.Path.Value != tc.wantPath ||
				m.Path.Type == nil || *m.Path.Type != gatewayv1.PathMatchPathPrefix {
				t.Errorf("path match = %+v, want PathPrefix %s", m.Path, tc.wantPath)
			}
			b := r.Spec.Rules[0].BackendRefs[0]
			if b.Name != "payments-api" || b.Port == nil || *b.Port != 8080 {
				t.Errorf("backendRef = %+v, want Service payments-api port 8080", b.BackendObjectReference)
			}
			if b.Kind != nil && *b.Kind != "Service" || b.Group != nil && *b.Group != "" || b.Namespace != nil && *b.Namespace != "acme" {
				t.Errorf("backendRef = %+v, want a core Service in the route's namespace", b.BackendObjectReference)
			}
			if ptFind(objs, render.KindService, string(b.Name)) == nil {
				t.Errorf("the route's backend Service %s is not rendered", b.Name)
			}
		})
	}
	if got := render.Hostname("{tenant}.api.example.com", "acme"); got != "acme.api.example.com" {
		t.Errorf("Hostname = %q", got)
	}
}

func TestProductEndpoint(t *testing.T) {
	exposed := ptPayments()
	explicitPath := ptPayments()
	explicitPath.Spec.Exposure.PathPrefix = "/pay"
	noHost := ptPayments()
	noHost.Spec.Exposure.Hostname = ""
	internal := ptPayments()
	internal.Spec.Exposure = nil
	cases := []struct {
		name    string
		product *tenancyv1alpha1.ApiProduct
		version string
		noRoute bool
		want    string
	}{
		{name: "exposed with a hostname", product: exposed, version: "v1", want: "https://acme.api.example.com/payments"},
		{name: "exposed with an explicit path", product: explicitPath, version: "v1", want: "https://acme.api.example.com/pay"},
		{name: "exposed, but no Gateway API: the entrypoint Service", product: exposed, version: "v1", noRoute: true, want: "http://payments-api.acme.svc:8080"},
		{name: "exposed without a hostname: the entrypoint Service", product: noHost, version: "v2", want: "http://payments-api.acme.svc:9090"},
		{name: "not exposed: the Service of the component with a port", product: internal, version: "v1", want: "http://payments-api.acme.svc:8080"},
		{name: "no port anywhere", product: ptReports(), version: "v1", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := ptTenant("acme", nil)
			r := ptResolveOne(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: tc.product.Name, Version: tc.version}), tc.product)
			if got := render.Endpoint(tn, r, !tc.noRoute); got != tc.want {
				t.Errorf("Endpoint = %q, want %q", got, tc.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// Labels and selectors.

func TestProductSelectorIsStableAcrossVersions(t *testing.T) {
	tn := ptTenant("acme", nil)
	render1 := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, false, ptPayments())
	render2 := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v2"}), nil, false, ptPayments())
	d1, d2 := ptDeployment(t, render1, "payments-api"), ptDeployment(t, render2, "payments-api")
	if d1.Spec.Selector == nil || len(d1.Spec.Selector.MatchLabels) == 0 {
		t.Fatalf("Deployment selector = %+v, want matchLabels", d1.Spec.Selector)
	}
	if !reflect.DeepEqual(d1.Spec.Selector, d2.Spec.Selector) {
		t.Errorf("selector changes with the version: v1 %v, v2 %v (Deployment selectors are immutable)", d1.Spec.Selector, d2.Spec.Selector)
	}
	if _, ok := d1.Spec.Selector.MatchLabels[render.LabelAppVersion]; ok || len(d1.Spec.Selector.MatchExpressions) > 0 {
		t.Errorf("selector %+v contains the version or expressions", d1.Spec.Selector)
	}
	for _, v := range d1.Spec.Selector.MatchLabels {
		if v == "v1" {
			t.Errorf("selector %v has a label with the version's value", d1.Spec.Selector.MatchLabels)
		}
	}
	// The selector matches the pod template, and distinguishes tenants and components.
	for _, d := range []*appsv1.Deployment{d1, d2} {
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("Deployment %s (version %s): selector %s=%s does not match the pod template labels %v",
					d.Name, d.Labels[render.LabelAppVersion], k, v, d.Spec.Template.Labels)
			}
		}
	}
	sel := d1.Spec.Selector.MatchLabels
	if sel[tenancyv1alpha1.LabelTenant] != "acme" || sel[render.LabelAppName] != "payments-api" {
		t.Errorf("selector %v does not select by tenant and component", sel)
	}
	worker := ptDeployment(t, render1, "payments-worker")
	if reflect.DeepEqual(worker.Spec.Selector, d1.Spec.Selector) {
		t.Errorf("payments-api and payments-worker have the same selector %v", sel)
	}
}

func TestProductLabels(t *testing.T) {
	tn := ptTenant("acme", nil)
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"})
	objs := ptRender(t, tn, plan, &render.Credential{Key: "k"}, true, ptPayments())
	kinds := map[string]int{}
	for i := range objs {
		o := &objs[i]
		kinds[o.Kind]++
		var u struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Kind     string            `json:"kind"`
			Spec     struct {
				Template struct {
					Metadata metav1.ObjectMeta `json:"metadata"`
				} `json:"template"`
			} `json:"spec"`
		}
		ptDecode(t, o, &u)
		if u.Kind != o.Kind || u.Metadata.Name != o.Name || u.Metadata.Namespace != o.Namespace || o.Namespace != "acme" {
			t.Errorf("object %s %s/%s renders as %s %s/%s", o.Kind, o.Namespace, o.Name, u.Kind, u.Metadata.Namespace, u.Metadata.Name)
		}
		want := map[string]string{
			tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue,
			tenancyv1alpha1.LabelTenant:    "acme",
			tenancyv1alpha1.LabelProduct:   "payments",
			render.LabelAppVersion:         "v1",
		}
		if o.Kind == render.KindDeployment || o.Kind == render.KindService {
			want[render.LabelAppName] = o.Name // <product>-<component>
		}
		for k, v := range want {
			if got := u.Metadata.Labels[k]; got != v {
				t.Errorf("%s %s: label %s = %q, want %q (labels %v)", o.Kind, o.Name, k, got, v, u.Metadata.Labels)
			}
		}
		if o.Kind == render.KindDeployment {
			// Pods carry the product labels too (so they can be listed per tenant and product).
			for k, v := range want {
				if k == tenancyv1alpha1.LabelManagedBy {
					continue
				}
				if got := u.Spec.Template.Metadata.Labels[k]; got != v {
					t.Errorf("Deployment %s pod template: label %s = %q, want %q", o.Name, k, got, v)
				}
			}
			// But not managed-by: the Pods are the ReplicaSet's, and only what the operator
			// writes may claim the operator.
			if got, ok := u.Spec.Template.Metadata.Labels[tenancyv1alpha1.LabelManagedBy]; ok {
				t.Errorf("Deployment %s pod template: label %s = %q, want none", o.Name, tenancyv1alpha1.LabelManagedBy, got)
			}
		}
	}
	want := map[string]int{render.KindDeployment: 2, render.KindService: 1, render.KindSecret: 1, render.KindHTTPRoute: 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("rendered kinds = %v, want %v", kinds, want)
	}
}

// TestProductRouteDeprecationHeaders: the route of a tenant on a deprecated version sets the
// Deprecation (RFC 9745, @<Unix seconds> of when the operator first saw it deprecated) and
// Sunset (RFC 8594, an HTTP-date) response headers; a version that is not deprecated, or
// whose deprecation is not recorded yet, gets neither.
func TestProductRouteDeprecationHeaders(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, time.December, 1, 9, 30, 0, 0, time.UTC))
	sunset := metav1.NewTime(time.Date(2027, time.June, 30, 0, 0, 0, 0, time.UTC))
	cases := []struct {
		name       string
		deprecated bool
		sunset     *metav1.Time
		recorded   *metav1.Time
		want       []gatewayv1.HTTPHeader
	}{
		{name: "not deprecated"},
		{name: "not deprecated, an old record in the status", recorded: &since},
		{name: "deprecated, with sunset", deprecated: true, sunset: &sunset, recorded: &since, want: []gatewayv1.HTTPHeader{
			{Name: "Deprecation", Value: "@1796117400"}, {Name: "Sunset", Value: "Wed, 30 Jun 2027 00:00:00 GMT"}}},
		{name: "deprecated, no sunset", deprecated: true, recorded: &since, want: []gatewayv1.HTTPHeader{
			{Name: "Deprecation", Value: "@1796117400"}}},
		{name: "deprecated, not recorded yet: no headers, not Sunset before Deprecation", deprecated: true, sunset: &sunset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ptPayments()
			for i := range p.Spec.Versions {
				if p.Spec.Versions[i].Name == "v1" {
					p.Spec.Versions[i].Deprecated, p.Spec.Versions[i].Sunset = tc.deprecated, tc.sunset
				}
			}
			p.Status.Versions = []tenancyv1alpha1.VersionStatus{{Name: "v1", Deprecated: tc.recorded != nil, DeprecatedSince: tc.recorded}}
			tn := ptTenant("acme", []string{"acme"})
			objs := ptRender(t, tn, ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"}), nil, true, p)
			o := ptFind(objs, render.KindHTTPRoute, "payments")
			if o == nil {
				t.Fatal("no HTTPRoute rendered")
			}
			r := &gatewayv1.HTTPRoute{}
			ptDecode(t, o, r)
			filters := r.Spec.Rules[0].Filters
			if tc.want == nil {
				if len(filters) != 0 {
					t.Errorf("filters = %+v, want none", filters)
				}
				return
			}
			if len(filters) != 1 || filters[0].Type != gatewayv1.HTTPRouteFilterResponseHeaderModifier || filters[0].ResponseHeaderModifier == nil {
				t.Fatalf("filters = %+v, want one ResponseHeaderModifier", filters)
			}
			m := filters[0].ResponseHeaderModifier
			if !reflect.DeepEqual(m.Set, tc.want) || len(m.Add) != 0 || len(m.Remove) != 0 {
				t.Errorf("ResponseHeaderModifier = %+v, want set %+v only", m, tc.want)
			}
		})
	}
	// Another version's deprecation does not reach a tenant on v2.
	p := ptPayments()
	p.Spec.Versions[0].Deprecated = true
	p.Status.Versions = []tenancyv1alpha1.VersionStatus{{Name: p.Spec.Versions[0].Name, Deprecated: true, DeprecatedSince: &since}}
	for _, v := range p.Spec.Versions[1:] {
		if h := render.DeprecationHeaders(p, v.Name); len(h) != 0 {
			t.Errorf("version %s gets %+v from another version's deprecation", v.Name, h)
		}
	}
}
