package render_test

// Unit tests of shared instances (internal/render/shared.go, and the Shared tenant's side in
// internal/render/product.go: ProductInput.SharedVersion and NoInstance), against the
// "Shared instances" section of the API contract. Objects are inspected the way the API
// server would receive them: each apply configuration is marshalled to JSON and decoded into
// the typed object.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// ---------------------------------------------------------------------------------------
// Fixtures. Names are prefixed with sh so they never clash with other test files.

// dnsLabel is what a Service (and so a shared Deployment and Service) name must be.
var shDNSLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// shDigest is the 8 hex digits SharedName appends to a name it had to change.
var shDigest = regexp.MustCompile(`-[0-9a-f]{8}$`)

// shProduct is payments (ptPayments: v1 with api on 8080 and worker without a port, v2 with
// api on 9090) with Envoy Gateway policies, as a product a plan may give Shared must be.
func shProduct() *tenancyv1alpha1.ApiProduct {
	p := ptPayments()
	p.Spec.Exposure.Policies = tenancyv1alpha1.GatewayPoliciesEnvoyGateway
	return p
}

func shVersion(t *testing.T, p *tenancyv1alpha1.ApiProduct, name string) *tenancyv1alpha1.ProductVersion {
	t.Helper()
	for i := range p.Spec.Versions {
		if p.Spec.Versions[i].Name == name {
			return &p.Spec.Versions[i]
		}
	}
	t.Fatalf("product %s has no version %s", p.Name, name)
	return nil
}

// shVersions are the SharedVersions of the named versions, each with revision rev-<name>.
func shVersions(t *testing.T, p *tenancyv1alpha1.ApiProduct, names ...string) []render.SharedVersion {
	t.Helper()
	var out []render.SharedVersion
	for _, n := range names {
		out = append(out, render.SharedVersion{Version: shVersion(t, p, n), Revision: "rev-" + n})
	}
	return out
}

