package e2e

// Availability and scaling of product instances (docs: design/api.md, "Availability and
// scaling of product instances"), against the real kube-scheduler (topology spread over the
// kwok nodes, in a zone each, as hack/cluster.sh labels them), the real disruption and HPA controllers of
// kube-controller-manager (there is no metrics server: the HPA controller still enforces
// its bounds when the replica count is outside them), and the prometheus-operator's real
// ServiceMonitor CRD ($E2E_PROMETHEUS_OPERATOR_CRDS), installed while the operator runs.
// Last, the tenant's owner tries to change or remove what the operator made.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	avPlan        = "av-plan"
	avWeb         = "av-web"   // replicas 3, metrics on 9090: PDB, spread, ServiceMonitor
	avBurst       = "av-burst" // autoscaling 2..4: HPA, PDB, spread
	avTenant      = "av-acme"
	avOwner       = "ada@av-acme.example"
	avWebDeploy   = avWeb + "-api"
	avBurstDeploy = avBurst + "-api"
	avMin         = 2
	avMax         = 4
	zoneKey       = "topology.kubernetes.io/zone"
	hostnameKey   = "kubernetes.io/hostname"
	planLabel     = "tenancy.openplatform.io/plan"
	productLabel  = "tenancy.openplatform.io/product"
	handover      = "tenant-operator-handover"
	serviceMonCRD = "servicemonitors.monitoring.coreos.com"
)

// avDebug adds the times of the field managers' writes to replicaOwners.
var avDebug = false

// avProducts are the test's ApiProducts and ServicePlan; logLevel is av-burst's LOG_LEVEL,
// which the test changes to have the operator apply av-burst's Deployment again.
func avProducts(logLevel string) string {
	return fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: %[1]s}
spec:
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - name: api
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=8080"]
      port: 8080
      metrics: {port: 9090, path: /metrics}
      resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: %[2]s}
spec:
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - name: api
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=8080"]
      port: 8080
      env: [{name: LOG_LEVEL, value: %[3]s}]
      resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: %[4]s}
spec:
  maxNamespaces: 1
  quota:
    hard: {requests.cpu: "4", requests.memory: 4Gi, limits.cpu: "8", limits.memory: 8Gi, pods: "30"}
  ownerRole: admin
  products:
  - name: %[1]s
    replicas: 3
  - name: %[2]s
    autoscaling: {minReplicas: %[5]d, maxReplicas: %[6]d, targetCPUUtilizationPercentage: 60}
`, avWeb, avBurst, logLevel, avPlan, avMin, avMax)
}

var avTenantYAML = fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: %s}
spec:
  plan: %s
  owners: [{kind: User, name: %s}]
  products: [{name: %s}, {name: %s}]
`, avTenant, avPlan, avOwner, avWeb, avBurst)

// The parts of the objects this test reads, from kubectl's JSON.

type avLabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type avManagedFields struct {
	Manager     string         `json:"manager"`
	Operation   string         `json:"operation"`
	Subresource string         `json:"subresource"`
	Time        string         `json:"time"`
	FieldsV1    map[string]any `json:"fieldsV1"`
}

