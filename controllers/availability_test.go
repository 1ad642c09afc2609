package controllers

// User stories of the availability and scaling of tenants' product instances (api.md,
// "Availability and scaling of product instances"): with 2 or more replicas (or an
// autoscaler's minimum) a PodDisruptionBudget and topology spread per component; a plan's
// autoscaling gives a HorizontalPodAutoscaler that owns the replica count; a component
// with metrics gets a metrics port and, with the prometheus-operator's CRD, a
// ServiceMonitor.
//
// envtest runs no controller-manager, so no HPA controller: the tests write the replica
// count as the HPA controller does, through the Deployment's scale subresource under a
// field manager of its own (scaleAsHPA).
//
// The ServiceMonitor CRD (the prometheus-operator's own YAML, from
// $PROMETHEUS_OPERATOR_CRDS) is installed into the shared API server by
// TestAvailabilityMonitoring alone, after its first story has seen the cluster without
// it. No other test uses it, and it is parallel, so it starts after every sequential test;
// the tests that list every kind of a tenant (objectsOfTenant) skip kinds not installed.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/apply"
	"github.com/openplatform/tenant-operator/internal/render"
)

// hpaManager is the field manager the simulated HPA controller writes replicas with.
const hpaManager = "horizontal-pod-autoscaler"

// ---------------------------------------------------------------------------------------
// Stories.

// TestAvailabilityAutoscalingHandoff: a plan with autoscaling gives each component an HPA;
// the Deployment starts at minReplicas, and from then on the operator leaves the count to
// the HPA: neither a pass nor a change of the product that rewrites the Deployment's
// template resets it, whether the operator set the count last (creation) or the HPA did.
func TestAvailabilityAutoscalingHandoff(t *testing.T) {
	t.Parallel()
	const product, planName, name = "aav1-handoff", "pav1-handoff", "tav1-handoff"
	deploy := render.ComponentName(product, "api")
	mustCreate(t, availabilityProduct(product, productComponent("api", "registry.example.com/handoff:1.0.0", 8080)))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 5},
	}))
	mustCreate(t, newTenant(name, planName))

	eventually(t, 0, func() error { return wantReplicas(name, deploy, 2) })
	eventually(t, 0, func() error { return wantHPA(name, name, product, "api", 2, 5, 80) })
	eventually(t, 0, func() error { return wantPDB(name, deploy) })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)

	// A change of the product before the HPA ever scaled: the operator set replicas at
	// creation and now applies the Deployment without them. They stay at 2 (server-side
	// apply would drop a field its only manager stops applying: replicas 1, below the
	// HPA's minimum), held by the handover manager, not by the operator.
	setComponentEnv(t, product, "LOG_LEVEL", "debug")
	eventually(t, 0, func() error { return wantEnv(name, deploy, "LOG_LEVEL", "debug") })
	consistently(t, time.Second, func() error { return wantReplicas(name, deploy, 2) })
	if err := wantReplicasManagers(name, deploy, true); err != nil {
		t.Error(err)
	}

	// The HPA scales up: a pass leaves the count alone.
	scaleAsHPA(t, name, deploy, 4)
	awaitPass(t, name, deploy)
	consistently(t, time.Second, func() error { return wantReplicas(name, deploy, 4) })
	if err := wantReplicasManagers(name, deploy, false); err != nil {
		t.Error(err)
	}

	// A new image: the template changes, the HPA's count stays.
	setComponentImage(t, product, "registry.example.com/handoff:1.1.0")
	eventually(t, 0, func() error { return wantImage(name, deploy, "registry.example.com/handoff:1.1.0") })
	consistently(t, time.Second, func() error {
		if err := wantImage(name, deploy, "registry.example.com/handoff:1.1.0"); err != nil {
			return err
		}
		return wantReplicas(name, deploy, 4)
	})
	if err := wantReplicasManagers(name, deploy, true); err != nil {
		t.Error(err)
	}
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)

	// Autoscaling switched on for a Deployment whose replicas the plan set: the count the
	// plan gave stays until the HPA changes it.
	const fixedPlan, fixed = "pav1-fixed", "tav1-fixed"
	mustCreate(t, newProductPlan(fixedPlan, tenancyv1alpha1.PlanProduct{Name: product, Replicas: int32p(3)}))
	mustCreate(t, newTenant(fixed, fixedPlan))
	eventually(t, 0, func() error { return wantReplicas(fixed, deploy, 3) })
	waitProductsRunning(t, fixed, fixed, tenancyv1alpha1.ReasonReconciled, deploy)
	mustUpdate(t, &tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: fixedPlan}}, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Autoscaling = &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 6, TargetCPUUtilizationPercentage: 60}
	})
	eventually(t, 0, func() error { return wantHPA(fixed, fixed, product, "api", 2, 6, 60) })
	consistently(t, time.Second, func() error { return wantReplicas(fixed, deploy, 3) })
	if err := wantReplicasManagers(fixed, deploy, true); err != nil {
		t.Error(err)
	}
}