func shOfKind(objs []render.Object, kind string) []render.Object {
	var out []render.Object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// shMeta decodes an object's metadata.
func shMeta(t *testing.T, o *render.Object) metav1.ObjectMeta {
	t.Helper()
	var m struct {
		Kind     string            `json:"kind"`
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	ptDecode(t, o, &m)
	if m.Kind != o.Kind {
		t.Errorf("%s %s renders as kind %q", o.Kind, o.Name, m.Kind)
	}
	return m.Metadata
}

// shRoute decodes the tenant's HTTPRoute payments, failing the test without one.
func shRoute(t *testing.T, objs []render.Object) *gatewayv1.HTTPRoute {
	t.Helper()
	o := ptFind(objs, render.KindHTTPRoute, "payments")
	if o == nil {
		t.Fatalf("no HTTPRoute payments in %v", ptKeys(objs))
	}
	r := &gatewayv1.HTTPRoute{}
	ptDecode(t, o, r)
	if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 {
		t.Fatalf("HTTPRoute rules = %+v, want one rule with one backend", r.Spec.Rules)
	}
	return r
}

// shBackend is the route's backend as "namespace/name:port", the namespace "" when unset
// (the route's own); it fails the test unless the backend is a core Service.
func shBackend(t *testing.T, r *gatewayv1.HTTPRoute) string {
	t.Helper()
	b := r.Spec.Rules[0].BackendRefs[0]
	if b.Kind != nil && *b.Kind != "Service" || b.Group != nil && *b.Group != "" {
		t.Errorf("backendRef = %+v, want a core Service", b.BackendObjectReference)
	}
	ns, port := "", int32(0)
	if b.Namespace != nil {
		ns = string(*b.Namespace)
	}
	if b.Port != nil {
		port = int32(*b.Port)
	}
	return fmt.Sprintf("%s/%s:%d", ns, b.Name, port)
}

// shFilters are the route rule's filters by type.
func shFilters(t *testing.T, r *gatewayv1.HTTPRoute) map[gatewayv1.HTTPRouteFilterType]gatewayv1.HTTPRouteFilter {
	t.Helper()
	m := map[gatewayv1.HTTPRouteFilterType]gatewayv1.HTTPRouteFilter{}
	for _, f := range r.Spec.Rules[0].Filters {
		if _, dup := m[f.Type]; dup {
			t.Errorf("two %s filters in %+v", f.Type, r.Spec.Rules[0].Filters)
		}
		m[f.Type] = f
	}
	return m
}

// ---------------------------------------------------------------------------------------
// Names, namespace, replicas.

// TestSharedName: names are DNS labels of at most 63 characters; a name that needed no
// change is the parts joined with "-"; one that had to change (capitals, dots, underscores,
// too long) gets a digest of the parts, so that versions that read alike do not share a
// name; the same parts always give the same name.
func TestSharedName(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct {
		name  string
		parts []string
		// want is the exact name when set; else the name starts with prefix and ends with a
		// digest.
		want, prefix string
	}{
		{name: "plain", parts: []string{"payments", "v1", "api"}, want: "payments-v1-api"},
		{name: "plain with dashes", parts: []string{"payments", "v1-0", "api"}, want: "payments-v1-0-api"},
		{name: "one part", parts: []string{"v2"}, want: "v2"},
		{name: "capitals", parts: []string{"payments", "V2", "api"}, prefix: "payments-v2-api"},
		{name: "dots", parts: []string{"payments", "v1.0", "api"}, prefix: "payments-v1-0-api"},
		{name: "underscores", parts: []string{"payments", "v1_0", "api"}, prefix: "payments-v1-0-api"},
		{name: "runs of other characters become one dash", parts: []string{"payments", "V1._.0"}, prefix: "payments-v1-0"},
		{name: "too long", parts: []string{"payments", long, "api"}, prefix: ("payments-" + long)[:54]},
		{name: "too long, cut at a dash", parts: []string{"payments", strings.Repeat("a", 44) + "-" + strings.Repeat("b", 12), "api"},
			prefix: "payments-" + strings.Repeat("a", 44)},
		{name: "exactly 63", parts: []string{"payments", strings.Repeat("a", 50), "api"},
			want: "payments-" + strings.Repeat("a", 50) + "-api"},
		{name: "64 is cut", parts: []string{"payments", strings.Repeat("a", 51), "api"}, prefix: ("payments-" + strings.Repeat("a", 51))[:54]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := render.SharedName(tc.parts...)
			if len(got) > 63 || !shDNSLabel.MatchString(got) {
				t.Errorf("SharedName(%q) = %q (%d characters), not a DNS label of at most 63", tc.parts, got, len(got))
			}
			if again := render.SharedName(tc.parts...); again != got {
				t.Errorf("SharedName(%q) = %q, then %q: not stable", tc.parts, got, again)
			}
			if tc.want != "" {
				if got != tc.want {
					t.Errorf("SharedName(%q) = %q, want %q", tc.parts, got, tc.want)
				}
				return
			}
			if !shDigest.MatchString(got) || strings.TrimSuffix(got, got[len(got)-9:]) != tc.prefix {
				t.Errorf("SharedName(%q) = %q, want %q followed by -<8 hex digits>", tc.parts, got, tc.prefix)
			}
		})
	}

	// Names of live objects must not change from one operator release to the next (the
	// old objects would be left behind and the new ones created beside them): pin one.
	if got, want := render.SharedName("payments", "v1.0", "api"), "payments-v1-0-api-"; !strings.HasPrefix(got, want) {
		t.Errorf("SharedName(payments, v1.0, api) = %q, want %s<digest>", got, want)
	} else if got != shPinnedV10 {
		t.Errorf("SharedName(payments, v1.0, api) = %q, was %q: the names of existing shared objects would change", got, shPinnedV10)
	}

	// Versions that read alike never share a name.
	alike := [][]string{
		{"payments", "v1-0", "api"}, {"payments", "v1.0", "api"}, {"payments", "v1_0", "api"},
		{"payments", "V1.0", "api"}, {"payments", "v1.0.", "api"}, {"payments", "V1-0", "api"},
		{"payments", long + "x", "api"}, {"payments", long + "y", "api"},
		{"payments", long, "api"}, {"payments", long, "worker"},
	}
	seen := map[string][]string{}
	for _, parts := range alike {
		n := render.SharedName(parts...)
		if prev, ok := seen[n]; ok {
			t.Errorf("SharedName(%q) = SharedName(%q) = %q", parts, prev, n)
		}
		seen[n] = parts
	}

	// The instance and component names are SharedName of their parts.
	if got, want := render.SharedInstanceName("payments", "v1.0"), render.SharedName("payments", "v1.0"); got != want || got == "payments-v1-0" {
		t.Errorf("SharedInstanceName(payments, v1.0) = %q, want %q (not payments-v1-0, which is v1-0's)", got, want)
	}
	// A version with a dash gets a digest too: else version v1-beta's component api and
	// version v1's component beta-api would both be payments-v1-beta-api.
	if a, b := render.SharedComponentName("payments", "v1-beta", "api"), render.SharedComponentName("payments", "v1", "beta-api"); a == b {
		t.Errorf("SharedComponentName(payments, v1-beta, api) = SharedComponentName(payments, v1, beta-api) = %q", a)
	}
	if got := render.SharedInstanceName("payments", "v1-0"); got == "payments-v1-0" || !strings.HasPrefix(got, "payments-v1-0-") {
		t.Errorf("SharedInstanceName(payments, v1-0) = %q, want payments-v1-0-<digest>", got)
	}
	if got := render.SharedComponentName("payments", "v2", "api"); got != "payments-v2-api" {
		t.Errorf("SharedComponentName(payments, v2, api) = %q, want payments-v2-api", got)
	}
	if got, want := render.SharedComponentName("payments", "V2", "api"), render.SharedName("payments", "V2", "api"); got != want {
		t.Errorf("SharedComponentName(payments, V2, api) = %q, want %q", got, want)
	}
}

// shPinnedV10 is SharedName("payments", "v1.0", "api") as the first release with shared
// instances computes it.
const shPinnedV10 = "payments-v1-0-api-01f890f9"

func TestSharedNamespaceAndReplicas(t *testing.T) {
	cases := []struct {
		name         string
		shared       *tenancyv1alpha1.SharedSpec
		wantNS       string
		wantReplicas int32
	}{
		{name: "no spec.shared", wantNS: "shared-payments", wantReplicas: 2},
		{name: "empty spec.shared", shared: &tenancyv1alpha1.SharedSpec{}, wantNS: "shared-payments", wantReplicas: 2},
		{name: "custom namespace", shared: &tenancyv1alpha1.SharedSpec{Namespace: "pay-pool"}, wantNS: "pay-pool", wantReplicas: 2},
		{name: "one replica", shared: &tenancyv1alpha1.SharedSpec{Replicas: avInt(1)}, wantNS: "shared-payments", wantReplicas: 1},
		{name: "both", shared: &tenancyv1alpha1.SharedSpec{Namespace: "pool", Replicas: avInt(5)}, wantNS: "pool", wantReplicas: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			p.Spec.Shared = tc.shared
			if got := render.SharedNamespace(p); got != tc.wantNS {
				t.Errorf("SharedNamespace = %q, want %q", got, tc.wantNS)
			}
			if got := render.SharedReplicas(p); got != tc.wantReplicas {
				t.Errorf("SharedReplicas = %d, want %d", got, tc.wantReplicas)
			}
			// Everything of the shared instances is in that namespace, and the Deployments
			// run that many replicas.
			objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1"), RouteNamespaces: []string{"acme"}, Grants: true})
			for i := range objs {
				o := &objs[i]
				if m := shMeta(t, o); o.Namespace != tc.wantNS || m.Namespace != tc.wantNS {
					t.Errorf("%s %s is in %q (object key %q), want %q", o.Kind, o.Name, m.Namespace, o.Namespace, tc.wantNS)
				}
			}
			for _, o := range shOfKind(objs, render.KindDeployment) {
				d := &appsv1.Deployment{}
				ptDecode(t, &o, d)
				if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.wantReplicas {
					t.Errorf("Deployment %s replicas = %v, want %d", o.Name, d.Spec.Replicas, tc.wantReplicas)
				}
			}
			ns := render.SharedNamespaceObject(p)
			if m := shMeta(t, &ns); ns.Name != tc.wantNS || m.Name != tc.wantNS || ns.Kind != render.KindNamespace {
				t.Errorf("SharedNamespaceObject is %s %q (object key %q), want Namespace %q", ns.Kind, m.Name, ns.Name, tc.wantNS)
			}
		})
	}
}