type avDeployment struct {
	Metadata struct {
		Name          string            `json:"name"`
		Generation    int64             `json:"generation"`
		Labels        map[string]string `json:"labels"`
		ManagedFields []avManagedFields `json:"managedFields"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int32          `json:"replicas"`
		Selector avLabelSelector `json:"selector"`
		Template struct {
			Spec struct {
				TopologySpreadConstraints []struct {
					MaxSkew           int32           `json:"maxSkew"`
					TopologyKey       string          `json:"topologyKey"`
					WhenUnsatisfiable string          `json:"whenUnsatisfiable"`
					LabelSelector     avLabelSelector `json:"labelSelector"`
				} `json:"topologySpreadConstraints"`
				Containers []struct {
					Env []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"env"`
					Ports []struct {
						Name          string `json:"name"`
						ContainerPort int32  `json:"containerPort"`
					} `json:"ports"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		Replicas           int32 `json:"replicas"`
		UpdatedReplicas    int32 `json:"updatedReplicas"`
		ReadyReplicas      int32 `json:"readyReplicas"`
	} `json:"status"`
}

// replicas is spec.replicas, -1 when absent.
func (d avDeployment) replicas() int32 {
	if d.Spec.Replicas == nil {
		return -1
	}
	return *d.Spec.Replicas
}

// env is the value of an environment variable of the first container.
func (d avDeployment) env(name string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// replicaOwners are the field managers that own spec.replicas, as manager(operation[/subresource]).
func (d avDeployment) replicaOwners() []string {
	var out []string
	for _, m := range d.Metadata.ManagedFields {
		spec, _ := m.FieldsV1["f:spec"].(map[string]any)
		if _, ok := spec["f:replicas"]; !ok {
			continue
		}
		op := m.Operation
		if m.Subresource != "" {
			op += "/" + m.Subresource
		}
		out = append(out, m.Manager+"("+op+")")
		if avDebug {
			out[len(out)-1] += "@" + m.Time
		}
	}
	sort.Strings(out)
	return out
}

// rolledOut reports whether the Deployment runs want up-to-date, ready replicas and no others.
func (d avDeployment) rolledOut(want int32) error {
	s := d.Status
	if s.ObservedGeneration < d.Metadata.Generation || s.UpdatedReplicas != want || s.Replicas != want || s.ReadyReplicas != want {
		return fmt.Errorf("deployment %s (generation %d, spec.replicas %d): observed generation %d, %d replicas, %d updated, %d ready; want %d of each",
			d.Metadata.Name, d.Metadata.Generation, d.replicas(), s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, want)
	}
	return nil
}

func avGetDeployment(name string) (avDeployment, error) {
	var d avDeployment
	out, err := runKubectl(nil, "get", "deployment", name, "-n", avTenant, "-o", "json", "--show-managed-fields")
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal([]byte(out), &d)
}

type avHPA struct {
	Spec struct {
		MinReplicas    int32 `json:"minReplicas"`
		MaxReplicas    int32 `json:"maxReplicas"`
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		Metrics []struct {
			Type     string `json:"type"`
			Resource struct {
				Name   string `json:"name"`
				Target struct {
					Type               string `json:"type"`
					AverageUtilization int32  `json:"averageUtilization"`
				} `json:"target"`
			} `json:"resource"`
		} `json:"metrics"`
	} `json:"spec"`
	Status struct {
		CurrentReplicas int32       `json:"currentReplicas"`
		DesiredReplicas int32       `json:"desiredReplicas"`
		Conditions      []condition `json:"conditions"`
	} `json:"status"`
}

func (h avHPA) conditions() string {
	var parts []string
	for _, c := range h.Status.Conditions {
		parts = append(parts, c.Type+"="+c.Status+"/"+c.Reason)
	}
	return strings.Join(parts, ", ")
}

type avPDB struct {
	Metadata struct {
		Generation int64 `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		MaxUnavailable any             `json:"maxUnavailable"`
		MinAvailable   any             `json:"minAvailable"`
		Selector       avLabelSelector `json:"selector"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64       `json:"observedGeneration"`
		ExpectedPods       int32       `json:"expectedPods"`
		CurrentHealthy     int32       `json:"currentHealthy"`
		DesiredHealthy     int32       `json:"desiredHealthy"`
		DisruptionsAllowed int32       `json:"disruptionsAllowed"`
		Conditions         []condition `json:"conditions"`
	} `json:"status"`
}

type avService struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Selector map[string]string `json:"selector"`
		Ports    []struct {
			Name       string `json:"name"`
			Port       int32  `json:"port"`
			TargetPort any    `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type avServiceMonitor struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Selector  avLabelSelector `json:"selector"`
		Endpoints []struct {
			Port string `json:"port"`
			Path string `json:"path"`
		} `json:"endpoints"`
		TargetLabels []string `json:"targetLabels"`
	} `json:"spec"`
}

// avGet decodes one object of the test's namespace.
func avGet(resource, name string, v any) error {
	out, err := runKubectl(nil, "get", resource, name, "-n", avTenant, "-o", "json")
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}

// avNames lists the names of a resource in the test's namespace.
func avNames(resource string) ([]string, error) {
	out, err := runKubectl(nil, "get", resource, "-n", avTenant, "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		return nil, err
	}
	names := strings.Fields(out)
	sort.Strings(names)
	return names, nil
}

// avProductPods are a product's Pods in the test's namespace.
func avProductPods(product string) ([]productsPod, error) {
	pods, err := tenantPods(avTenant, avTenant)
	if err != nil {
		return nil, err
	}
	var out []productsPod
	for _, p := range pods {
		if p.Metadata.Labels[productLabel] == product {
			out = append(out, p)
		}
	}
	return out, nil
}

// avReplicaStory records, for the log, what happened to av-burst's replica count.
type avReplicaStory struct {
	t     *testing.T
	start time.Time
	lines []string
}