// TestAvailabilitySuspendResumeAutoscaled: suspending an autoscaled tenant scales it to 0
// and removes its HPAs and PDBs (an HPA would scale it up again); resuming brings it back
// at minReplicas, with its HPAs and PDBs, and leaves the count to the HPA again.
func TestAvailabilitySuspendResumeAutoscaled(t *testing.T) {
	t.Parallel()
	const product, planName, name = "aav2-susp", "pav2-susp", "tav2-susp"
	deploy := render.ComponentName(product, "api")
	mustCreate(t, availabilityProduct(product, productComponent("api", "registry.example.com/susp:1.0.0", 8080)))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 4, TargetCPUUtilizationPercentage: 70},
	}))
	tenant := newTenant(name, planName)
	mustCreate(t, tenant)
	eventually(t, 0, func() error { return wantHPA(name, name, product, "api", 2, 4, 70) })
	eventually(t, 0, func() error { return wantPDB(name, deploy) })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	scaleAsHPA(t, name, deploy, 3)

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = true })
	eventually(t, 0, func() error {
		if err := wantReplicas(name, deploy, 0); err != nil {
			return err
		}
		if err := gone(&autoscalingv2.HorizontalPodAutoscaler{}, name, deploy); err != nil {
			return err
		}
		return gone(&policyv1.PodDisruptionBudget{}, name, deploy)
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonSuspended, deploy)
	consistently(t, time.Second, func() error { return wantReplicas(name, deploy, 0) })

	mustUpdate(t, tenant, func(tn *tenancyv1alpha1.Tenant) { tn.Spec.Suspended = false })
	eventually(t, 0, func() error {
		if err := wantReplicas(name, deploy, 2); err != nil {
			return err
		}
		if err := wantHPA(name, name, product, "api", 2, 4, 70); err != nil {
			return err
		}
		return wantPDB(name, deploy)
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)

	// The HPA has the count again.
	scaleAsHPA(t, name, deploy, 4)
	awaitPass(t, name, deploy)
	consistently(t, time.Second, func() error { return wantReplicas(name, deploy, 4) })
}

// TestAvailabilityAutoscalingRemoved: without autoscaling the plan's replicas are back
// (the HPA is pruned, the PDB stays while there are 2 or more); at 1 replica the PDB and
// the spread constraints go too.
func TestAvailabilityAutoscalingRemoved(t *testing.T) {
	t.Parallel()
	const product, planName, name = "aav3-removed", "pav3-removed", "tav3-removed"
	deploy := render.ComponentName(product, "api")
	mustCreate(t, availabilityProduct(product, productComponent("api", "registry.example.com/removed:1.0.0", 8080)))
	plan := newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 5},
	})
	mustCreate(t, plan)
	mustCreate(t, newTenant(name, planName))
	eventually(t, 0, func() error { return wantHPA(name, name, product, "api", 2, 5, 80) })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	scaleAsHPA(t, name, deploy, 5)
	pdb := &policyv1.PodDisruptionBudget{}
	if err := get(pdb, name, deploy); err != nil {
		t.Fatal(err)
	}

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) {
		p.Spec.Products[0].Autoscaling = nil
		p.Spec.Products[0].Replicas = int32p(3)
	})
	eventually(t, 0, func() error {
		if err := wantReplicas(name, deploy, 3); err != nil {
			return err
		}
		return gone(&autoscalingv2.HorizontalPodAutoscaler{}, name, deploy)
	})
	if err := wantPDB(name, deploy); err != nil {
		t.Error(err)
	}
	if err := samePDB(name, deploy, pdb.UID); err != nil {
		t.Error(err)
	}
	if err := wantSpread(name, deploy, true); err != nil {
		t.Error(err)
	}
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
	consistently(t, time.Second, func() error { return wantReplicas(name, deploy, 3) })

	mustUpdate(t, plan, func(p *tenancyv1alpha1.ServicePlan) { p.Spec.Products[0].Replicas = int32p(1) })
	eventually(t, 0, func() error {
		if err := wantReplicas(name, deploy, 1); err != nil {
			return err
		}
		if err := gone(&policyv1.PodDisruptionBudget{}, name, deploy); err != nil {
			return err
		}
		return wantSpread(name, deploy, false)
	})
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, deploy)
}