// TestSharedNamespaceObject: the shared namespace is the operator's, names the product,
// belongs to no tenant and enforces the restricted Pod Security level.
func TestSharedNamespaceObject(t *testing.T) {
	o := render.SharedNamespaceObject(shProduct())
	if o.Namespace != "" {
		t.Errorf("Namespace object key has namespace %q", o.Namespace)
	}
	m := shMeta(t, &o)
	want := map[string]string{
		tenancyv1alpha1.LabelManagedBy:       tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelSharedProduct:   "payments",
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/audit":   "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}
	if !reflect.DeepEqual(m.Labels, want) {
		t.Errorf("labels = %v, want %v", m.Labels, want)
	}
	if _, ok := m.Labels[tenancyv1alpha1.LabelTenant]; ok {
		t.Errorf("the shared namespace carries the tenant label: tenant policies would treat it as a tenant's")
	}
}

// ---------------------------------------------------------------------------------------
// The objects of Shared().

// TestSharedObjects: per number of replicas and versions in use, exactly the objects the
// contract lists, in the shared namespace, named <product>-<version>-<component>, labelled
// as the product's shared objects and no tenant's; Deployments without tenant, key or rate
// limit; PodDisruptionBudgets and spread with 2 or more replicas only; Services only for
// components with a port.
func TestSharedObjects(t *testing.T) {
	cases := []struct {
		name     string
		replicas *int32
		versions []string
		want     []string
	}{
		{name: "default replicas, one version", versions: []string{"v1"}, want: []string{
			"NetworkPolicy shared-payments/shared-isolation",
			"Deployment shared-payments/payments-v1-api", "PodDisruptionBudget shared-payments/payments-v1-api", "Service shared-payments/payments-v1-api",
			"Deployment shared-payments/payments-v1-worker", "PodDisruptionBudget shared-payments/payments-v1-worker",
		}},
		{name: "one replica, one version", replicas: avInt(1), versions: []string{"v1"}, want: []string{
			"NetworkPolicy shared-payments/shared-isolation",
			"Deployment shared-payments/payments-v1-api", "Service shared-payments/payments-v1-api",
			"Deployment shared-payments/payments-v1-worker",
		}},
		{name: "three replicas, two versions", replicas: avInt(3), versions: []string{"v1", "v2"}, want: []string{
			"NetworkPolicy shared-payments/shared-isolation",
			"Deployment shared-payments/payments-v1-api", "PodDisruptionBudget shared-payments/payments-v1-api", "Service shared-payments/payments-v1-api",
			"Deployment shared-payments/payments-v1-worker", "PodDisruptionBudget shared-payments/payments-v1-worker",
			"Deployment shared-payments/payments-v2-api", "PodDisruptionBudget shared-payments/payments-v2-api", "Service shared-payments/payments-v2-api",
		}},
		{name: "no version in use", versions: nil, want: []string{"NetworkPolicy shared-payments/shared-isolation"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			p.Spec.Versions[0].Components[1].Env = []tenancyv1alpha1.EnvVar{{Name: "QUEUE", Value: "payments"}}
			if tc.replicas != nil {
				p.Spec.Shared = &tenancyv1alpha1.SharedSpec{Replicas: tc.replicas}
			}
			replicas := render.SharedReplicas(p)
			objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, tc.versions...)})
			if got := ptKeys(objs); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("objects =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}

			// Labels of every object: the operator's, the product's shared objects, no tenant's.
			for i := range objs {
				o := &objs[i]
				m := shMeta(t, o)
				if m.Name != o.Name || m.Namespace != o.Namespace {
					t.Errorf("%s renders as %s/%s, object key %s/%s", o.Kind, m.Namespace, m.Name, o.Namespace, o.Name)
				}
				if m.Labels[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue || m.Labels[tenancyv1alpha1.LabelSharedProduct] != "payments" {
					t.Errorf("%s %s labels = %v, want managed-by tenant-operator and shared-product payments", o.Kind, o.Name, m.Labels)
				}
				for _, k := range []string{tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelPlan} {
					if _, ok := m.Labels[k]; ok {
						t.Errorf("%s %s carries %s: a shared object is no tenant's", o.Kind, o.Name, k)
					}
				}
			}

			// The Pods of each Deployment, to check every selector against.
			type pods struct {
				name, version, component string
				labels                   labels.Set
			}
			var all []pods
			deployments := map[string]*appsv1.Deployment{}
			for _, o := range shOfKind(objs, render.KindDeployment) {
				d := &appsv1.Deployment{}
				ptDecode(t, &o, d)
				deployments[o.Name] = d
				var version, component string
				for _, v := range tc.versions {
					for _, c := range shVersion(t, p, v).Components {
						if render.SharedComponentName("payments", v, c.Name) == o.Name {
							version, component = v, c.Name
						}
					}
				}
				all = append(all, pods{o.Name, version, component, d.Spec.Template.Labels})
			}
			// selects checks that a selector picks the Pods of Deployment name and no others.
			selects := func(what string, sel map[string]string, name string) {
				t.Helper()
				if len(sel) == 0 {
					t.Errorf("%s has an empty selector", what)
					return
				}
				s := labels.SelectorFromSet(sel)
				for _, ps := range all {
					if got := s.Matches(ps.labels); got != (ps.name == name) {
						t.Errorf("%s selector %v matches the Pods of %s: %v, want %v", what, sel, ps.name, got, ps.name == name)
					}
				}
			}

			for _, ps := range all {
				d := deployments[ps.name]
				v := shVersion(t, p, ps.version)
				var c tenancyv1alpha1.Component
				for _, cc := range v.Components {
					if cc.Name == ps.component {
						c = cc
					}
				}
				what := "Deployment " + ps.name
				if d.Annotations[tenancyv1alpha1.AnnotationRevision] != "rev-"+ps.version {
					t.Errorf("%s revision annotation = %q, want rev-%s", what, d.Annotations[tenancyv1alpha1.AnnotationRevision], ps.version)
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
					t.Errorf("%s replicas = %v, want %d", what, d.Spec.Replicas, replicas)
				}
				if d.Spec.Selector == nil {
					t.Fatalf("%s has no selector", what)
				}
				selects(what, d.Spec.Selector.MatchLabels, ps.name)
				if d.Spec.Template.Labels[tenancyv1alpha1.LabelSharedProduct] != "payments" {
					t.Errorf("%s Pod labels = %v, want shared-product payments", what, d.Spec.Template.Labels)
				}
				if _, ok := d.Spec.Template.Labels[tenancyv1alpha1.LabelTenant]; ok {
					t.Errorf("%s Pods carry the tenant label: the tenant's policies and quota would count them", what)
				}
				if !shDNSLabel.MatchString(d.Spec.Template.Labels[render.LabelAppVersion]) && d.Spec.Template.Labels[render.LabelAppVersion] != "" {
					t.Errorf("%s Pod label version = %q", what, d.Spec.Template.Labels[render.LabelAppVersion])
				}

				spec := d.Spec.Template.Spec
				if len(spec.Containers) != 1 {
					t.Fatalf("%s has %d containers", what, len(spec.Containers))
				}
				ct := spec.Containers[0]
				if ct.Image != c.Image || ct.Name != c.Name || !reflect.DeepEqual(ct.Args, c.Args) {
					t.Errorf("%s container = %s %s %v, want %s %s %v", what, ct.Name, ct.Image, ct.Args, c.Name, c.Image, c.Args)
				}
				env := ptEnv(ct)
				for _, k := range []string{render.EnvTenant, render.EnvAPIKey, render.EnvRateLimit} {
					if _, ok := env[k]; ok {
						t.Errorf("%s sets %s: a shared instance serves every tenant", what, k)
					}
				}
				if env[render.EnvProductVersion].Value != v.Name {
					t.Errorf("%s %s = %q, want %q", what, render.EnvProductVersion, env[render.EnvProductVersion].Value, v.Name)
				}
				for _, e := range c.Env {
					if env[e.Name].Value != e.Value {
						t.Errorf("%s %s = %q, want the component's %q", what, e.Name, env[e.Name].Value, e.Value)
					}
				}
				if len(ct.Env) != 1+len(c.Env) {
					t.Errorf("%s env = %+v, want PRODUCT_VERSION and the component's %+v", what, ct.Env, c.Env)
				}
				for _, e := range ct.Env {
					if e.ValueFrom != nil {
						t.Errorf("%s env %s comes from %+v: no Secret of a tenant is read", what, e.Name, e.ValueFrom)
					}
				}
				// The restricted Pod Security level of the shared namespace.
				sc := ct.SecurityContext
				if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
					sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
					sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s container securityContext = %+v, not restricted", what, sc)
				}
				if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
					t.Errorf("%s pod securityContext = %+v, want runAsNonRoot", what, spec.SecurityContext)
				}
				if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
					t.Errorf("%s mounts a service account token", what)
				}
				if c.Port != nil {
					if len(ct.Ports) != 1 || ct.Ports[0].Name != "http" || ct.Ports[0].ContainerPort != *c.Port {
						t.Errorf("%s container ports = %+v, want http %d", what, ct.Ports, *c.Port)
					}
				} else if len(ct.Ports) != 0 {
					t.Errorf("%s container ports = %+v, want none", what, ct.Ports)
				}
				// Spread with 2 or more replicas only, over nodes and zones, of this component's Pods.
				if replicas >= 2 {
					var keys []string
					for _, s := range spec.TopologySpreadConstraints {
						keys = append(keys, s.TopologyKey)
						if s.LabelSelector == nil || s.WhenUnsatisfiable != corev1.ScheduleAnyway {
							t.Errorf("%s spread %+v", what, s)
							continue
						}
						selects(what+" spread "+s.TopologyKey, s.LabelSelector.MatchLabels, ps.name)
					}
					if !reflect.DeepEqual(keys, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}) {
						t.Errorf("%s spread keys = %v, want hostname and zone", what, keys)
					}
				} else if len(spec.TopologySpreadConstraints) != 0 {
					t.Errorf("%s with %d replica spreads: %+v", what, replicas, spec.TopologySpreadConstraints)
				}
			}

			for _, o := range shOfKind(objs, render.KindPodDisruptionBudget) {
				pdb := &policyv1.PodDisruptionBudget{}
				ptDecode(t, &o, pdb)
				if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
					t.Errorf("PodDisruptionBudget %s = %+v, want maxUnavailable 1 only", o.Name, pdb.Spec)
				}
				if pdb.Spec.Selector == nil {
					t.Fatalf("PodDisruptionBudget %s has no selector", o.Name)
				}
				selects("PodDisruptionBudget "+o.Name, pdb.Spec.Selector.MatchLabels, o.Name)
			}

			for _, o := range shOfKind(objs, render.KindService) {
				svc := &corev1.Service{}
				ptDecode(t, &o, svc)
				selects("Service "+o.Name, svc.Spec.Selector, o.Name)
				var port int32
				for _, ps := range all {
					if ps.name == o.Name {
						for _, c := range shVersion(t, p, ps.version).Components {
							if c.Name == ps.component && c.Port != nil {
								port = *c.Port
							}
						}
					}
				}
				if port == 0 {
					t.Errorf("Service %s for a component without a port", o.Name)
				}
				want := []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}
				if !reflect.DeepEqual(svc.Spec.Ports, want) || svc.Spec.Type != corev1.ServiceTypeClusterIP {
					t.Errorf("Service %s = %s %+v, want ClusterIP %+v", o.Name, svc.Spec.Type, svc.Spec.Ports, want)
				}
			}
		})
	}
}