func (s *avReplicaStory) add(format string, args ...any) {
	line := fmt.Sprintf("[%5.1fs] ", time.Since(s.start).Seconds()) + fmt.Sprintf(format, args...)
	s.lines = append(s.lines, line)
	s.t.Log("replicas: " + line)
}

// TestAvailability: a plan with a product of 3 replicas and one that autoscales from 2 to
// 4. The scheduler spreads the 3 Pods over the 3 nodes and zones, the disruption controller
// fills their PodDisruptionBudget; the HPA controller brings an admin's scale to 7 back to
// 4, and the operator's later applies of the Deployment leave the count where it is (after
// the first, which it made with the count it set at creation, too); a suspension takes the
// autoscaler away and a resume starts again at 2. The ServiceMonitor appears when its CRD
// is installed, as the real CRD accepts it, selecting the Service with the tenancy labels.
// The owner cannot change or delete the HPA, the PDB nor the ServiceMonitor. A dry-run
// eviction passes the operator's budget; the owner can add no budget of its own (one that
// allows nothing, or a second over the same Pods, would block drains).
func TestAvailability(t *testing.T) {
	parallelStory(t)
	dumpOnFailure(t)
	restartOperatorIfDown(t)
	st := newScenarioTimer(t)

	crdDir := os.Getenv("E2E_PROMETHEUS_OPERATOR_CRDS")
	if crdDir == "" {
		t.Fatal("E2E_PROMETHEUS_OPERATOR_CRDS is not set: run the e2e tests with `make test-e2e`, which puts the " +
			"prometheus-operator's CRDs into bin/prometheus-operator/crds (`make prometheus-operator-crds`) and passes that directory")
	}
	crdFile := filepath.Join(crdDir, "monitoring.coreos.com_servicemonitors.yaml")
	if _, err := os.Stat(crdFile); err != nil {
		t.Fatalf("E2E_PROMETHEUS_OPERATOR_CRDS=%s: %v: run `make prometheus-operator-crds`", crdDir, err)
	}
	// Last out: the CRD (the ServiceMonitors go with it); no other test writes one.
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "-f", crdFile, "--ignore-not-found", "--wait=false"); err != nil {
			t.Logf("removing the ServiceMonitor CRD: %v", err)
		}
	})

	// Zones: hack/cluster.sh puts each simulated node in a zone of its own.
	zoneOf := nodeZones(t)

	t.Cleanup(func() {
		start := time.Now()
		if _, err := runKubectl(nil, "delete", "tenant", avTenant, "--ignore-not-found", "--wait", "--timeout=120s"); err != nil {
			t.Logf("deleting tenant %s: %v", avTenant, err)
		}
		t.Logf("tenant %s deleted in %v", avTenant, time.Since(start).Round(100*time.Millisecond))
		if _, err := runKubectl(nil, "delete", "serviceplan/"+avPlan, "apiproduct/"+avWeb, "apiproduct/"+avBurst, "--ignore-not-found", "--wait=false"); err != nil {
			t.Logf("deleting the test's plan and products: %v", err)
		}
	})
	kubectlApply(t, avProducts("info")+"---"+avTenantYAML)
	story := &avReplicaStory{t: t, start: st.start}

	// The autoscaled product: created at the minimum, with its HPA.
	var burst avDeployment
	eventually(t, 60*time.Second, func() error {
		var err error
		if burst, err = avGetDeployment(avBurstDeploy); err != nil {
			return err
		}
		var hpa avHPA
		return avGet("hpa", avBurstDeploy, &hpa)
	})
	if burst.replicas() != avMin {
		t.Fatalf("deployment %s was created with %d replicas, want the autoscaling minimum %d", avBurstDeploy, burst.replicas(), avMin)
	}
	story.add("%s created at spec.replicas %d (spec.replicas owned by %v), HPA %s exists", avBurstDeploy, burst.replicas(), burst.replicaOwners(), avBurstDeploy)
	var hpa avHPA
	if err := avGet("hpa", avBurstDeploy, &hpa); err != nil {
		t.Fatal(err)
	}
	ref := hpa.Spec.ScaleTargetRef
	if hpa.Spec.MinReplicas != avMin || hpa.Spec.MaxReplicas != avMax || ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != avBurstDeploy ||
		len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource.Name != "cpu" || hpa.Spec.Metrics[0].Resource.Target.Type != "Utilization" ||
		hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
		t.Errorf("HPA %s: spec %+v, want min %d, max %d, target apps/v1 Deployment %s, CPU utilization 60", avBurstDeploy, hpa.Spec, avMin, avMax, avBurstDeploy)
	}
	st.step("tenant applied: %s at %d replicas with its HPA (%d..%d)", avBurstDeploy, avMin, avMin, avMax)

	// A change of the product while the operator still holds the count it created the
	// Deployment with: its apply without replicas must not drop them to the default of 1.
	eventually(t, 60*time.Second, func() error {
		d, err := avGetDeployment(avBurstDeploy)
		if err != nil {
			return err
		}
		return d.rolledOut(avMin)
	})
	kubectlApply(t, avProducts("warn"))
	waitRolled := func(level string, want int32) avDeployment {
		t.Helper()
		var d avDeployment
		eventually(t, 60*time.Second, func() error {
			var err error
			if d, err = avGetDeployment(avBurstDeploy); err != nil {
				return err
			}
			if r := d.replicas(); r != want {
				t.Fatalf("deployment %s: spec.replicas %d while the operator applied the product change (LOG_LEVEL %s), want %d kept; spec.replicas owned by %v",
					avBurstDeploy, r, level, want, d.replicaOwners())
			}
			if got := d.env("LOG_LEVEL"); got != level {
				return fmt.Errorf("deployment %s has LOG_LEVEL %q, want %q", avBurstDeploy, got, level)
			}
			return d.rolledOut(want)
		})
		return d
	}
	burst = waitRolled("warn", avMin)
	owners := burst.replicaOwners()
	story.add("product changed (LOG_LEVEL warn): rolled out at spec.replicas %d; spec.replicas owned by %v", burst.replicas(), owners)
	if slices.Contains(owners, "tenant-operator(Apply)") || !slices.Contains(owners, handover+"(Apply)") {
		t.Errorf("deployment %s: spec.replicas owned by %v after the operator let go of it, want %s and not tenant-operator", avBurstDeploy, owners, handover)
	}
	st.step("product change rolled out with the count kept at %d (handed over)", avMin)

	// An admin scales above the maximum; the HPA controller brings it back (on its next sync).
	kubectl(t, "scale", "deployment", avBurstDeploy, "-n", avTenant, "--replicas=7")
	story.add("cluster admin: kubectl scale --replicas=7")
	scaledAt := time.Now()

	// Meanwhile: the spread, the PodDisruptionBudget, the ServiceMonitor and the owner.
	var web avDeployment
	eventually(t, 60*time.Second, func() error {
		var err error
		if web, err = avGetDeployment(avWebDeploy); err != nil {
			return err
		}
		return web.rolledOut(3)
	})
	t.Run("spread over nodes and zones", func(t *testing.T) {
		for _, d := range []avDeployment{web, burst} {
			tsc := d.Spec.Template.Spec.TopologySpreadConstraints
			var keys []string
			for _, c := range tsc {
				keys = append(keys, c.TopologyKey)
				if c.MaxSkew != 1 || c.WhenUnsatisfiable != "ScheduleAnyway" || !maps.Equal(c.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
					t.Errorf("deployment %s: topology spread %+v, want maxSkew 1, ScheduleAnyway, the Deployment's selector %v", d.Metadata.Name, c, d.Spec.Selector.MatchLabels)
				}
			}
			if !reflect.DeepEqual(keys, []string{hostnameKey, zoneKey}) {
				t.Errorf("deployment %s: topology spread over %v, want %s and %s", d.Metadata.Name, keys, hostnameKey, zoneKey)
			}
		}
		pods, err := avProductPods(avWeb)
		if err != nil {
			t.Fatal(err)
		}
		nodes, zones := map[string]int{}, map[string]int{}
		var placement []string
		for _, p := range pods {
			if p.Status.Phase != "Running" {
				t.Errorf("pod %s is %s", p.Metadata.Name, p.Status.Phase)
			}
			nodes[p.Spec.NodeName]++
			zones[zoneOf[p.Spec.NodeName]]++
			placement = append(placement, fmt.Sprintf("%s on %s (%s)", p.Metadata.Name, p.Spec.NodeName, zoneOf[p.Spec.NodeName]))
		}
		sort.Strings(placement)
		t.Logf("placement of %s's %d Pods: %s", avWeb, len(pods), strings.Join(placement, ", "))
		if len(pods) != 3 || len(nodes) != 3 || len(zones) != 3 || zones[""] > 0 {
			t.Errorf("%s's %d Pods run on nodes %v in zones %v, want one per node and one per zone", avWeb, len(pods), nodes, zones)
		}
	})

	t.Run("PodDisruptionBudgets", func(t *testing.T) {
		for _, d := range []avDeployment{web, burst} {
			var pdb avPDB
			if err := avGet("pdb", d.Metadata.Name, &pdb); err != nil {
				t.Error(err)
				continue
			}
			if fmt.Sprint(pdb.Spec.MaxUnavailable) != "1" || pdb.Spec.MinAvailable != nil || !maps.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("PDB %s: maxUnavailable %v, minAvailable %v, selector %v; want maxUnavailable 1 and the Deployment's selector %v",
					d.Metadata.Name, pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable, pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
			}
		}
		// The disruption controller counts av-web's Running, Ready Pods (kwok's are Ready).
		var pdb avPDB
		eventually(t, 30*time.Second, func() error {
			if err := avGet("pdb", avWebDeploy, &pdb); err != nil {
				return err
			}
			s := pdb.Status
			allowed := productsCondition(s.Conditions, "DisruptionAllowed")
			if s.ObservedGeneration < pdb.Metadata.Generation || s.ExpectedPods != 3 || s.CurrentHealthy != 3 || s.DesiredHealthy != 2 ||
				s.DisruptionsAllowed != 1 || allowed == nil || allowed.Status != "True" {
				return fmt.Errorf("PDB %s status %+v, want 3 expected and healthy Pods, 2 desired healthy, 1 disruption allowed (DisruptionAllowed True)", avWebDeploy, s)
			}
			return nil
		})
		t.Logf("PDB %s: expectedPods %d, currentHealthy %d, desiredHealthy %d, disruptionsAllowed %d",
			avWebDeploy, pdb.Status.ExpectedPods, pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy, pdb.Status.DisruptionsAllowed)
	})
	st.step("spread and PDBs checked")

	t.Run("ServiceMonitor once its CRD is installed", func(t *testing.T) {
		// Before the CRD: the Service already serves the metrics port and names the plan.
		var svc avService
		if err := avGet("service", avWebDeploy, &svc); err != nil {
			t.Fatal(err)
		}
		var ports []string
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d->%v", p.Name, p.Port, p.TargetPort))
		}
		if !reflect.DeepEqual(ports, []string{"http:8080->http", "metrics:9090->metrics"}) {
			t.Errorf("service %s ports %v, want http:8080->http and metrics:9090->metrics", avWebDeploy, ports)
		}
		if svc.Metadata.Labels[planLabel] != avPlan {
			t.Errorf("service %s labels %v, want %s=%s", avWebDeploy, svc.Metadata.Labels, planLabel, avPlan)
		}
		var containerPorts []string
		for _, c := range web.Spec.Template.Spec.Containers {
			for _, p := range c.Ports {
				containerPorts = append(containerPorts, fmt.Sprintf("%s:%d", p.Name, p.ContainerPort))
			}
		}
		if !slices.Contains(containerPorts, "metrics:9090") {
			t.Errorf("deployment %s container ports %v, want metrics:9090", avWebDeploy, containerPorts)
		}

		eventually(t, 90*time.Second, func() error {
			out, err := runKubectl(nil, "get", "-f", crdFile, "--ignore-not-found", "-o", "jsonpath={.metadata.deletionTimestamp}")
			if err != nil || strings.TrimSpace(out) != "" {
				return fmt.Errorf("the ServiceMonitor CRD is still being deleted (since %s) %v", out, err)
			}
			return nil
		})
		kubectl(t, "apply", "--server-side", "-f", crdFile)
		waitCRDsEstablished(t, serviceMonCRD)
		installed := time.Now()
		var sm avServiceMonitor
		eventually(t, 30*time.Second, func() error { return avGet("servicemonitors.monitoring.coreos.com", avWebDeploy, &sm) })
		t.Logf("ServiceMonitor %s appeared %v after its CRD was Established", avWebDeploy, time.Since(installed).Round(100*time.Millisecond))
		if names, err := avNames("servicemonitors.monitoring.coreos.com"); err != nil || !reflect.DeepEqual(names, []string{avWebDeploy}) {
			t.Errorf("ServiceMonitors in %s: %v (%v), want only %s (%s has no metrics)", avTenant, names, err, avWebDeploy, avBurst)
		}
		if !maps.Equal(sm.Spec.Selector.MatchLabels, svc.Spec.Selector) {
			t.Errorf("ServiceMonitor %s selects %v, want the Service's selector labels %v", avWebDeploy, sm.Spec.Selector.MatchLabels, svc.Spec.Selector)
		}
		for k, v := range sm.Spec.Selector.MatchLabels {
			if svc.Metadata.Labels[k] != v {
				t.Errorf("ServiceMonitor %s selects %s=%s, which service %s does not carry (labels %v)", avWebDeploy, k, v, avWebDeploy, svc.Metadata.Labels)
			}
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %s endpoints %+v, want port metrics, path /metrics", avWebDeploy, sm.Spec.Endpoints)
		}
		wantTargets := []string{tenantLabel, planLabel, productLabel}
		if !reflect.DeepEqual(sm.Spec.TargetLabels, wantTargets) {
			t.Errorf("ServiceMonitor %s targetLabels %v, want %v", avWebDeploy, sm.Spec.TargetLabels, wantTargets)
		}
		for _, l := range wantTargets {
			if svc.Metadata.Labels[l] == "" {
				t.Errorf("ServiceMonitor %s copies label %s, which service %s does not carry", avWebDeploy, l, avWebDeploy)
			}
		}
		if sm.Metadata.Labels[tenantLabel] != avTenant || sm.Metadata.Labels["app.kubernetes.io/managed-by"] != "tenant-operator" {
			t.Errorf("ServiceMonitor %s labels %v, want the tenant's and managed-by tenant-operator", avWebDeploy, sm.Metadata.Labels)
		}
		tn, err := readProductsTenant(avTenant)
		if err != nil {
			t.Fatal(err)
		}
		if c := productsCondition(tn.Status.Conditions, "Ready"); c == nil || c.Status != "True" {
			t.Errorf("tenant %s with its ServiceMonitor: Ready %+v, want True", avTenant, c)
		}
	})
	st.step("ServiceMonitor written once its CRD was installed")

	t.Run("the owner cannot change or delete them", func(t *testing.T) {
		ns := avTenant
		as := func(args ...string) error {
			_, err := kubectlAs(avOwner, nil, args...)
			return err
		}
		managed := func(kind, field string) []string {
			return []string{"tenant-operator-managed-objects", kind + " " + ns + "/", "is managed by the tenant-operator for Tenant " + ns, field}
		}
		eventually(t, 30*time.Second, func() error {
			can, _ := kubectlAs(avOwner, nil, "auth", "can-i", "delete", "horizontalpodautoscalers.autoscaling", "-n", ns)
			if strings.TrimSpace(can) != "yes" {
				return fmt.Errorf("the owner's admin role is not in effect yet (can-i delete horizontalpodautoscalers: %q)", can)
			}
			return nil
		})
		// The owner role (admin) grants HPAs and PDBs, but not ServiceMonitors; a Role that
		// does (an admin's likely mistake) changes nothing.
		if can, _ := kubectlAs(avOwner, nil, "auth", "can-i", "patch", "servicemonitors.monitoring.coreos.com", "-n", ns); strings.TrimSpace(can) != "no" {
			t.Errorf("the owner role (admin) lets the owner patch servicemonitors: can-i says %q", can)
		}
		kubectlApply(t, fmt.Sprintf(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: owner-monitoring, namespace: %[1]s}
rules: [{apiGroups: [monitoring.coreos.com], resources: [servicemonitors], verbs: [get, list, create, update, patch, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owner-monitoring, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: owner-monitoring}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[2]s}]
`, ns, avOwner))
		eventually(t, 30*time.Second, func() error {
			can, _ := kubectlAs(avOwner, nil, "auth", "can-i", "delete", "servicemonitors.monitoring.coreos.com", "-n", ns)
			if strings.TrimSpace(can) != "yes" {
				return fmt.Errorf("the owner's extra Role is not in effect yet (can-i delete servicemonitors: %q)", can)
			}
			return nil
		})
		for _, o := range []struct{ kind, resource, name, patch, field string }{
			{"HorizontalPodAutoscaler", "horizontalpodautoscalers.v2.autoscaling", avBurstDeploy, `{"spec":{"maxReplicas":50}}`, "the ServicePlan's spec.products[].autoscaling"},
			// The same through autoscaling/v1: the policy matches equivalent versions.
			{"HorizontalPodAutoscaler", "horizontalpodautoscalers.v1.autoscaling", avBurstDeploy, `{"spec":{"minReplicas":1}}`, "the ServicePlan's spec.products[].autoscaling"},
			{"PodDisruptionBudget", "poddisruptionbudgets.policy", avWebDeploy, `{"spec":{"maxUnavailable":3}}`, "the ServicePlan's spec.products[].replicas or autoscaling"},
			{"PodDisruptionBudget", "poddisruptionbudgets.policy", avBurstDeploy, `{"spec":{"maxUnavailable":"100%"}}`, "the ServicePlan's spec.products[].replicas or autoscaling"},
			{"ServiceMonitor", "servicemonitors.monitoring.coreos.com", avWebDeploy, `{"spec":{"targetLabels":["app.kubernetes.io/name"]}}`, "the ApiProduct's components[].metrics"},
		} {
			err := as("patch", o.resource, o.name, "-n", ns, "--type=merge", "-p", o.patch, "--dry-run=server")
			if o.kind == "PodDisruptionBudget" && err != nil && strings.Contains(err.Error(), "tenant-operator-tenant-disruption-budgets") {
				// An update of a budget matches tenant-disruption-budgets too, which refuses
				// every budget write of the owner's; the API server reports one of the two.
				wantRefused(t, "the owner updating the operator's "+o.kind+" "+o.name, err, "disruption budgets are the platform's")
			} else {
				wantRefused(t, "the owner updating the operator's "+o.kind+" "+o.name+" ("+o.resource+")", err, managed(o.kind, o.field)...)
			}
			wantRefused(t, "the owner deleting the operator's "+o.kind+" "+o.name+" ("+o.resource+")",
				as("delete", o.resource, o.name, "-n", ns, "--dry-run=server"), managed(o.kind, o.field)...)
		}
		// The platform admin (system:masters) may: the refusals are the policy's, not the schema's.
		wantAllowed(t, "the cluster admin patching HPA "+avBurstDeploy,
			func() error {
				_, err := runKubectl(nil, "patch", "hpa", avBurstDeploy, "-n", ns, "--type=merge", "-p", `{"spec":{"maxReplicas":50}}`, "--dry-run=server")
				return err
			}())
	})
	st.step("owner refused")

	t.Run("evictions and the owner's own budgets", func(t *testing.T) {
		pods, err := avProductPods(avWeb)
		if err != nil || len(pods) == 0 {
			t.Fatalf("%s's Pods: %v (%v)", avWeb, pods, err)
		}
		pod := pods[0].Metadata.Name
		// A dry-run eviction, as a drain asks: the operator's budget lets one Pod go.
		evict := func() error {
			body := fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":%q,"namespace":%q},"deleteOptions":{"dryRun":["All"]}}`, pod, avTenant)
			_, err := runKubectl([]byte(body), "create", "--raw", "/api/v1/namespaces/"+avTenant+"/pods/"+pod+"/eviction", "-f", "-")
			return err
		}
		wantAllowed(t, "evicting "+pod+" (dry run) under the operator's budget", evict())

		pdb := func(name, maxUnavailable string) []byte {
			return []byte(fmt.Sprintf("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: %s, namespace: %s}\nspec:\n  maxUnavailable: %s\n  selector: {matchLabels: {app.kubernetes.io/name: %s}}\n",
				name, avTenant, maxUnavailable, avWebDeploy))
		}
		// The guardrail refuses every budget of the owner's: one that allows no disruption,
		// and a harmless-looking second one over the product's Pods, with which the eviction
		// API would refuse to evict any of them.
		for _, c := range []struct{ name, max string }{
			{"maxUnavailable 0", "0"}, {"maxUnavailable 00%", `"00%"`}, {"a second budget of maxUnavailable 1", "1"},
		} {
			wantRefused(t, "the owner creating a budget with "+c.name,
				func() error {
					_, err := kubectlAs(avOwner, pdb("owner-budget", c.max), "create", "--dry-run=server", "-f", "-")
					return err
				}(),
				"tenant-operator-tenant-disruption-budgets", "disruption budgets are the platform's")
		}
		wantAllowed(t, "evicting "+pod+" (dry run) after the owner's attempts", evict())
	})
	st.step("evictions checked")

	// The HPA controller's next sync brings the admin's 7 down to the maximum.
	eventually(t, 60*time.Second, func() error {
		var err error
		if burst, err = avGetDeployment(avBurstDeploy); err != nil {
			return err
		}
		if burst.replicas() != avMax {
			return fmt.Errorf("deployment %s: spec.replicas %d, want the HPA's maximum %d", avBurstDeploy, burst.replicas(), avMax)
		}
		return nil
	})
	if err := avGet("hpa", avBurstDeploy, &hpa); err != nil {
		t.Fatal(err)
	}
	var events struct {
		Items []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"items"`
	}
	kubectlJSON(t, &events, "get", "events", "-n", avTenant, "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name="+avBurstDeploy)
	var rescales []string
	for _, e := range events.Items {
		if e.Reason == "SuccessfulRescale" {
			rescales = append(rescales, e.Message)
		}
	}
	story.add("HPA brought it to spec.replicas %d, %v after the scale (HPA status desired %d, current %d; %s; events %q); spec.replicas owned by %v",
		burst.replicas(), time.Since(scaledAt).Round(100*time.Millisecond), hpa.Status.DesiredReplicas, hpa.Status.CurrentReplicas, hpa.conditions(), rescales, burst.replicaOwners())
	st.step("HPA scaled %s from 7 to %d", avBurstDeploy, avMax)

	// The operator applies the Deployment again (a product change): the count stays the HPA's.
	kubectlApply(t, avProducts("debug"))
	burst = waitRolled("debug", avMax)
	consistently(t, 2*time.Second, func() error {
		d, err := avGetDeployment(avBurstDeploy)
		if err != nil {
			return err
		}
		if d.replicas() != avMax {
			return fmt.Errorf("deployment %s: spec.replicas %d after the operator's apply, want the HPA's %d (owned by %v)", avBurstDeploy, d.replicas(), avMax, d.replicaOwners())
		}
		return nil
	})
	owners = burst.replicaOwners()
	story.add("product changed (LOG_LEVEL debug): new ReplicaSet rolled out at spec.replicas %d; spec.replicas owned by %v", burst.replicas(), owners)
	if slices.Contains(owners, "tenant-operator(Apply)") {
		t.Errorf("deployment %s: the operator owns spec.replicas (%v) while its HPA should", avBurstDeploy, owners)
	}
	st.step("product change rolled out at the HPA's %d replicas", avMax)

	// Suspended: no replicas, no autoscaler, no disruption budget.
	kubectl(t, "patch", "tenant", avTenant, "--type=merge", "-p", `{"spec":{"suspended":true}}`)
	eventually(t, 60*time.Second, func() error {
		for _, name := range []string{avWebDeploy, avBurstDeploy} {
			d, err := avGetDeployment(name)
			if err != nil {
				return err
			}
			if d.replicas() != 0 {
				return fmt.Errorf("suspended: deployment %s has spec.replicas %d, want 0", name, d.replicas())
			}
		}
		for _, r := range []string{"hpa", "pdb"} {
			if names, err := avNames(r); err != nil || len(names) > 0 {
				return fmt.Errorf("suspended: %s %v left (%v), want none", r, names, err)
			}
		}
		if pods, err := tenantPods(avTenant, avTenant); err != nil || len(pods) > 0 {
			return fmt.Errorf("suspended: %d Pods left (%v)", len(pods), err)
		}
		return nil
	})
	story.add("tenant suspended: spec.replicas 0, no HPA, no PDB, no Pods")
	st.step("suspended")

	// Resumed: back at the minimum, with the autoscaler and the budgets.
	resumedAt := time.Now()
	kubectl(t, "patch", "tenant", avTenant, "--type=merge", "-p", `{"spec":{"suspended":false}}`)
	eventually(t, 60*time.Second, func() error {
		var err error
		if burst, err = avGetDeployment(avBurstDeploy); err != nil {
			return err
		}
		if r := burst.replicas(); r != avMin && r != 0 {
			avDebug = true
			t.Fatalf("resumed: deployment %s has spec.replicas %d, want %d; spec.replicas owned by %v (resumed at %s)",
				avBurstDeploy, r, avMin, burst.replicaOwners(), resumedAt.UTC().Format(time.RFC3339Nano))
		}
		if err := burst.rolledOut(avMin); err != nil {
			return err
		}
		if web, err = avGetDeployment(avWebDeploy); err != nil {
			return err
		}
		if err := web.rolledOut(3); err != nil {
			return err
		}
		if names, err := avNames("hpa"); err != nil || !reflect.DeepEqual(names, []string{avBurstDeploy}) {
			return fmt.Errorf("resumed: HPAs %v (%v), want %s", names, err, avBurstDeploy)
		}
		if names, err := avNames("pdb"); err != nil || !reflect.DeepEqual(names, []string{avBurstDeploy, avWebDeploy}) {
			return fmt.Errorf("resumed: PDBs %v (%v), want %s and %s", names, err, avBurstDeploy, avWebDeploy)
		}
		return nil
	})
	story.add("tenant resumed: spec.replicas %d with 2 Pods Ready, HPA back; spec.replicas owned by %v", burst.replicas(), burst.replicaOwners())
	st.step("resumed")
	t.Logf("replica story of %s:\n  %s", avBurstDeploy, strings.Join(story.lines, "\n  "))
}
