package render_test

// Unit tests of availability and scaling of product instances
// (internal/render/availability.go), against the "Availability and scaling of product
// instances" section of the API contract: PodDisruptionBudgets and topology spread with 2
// or more replicas (or minReplicas), a HorizontalPodAutoscaler that owns the replica count
// under the plan's autoscaling, and metrics ports and ServiceMonitors for components with
// metrics. Objects are inspected as the API server would receive them (ptDecode).

import (
	"reflect"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// ---------------------------------------------------------------------------------------
// Fixtures. Names are prefixed with av so they never clash with other test files.

func avInt(v int32) *int32 { return &v }

// avRender resolves and renders the tenant's single product the way the reconciler does,
// with monitoring saying whether the ServiceMonitor CRD is installed.
func avRender(t *testing.T, tn *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, monitoring bool, p *tenancyv1alpha1.ApiProduct) []render.Object {
	t.Helper()
	r := ptResolveOne(t, tn, plan, p)
	return render.Product(render.ProductInput{Tenant: tn, Resolved: r, Monitoring: monitoring})
}

// avIndex is the position of an object in the rendered list, or -1.
func avIndex(objs []render.Object, kind, name string) int {
	for i, o := range objs {
		if o.Kind == kind && o.Name == name {
			return i
		}
	}
	return -1
}

func avCount(objs []render.Object, kind string) int {
	n := 0
	for _, o := range objs {
		if o.Kind == kind {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------------------
// Replicas, PodDisruptionBudgets, topology spread, HorizontalPodAutoscalers.

// TestAvailabilityByReplicas: per plan replicas and autoscaling, and suspension, which of
// PodDisruptionBudget, HorizontalPodAutoscaler and topology spread each component of
// payments v1 (api with a port, worker without) gets, and how many replicas its Deployment
// renders and whether it leaves them to the autoscaler.
func TestAvailabilityByReplicas(t *testing.T) {
	cases := []struct {
		name       string
		replicas   *int32
		autoscale  *tenancyv1alpha1.Autoscaling
		suspended  bool
		want       int32 // Deployment replicas
		autoscaled bool  // HPA and LeftToOthers
		ha         bool  // PDB and spread
		target     int32 // HPA CPU target
	}{
		{name: "default 1", want: 1},
		{name: "replicas 0", replicas: avInt(0), want: 0},
		{name: "replicas 1", replicas: avInt(1), want: 1},
		{name: "replicas 2", replicas: avInt(2), want: 2, ha: true},
		{name: "replicas 3", replicas: avInt(3), want: 3, ha: true},
		{name: "autoscaling min 1", autoscale: &tenancyv1alpha1.Autoscaling{MinReplicas: 1, MaxReplicas: 4},
			want: 1, autoscaled: true, target: 80},
		{name: "autoscaling min 2 with a custom target", autoscale: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 10, TargetCPUUtilizationPercentage: 70},
			want: 2, autoscaled: true, ha: true, target: 70},
		{name: "autoscaling min 1 ignores replicas 3", replicas: avInt(3), autoscale: &tenancyv1alpha1.Autoscaling{MinReplicas: 1, MaxReplicas: 5},
			want: 1, autoscaled: true, target: 80},
		{name: "autoscaling min 3 over replicas 1", replicas: avInt(1), autoscale: &tenancyv1alpha1.Autoscaling{MinReplicas: 3, MaxReplicas: 3, TargetCPUUtilizationPercentage: 50},
			want: 3, autoscaled: true, ha: true, target: 50},
		{name: "suspended with replicas 3", replicas: avInt(3), suspended: true, want: 0},
		{name: "suspended with autoscaling min 2", autoscale: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 10}, suspended: true, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := ptTenant("acme", nil)
			tn.Spec.Suspended = tc.suspended
			plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1", Replicas: tc.replicas, Autoscaling: tc.autoscale})
			r := ptResolveOne(t, tn, plan, ptPayments())
			if n, a := render.Replicas(tn, r); n != tc.want || a != tc.autoscaled {
				t.Errorf("Replicas = %d, %v, want %d, %v", n, a, tc.want, tc.autoscaled)
			}
			objs := render.Product(render.ProductInput{Tenant: tn, Resolved: r, Monitoring: true})

			components := []string{"payments-api", "payments-worker"}
			wantN := func(b bool) int {
				if b {
					return len(components)
				}
				return 0
			}
			if n := avCount(objs, render.KindPodDisruptionBudget); n != wantN(tc.ha) {
				t.Errorf("%d PodDisruptionBudgets, want %d (%v)", n, wantN(tc.ha), ptKeys(objs))
			}
			if n := avCount(objs, render.KindHorizontalPodAutoscaler); n != wantN(tc.autoscaled) {
				t.Errorf("%d HorizontalPodAutoscalers, want %d (%v)", n, wantN(tc.autoscaled), ptKeys(objs))
			}
			if n := avCount(objs, render.KindServiceMonitor); n != 0 {
				t.Errorf("%d ServiceMonitors for components without metrics", n)
			}

			for _, name := range components {
				d := ptDeployment(t, objs, name)
				sel := d.Spec.Selector.MatchLabels
				if len(sel) == 0 {
					t.Fatalf("Deployment %s has no selector", name)
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.want {
					t.Errorf("Deployment %s: replicas = %v, want %d rendered", name, d.Spec.Replicas, tc.want)
				}
				o := ptFind(objs, render.KindDeployment, name)
				var wantLeft [][]string
				if tc.autoscaled {
					wantLeft = [][]string{{"spec", "replicas"}}
				}
				if !reflect.DeepEqual(o.LeftToOthers, wantLeft) {
					t.Errorf("Deployment %s: LeftToOthers = %v, want %v", name, o.LeftToOthers, wantLeft)
				}
				for i, other := range objs {
					if other.Kind != render.KindDeployment && len(other.LeftToOthers) > 0 {
						t.Errorf("object %d %s %s leaves %v to others; only an autoscaled Deployment does", i, other.Kind, other.Name, other.LeftToOthers)
					}
				}

				// Topology spread in the Pod template.
				tsc := d.Spec.Template.Spec.TopologySpreadConstraints
				if !tc.ha {
					if len(tsc) != 0 {
						t.Errorf("Deployment %s: topologySpreadConstraints %+v, want none with %d replicas", name, tsc, tc.want)
					}
				} else {
					keys := map[string]bool{}
					for _, c := range tsc {
						keys[c.TopologyKey] = true
						if c.MaxSkew != 1 || c.WhenUnsatisfiable != corev1.ScheduleAnyway {
							t.Errorf("Deployment %s: spread over %s with maxSkew %d, %s; want 1, ScheduleAnyway", name, c.TopologyKey, c.MaxSkew, c.WhenUnsatisfiable)
						}
						if c.LabelSelector == nil || !reflect.DeepEqual(c.LabelSelector.MatchLabels, sel) || len(c.LabelSelector.MatchExpressions) != 0 {
							t.Errorf("Deployment %s: spread over %s selects %+v, want the Deployment's selector %v", name, c.TopologyKey, c.LabelSelector, sel)
						}
						if len(c.MatchLabelKeys) != 0 || c.MinDomains != nil {
							t.Errorf("Deployment %s: spread over %s has matchLabelKeys %v, minDomains %v", name, c.TopologyKey, c.MatchLabelKeys, c.MinDomains)
						}
					}
					if len(tsc) != 2 || !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
						t.Errorf("Deployment %s: topologySpreadConstraints %+v, want one over kubernetes.io/hostname and one over topology.kubernetes.io/zone", name, tsc)
					}
				}

				// PodDisruptionBudget.
				if po := ptFind(objs, render.KindPodDisruptionBudget, name); (po != nil) != tc.ha {
					t.Errorf("PodDisruptionBudget %s rendered = %v, want %v", name, po != nil, tc.ha)
				} else if po != nil {
					pdb := &policyv1.PodDisruptionBudget{}
					ptDecode(t, po, pdb)
					if pdb.APIVersion != "policy/v1" || pdb.Kind != render.KindPodDisruptionBudget {
						t.Errorf("PodDisruptionBudget %s renders as %s %s", name, pdb.APIVersion, pdb.Kind)
					}
					if pdb.Name != name || pdb.Namespace != d.Namespace || po.Namespace != d.Namespace || d.Namespace != "acme" {
						t.Errorf("PodDisruptionBudget is %s/%s (key %s/%s), want %s/%s", pdb.Namespace, pdb.Name, po.Namespace, po.Name, d.Namespace, name)
					}
					if !reflect.DeepEqual(pdb.Labels, d.Labels) {
						t.Errorf("PodDisruptionBudget %s labels %v, want the Deployment's %v", name, pdb.Labels, d.Labels)
					}
					if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
						t.Errorf("PodDisruptionBudget %s maxUnavailable %v, want 1", name, pdb.Spec.MaxUnavailable)
					}
					if pdb.Spec.MinAvailable != nil {
						t.Errorf("PodDisruptionBudget %s sets minAvailable %v too", name, pdb.Spec.MinAvailable)
					}
					if pdb.Spec.Selector == nil || !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, sel) || len(pdb.Spec.Selector.MatchExpressions) != 0 {
						t.Errorf("PodDisruptionBudget %s selector %+v, want the Deployment's %v", name, pdb.Spec.Selector, sel)
					}
					if !subset(sel, d.Spec.Template.Labels) {
						t.Errorf("the selector %v does not select the Pods (labels %v)", sel, d.Spec.Template.Labels)
					}
				}

				// HorizontalPodAutoscaler.
				if ho := ptFind(objs, render.KindHorizontalPodAutoscaler, name); (ho != nil) != tc.autoscaled {
					t.Errorf("HorizontalPodAutoscaler %s rendered = %v, want %v", name, ho != nil, tc.autoscaled)
				} else if ho != nil {
					hpa := &autoscalingv2.HorizontalPodAutoscaler{}
					ptDecode(t, ho, hpa)
					if hpa.APIVersion != "autoscaling/v2" || hpa.Kind != render.KindHorizontalPodAutoscaler {
						t.Errorf("HorizontalPodAutoscaler %s renders as %s %s", name, hpa.APIVersion, hpa.Kind)
					}
					if hpa.Name != name || hpa.Namespace != d.Namespace || ho.Namespace != d.Namespace {
						t.Errorf("HorizontalPodAutoscaler is %s/%s (key %s/%s), want %s/%s", hpa.Namespace, hpa.Name, ho.Namespace, ho.Name, d.Namespace, name)
					}
					if !reflect.DeepEqual(hpa.Labels, d.Labels) {
						t.Errorf("HorizontalPodAutoscaler %s labels %v, want the Deployment's %v", name, hpa.Labels, d.Labels)
					}
					ref := hpa.Spec.ScaleTargetRef
					if ref != (autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name}) {
						t.Errorf("HorizontalPodAutoscaler %s scales %+v, want apps/v1 Deployment %s", name, ref, d.Name)
					}
					if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != tc.autoscale.MinReplicas || hpa.Spec.MaxReplicas != tc.autoscale.MaxReplicas {
						t.Errorf("HorizontalPodAutoscaler %s min %v max %d, want %d and %d", name, hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, tc.autoscale.MinReplicas, tc.autoscale.MaxReplicas)
					}
					want := []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ResourceMetricSourceType,
						Resource: &autoscalingv2.ResourceMetricSource{
							Name:   corev1.ResourceCPU,
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: avInt(tc.target)},
						},
					}}
					if !reflect.DeepEqual(hpa.Spec.Metrics, want) {
						t.Errorf("HorizontalPodAutoscaler %s metrics %+v, want CPU utilization %d%%", name, hpa.Spec.Metrics, tc.target)
					}
					if hpa.Spec.Behavior != nil {
						t.Errorf("HorizontalPodAutoscaler %s sets a behavior %+v", name, hpa.Spec.Behavior)
					}
				}
			}
		})
	}
}