// TestSharedVersionsAlikeDoNotShareObjects: versions whose names read alike (v1.0 and v1-0)
// get Deployments, Services and selectors of their own.
func TestSharedVersionsAlikeDoNotShareObjects(t *testing.T) {
	p := shProduct()
	p.Spec.Versions = []tenancyv1alpha1.ProductVersion{
		{Name: "v1.0", Components: []tenancyv1alpha1.Component{{Name: "api", Image: "a:1", Port: ptPort(8080)}}},
		{Name: "v1-0", Components: []tenancyv1alpha1.Component{{Name: "api", Image: "a:2", Port: ptPort(8080)}}},
	}
	objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1.0", "v1-0")})
	seen := map[string]bool{}
	for _, o := range objs {
		k := o.Kind + "/" + o.Name
		if seen[k] {
			t.Errorf("two %s", k)
		}
		seen[k] = true
	}
	ds := shOfKind(objs, render.KindDeployment)
	if len(ds) != 2 {
		t.Fatalf("Deployments = %v, want 2", ptKeys(ds))
	}
	var d [2]appsv1.Deployment
	for i := range ds {
		ptDecode(t, &ds[i], &d[i])
	}
	for i := range d {
		j := 1 - i
		if labels.SelectorFromSet(d[i].Spec.Selector.MatchLabels).Matches(labels.Set(d[j].Spec.Template.Labels)) {
			t.Errorf("Deployment %s selects the Pods of %s", d[i].Name, d[j].Name)
		}
		if !shDNSLabel.MatchString(d[i].Spec.Template.Labels[render.LabelAppVersion]) {
			t.Errorf("Deployment %s Pod version label %q is not a valid label value", d[i].Name, d[i].Spec.Template.Labels[render.LabelAppVersion])
		}
	}
	if d[0].Spec.Template.Labels[render.LabelAppVersion] == d[1].Spec.Template.Labels[render.LabelAppVersion] {
		t.Errorf("both versions' Pods are labelled version %q", d[0].Spec.Template.Labels[render.LabelAppVersion])
	}
	if got := ptFind(objs, render.KindService, render.SharedComponentName("payments", "v1-0", "api")); got == nil {
		t.Errorf("v1-0 has no Service %s: %v", render.SharedComponentName("payments", "v1-0", "api"), ptKeys(objs))
	}
	if got := ptFind(objs, render.KindService, render.SharedComponentName("payments", "v1.0", "api")); got == nil {
		t.Errorf("v1.0 has no Service %s: %v", render.SharedComponentName("payments", "v1.0", "api"), ptKeys(objs))
	}
	// Each Deployment runs its own version.
	for _, dd := range d {
		env := ptEnv(dd.Spec.Template.Spec.Containers[0])
		want := "v1.0"
		if dd.Name == render.SharedComponentName("payments", "v1-0", "api") {
			want = "v1-0"
		}
		if env[render.EnvProductVersion].Value != want {
			t.Errorf("Deployment %s PRODUCT_VERSION = %q, want %q", dd.Name, env[render.EnvProductVersion].Value, want)
		}
	}
}