// TestAvailabilityPlainReplicas: with the plan's replicas at 2 and no autoscaling, each
// component gets a PDB (maxUnavailable 1, the Deployment's selector) and its Pods are
// spread over nodes and zones; there is no HPA and the operator keeps replicas at 2. A
// component of a product with 1 replica gets neither.
func TestAvailabilityPlainReplicas(t *testing.T) {
	t.Parallel()
	const product, planName, name = "aav4-plain", "pav4-plain", "tav4-plain"
	api, worker := render.ComponentName(product, "api"), render.ComponentName(product, "worker")
	mustCreate(t, availabilityProduct(product,
		productComponent("api", "registry.example.com/plain:1.0.0", 8080),
		productComponent("worker", "registry.example.com/plain-worker:1.0.0", 0)))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product, Replicas: int32p(2)}))
	mustCreate(t, newTenant(name, planName))
	for _, d := range []string{api, worker} {
		eventually(t, 0, func() error { return wantReplicas(name, d, 2) })
		eventually(t, 0, func() error { return wantPDB(name, d) })
		if err := wantSpread(name, d, true); err != nil {
			t.Error(err)
		}
		if err := gone(&autoscalingv2.HorizontalPodAutoscaler{}, name, d); err != nil {
			t.Errorf("no autoscaling, yet: %v", err)
		}
	}
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api, worker)

	// The operator owns the count: a write of another is reverted.
	scale(t, name, api, 4)
	eventually(t, 0, func() error { return wantReplicas(name, api, 2) })

	// One replica: neither PDB nor spread.
	const single, singlePlan = "tav4-single", "pav4-single"
	mustCreate(t, newProductPlan(singlePlan, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(single, singlePlan))
	eventually(t, 0, func() error { return wantReplicas(single, api, 1) })
	waitProductsRunning(t, single, single, tenancyv1alpha1.ReasonReconciled, api, worker)
	for _, d := range []string{api, worker} {
		if err := gone(&policyv1.PodDisruptionBudget{}, single, d); err != nil {
			t.Error(err)
		}
		if err := wantSpread(single, d, false); err != nil {
			t.Error(err)
		}
	}
}

// TestAvailabilityMonitoring runs the story of a cluster without the ServiceMonitor CRD
// first, installs it, and then the other stories in parallel.
func TestAvailabilityMonitoring(t *testing.T) {
	t.Parallel()
	if !t.Run("metrics ports without the ServiceMonitor CRD, then a ServiceMonitor once it is installed", monitoringBeforeCRD) {
		t.FailNow()
	}
	installServiceMonitorCRD(t) // done already, unless -run left the story above out
	parallelStories(t, []story{
		{"ServiceMonitors follow the components' metrics", monitoringChanges},
		{"steady state: a pass rewrites nothing", availabilitySteadyState},
	})
}