// subset reports whether every label of a is in b with the same value.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestAvailabilitySelectorsSelectPods: the selectors of the PodDisruptionBudget and the
// topology spread select the component's own Pods and not the other component's.
func TestAvailabilitySelectorsSelectPods(t *testing.T) {
	tn := ptTenant("acme", nil)
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1",
		Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 4}})
	objs := avRender(t, tn, plan, false, ptPayments())
	pods := map[string]map[string]string{}
	for _, name := range []string{"payments-api", "payments-worker"} {
		pods[name] = ptDeployment(t, objs, name).Spec.Template.Labels
	}
	for _, name := range []string{"payments-api", "payments-worker"} {
		po := ptFind(objs, render.KindPodDisruptionBudget, name)
		if po == nil {
			t.Fatalf("no PodDisruptionBudget %s in %v", name, ptKeys(objs))
		}
		pdb := &policyv1.PodDisruptionBudget{}
		ptDecode(t, po, pdb)
		tsc := ptDeployment(t, objs, name).Spec.Template.Spec.TopologySpreadConstraints
		if len(tsc) == 0 {
			t.Fatalf("Deployment %s has no topology spread", name)
		}
		for pod, labels := range pods {
			want := pod == name
			if got := subset(pdb.Spec.Selector.MatchLabels, labels); got != want {
				t.Errorf("PodDisruptionBudget %s selects the Pods of %s = %v, want %v", name, pod, got, want)
			}
			for _, c := range tsc {
				if got := subset(c.LabelSelector.MatchLabels, labels); got != want {
					t.Errorf("Deployment %s spread over %s counts the Pods of %s = %v, want %v", name, c.TopologyKey, pod, got, want)
				}
			}
		}
	}
}