// TestSharedReferenceGrants: with the ReferenceGrant kind served, one grant per distinct
// route namespace, sorted, letting that namespace's HTTPRoutes reach the shared Services;
// none without the kind.
func TestSharedReferenceGrants(t *testing.T) {
	cases := []struct {
		name       string
		namespaces []string
		grants     bool
		want       []string
	}{
		{name: "kind not served", namespaces: []string{"acme", "globex"}},
		{name: "no routes", grants: true},
		{name: "one", namespaces: []string{"acme"}, grants: true, want: []string{"acme"}},
		{name: "repeats and order", namespaces: []string{"globex", "acme", "globex", "acme-dev", "acme"}, grants: true,
			want: []string{"acme", "acme-dev", "globex"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			p.Spec.Shared = &tenancyv1alpha1.SharedSpec{Namespace: "pool"}
			in := append([]string(nil), tc.namespaces...)
			objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1"), RouteNamespaces: in, Grants: tc.grants})
			if !reflect.DeepEqual(in, tc.namespaces) {
				t.Errorf("RouteNamespaces changed from %v to %v", tc.namespaces, in)
			}
			grants := shOfKind(objs, render.KindReferenceGrant)
			var got []string
			for i := range grants {
				o := &grants[i]
				g := &gatewayv1.ReferenceGrant{}
				ptDecode(t, o, g)
				if len(g.Spec.From) != 1 || len(g.Spec.To) != 1 {
					t.Errorf("ReferenceGrant %s = %+v, want one from and one to", o.Name, g.Spec)
					continue
				}
				from, to := g.Spec.From[0], g.Spec.To[0]
				got = append(got, string(from.Namespace))
				if o.Name != "routes-"+string(from.Namespace) || g.Name != o.Name || g.Namespace != "pool" || o.Namespace != "pool" {
					t.Errorf("ReferenceGrant %s/%s (object key %s/%s) for %s, want pool/routes-%s", g.Namespace, g.Name, o.Namespace, o.Name, from.Namespace, from.Namespace)
				}
				if from.Group != gatewayv1.GroupName || from.Kind != "HTTPRoute" {
					t.Errorf("ReferenceGrant %s from = %+v, want HTTPRoutes", o.Name, from)
				}
				if to.Group != "" || to.Kind != "Service" || to.Name != nil && *to.Name != "" {
					t.Errorf("ReferenceGrant %s to = %+v, want every core Service", o.Name, to)
				}
				if g.Labels[tenancyv1alpha1.LabelSharedProduct] != "payments" || g.Labels[tenancyv1alpha1.LabelManagedBy] != tenancyv1alpha1.ManagedByValue {
					t.Errorf("ReferenceGrant %s labels = %v", o.Name, g.Labels)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("grants for %v, want %v", got, tc.want)
			}
			// The grants come last: after the Services they let routes reach.
			if n := len(grants); n > 0 && !reflect.DeepEqual(ptKeys(objs[len(objs)-n:]), ptKeys(grants)) {
				t.Errorf("grants are not last: %v", ptKeys(objs))
			}
		})
	}
}

// TestSharedIsolation: shared-isolation selects every Pod of the shared namespace and
// admits ingress only from the exposure gateway's namespace; an unexposed product's (which
// a plan cannot give Shared) admits nothing.
func TestSharedIsolation(t *testing.T) {
	cases := []struct {
		name      string
		gatewayNS string // "" for an unexposed product
	}{
		{name: "gateway in platform-gateway", gatewayNS: "platform-gateway"},
		{name: "gateway elsewhere", gatewayNS: "edge"},
		{name: "not exposed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			if tc.gatewayNS == "" {
				p.Spec.Exposure = nil
			} else {
				p.Spec.Exposure.Gateway.Namespace = tc.gatewayNS
			}
			objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1")})
			nps := shOfKind(objs, render.KindNetworkPolicy)
			if len(nps) != 1 || nps[0].Name != "shared-isolation" || render.SharedIsolationPolicyName != "shared-isolation" || objs[0].Kind != render.KindNetworkPolicy {
				t.Fatalf("NetworkPolicies = %v (objects %v), want shared-isolation first", ptKeys(nps), ptKeys(objs))
			}
			np := &networkingv1.NetworkPolicy{}
			ptDecode(t, &nps[0], np)
			if np.Namespace != "shared-payments" {
				t.Errorf("shared-isolation in %q", np.Namespace)
			}
			if len(np.Spec.PodSelector.MatchLabels) != 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
				t.Errorf("podSelector = %+v, want every Pod", np.Spec.PodSelector)
			}
			if !reflect.DeepEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Egress) != 0 {
				t.Errorf("policyTypes = %v egress = %+v, want Ingress only", np.Spec.PolicyTypes, np.Spec.Egress)
			}
			// The shared namespace's own Pods (one component calls another) are admitted.
			own := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}}
			if tc.gatewayNS == "" {
				want := []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{own}}}
				if !reflect.DeepEqual(np.Spec.Ingress, want) {
					t.Errorf("ingress = %s, want %s", toJSONsh(np.Spec.Ingress), toJSONsh(want))
				}
				return
			}
			want := []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{own, {
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": tc.gatewayNS}},
			}}}}
			if !reflect.DeepEqual(np.Spec.Ingress, want) {
				t.Errorf("ingress = %s, want %s", toJSONsh(np.Spec.Ingress), toJSONsh(want))
			}
			// A tenant namespace is not admitted.
			tenantNS := labels.Set{"kubernetes.io/metadata.name": "acme", tenancyv1alpha1.LabelTenant: "acme"}
			s, err := metav1.LabelSelectorAsSelector(np.Spec.Ingress[0].From[1].NamespaceSelector)
			if err != nil || s.Matches(tenantNS) || !s.Matches(labels.Set{"kubernetes.io/metadata.name": tc.gatewayNS}) {
				t.Errorf("peer %v (err %v) admits a tenant namespace, or not the gateway's", s, err)
			}
		})
	}
}