// monitoringBeforeCRD: a component with metrics on a port of their own gets a metrics port
// on its container and Service, and the Service the plan's label; without the
// ServiceMonitor CRD the tenant is Ready and nothing blames monitoring. Once the CRD is
// installed, with no change to the tenant, each component with metrics gets a
// ServiceMonitor the real CRD schema accepts.
func monitoringBeforeCRD(t *testing.T) {
	const product, planName, name = "aav5-metrics", "pav5-metrics", "tav5-metrics"
	api, web := render.ComponentName(product, "api"), render.ComponentName(product, "web")
	if serviceMonitorInstalled() {
		t.Fatalf("the ServiceMonitor CRD %s is installed already: only this story installs it, after it ran", render.ServiceMonitorCRD)
	}
	apiC := productComponent("api", "registry.example.com/metrics:1.0.0", 8080)
	apiC.Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 9090}
	webC := productComponent("web", "registry.example.com/metrics-web:1.0.0", 8080)
	webC.Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 8080, Path: "/stats"}
	mustCreate(t, availabilityProduct(product, apiC, webC))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(name, planName))

	eventually(t, 0, func() error {
		if err := wantServicePorts(name, api, map[string]int32{"http": 8080, "metrics": 9090}, planName); err != nil {
			return err
		}
		return wantServicePorts(name, web, map[string]int32{"http": 8080}, planName)
	})
	if err := wantContainerPorts(name, api, map[string]int32{"http": 8080, "metrics": 9090}); err != nil {
		t.Error(err)
	}
	if err := wantContainerPorts(name, web, map[string]int32{"http": 8080}); err != nil {
		t.Error(err)
	}
	tn := waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api, web)
	for _, c := range tn.Status.Conditions {
		if strings.Contains(c.Message, "ServiceMonitor") || strings.Contains(c.Message, render.MonitoringGroup) {
			t.Errorf("condition %s blames monitoring: %s", c.Type, describeConditions(tn.Status.Conditions))
		}
	}

	installServiceMonitorCRD(t)
	eventually(t, 0, func() error { return wantServiceMonitor(name, planName, product, "api", "metrics", "/metrics") })
	eventually(t, 0, func() error { return wantServiceMonitor(name, planName, product, "web", "http", "/stats") })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api, web)
}

// monitoringChanges: adding metrics to a component gives it a ServiceMonitor, a changed
// path or port is written to it, and removing metrics prunes the ServiceMonitor, the
// metrics port and the plan's label on the Service.
func monitoringChanges(t *testing.T) {
	const product, planName, name = "aav6-monitor", "pav6-monitor", "tav6-monitor"
	api := render.ComponentName(product, "api")
	mustCreate(t, availabilityProduct(product, productComponent("api", "registry.example.com/monitor:1.0.0", 8080)))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	mustCreate(t, newTenant(name, planName))
	eventually(t, 0, func() error { return wantServicePorts(name, api, map[string]int32{"http": 8080}, "") })
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api)
	if err := serviceMonitorGone(name, api); err != nil {
		t.Errorf("no metrics, yet: %v", err)
	}

	setComponentMetrics(t, product, &tenancyv1alpha1.ComponentMetrics{Port: 9100, Path: "/prometheus/metrics"})
	eventually(t, 0, func() error {
		if err := wantServiceMonitor(name, planName, product, "api", "metrics", "/prometheus/metrics"); err != nil {
			return err
		}
		return wantServicePorts(name, api, map[string]int32{"http": 8080, "metrics": 9100}, planName)
	})
	if err := wantContainerPorts(name, api, map[string]int32{"http": 8080, "metrics": 9100}); err != nil {
		t.Error(err)
	}
	sm, err := fetchServiceMonitor(name, api)
	if err != nil {
		t.Fatal(err)
	}

	// Metrics moved to the component's own port: the endpoint is the http port, and the
	// metrics port goes.
	setComponentMetrics(t, product, &tenancyv1alpha1.ComponentMetrics{Port: 8080, Path: "/prometheus/metrics"})
	eventually(t, 0, func() error {
		if err := wantServiceMonitor(name, planName, product, "api", "http", "/prometheus/metrics"); err != nil {
			return err
		}
		return wantServicePorts(name, api, map[string]int32{"http": 8080}, planName)
	})
	if err := wantContainerPorts(name, api, map[string]int32{"http": 8080}); err != nil {
		t.Error(err)
	}
	if got, err := fetchServiceMonitor(name, api); err != nil || got.GetUID() != sm.GetUID() {
		t.Errorf("ServiceMonitor %s was made again (or is missing: %v): updated in place, want", api, err)
	}
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api)

	// Back to a metrics port of its own, then no metrics at all.
	setComponentMetrics(t, product, &tenancyv1alpha1.ComponentMetrics{Port: 9100})
	eventually(t, 0, func() error { return wantServiceMonitor(name, planName, product, "api", "metrics", "/metrics") })
	setComponentMetrics(t, product, nil)
	eventually(t, 0, func() error {
		if err := serviceMonitorGone(name, api); err != nil {
			return err
		}
		return wantServicePorts(name, api, map[string]int32{"http": 8080}, "")
	})
	if err := wantContainerPorts(name, api, map[string]int32{"http": 8080}); err != nil {
		t.Error(err)
	}
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api)
}