// TestAvailabilityOrder: an autoscaler and a disruption budget come after the Deployment
// they are for, a ServiceMonitor after the Service it selects.
func TestAvailabilityOrder(t *testing.T) {
	tn := ptTenant("acme", nil)
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1",
		Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 4}})
	p := ptPayments()
	for i := range p.Spec.Versions[0].Components {
		p.Spec.Versions[0].Components[i].Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 9100}
	}
	objs := avRender(t, tn, plan, true, p)
	for _, name := range []string{"payments-api", "payments-worker"} {
		dep := avIndex(objs, render.KindDeployment, name)
		svc := avIndex(objs, render.KindService, name)
		hpa := avIndex(objs, render.KindHorizontalPodAutoscaler, name)
		pdb := avIndex(objs, render.KindPodDisruptionBudget, name)
		sm := avIndex(objs, render.KindServiceMonitor, name)
		if dep < 0 || svc < 0 || hpa < 0 || pdb < 0 || sm < 0 {
			t.Fatalf("%s: Deployment %d, Service %d, HPA %d, PDB %d, ServiceMonitor %d: one is missing (%v)", name, dep, svc, hpa, pdb, sm, ptKeys(objs))
		}
		if hpa < dep || pdb < dep {
			t.Errorf("%s: HPA at %d and PDB at %d, want both after the Deployment at %d (%v)", name, hpa, pdb, dep, ptKeys(objs))
		}
		if sm < svc {
			t.Errorf("%s: ServiceMonitor at %d before the Service at %d (%v)", name, sm, svc, ptKeys(objs))
		}
	}
}