func toJSONsh(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ---------------------------------------------------------------------------------------
// The Shared tenant's side: render.Product with SharedVersion and NoInstance.

// shTenantInput is what the reconciler gives Product for acme's payments on plan entry e
// (with gateway policies installed, the route kind served and an API key).
func shTenantInput(t *testing.T, tn *tenancyv1alpha1.Tenant, p *tenancyv1alpha1.ApiProduct, e tenancyv1alpha1.PlanProduct, sharedVersion string, noInstance bool) render.ProductInput {
	t.Helper()
	r := ptResolveOne(t, tn, ptPlan(e), p)
	return render.ProductInput{
		Tenant: tn, Resolved: r, Routes: true, Policies: true, Monitoring: true,
		Credential:    &render.Credential{Key: "acme-key", Rotation: "1"},
		GatewayKeys:   &render.GatewayKeys{Current: "acme-key"},
		SharedVersion: sharedVersion, NoInstance: noInstance,
	}
}

// TestProductSharedTenant: a Shared tenant runs nothing of the product (whatever its plan
// entry would give a Dedicated one), and keeps its credentials Secret, its gateway policies
// and its own route, which goes to the shared Service of the serving version (its port from
// that version's entry component, in the shared namespace) and sets X-Tenant to the tenant.
func TestProductSharedTenant(t *testing.T) {
	cases := []struct {
		name          string
		tenant        string
		routeNS       string // the tenant's (first) namespace, default the tenant's name
		resolved      string // the tenant's version
		sharedVersion string // the version of the shared instance that serves it
		sharedNS      string // spec.shared.namespace
		wantBackend   string
	}{
		{name: "v1", tenant: "acme", resolved: "v1", sharedVersion: "v1", wantBackend: "shared-payments/payments-v1-api:8080"},
		{name: "v2", tenant: "acme", resolved: "v2", sharedVersion: "v2", wantBackend: "shared-payments/payments-v2-api:9090"},
		{name: "another tenant in a namespace not named after it, custom shared namespace", tenant: "globex", routeNS: "globex-prod",
			resolved: "v1", sharedVersion: "v1", sharedNS: "pool", wantBackend: "pool/payments-v1-api:8080"},
		{name: "moving v1 to v2: still served by v1", tenant: "acme", resolved: "v2", sharedVersion: "v1", wantBackend: "shared-payments/payments-v1-api:8080"},
		{name: "moving v2 to v1: still served by v2", tenant: "acme", resolved: "v1", sharedVersion: "v2", wantBackend: "shared-payments/payments-v2-api:9090"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			if tc.sharedNS != "" {
				p.Spec.Shared = &tenancyv1alpha1.SharedSpec{Namespace: tc.sharedNS}
			}
			// Everything a Dedicated instance could get: replicas for budgets and spread,
			// metrics with the monitoring CRD installed.
			for i := range p.Spec.Versions {
				p.Spec.Versions[i].Components[0].Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 9100}
			}
			ns := tc.routeNS
			if ns == "" {
				ns = tc.tenant
			}
			tn := ptTenant(tc.tenant, []string{ns, tc.tenant + "-dev"})
			e := tenancyv1alpha1.PlanProduct{Name: "payments", Version: tc.resolved, Tenancy: tenancyv1alpha1.TenancyShared,
				Replicas: avInt(3), RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 600}}
			in := shTenantInput(t, tn, p, e, tc.sharedVersion, true)
			if in.Resolved.Version.Name != tc.resolved {
				t.Fatalf("resolved %s, want %s", in.Resolved.Version.Name, tc.resolved)
			}
			objs := render.Product(in)

			want := []string{
				"Secret " + ns + "/payments-credentials",
				"Secret " + ns + "/payments-gateway-keys",
				"SecurityPolicy " + ns + "/payments",
				"BackendTrafficPolicy " + ns + "/payments",
				"HTTPRoute " + ns + "/payments",
			}
			if got := ptKeys(objs); !reflect.DeepEqual(got, want) {
				t.Errorf("objects =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, k := range []string{render.KindDeployment, render.KindService, render.KindPodDisruptionBudget, render.KindHorizontalPodAutoscaler, render.KindServiceMonitor} {
				if n := len(shOfKind(objs, k)); n != 0 {
					t.Errorf("%d %s rendered for a Shared tenant", n, k)
				}
			}
			if o := ptFind(objs, render.KindSecret, "payments-credentials"); o != nil {
				s := &corev1.Secret{}
				ptDecode(t, o, s)
				if string(s.Data[render.CredentialsKey]) != "acme-key" || s.Labels[tenancyv1alpha1.LabelTenant] != tc.tenant {
					t.Errorf("credentials Secret = %v labels %v, want the tenant's key", s.Data, s.Labels)
				}
			}
			// The gateway policies guard the tenant's route, so its key and rate limit apply.
			for _, k := range []string{"SecurityPolicy", "BackendTrafficPolicy"} {
				if o := ptFind(objs, k, "payments"); o != nil {
					spec, _ := pgMap(t, o)["spec"].(map[string]any)
					pgEqual(t, k+" targetRefs", spec["targetRefs"], pgTarget)
				}
			}

			r := shRoute(t, objs)
			if got := shBackend(t, r); got != tc.wantBackend {
				t.Errorf("backend = %s, want %s", got, tc.wantBackend)
			}
			// The backend is a Service Shared() renders, on its port.
			shared := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, tc.sharedVersion), RouteNamespaces: []string{ns}, Grants: true})
			b := r.Spec.Rules[0].BackendRefs[0]
			so := ptFind(shared, render.KindService, string(b.Name))
			if so == nil || b.Namespace == nil || so.Namespace != string(*b.Namespace) {
				t.Errorf("backend %s is not a Service of the shared instance %v", shBackend(t, r), ptKeys(shared))
			} else {
				svc := &corev1.Service{}
				ptDecode(t, so, svc)
				if b.Port == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(*b.Port) {
					t.Errorf("backend port %v, the shared Service's ports %+v", b.Port, svc.Spec.Ports)
				}
			}
			if ptFind(shared, render.KindReferenceGrant, "routes-"+ns) == nil {
				t.Errorf("no ReferenceGrant for the route's namespace %s in %v", ns, ptKeys(shared))
			}

			// X-Tenant is set (overwriting what a client sent), nothing else of the request.
			f := shFilters(t, r)
			m, ok := f[gatewayv1.HTTPRouteFilterRequestHeaderModifier]
			want2 := &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Tenant", Value: tc.tenant}}}
			if !ok || !reflect.DeepEqual(m.RequestHeaderModifier, want2) {
				t.Errorf("RequestHeaderModifier = %+v, want %+v", m.RequestHeaderModifier, want2)
			}
			if len(f) != 1 {
				t.Errorf("filters = %+v, want the RequestHeaderModifier only (no version is deprecated)", r.Spec.Rules[0].Filters)
			}
			// The route is still the tenant's: its namespace, hostname, parent and labels.
			if r.Namespace != ns || r.Labels[tenancyv1alpha1.LabelTenant] != tc.tenant ||
				!reflect.DeepEqual(r.Spec.Hostnames, []gatewayv1.Hostname{gatewayv1.Hostname(tc.tenant + ".api.example.com")}) {
				t.Errorf("route %s/%s hostnames %v labels %v, want the tenant's", r.Namespace, r.Name, r.Spec.Hostnames, r.Labels)
			}
		})
	}
}