// availabilitySteadyState: once an autoscaled tenant with metrics has settled (the HPA
// scaled its Deployment), a pass of the operator writes none of its Deployment, HPA, PDB
// and ServiceMonitor.
func availabilitySteadyState(t *testing.T) {
	const product, planName, name = "aav7-steady", "pav7-steady", "tav7-steady"
	api := render.ComponentName(product, "api")
	c := productComponent("api", "registry.example.com/steady:1.0.0", 8080)
	c.Metrics = &tenancyv1alpha1.ComponentMetrics{Port: 9090}
	mustCreate(t, availabilityProduct(product, c))
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{
		Name: product, Autoscaling: &tenancyv1alpha1.Autoscaling{MinReplicas: 2, MaxReplicas: 5, TargetCPUUtilizationPercentage: 75},
	}))
	mustCreate(t, newTenant(name, planName))
	eventually(t, 0, func() error {
		if err := wantHPA(name, name, product, "api", 2, 5, 75); err != nil {
			return err
		}
		if err := wantPDB(name, api); err != nil {
			return err
		}
		return wantServiceMonitor(name, planName, product, "api", "metrics", "/metrics")
	})
	scaleAsHPA(t, name, api, 3)
	waitProductsRunning(t, name, name, tenancyv1alpha1.ReasonReconciled, api)
	awaitPass(t, name, api) // the HPA's write has been seen, and the pass after it is done

	objects := map[string]client.Object{
		"Deployment":              &appsv1.Deployment{},
		"HorizontalPodAutoscaler": &autoscalingv2.HorizontalPodAutoscaler{},
		"PodDisruptionBudget":     &policyv1.PodDisruptionBudget{},
		"ServiceMonitor":          serviceMonitorObject(),
	}
	versions := func() (map[string]string, error) {
		out := map[string]string{}
		for kind, o := range objects {
			if err := get(o, name, api); err != nil {
				return nil, fmt.Errorf("%s %s: %w", kind, api, err)
			}
			out[kind] = o.GetResourceVersion()
		}
		return out, nil
	}
	before, err := versions()
	if err != nil {
		t.Fatal(err)
	}
	awaitPass(t, name, api)
	consistently(t, time.Second, func() error {
		now, err := versions()
		if err != nil {
			return err
		}
		for kind, rv := range before {
			if now[kind] != rv {
				return fmt.Errorf("%s %s was written by a pass that had nothing to change (resourceVersion %s, was %s)", kind, api, now[kind], rv)
			}
		}
		return nil
	})
	if err := wantReplicas(name, api, 3); err != nil {
		t.Error(err)
	}
}

// ---------------------------------------------------------------------------------------
// Builders and changes.

// availabilityProduct is a product with the given components and no auth (no credentials
// to wait for).
func availabilityProduct(name string, components ...tenancyv1alpha1.Component) *tenancyv1alpha1.ApiProduct {
	p := newAPIProduct(name, "v1", productVersion("v1", components...))
	p.Spec.Auth.Type = tenancyv1alpha1.AuthNone
	return p
}

// editFirstComponent changes the first component of the product's first version.
func editFirstComponent(t *testing.T, product string, mutate func(*tenancyv1alpha1.Component)) {
	t.Helper()
	mustUpdate(t, &tenancyv1alpha1.ApiProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}, func(p *tenancyv1alpha1.ApiProduct) {
		mutate(&p.Spec.Versions[0].Components[0])
	})
}

func setComponentEnv(t *testing.T, product, key, value string) {
	t.Helper()
	editFirstComponent(t, product, func(c *tenancyv1alpha1.Component) {
		c.Env = append(c.Env, tenancyv1alpha1.EnvVar{Name: key, Value: value})
	})
}

func setComponentImage(t *testing.T, product, image string) {
	t.Helper()
	editFirstComponent(t, product, func(c *tenancyv1alpha1.Component) { c.Image = image })
}

func setComponentMetrics(t *testing.T, product string, m *tenancyv1alpha1.ComponentMetrics) {
	t.Helper()
	editFirstComponent(t, product, func(c *tenancyv1alpha1.Component) { c.Metrics = m })
}

// scaleAsHPA writes a Deployment's replicas as the HPA controller does: through the scale
// subresource, under a field manager of its own.
func scaleAsHPA(t *testing.T, namespace, name string, replicas int32) {
	t.Helper()
	scale(t, namespace, name, replicas)
	if err := wantReplicas(namespace, name, replicas); err != nil {
		t.Fatal(err)
	}
}