// ---------------------------------------------------------------------------------------
// Metrics.

// avMetricsProduct has a component per case: api (port 8080, metrics on 9090, default path),
// same (metrics on its port 8081, path /stats), worker (metrics on 9100, no port), plain (a
// port, no metrics) and batch (neither).
func avMetricsProduct() *tenancyv1alpha1.ApiProduct {
	p := ptPayments()
	p.Spec.Versions = []tenancyv1alpha1.ProductVersion{{Name: "v1", Components: []tenancyv1alpha1.Component{
		{Name: "api", Image: "registry.example.com/payments-api:1.8.0", Port: ptPort(8080), HealthPath: "/healthz",
			Metrics: &tenancyv1alpha1.ComponentMetrics{Port: 9090}},
		{Name: "same", Image: "registry.example.com/payments-same:1.8.0", Port: ptPort(8081),
			Metrics: &tenancyv1alpha1.ComponentMetrics{Port: 8081, Path: "/stats"}},
		{Name: "worker", Image: "registry.example.com/payments-worker:1.8.0",
			Metrics: &tenancyv1alpha1.ComponentMetrics{Port: 9100, Path: "/m"}},
		{Name: "plain", Image: "registry.example.com/payments-plain:1.8.0", Port: ptPort(8082)},
		{Name: "batch", Image: "registry.example.com/payments-batch:1.8.0"},
	}}}
	p.Spec.DefaultVersion = "v1"
	return p
}