// TestProductSharedTenantDeprecated: the route of a Shared tenant on a deprecated version
// still carries the Deprecation and Sunset response headers, beside X-Tenant.
func TestProductSharedTenantDeprecated(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, time.December, 1, 9, 30, 0, 0, time.UTC))
	sunset := metav1.NewTime(time.Date(2027, time.June, 30, 0, 0, 0, 0, time.UTC))
	p := shProduct()
	p.Spec.Versions[0].Deprecated, p.Spec.Versions[0].Sunset = true, &sunset
	p.Status.Versions = []tenancyv1alpha1.VersionStatus{{Name: "v1", Deprecated: true, DeprecatedSince: &since}}
	tn := ptTenant("acme", []string{"acme"})
	objs := render.Product(shTenantInput(t, tn, p, tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Tenancy: tenancyv1alpha1.TenancyShared}, "v1", true))
	r := shRoute(t, objs)
	f := shFilters(t, r)
	if len(f) != 2 {
		t.Errorf("filters = %+v, want X-Tenant and the deprecation headers", r.Spec.Rules[0].Filters)
	}
	resp := f[gatewayv1.HTTPRouteFilterResponseHeaderModifier].ResponseHeaderModifier
	want := []gatewayv1.HTTPHeader{{Name: "Deprecation", Value: "@1796117400"}, {Name: "Sunset", Value: "Wed, 30 Jun 2027 00:00:00 GMT"}}
	if resp == nil || !reflect.DeepEqual(resp.Set, want) {
		t.Errorf("ResponseHeaderModifier = %+v, want set %+v", resp, want)
	}
	req := f[gatewayv1.HTTPRouteFilterRequestHeaderModifier].RequestHeaderModifier
	if req == nil || !reflect.DeepEqual(req.Set, []gatewayv1.HTTPHeader{{Name: "X-Tenant", Value: "acme"}}) {
		t.Errorf("RequestHeaderModifier = %+v, want X-Tenant acme", req)
	}
	if got := shBackend(t, r); got != "shared-payments/payments-v1-api:8080" {
		t.Errorf("backend = %s", got)
	}
}