// scale writes a Deployment's scale subresource as the HPA would, without waiting to see
// the count (the operator may revert it at once when no autoscaler owns it).
func scale(t *testing.T, namespace, name string, replicas int32) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := fetchDeployment(namespace, name)
		if err != nil {
			return err
		}
		scale := &autoscalingv1.Scale{}
		if err := k8s.SubResource("scale").Get(testCtx, d, scale); err != nil {
			return err
		}
		scale.Spec.Replicas = replicas
		return k8s.SubResource("scale").Update(testCtx, d, client.WithSubResourceBody(scale), client.FieldOwner(hpaManager))
	})
	if err != nil {
		t.Fatalf("scaling Deployment %s to %d as the HPA would: %v", objName(namespace, name), replicas, err)
	}
}

// ---------------------------------------------------------------------------------------
// Checks.

func wantReplicas(namespace, name string, want int32) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
		got := "unset"
		if d.Spec.Replicas != nil {
			got = fmt.Sprint(*d.Spec.Replicas)
		}
		return fmt.Errorf("Deployment %s: replicas %s, want %d", objName(namespace, name), got, want)
	}
	return nil
}

func wantImage(namespace, name, image string) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	if c := d.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != image {
		return fmt.Errorf("Deployment %s runs %+v, want image %s", objName(namespace, name), c, image)
	}
	return nil
}

func wantEnv(namespace, name, key, value string) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == key && e.Value == value {
			return nil
		}
	}
	return fmt.Errorf("Deployment %s: env %+v, want %s=%s", objName(namespace, name), d.Spec.Template.Spec.Containers[0].Env, key, value)
}

// replicasManagers are the field managers of a Deployment that own spec.replicas.
func replicasManagers(d *appsv1.Deployment) ([]string, error) {
	var out []string
	for _, e := range d.ManagedFields {
		if e.FieldsV1 == nil {
			continue
		}
		fields := map[string]any{}
		if err := json.Unmarshal(e.FieldsV1.Raw, &fields); err != nil {
			return nil, err
		}
		spec, _ := fields["f:spec"].(map[string]any)
		if _, ok := spec["f:replicas"]; ok {
			m := e.Manager
			if e.Subresource != "" {
				m += "/" + e.Subresource
			}
			out = append(out, m+" ("+string(e.Operation)+")")
		}
	}
	sort.Strings(out)
	return out, nil
}

// wantReplicasManagers checks that the operator's own field manager does not own a
// Deployment's replicas and, with handedOver, that the handover manager does.
func wantReplicasManagers(namespace, name string, handedOver bool) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	managers, err := replicasManagers(d)
	if err != nil {
		return err
	}
	var operator, handover bool
	for _, m := range managers {
		operator = operator || strings.HasPrefix(m, tenancyv1alpha1.FieldManager+" ")
		handover = handover || strings.HasPrefix(m, apply.HandoverManager+" ")
	}
	if operator || (handedOver && !handover) {
		return fmt.Errorf("Deployment %s: spec.replicas is owned by %v; want not %s, and %s when handed over (%v)",
			objName(namespace, name), managers, tenancyv1alpha1.FieldManager, apply.HandoverManager, handedOver)
	}
	return nil
}

// wantHPA checks a component's HorizontalPodAutoscaler.
func wantHPA(namespace, tenant, product, component string, minReplicas, maxReplicas, target int32) error {
	name := render.ComponentName(product, component)
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := get(h, namespace, name); err != nil {
		return err
	}
	if err := hasProductLabels(h, tenant, product); err != nil {
		return err
	}
	s := h.Spec
	ref := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}
	if s.ScaleTargetRef != ref || s.MinReplicas == nil || *s.MinReplicas != minReplicas || s.MaxReplicas != maxReplicas {
		return fmt.Errorf("HPA %s: target %+v, min %v, max %d; want %+v, %d, %d", objName(namespace, name), s.ScaleTargetRef,
			s.MinReplicas, s.MaxReplicas, ref, minReplicas, maxReplicas)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Type != autoscalingv2.ResourceMetricSourceType || s.Metrics[0].Resource == nil ||
		s.Metrics[0].Resource.Name != corev1.ResourceCPU || s.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType ||
		s.Metrics[0].Resource.Target.AverageUtilization == nil || *s.Metrics[0].Resource.Target.AverageUtilization != target {
		return fmt.Errorf("HPA %s: metrics %+v, want CPU utilization %d%%", objName(namespace, name), s.Metrics, target)
	}
	return nil
}