type avPort struct {
	Name   string
	Port   int32
	Target string // the Service's targetPort (a name); "" for container ports
}

// TestAvailabilityMetrics: the Service and container ports of components with and without
// metrics, the plan label on the Service, and the ServiceMonitor with and without the CRD.
func TestAvailabilityMetrics(t *testing.T) {
	cases := []struct {
		component      string
		service        []avPort // nil: no Service
		container      []avPort
		planLabel      bool
		monitor        bool
		endpoint, path string
	}{
		{component: "api", service: []avPort{{"http", 8080, "http"}, {"metrics", 9090, "metrics"}},
			container: []avPort{{"http", 8080, ""}, {"metrics", 9090, ""}}, planLabel: true, monitor: true, endpoint: "metrics", path: "/metrics"},
		{component: "same", service: []avPort{{"http", 8081, "http"}},
			container: []avPort{{"http", 8081, ""}}, planLabel: true, monitor: true, endpoint: "http", path: "/stats"},
		{component: "worker", service: []avPort{{"metrics", 9100, "metrics"}},
			container: []avPort{{"metrics", 9100, ""}}, planLabel: true, monitor: true, endpoint: "metrics", path: "/m"},
		{component: "plain", service: []avPort{{"http", 8082, "http"}}, container: []avPort{{"http", 8082, ""}}},
		{component: "batch"},
	}
	for _, monitoring := range []bool{false, true} {
		tn := ptTenant("acme", nil)
		plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"})
		objs := avRender(t, tn, plan, monitoring, avMetricsProduct())
		wantMonitors := 0
		for _, tc := range cases {
			name := render.ComponentName("payments", tc.component)
			if tc.monitor && monitoring {
				wantMonitors++
			}
			t.Run(name+map[bool]string{false: " without the ServiceMonitor CRD", true: " with the ServiceMonitor CRD"}[monitoring], func(t *testing.T) {
				d := ptDeployment(t, objs, name)
				var cports []avPort
				for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
					if p.Protocol != corev1.ProtocolTCP {
						t.Errorf("container port %s protocol %q, want TCP", p.Name, p.Protocol)
					}
					cports = append(cports, avPort{p.Name, p.ContainerPort, ""})
				}
				if !reflect.DeepEqual(cports, tc.container) {
					t.Errorf("container ports %+v, want %+v", cports, tc.container)
				}

				so := ptFind(objs, render.KindService, name)
				if (so != nil) != (tc.service != nil) {
					t.Fatalf("Service %s rendered = %v, want %v", name, so != nil, tc.service != nil)
				}
				if so != nil {
					svc := &corev1.Service{}
					ptDecode(t, so, svc)
					var sports []avPort
					for _, p := range svc.Spec.Ports {
						if p.TargetPort.Type != intstr.String || p.Protocol != corev1.ProtocolTCP {
							t.Errorf("Service port %s targets %v over %q, want a named port over TCP", p.Name, p.TargetPort, p.Protocol)
						}
						sports = append(sports, avPort{p.Name, p.Port, p.TargetPort.StrVal})
					}
					if !reflect.DeepEqual(sports, tc.service) {
						t.Errorf("Service ports %+v, want %+v", sports, tc.service)
					}
					if !reflect.DeepEqual(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
						t.Errorf("Service selector %v, want the Deployment's %v", svc.Spec.Selector, d.Spec.Selector.MatchLabels)
					}
					// Each Service port reaches a container port of that name.
					for _, sp := range tc.service {
						found := false
						for _, cp := range tc.container {
							found = found || cp.Name == sp.Target
						}
						if !found {
							t.Errorf("Service port %s targets %q, which the container does not name (%+v)", sp.Name, sp.Target, tc.container)
						}
					}
					// The Service carries the Deployment's labels, plus the plan with metrics.
					want := map[string]string{}
					for k, v := range d.Labels {
						want[k] = v
					}
					if tc.planLabel {
						want[tenancyv1alpha1.LabelPlan] = "gold"
					}
					if !reflect.DeepEqual(svc.Labels, want) {
						t.Errorf("Service labels %v, want %v", svc.Labels, want)
					}
				}

				mo := ptFind(objs, render.KindServiceMonitor, name)
				if (mo != nil) != (tc.monitor && monitoring) {
					t.Fatalf("ServiceMonitor %s rendered = %v, want %v", name, mo != nil, tc.monitor && monitoring)
				}
				if mo == nil {
					return
				}
				m := pgMap(t, mo)
				if m["apiVersion"] != "monitoring.coreos.com/v1" || m["kind"] != "ServiceMonitor" {
					t.Errorf("ServiceMonitor renders as %v %v", m["apiVersion"], m["kind"])
				}
				meta, _ := m["metadata"].(map[string]any)
				if meta["name"] != name || meta["namespace"] != "acme" || mo.Namespace != "acme" {
					t.Errorf("ServiceMonitor is %v/%v (key %s/%s), want acme/%s", meta["namespace"], meta["name"], mo.Namespace, mo.Name, name)
				}
				labels := map[string]string{}
				for k, v := range meta["labels"].(map[string]any) {
					labels[k], _ = v.(string)
				}
				if !reflect.DeepEqual(labels, d.Labels) {
					t.Errorf("ServiceMonitor labels %v, want the Deployment's %v", labels, d.Labels)
				}
				sel := map[string]any{}
				for k, v := range d.Spec.Selector.MatchLabels {
					sel[k] = v
				}
				want := map[string]any{
					"selector":     map[string]any{"matchLabels": sel},
					"endpoints":    []any{map[string]any{"port": tc.endpoint, "path": tc.path}},
					"targetLabels": []any{"tenancy.openplatform.io/tenant", "tenancy.openplatform.io/plan", "tenancy.openplatform.io/product"},
				}
				if !reflect.DeepEqual(m["spec"], want) {
					t.Errorf("ServiceMonitor spec %v\nwant %v", m["spec"], want)
				}
				// Every target label is on the Service, with the tenant's, plan's and product's
				// names: the series are labelled without relabelling.
				svc := &corev1.Service{}
				ptDecode(t, so, svc)
				for label, value := range map[string]string{
					tenancyv1alpha1.LabelTenant: "acme", tenancyv1alpha1.LabelPlan: "gold", tenancyv1alpha1.LabelProduct: "payments",
				} {
					if svc.Labels[label] != value {
						t.Errorf("Service %s label %s = %q, want %q for the ServiceMonitor's targetLabels", name, label, svc.Labels[label], value)
					}
				}
				// The endpoint names a port of the Service.
				found := false
				for _, p := range svc.Spec.Ports {
					found = found || p.Name == tc.endpoint
				}
				if !found {
					t.Errorf("ServiceMonitor endpoint port %q is not a port of the Service %+v", tc.endpoint, svc.Spec.Ports)
				}
			})
		}
		if n := avCount(objs, render.KindServiceMonitor); n != wantMonitors {
			t.Errorf("monitoring %v: %d ServiceMonitors, want %d (%v)", monitoring, n, wantMonitors, ptKeys(objs))
		}
		if n := avCount(objs, render.KindService); n != 4 {
			t.Errorf("monitoring %v: %d Services, want 4: every component with a port or metrics (%v)", monitoring, n, ptKeys(objs))
		}
	}
}

// TestAvailabilityMetricsFollowPlan: the plan label on the Service, which the ServiceMonitor
// copies onto the metrics, is the tenant's current plan.
func TestAvailabilityMetricsFollowPlan(t *testing.T) {
	tn := ptTenant("acme", nil)
	tn.Spec.Plan = "platinum"
	plan := ptPlan(tenancyv1alpha1.PlanProduct{Name: "payments", Version: "v1"})
	plan.Name = "platinum"
	objs := avRender(t, tn, plan, true, avMetricsProduct())
	so := ptFind(objs, render.KindService, "payments-api")
	if so == nil {
		t.Fatalf("no Service payments-api in %v", ptKeys(objs))
	}
	svc := &corev1.Service{}
	ptDecode(t, so, svc)
	if got := svc.Labels[tenancyv1alpha1.LabelPlan]; got != "platinum" {
		t.Errorf("Service label %s = %q, want platinum", tenancyv1alpha1.LabelPlan, got)
	}
}