// TestProductMoveBetweenSharedAndDedicated: while a tenant moves from Shared to Dedicated
// (NoInstance false, SharedVersion set) its own instance comes up while the route still goes
// to the shared Service with X-Tenant; once dedicated (SharedVersion "") the route goes to
// its own Service in its namespace, without X-Tenant.
func TestProductMoveBetweenSharedAndDedicated(t *testing.T) {
	cases := []struct {
		name          string
		sharedVersion string
		wantBackend   string
		wantXTenant   bool
	}{
		{name: "Shared to Dedicated, own instance not available yet", sharedVersion: "v1", wantBackend: "shared-payments/payments-v1-api:8080", wantXTenant: true},
		{name: "Dedicated", wantBackend: "/payments-api:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := shProduct()
			tn := ptTenant("acme", []string{"acme"})
			objs := render.Product(shTenantInput(t, tn, p, tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Replicas: avInt(2)}, tc.sharedVersion, false))
			want := []string{
				"Secret acme/payments-credentials",
				"Deployment acme/payments-api", "PodDisruptionBudget acme/payments-api", "Service acme/payments-api",
				"Deployment acme/payments-worker", "PodDisruptionBudget acme/payments-worker",
				"Secret acme/payments-gateway-keys", "SecurityPolicy acme/payments", "HTTPRoute acme/payments",
			}
			if got := ptKeys(objs); !reflect.DeepEqual(got, want) {
				t.Errorf("objects =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			// The own instance is the tenant's, as ever.
			d := ptDeployment(t, objs, "payments-api")
			env := ptEnv(d.Spec.Template.Spec.Containers[0])
			if env[render.EnvTenant].Value != "acme" || env[render.EnvAPIKey].ValueFrom == nil {
				t.Errorf("own Deployment env = %+v, want TENANT and API_KEY", d.Spec.Template.Spec.Containers[0].Env)
			}
			r := shRoute(t, objs)
			if got := shBackend(t, r); got != tc.wantBackend {
				t.Errorf("backend = %s, want %s", got, tc.wantBackend)
			}
			_, xt := shFilters(t, r)[gatewayv1.HTTPRouteFilterRequestHeaderModifier]
			if xt != tc.wantXTenant {
				t.Errorf("X-Tenant set: %v, want %v (filters %+v)", xt, tc.wantXTenant, r.Spec.Rules[0].Filters)
			}
		})
	}
}

// TestProductNoInstanceKeepsTenantObjectsPerAuth: a Shared tenant keeps, per auth type, the
// same credentials and gateway policies a Dedicated one has, and only loses the instance.
func TestProductNoInstanceKeepsTenantObjectsPerAuth(t *testing.T) {
	products := map[string]*tenancyv1alpha1.ApiProduct{
		"APIKey": pgAPIKey("", 0),
		"OAuth2": pgOAuth2("payments", ""),
		"None":   pgNoAuth(),
	}
	var names []string
	for n := range products {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			p := products[n]
			tn := ptTenant("acme", []string{"acme"})
			e := tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Tenancy: tenancyv1alpha1.TenancyShared,
				RateLimit: &tenancyv1alpha1.RateLimit{RequestsPerMinute: 60}}
			dedicated := shTenantInput(t, tn, p, e, "", false)
			shared := shTenantInput(t, tn, p, e, "v1", true)
			if !render.UsesAPIKey(p) {
				dedicated.Credential, shared.Credential = nil, nil
			}
			instance := map[string]bool{render.KindDeployment: true, render.KindService: true, render.KindPodDisruptionBudget: true,
				render.KindHorizontalPodAutoscaler: true, render.KindServiceMonitor: true}
			var want []string
			for _, o := range render.Product(dedicated) {
				if !instance[o.Kind] {
					want = append(want, o.Kind+" "+o.Namespace+"/"+o.Name)
				}
			}
			got := ptKeys(render.Product(shared))
			if !reflect.DeepEqual(got, want) || len(want) < 2 {
				t.Errorf("Shared tenant objects = %v, want the Dedicated tenant's without its instance: %v", got, want)
			}
		})
	}
}

// TestSharedIsolationPeers: the peers the Shared tenants' plans admit (where their gateway's
// proxies run) are admitted to the shared instances too, after the gateway's namespace.
func TestSharedIsolationPeers(t *testing.T) {
	p := shProduct()
	peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"kubernetes.io/metadata.name": "envoy-gateway-system"}}}
	objs := render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1"), Peers: []networkingv1.NetworkPolicyPeer{peer}})
	np := &networkingv1.NetworkPolicy{}
	ptDecode(t, &shOfKind(objs, render.KindNetworkPolicy)[0], np)
	want := *peer.DeepCopy()
	want.NamespaceSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: tenancyv1alpha1.LabelTenant, Operator: metav1.LabelSelectorOpDoesNotExist}}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 3 || !reflect.DeepEqual(np.Spec.Ingress[0].From[2], want) {
		t.Errorf("ingress = %s, want the own Pods, the gateway's namespace and envoy-gateway-system (never a tenant's)", toJSONsh(np.Spec.Ingress))
	}

	// Peers that could match tenant Pods are not admitted to a shared instance: an ipBlock
	// (the Pod network), and every namespace (an empty selector) only without tenants.
	all := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}
	block := networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}
	objs = render.Shared(render.SharedInput{Product: p, Versions: shVersions(t, p, "v1"), Peers: []networkingv1.NetworkPolicyPeer{all, block}})
	np = &networkingv1.NetworkPolicy{}
	ptDecode(t, &shOfKind(objs, render.KindNetworkPolicy)[0], np)
	from := np.Spec.Ingress[0].From
	if len(from) != 3 || from[2].IPBlock != nil {
		t.Fatalf("ingress = %s, want the own Pods, the gateway's namespace and the namespaces without tenants", toJSONsh(np.Spec.Ingress))
	}
	s, err := metav1.LabelSelectorAsSelector(from[2].NamespaceSelector)
	if err != nil || s.Matches(labels.Set{tenancyv1alpha1.LabelTenant: "acme"}) || !s.Matches(labels.Set{"kubernetes.io/metadata.name": "monitoring"}) {
		t.Errorf("an empty namespaceSelector peer became %v (err %v): it must match namespaces but no tenant's", s, err)
	}
}