// wantPDB checks a component's PodDisruptionBudget: one Pod at a time, of the Deployment's
// Pods.
func wantPDB(namespace, name string) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	p := &policyv1.PodDisruptionBudget{}
	if err := get(p, namespace, name); err != nil {
		return err
	}
	if err := hasProductLabels(p, namespace, d.Labels[tenancyv1alpha1.LabelProduct]); err != nil {
		return err
	}
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.String() != "1" || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
		return fmt.Errorf("PDB %s: maxUnavailable %v, minAvailable %v; want maxUnavailable 1 only", objName(namespace, name), p.Spec.MaxUnavailable, p.Spec.MinAvailable)
	}
	if p.Spec.Selector == nil || len(p.Spec.Selector.MatchExpressions) > 0 || !mapsEqual(p.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		return fmt.Errorf("PDB %s: selector %+v, want the Deployment's %+v", objName(namespace, name), p.Spec.Selector, d.Spec.Selector)
	}
	return nil
}

func samePDB(namespace, name string, uid types.UID) error {
	p := &policyv1.PodDisruptionBudget{}
	if err := get(p, namespace, name); err != nil {
		return err
	}
	if p.UID != uid {
		return fmt.Errorf("PDB %s was made again", objName(namespace, name))
	}
	return nil
}

// wantSpread checks that a Deployment's Pods are spread over nodes and zones (or, with
// want false, not constrained at all).
func wantSpread(namespace, name string, want bool) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	got := d.Spec.Template.Spec.TopologySpreadConstraints
	if !want {
		if len(got) > 0 {
			return fmt.Errorf("Deployment %s: spread constraints %+v, want none", objName(namespace, name), got)
		}
		return nil
	}
	keys := []string{}
	for _, c := range got {
		if c.MaxSkew != 1 || c.WhenUnsatisfiable != corev1.ScheduleAnyway || c.LabelSelector == nil ||
			!mapsEqual(c.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) || len(c.LabelSelector.MatchExpressions) > 0 {
			return fmt.Errorf("Deployment %s: spread constraint %+v, want maxSkew 1, ScheduleAnyway, the Deployment's selector %v",
				objName(namespace, name), c, d.Spec.Selector.MatchLabels)
		}
		keys = append(keys, c.TopologyKey)
	}
	if !slices.Equal(keys, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}) {
		return fmt.Errorf("Deployment %s: spread over %v, want kubernetes.io/hostname and topology.kubernetes.io/zone", objName(namespace, name), keys)
	}
	return nil
}

// wantServicePorts checks a component's Service: exactly the given ports (by name, each
// with the target port of its name) and, with plan set, the plan's label (else none).
func wantServicePorts(namespace, name string, ports map[string]int32, plan string) error {
	s := &corev1.Service{}
	if err := get(s, namespace, name); err != nil {
		return err
	}
	got := map[string]int32{}
	for _, p := range s.Spec.Ports {
		if p.TargetPort.String() != p.Name {
			return fmt.Errorf("Service %s: port %s targets %s, want the container port named %s", objName(namespace, name), p.Name, p.TargetPort.String(), p.Name)
		}
		got[p.Name] = p.Port
	}
	if !mapsEqual(got, ports) {
		return fmt.Errorf("Service %s: ports %v, want %v", objName(namespace, name), got, ports)
	}
	if l, ok := s.Labels[tenancyv1alpha1.LabelPlan]; l != plan || (plan == "" && ok) {
		return fmt.Errorf("Service %s: labels %v, want %s=%q", objName(namespace, name), s.Labels, tenancyv1alpha1.LabelPlan, plan)
	}
	return nil
}

// wantContainerPorts checks the named ports of a Deployment's container.
func wantContainerPorts(namespace, name string, ports map[string]int32) error {
	d, err := fetchDeployment(namespace, name)
	if err != nil {
		return err
	}
	got := map[string]int32{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		got[p.Name] = p.ContainerPort
	}
	if !mapsEqual(got, ports) {
		return fmt.Errorf("Deployment %s: container ports %v, want %v", objName(namespace, name), got, ports)
	}
	return nil
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------
// ServiceMonitors.

func serviceMonitorObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: render.MonitoringGroup, Version: render.MonitoringVersion, Kind: render.KindServiceMonitor})
	return u
}

func fetchServiceMonitor(namespace, name string) (*unstructured.Unstructured, error) {
	u := serviceMonitorObject()
	return u, get(u, namespace, name)
}

func serviceMonitorGone(namespace, name string) error {
	_, err := fetchServiceMonitor(namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("ServiceMonitor %s still exists", objName(namespace, name))
}

// wantServiceMonitor checks a component's ServiceMonitor: the tenant's labels, the
// Service's selector, one endpoint (port and path) and the tenant, plan and product as
// target labels, which the Service carries.
func wantServiceMonitor(namespace, plan, product, component, port, path string) error {
	name := render.ComponentName(product, component)
	sm, err := fetchServiceMonitor(namespace, name)
	if err != nil {
		return err
	}
	if err := hasProductLabels(sm, namespace, product); err != nil {
		return err
	}
	svc := &corev1.Service{}
	if err := get(svc, namespace, name); err != nil {
		return err
	}
	selector := map[string]any{}
	for k, v := range svc.Spec.Selector {
		selector[k] = v
	}
	if err := sameJSON("ServiceMonitor "+name+" selector", nested(sm, "spec", "selector"), map[string]any{"matchLabels": selector}); err != nil {
		return err
	}
	if err := sameJSON("ServiceMonitor "+name+" endpoints", nested(sm, "spec", "endpoints"), []any{map[string]any{"port": port, "path": path}}); err != nil {
		return err
	}
	targets := []any{tenancyv1alpha1.LabelTenant, tenancyv1alpha1.LabelPlan, tenancyv1alpha1.LabelProduct}
	if err := sameJSON("ServiceMonitor "+name+" targetLabels", nested(sm, "spec", "targetLabels"), targets); err != nil {
		return err
	}
	for _, l := range targets {
		if svc.Labels[l.(string)] == "" {
			return fmt.Errorf("Service %s has no label %s for the ServiceMonitor to copy: %v", name, l, svc.Labels)
		}
	}
	if svc.Labels[tenancyv1alpha1.LabelPlan] != plan {
		return fmt.Errorf("Service %s: %s=%q, want %s", name, tenancyv1alpha1.LabelPlan, svc.Labels[tenancyv1alpha1.LabelPlan], plan)
	}
	var named bool
	for _, p := range svc.Spec.Ports {
		named = named || p.Name == port
	}
	if !named {
		return fmt.Errorf("ServiceMonitor %s scrapes port %s, which Service %s lacks: %+v", name, port, name, svc.Spec.Ports)
	}
	return nil
}

// serviceMonitorInstalled reports whether the ServiceMonitor CRD exists.
func serviceMonitorInstalled() bool {
	return get(&apiextensionsv1.CustomResourceDefinition{}, "", render.ServiceMonitorCRD) == nil
}

// installServiceMonitorCRD installs the ServiceMonitor CRD, the prometheus-operator's own
// YAML from $PROMETHEUS_OPERATOR_CRDS (make test-envtest sets it), and waits until the
// test client can list ServiceMonitors. Installing it again changes nothing.
func installServiceMonitorCRD(t *testing.T) {
	t.Helper()
	dir := os.Getenv("PROMETHEUS_OPERATOR_CRDS")
	if dir == "" {
		t.Fatal("PROMETHEUS_OPERATOR_CRDS is not set: it names the directory of the prometheus-operator's CRD YAML files; " +
			"`make test-envtest` builds it (bin/prometheus-operator/crds) and sets it")
	}
	plural, group, _ := strings.Cut(render.ServiceMonitorCRD, ".")
	path := filepath.Join(dir, group+"_"+plural+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the CRD %s: %v", render.ServiceMonitorCRD, err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(crd); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if crd.Name != render.ServiceMonitorCRD {
		t.Fatalf("%s holds CRD %q, want %s", path, crd.Name, render.ServiceMonitorCRD)
	}
	if err := k8s.Create(testCtx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating CRD %s: %v", crd.Name, err)
	}
	eventually(t, 0, func() error {
		c := &apiextensionsv1.CustomResourceDefinition{}
		if err := get(c, "", render.ServiceMonitorCRD); err != nil {
			return err
		}
		for _, cond := range c.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("CRD %s is not established yet", render.ServiceMonitorCRD)
	})
	eventually(t, 0, func() error {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: render.MonitoringGroup, Version: render.MonitoringVersion, Kind: render.KindServiceMonitor + "List"})
		return k8s.List(testCtx, list)
	})
}
