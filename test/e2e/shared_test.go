package e2e

// Shared instances (docs: design/api.md, "Shared instances: resource sharing for lower
// tiers"; admin guide, "Shared instances"): three tenants on a plan that gives an exposed
// API-key product (Envoy Gateway policies) with tenancy Shared, one on a plan that gives it
// Dedicated. The real scheduler places the shared instance's Pods over the three zones of
// the kwok nodes; the Shared tenants run no Pods and the quota controller charges them
// nothing, but they keep their credentials, SecurityPolicy and route, which goes to the
// shared Service with X-Tenant set. The ReferenceGrant CRD is installed once the tenants are
// Ready: the operator then writes a grant per Shared tenant namespace, and Envoy Gateway's
// translator resolves the shared Service only where the grant is. A Shared tenant's owner
// can neither see into the shared namespace nor route there around the operator. Moves from
// Shared to Dedicated (the movers' Pods become Ready only after shReadyDelay, by a kwok
// Stage of the test's) keep a ready backend behind the route at every sample; the shared
// instance stays while a tenant uses it, and its namespace goes with the last (the
// namespace controller finishing it).

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

	"sigs.k8s.io/yaml"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

const (
	shProduct     = "sh-api"
	shFree        = "sh-free" // tenancy Shared
	shPro         = "sh-pro"  // tenancy Dedicated, 2 replicas
	shNS          = "shared-" + shProduct
	shReplicas    = 3 // spec.shared.replicas
	shProReplicas = 2
	shInstance    = shProduct + "-v1"   // the shared instance of v1
	shSharedSvc   = shInstance + "-api" // its Deployment and Service
	shOwnSvc      = shProduct + "-api"  // a Dedicated tenant's Deployment and Service
	shDedicated   = "sh-dora"           // on sh-pro from the start
	shMover       = "sh-ann"            // moves from Shared to Dedicated first
	shLastMover   = "sh-bob"            // moves last, beside shDeleted's deletion
	shDeleted     = "sh-cid"            // deleted while Shared
	sharedLabel   = "tenancy.openplatform.io/shared-product"
	managedBy     = "app.kubernetes.io/managed-by"
	httpRoutes    = "httproutes.gateway.networking.k8s.io"
	refGrants     = "referencegrants.gateway.networking.k8s.io"
	refGrantCRD   = "referencegrants.gateway.networking.k8s.io"
	shHeader      = "X-Tenant"
	shStage       = "e2e-shared-slow-ready"
	// shReadyDelay is how long the movers' own Pods take to become Ready (shStage): the
	// move is slow enough for the samples to see the own instance come up beside the shared
	// one while the route stays.
	shReadyDelay = 1500 * time.Millisecond
)

var shSharedTenants = []string{shMover, shLastMover, shDeleted}

var shSetup = fmt.Sprintf(`
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
      resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
  exposure:
    component: api
    gateway: {name: %[2]s, namespace: %[3]s}
    hostname: "{tenant}.sh.example.com"
    policies: EnvoyGateway
  auth: {type: APIKey}
  shared: {replicas: %[4]d}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: %[5]s}
spec:
  maxNamespaces: 1
  quota:
    hard: {requests.cpu: "1", requests.memory: 1Gi, limits.cpu: "2", limits.memory: 2Gi, pods: "10"}
  ownerRole: admin
  products:
  - {name: %[1]s, tenancy: Shared}
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: %[6]s}
spec:
  maxNamespaces: 1
  quota:
    hard: {requests.cpu: "1", requests.memory: 1Gi, limits.cpu: "2", limits.memory: 2Gi, pods: "10"}
  ownerRole: admin
  products:
  - {name: %[1]s, replicas: %[7]d}
`, shProduct, gwGatewayName, gwGatewayNS, shReplicas, shFree, shPro, shProReplicas)

func shTenantYAML(name, plan string) string {
	return fmt.Sprintf(`---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: %[1]s}
spec:
  plan: %[2]s
  owners: [{kind: User, name: %[3]s}]
`, name, plan, shOwnerOf(name))
}

func shOwnerOf(tenant string) string {
	return strings.TrimPrefix(tenant, "sh-") + "@" + tenant + ".example"
}

// The parts of the objects this test reads, from kubectl's JSON.

type shProductStatus struct {
	Name              string `json:"name"`
	Version           string `json:"version"`
	Namespace         string `json:"namespace"`
	Tenancy           string `json:"tenancy"`
	SharedInstance    string `json:"sharedInstance"`
	Replicas          int32  `json:"replicas"`
	ReadyReplicas     int32  `json:"readyReplicas"`
	Endpoint          string `json:"endpoint"`
	CredentialsSecret string `json:"credentialsSecret"`
}

type shTenant struct {
	Metadata struct {
		Name       string `json:"name"`
		Generation int64  `json:"generation"`
	} `json:"metadata"`
	Spec struct {
		Plan string `json:"plan"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64             `json:"observedGeneration"`
		Products           []shProductStatus `json:"products"`
		ProductsReady      string            `json:"productsReady"`
		Conditions         []condition       `json:"conditions"`
	} `json:"status"`
}

func (tn shTenant) product() shProductStatus {
	for _, p := range tn.Status.Products {
		if p.Name == shProduct {
			return p
		}
	}
	return shProductStatus{}
}

func (tn shTenant) cond(typ string) string {
	if c := productsCondition(tn.Status.Conditions, typ); c != nil {
		return c.Status + "/" + c.Reason
	}
	return "-"
}

func shGetTenant(name string) (shTenant, error) {
	var tn shTenant
	out, err := runKubectl(nil, "get", "tenant", name, "-o", "json")
	if err != nil {
		return tn, err
	}
	return tn, json.Unmarshal([]byte(out), &tn)
}

type shSharedInstance struct {
	Version       string `json:"version"`
	Namespace     string `json:"namespace"`
	Tenants       int32  `json:"tenants"`
	Replicas      int32  `json:"replicas"`
	ReadyReplicas int32  `json:"readyReplicas"`
}

func shSharedInstances() ([]shSharedInstance, error) {
	var p struct {
		Status struct {
			SharedInstances []shSharedInstance `json:"sharedInstances"`
		} `json:"status"`
	}
	out, err := runKubectl(nil, "get", "apiproduct", shProduct, "-o", "json")
	if err != nil {
		return nil, err
	}
	return p.Status.SharedInstances, json.Unmarshal([]byte(out), &p)
}

// shRoute is what a tenant's HTTPRoute routes to.
type shRoute struct {
	exists          bool
	namespace, name string // the backendRef; namespace "" is the route's own
	port            float64
	tenantHeader    string // the X-Tenant value its RequestHeaderModifier sets, "" when none
	filters         int    // RequestHeaderModifier filters setting X-Tenant
}

func (r shRoute) String() string {
	if !r.exists {
		return "no route"
	}
	ns := r.namespace
	if ns == "" {
		ns = "(own)"
	}
	s := fmt.Sprintf("%s/%s:%v", ns, r.name, r.port)
	if r.tenantHeader != "" {
		s += " X-Tenant=" + r.tenantHeader
	}
	return s
}

func (r shRoute) shared() bool { return r.namespace == shNS && r.name == shSharedSvc }
func (r shRoute) own(ns string) bool {
	return (r.namespace == "" || r.namespace == ns) && r.name == shOwnSvc
}

func shRouteOf(o gwObject) shRoute {
	r := shRoute{exists: o != nil}
	rules, _ := jsonAt(o, "spec", "rules").([]any)
	if len(rules) != 1 {
		return r
	}
	refs, _ := jsonAt(rules[0], "backendRefs").([]any)
	if len(refs) == 1 {
		r.namespace, r.name = jsonString(refs[0], "namespace"), jsonString(refs[0], "name")
		r.port, _ = jsonAt(refs[0], "port").(float64)
	}
	filters, _ := jsonAt(rules[0], "filters").([]any)
	for _, f := range filters {
		if jsonString(f, "type") != "RequestHeaderModifier" {
			continue
		}
		set, _ := jsonAt(f, "requestHeaderModifier", "set").([]any)
		for _, h := range set {
			if strings.EqualFold(jsonString(h, "name"), shHeader) {
				r.tenantHeader = jsonString(h, "value")
				r.filters++
			}
		}
	}
	return r
}

// shTenantObjects reads, in this order and with one kubectl, a tenant, its HTTPRoute of the
// product and its own Deployment of it (those two by kind/name, absent when they are).
func shTenantObjects(tenant string) (shTenant, map[string]gwObject, error) {
	var tn shTenant
	out, err := runKubectl(nil, "get", "tenants.tenancy.openplatform.io/"+tenant, httpRoutes+"/"+shProduct, "deployments.apps/"+shOwnSvc,
		"-n", tenant, "--ignore-not-found", "-o", "json")
	if err != nil {
		return tn, nil, err
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return tn, nil, err
	}
	objs := map[string]gwObject{}
	for _, raw := range list.Items {
		var o gwObject
		if err := json.Unmarshal(raw, &o); err != nil {
			return tn, nil, err
		}
		if o.kind() == "Tenant" {
			if err := json.Unmarshal(raw, &tn); err != nil {
				return tn, nil, err
			}
			continue
		}
		objs[o.kind()+"/"+o.meta("name")] = o
	}
	if tn.Metadata.Name != tenant {
		return tn, nil, fmt.Errorf("kubectl get returned no tenant %s: %.300s", tenant, out)
	}
	return tn, objs, nil
}

// shDeploy is a Deployment's replica counts, "absent" when it does not exist.
type shDeploy struct {
	exists                   bool
	want, ready, updated, up int32
	generation, observed     int64
}

func shDeployOf(o gwObject) shDeploy {
	if o == nil {
		return shDeploy{}
	}
	n := func(path ...any) int32 { f, _ := jsonAt(o, path...).(float64); return int32(f) }
	d := shDeploy{exists: true, want: 1, ready: n("status", "readyReplicas"), updated: n("status", "updatedReplicas"), up: n("status", "replicas")}
	if r, ok := jsonAt(o, "spec", "replicas").(float64); ok {
		d.want = int32(r)
	}
	g, _ := jsonAt(o, "metadata", "generation").(float64)
	og, _ := jsonAt(o, "status", "observedGeneration").(float64)
	d.generation, d.observed = int64(g), int64(og)
	return d
}

// available is health.Available: every replica of this generation updated and ready.
func (d shDeploy) available() bool {
	return d.exists && d.observed >= d.generation && d.want > 0 && d.ready == d.want && d.updated == d.want && d.up == d.want
}

func (d shDeploy) String() string {
	if !d.exists {
		return "absent"
	}
	return fmt.Sprintf("%d/%d ready", d.ready, d.want)
}

func shGetDeploy(ns, name string) (shDeploy, error) {
	out, err := runKubectl(nil, "get", "deployments.apps", name, "-n", ns, "-o", "json", "--ignore-not-found")
	if err != nil || strings.TrimSpace(out) == "" {
		return shDeploy{}, err
	}
	var o gwObject
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		return shDeploy{}, err
	}
	return shDeployOf(o), nil
}

// shPods are the Pods of a namespace.
func shPods(ns string) ([]productsPod, error) {
	out, err := runKubectl(nil, "get", "pods", "-n", ns, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []productsPod `json:"items"`
	}
	return list.Items, json.Unmarshal([]byte(out), &list)
}

// shPlacement checks that a namespace runs want Pods, all Running and Ready and labelled
// with label=value, and returns their placement ("pod on node (zone)") and the zones used.
func shPlacement(ns string, want int, label, value string, zoneOf map[string]string) ([]string, map[string]int, error) {
	pods, err := shPods(ns)
	if err != nil {
		return nil, nil, err
	}
	zones := map[string]int{}
	var placement []string
	for _, p := range pods {
		if p.Metadata.Labels[label] != value {
			return nil, nil, fmt.Errorf("pod %s/%s is not labelled %s=%s: %v", ns, p.Metadata.Name, label, value, p.Metadata.Labels)
		}
		if c := productsCondition(p.Status.Conditions, "Ready"); p.Status.Phase != "Running" || c == nil || c.Status != "True" {
			return nil, nil, fmt.Errorf("pod %s/%s is %s, Ready %+v", ns, p.Metadata.Name, p.Status.Phase, c)
		}
		zones[zoneOf[p.Spec.NodeName]]++
		placement = append(placement, fmt.Sprintf("%s on %s (%s)", p.Metadata.Name, p.Spec.NodeName, zoneOf[p.Spec.NodeName]))
	}
	sort.Strings(placement)
	if len(pods) != want {
		return placement, zones, fmt.Errorf("namespace %s has %d Pods (%s), want %d", ns, len(pods), strings.Join(placement, ", "), want)
	}
	return placement, zones, nil
}

// shQuotaPods is the pods usage of a namespace's tenant-quota, as the quota controller
// counts it ("" until it has).
func shQuotaPods(ns string) (string, error) {
	return runKubectl(nil, "get", "resourcequota", "tenant-quota", "-n", ns, "-o", "jsonpath={.status.used.pods}")
}

// shGrants are the ReferenceGrants of the shared namespace, by name.
func shGrants() (map[string]gwObject, error) {
	out, err := runKubectl(nil, "get", refGrants, "-n", shNS, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []gwObject `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	m := map[string]gwObject{}
	for _, o := range list.Items {
		m[o.meta("name")] = o
	}
	return m, nil
}

// shSlowReadyStage is the test's kwok Stage: hack/stages/pod.yaml's pod-ready, for the Pods
// of the given tenants only (by the tenant label the operator puts on product Pods), played
// after shReadyDelay. Its weight makes kwok play it, not pod-ready (weight 0), on the Pods
// both select.
func shSlowReadyStage(t *testing.T, tenants []string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.StagesDir(repoRoot), "pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var stage map[string]any
		if err := yaml.Unmarshal([]byte(doc), &stage); err != nil {
			t.Fatalf("hack/stages/pod.yaml: %v", err)
		}
		if jsonString(stage, "metadata", "name") != "pod-ready" {
			continue
		}
		spec, _ := stage["spec"].(map[string]any)
		stage["metadata"] = map[string]any{"name": shStage}
		sel, _ := jsonAt(spec, "selector", "matchExpressions").([]any)
		spec["selector"] = map[string]any{"matchExpressions": append(sel,
			map[string]any{"key": `.metadata.labels["` + tenantLabel + `"]`, "operator": "In", "values": tenants})}
		spec["weight"] = 5000
		spec["delay"] = map[string]any{"durationMilliseconds": shReadyDelay.Milliseconds()}
		out, err := yaml.Marshal(stage)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	t.Fatal("hack/stages/pod.yaml has no Stage pod-ready")
	return ""
}

// shTimeline records, for the log, what a move looked like.
type shTimeline struct {
	t     *testing.T
	start time.Time
	lines []string
}

func (tl *shTimeline) add(format string, args ...any) {
	tl.lines = append(tl.lines, fmt.Sprintf("[%5.2fs] ", time.Since(tl.start).Seconds())+fmt.Sprintf(format, args...))
}

func (tl *shTimeline) print(what string) {
	tl.t.Logf("%s:\n  %s", what, strings.Join(tl.lines, "\n  "))
}

// shMove samples, until done says the move is over (or a minute passed), the tenant's route,
// its own Deployment, the shared Deployment and its status, and fails the test at the first
// sample where the route's backend has no ready replicas (or the route is gone, or goes back
// to the shared instance). It returns the timeline.
func shMove(t *testing.T, tenant string, start time.Time, done func(shTenant, shRoute, shDeploy) bool) *shTimeline {
	t.Helper()
	tl := &shTimeline{t: t, start: start}
	var last string
	switchedAt, ownReadyAt := time.Duration(-1), time.Duration(-1)
	samples, beside, moving := 0, 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The status first (kubectl reads them in the order given): the operator writes it
		// after the objects of the same pass, so a status that says Dedicated must find the
		// route already switched.
		tn, objs, err := shTenantObjects(tenant)
		if err != nil {
			t.Fatal(err)
		}
		route := shRouteOf(objs["HTTPRoute/"+shProduct])
		own := shDeployOf(objs["Deployment/"+shOwnSvc])
		shared, err := shGetDeploy(shNS, shSharedSvc)
		if err != nil {
			t.Fatal(err)
		}
		samples++
		at := time.Since(start)
		p := tn.product()
		state := fmt.Sprintf("route -> %s; own Deployment %s; shared Deployment %s; status tenancy %s %s, ProductsReady %s, Ready %s",
			route, own, shared, orDash(p.Tenancy), orDash(p.SharedInstance), tn.cond("ProductsReady"), tn.cond("Ready"))
		if state != last {
			tl.add("%s", state)
			last = state
		}
		if own.available() && ownReadyAt < 0 {
			ownReadyAt = at
		}
		if p.Tenancy == "Dedicated" && !route.own(tenant) {
			tl.print("move of " + tenant)
			t.Fatalf("sample %d: tenant %s's status says Dedicated (ProductsReady %s) while its route still goes to %s",
				samples, tenant, tn.cond("ProductsReady"), route)
		}
		if p.Tenancy == "Shared" && !strings.HasPrefix(tn.cond("ProductsReady"), "False/") && tn.Status.ObservedGeneration == tn.Metadata.Generation {
			t.Errorf("sample %d: tenant %s is moving (plan %s, still served by %s) but ProductsReady is %s, want False",
				samples, tenant, shPro, p.SharedInstance, tn.cond("ProductsReady"))
		}
		switch {
		case !route.exists:
			tl.print("move of " + tenant)
			t.Fatalf("sample %d: tenant %s has no HTTPRoute %s", samples, tenant, shProduct)
		case route.shared():
			if own.exists && !own.available() {
				beside++
			}
			if p.Tenancy == "Shared" && strings.HasPrefix(tn.cond("ProductsReady"), "False/") {
				moving++
			}
			if switchedAt >= 0 {
				tl.print("move of " + tenant)
				t.Fatalf("sample %d: the route of %s went back to the shared instance after it had switched to its own", samples, tenant)
			}
			if !shared.available() || route.tenantHeader != tenant {
				tl.print("move of " + tenant)
				t.Fatalf("sample %d: the route of %s goes to the shared instance (%s), which is %s", samples, tenant, route, shared)
			}
		case route.own(tenant):
			if switchedAt < 0 {
				switchedAt = at
				tl.add("route switched to the tenant's own Service; its Deployment is %s", own)
			}
			if !own.available() {
				tl.print("move of " + tenant)
				t.Fatalf("sample %d: the route of %s goes to its own Service while its Deployment is %s", samples, tenant, own)
			}
			if route.tenantHeader != "" {
				t.Errorf("sample %d: the route of %s to its own Service still sets X-Tenant %s", samples, tenant, route.tenantHeader)
			}
		default:
			tl.print("move of " + tenant)
			t.Fatalf("sample %d: the route of %s goes to %s, neither the shared nor its own Service", samples, tenant, route)
		}
		if done(tn, route, own) {
			break
		}
		if time.Now().After(deadline) {
			tl.print("move of " + tenant)
			t.Fatalf("the move of %s is not done after a minute: %s", tenant, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tl.add("move done after %d samples, each with a ready backend behind the route (%d with the own instance coming up beside the serving shared one, %d with status Shared and ProductsReady False); own Deployment available at %.2fs, route switched at %.2fs",
		samples, beside, moving, ownReadyAt.Seconds(), switchedAt.Seconds())
	if beside == 0 || moving == 0 {
		t.Errorf("the move of %s: %d samples saw its own instance come up while the shared one served it, %d saw status Shared with ProductsReady False; want some of each (its Pods become Ready %v after they start)",
			tenant, beside, moving, shReadyDelay)
	}
	if switchedAt >= 0 && ownReadyAt > switchedAt {
		t.Errorf("the route of %s switched at %v, before its own Deployment was available at %v", tenant, switchedAt, ownReadyAt)
	}
	return tl
}

// TestShared: see the top of the file.
func TestShared(t *testing.T) {
	parallelStory(t)
	dumpOnFailure(t)
	restartOperatorIfDown(t)
	st := newScenarioTimer(t)
	start := time.Now()

	zoneOf := nodeZones(t)
	installHTTPRouteCRD(t)
	kubectlApply(t, shSlowReadyStage(t, []string{shMover, shLastMover}))
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "stages.kwok.x-k8s.io", shStage, "--ignore-not-found"); err != nil {
			t.Logf("deleting Stage %s: %v", shStage, err)
		}
	})
	all := append([]string{shDedicated}, shSharedTenants...)
	t.Cleanup(func() {
		args := []string{"delete", "tenants"}
		args = append(args, all...)
		if _, err := runKubectl(nil, append(args, "--ignore-not-found", "--wait", "--timeout=120s")...); err != nil {
			t.Logf("deleting the test's tenants: %v", err)
		}
		if _, err := runKubectl(nil, "delete", "serviceplan/"+shFree, "serviceplan/"+shPro, "apiproduct/"+shProduct, "--ignore-not-found", "--wait=false"); err != nil {
			t.Logf("deleting the test's plans and product: %v", err)
		}
	})
	setup := shSetup + shTenantYAML(shDedicated, shPro)
	for _, n := range shSharedTenants {
		setup += shTenantYAML(n, shFree)
	}
	kubectlApply(t, setup)
	st.step("HTTPRoute CRD installed, zones labelled, product, plans and 4 tenants applied")

	// All four Ready, as kubectl says it.
	waitArgs := []string{"wait", "--for=condition=Ready", "--timeout=60s"}
	for _, n := range all {
		waitArgs = append(waitArgs, "tenant/"+n)
	}
	kubectl(t, waitArgs...)
	st.step("kubectl wait --for=condition=Ready: the 4 tenants are Ready")

	// The ReferenceGrant CRD comes after the shared instance: the operator notices it and
	// writes the grants, one per Shared tenant namespace.
	installGatewayAPICRD(t, "referencegrants")
	var wantGrants []string
	for _, n := range shSharedTenants {
		wantGrants = append(wantGrants, "routes-"+n)
	}
	sort.Strings(wantGrants)
	eventually(t, 30*time.Second, func() error {
		grants, err := shGrants()
		if err != nil {
			return err
		}
		if names := slices.Sorted(maps.Keys(grants)); !reflect.DeepEqual(names, wantGrants) {
			return fmt.Errorf("ReferenceGrants in %s: %v, want %v", shNS, names, wantGrants)
		}
		return nil
	})
	st.step("ReferenceGrant CRD installed: the operator wrote the grants %v", wantGrants)

	t.Run("Pods only where expected", func(t *testing.T) {
		var placement []string
		var zones map[string]int
		eventually(t, 30*time.Second, func() error {
			var err error
			placement, zones, err = shPlacement(shNS, shReplicas, sharedLabel, shProduct, zoneOf)
			return err
		})
		t.Logf("Pods in %s (the shared instance %s): %s", shNS, shInstance, strings.Join(placement, ", "))
		if len(zones) != shReplicas || zones[""] > 0 {
			t.Errorf("the shared instance's %d Pods run in zones %v, want one per zone", shReplicas, zones)
		}
		placement, zones, err := shPlacement(shDedicated, shProReplicas, tenantLabel, shDedicated, zoneOf)
		if err != nil {
			t.Error(err)
		}
		t.Logf("Pods in %s (Dedicated): %s", shDedicated, strings.Join(placement, ", "))
		if len(zones) != shProReplicas || zones[""] > 0 {
			t.Errorf("%s's %d Pods run in zones %v, want each in a zone of its own", shDedicated, shProReplicas, zones)
		}
		for _, ns := range shSharedTenants {
			pods, err := shPods(ns)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range pods {
				names = append(names, p.Metadata.Name)
			}
			t.Logf("Pods in %s (Shared): %d %v", ns, len(pods), names)
			if len(pods) != 0 {
				t.Errorf("Shared tenant %s runs Pods %v, want none", ns, names)
			}
			out := kubectl(t, "get", "deployments.apps,services", "-n", ns, "-o", "name")
			if strings.TrimSpace(out) != "" {
				t.Errorf("Shared tenant %s has Deployments or Services: %s", ns, out)
			}
		}
		// The quota controller's count: nothing for the Shared tenants, the Pods of the
		// Dedicated one.
		eventually(t, 30*time.Second, func() error {
			for _, ns := range all {
				used, err := shQuotaPods(ns)
				if err != nil {
					return err
				}
				want := "0"
				if ns == shDedicated {
					want = fmt.Sprint(shProReplicas)
				}
				if used != want {
					return fmt.Errorf("tenant-quota in %s: status.used.pods %q, want %s", ns, used, want)
				}
			}
			return nil
		})
		t.Logf("tenant-quota status.used.pods: %s %d, %s 0 each", shDedicated, shProReplicas, strings.Join(shSharedTenants, ", "))
	})
	st.step("Pods placed: %d in %s, %d in %s, none in the Shared tenants' namespaces", shReplicas, shNS, shProReplicas, shDedicated)

	t.Run("status", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			for _, n := range all {
				tn, err := shGetTenant(n)
				if err != nil {
					return err
				}
				p := tn.product()
				want := shProductStatus{Name: shProduct, Version: "v1", Namespace: shNS, Tenancy: "Shared", SharedInstance: shInstance,
					Replicas: shReplicas, ReadyReplicas: shReplicas, CredentialsSecret: shProduct + "-credentials", Endpoint: p.Endpoint}
				if n == shDedicated {
					want.Namespace, want.Tenancy, want.SharedInstance = shDedicated, "Dedicated", ""
					want.Replicas, want.ReadyReplicas = shProReplicas, shProReplicas
				}
				if p != want || !strings.Contains(p.Endpoint, n+".sh.example.com") || tn.Status.ProductsReady != "1/1" {
					return fmt.Errorf("tenant %s: status.products[] %+v (productsReady %s), want %+v with an endpoint on %s.sh.example.com, 1/1",
						n, p, tn.Status.ProductsReady, want, n)
				}
			}
			return nil
		})
		for _, n := range []string{shDedicated, shMover} {
			out := kubectl(t, "get", "tenant", n, "-o", "jsonpath={.status.products[0]}")
			t.Logf("kubectl get tenant %s -o jsonpath={.status.products[0]}: %s", n, out)
		}
		var got []shSharedInstance
		eventually(t, 30*time.Second, func() error {
			var err error
			if got, err = shSharedInstances(); err != nil {
				return err
			}
			want := []shSharedInstance{{Version: "v1", Namespace: shNS, Tenants: 3, Replicas: shReplicas, ReadyReplicas: shReplicas}}
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("ApiProduct %s status.sharedInstances %+v, want %+v", shProduct, got, want)
			}
			return nil
		})
		t.Logf("kubectl get apiproduct %s -o jsonpath={.status.sharedInstances}: %s", shProduct,
			kubectl(t, "get", "apiproduct", shProduct, "-o", "jsonpath={.status.sharedInstances}"))
	})
	st.step("status checked")

	t.Run("the shared namespace", func(t *testing.T) {
		l := labelsOf(t, "namespace", shNS)
		if l[managedBy] != "tenant-operator" || l[sharedLabel] != shProduct || l[tenantLabel] != "" || l[pssPrefix+"enforce"] != "restricted" {
			t.Errorf("namespace %s labels %v, want managed-by tenant-operator, %s=%s, no tenant label, Pod Security restricted", shNS, l, sharedLabel, shProduct)
		}
		var np struct {
			Spec struct {
				PodSelector map[string]any `json:"podSelector"`
				PolicyTypes []string       `json:"policyTypes"`
				Ingress     []struct {
					From []struct {
						NamespaceSelector *avLabelSelector `json:"namespaceSelector"`
						PodSelector       *avLabelSelector `json:"podSelector"`
						IPBlock           any              `json:"ipBlock"`
					} `json:"from"`
					Ports []any `json:"ports"`
				} `json:"ingress"`
			} `json:"spec"`
		}
		kubectlJSON(t, &np, "get", "networkpolicy", "shared-isolation", "-n", shNS)
		// Ingress from the namespace's own Pods (the instance's components) and the gateway's
		// namespace; the plans admit no other peers.
		in := np.Spec.Ingress
		var peers []string
		for _, r := range in {
			for _, f := range r.From {
				switch {
				case f.IPBlock != nil:
					peers = append(peers, fmt.Sprintf("ipBlock %v", f.IPBlock))
				case f.NamespaceSelector != nil && f.PodSelector == nil:
					peers = append(peers, fmt.Sprintf("namespaces %v", f.NamespaceSelector.MatchLabels))
				case f.NamespaceSelector == nil && f.PodSelector != nil:
					peers = append(peers, fmt.Sprintf("own pods %v", f.PodSelector.MatchLabels))
				default:
					peers = append(peers, fmt.Sprintf("namespaces %v pods %v", f.NamespaceSelector, f.PodSelector))
				}
			}
		}
		wantPeers := []string{"own pods map[]", fmt.Sprintf("namespaces map[kubernetes.io/metadata.name:%s]", gwGatewayNS)}
		t.Logf("NetworkPolicy %s/shared-isolation admits: %v", shNS, peers)
		if len(np.Spec.PodSelector) != 0 || !reflect.DeepEqual(np.Spec.PolicyTypes, []string{"Ingress"}) || len(in) != 1 || len(in[0].Ports) != 0 ||
			!reflect.DeepEqual(peers, wantPeers) {
			b, _ := json.Marshal(np.Spec)
			t.Errorf("NetworkPolicy %s/shared-isolation: spec %s (peers %v), want every Pod, ingress only from %v", shNS, b, peers, wantPeers)
		}
		names := strings.Fields(kubectl(t, "get", "deployments.apps,services,poddisruptionbudgets.policy,networkpolicies.networking.k8s.io", "-n", shNS, "-o", "name"))
		sort.Strings(names)
		want := []string{"deployment.apps/" + shSharedSvc, "networkpolicy.networking.k8s.io/shared-isolation",
			"poddisruptionbudget.policy/" + shSharedSvc, "service/" + shSharedSvc}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("namespace %s holds %v, want %v", shNS, names, want)
		}
		d := kubectl(t, "get", "deployment", shSharedSvc, "-n", shNS, "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}")
		for _, e := range []string{"TENANT", "API_KEY", "RATE_LIMIT_RPM"} {
			if slices.Contains(strings.Fields(d), e) {
				t.Errorf("the shared Deployment %s has %s in its environment (%s): a shared instance has no tenant", shSharedSvc, e, d)
			}
		}
	})

	// The Shared tenants keep their credentials and gateway policies.
	t.Run("the Shared tenants' own objects", func(t *testing.T) {
		for _, ns := range append([]string{shDedicated}, shSharedTenants...) {
			names := strings.Fields(kubectl(t, "get", "secrets,"+httpRoutes+",securitypolicies.gateway.envoyproxy.io", "-n", ns, "-l", productLabel+"="+shProduct, "-o", "name"))
			sort.Strings(names)
			want := []string{"httproute.gateway.networking.k8s.io/" + shProduct, "secret/" + shProduct + "-credentials", "secret/" + shProduct + "-gateway-keys",
				"securitypolicy.gateway.envoyproxy.io/" + shProduct}
			if !reflect.DeepEqual(names, want) {
				t.Errorf("namespace %s: the product's objects %v, want %v", ns, names, want)
			}
		}
	})
	st.step("shared namespace and the tenants' own objects checked")

	t.Run("routes and ReferenceGrants", func(t *testing.T) {
		for _, ns := range all {
			objs := gwGet(t, ns, httpRoutes)
			o := objs["HTTPRoute/"+ns+"/"+shProduct]
			r := shRouteOf(o)
			t.Logf("HTTPRoute %s/%s -> %s (hostnames %v)", ns, shProduct, r, jsonAt(o, "spec", "hostnames"))
			if !reflect.DeepEqual(jsonAt(o, "spec", "hostnames"), []any{ns + ".sh.example.com"}) {
				t.Errorf("HTTPRoute %s/%s hostnames %v, want %s.sh.example.com", ns, shProduct, jsonAt(o, "spec", "hostnames"), ns)
			}
			switch {
			case ns == shDedicated:
				if !r.own(ns) || r.namespace != "" || r.port != 8080 || r.tenantHeader != "" {
					t.Errorf("the Dedicated tenant's route goes to %s, want its own Service %s:8080 and no X-Tenant", r, shOwnSvc)
				}
			case !r.shared() || r.port != 8080 || r.tenantHeader != ns || r.filters != 1:
				t.Errorf("Shared tenant %s's route goes to %s (%d X-Tenant headers set), want %s/%s:8080 setting X-Tenant=%s once",
					ns, r, r.filters, shNS, shSharedSvc, ns)
			}
		}
		grants, err := shGrants()
		if err != nil {
			t.Fatal(err)
		}
		if names := slices.Sorted(maps.Keys(grants)); !reflect.DeepEqual(names, wantGrants) {
			t.Errorf("ReferenceGrants in %s: %v, want one per Shared tenant namespace %v (none for %s)", shNS, names, wantGrants, shDedicated)
		}
		for _, ns := range shSharedTenants {
			g := grants["routes-"+ns]
			from, to := jsonAt(g, "spec", "from"), jsonAt(g, "spec", "to")
			wantFrom := []any{map[string]any{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": ns}}
			wantTo := []any{map[string]any{"group": "", "kind": "Service"}}
			if g != nil && (!reflect.DeepEqual(from, wantFrom) || !reflect.DeepEqual(to, wantTo)) {
				t.Errorf("ReferenceGrant %s/routes-%s: from %v to %v, want from HTTPRoutes of %s to Services", shNS, ns, from, to, ns)
			}
		}
	})
	st.step("routes and ReferenceGrants checked")

	// Envoy Gateway's translator on two Shared tenants' objects, the shared Service and the
	// grant of one of them only: the other's route must be refused its cross-namespace
	// backend. It runs while the owner tries its ways around (below).
	egctl := egctlBinary(t)
	granted, ungranted := shMover, shLastMover
	var egObjs []gwObject
	for _, ns := range []string{granted, ungranted} {
		got := gwGet(t, ns, httpRoutes+",securitypolicies.gateway.envoyproxy.io,secrets")
		for _, k := range slices.Sorted(maps.Keys(got)) {
			egObjs = append(egObjs, got[k])
		}
	}
	sharedObjs := gwGet(t, shNS, "services,"+refGrants)
	svc := sharedObjs["Service/"+shNS+"/"+shSharedSvc]
	grant := sharedObjs["ReferenceGrant/"+shNS+"/routes-"+granted]
	if svc == nil || grant == nil {
		t.Fatalf("no Service %s or ReferenceGrant routes-%s in %s", shSharedSvc, granted, shNS)
	}
	egObjs = append(egObjs, svc, grant)
	translated := startTranslate(t, egctl, egctlInput(t, egObjs), "a Gateway and the objects of 2 tenants (run while the owner tried its ways around)")

	shHostileOwner(t)
	st.step("hostile owner refused")

	t.Run("Envoy Gateway resolves the shared Service where the grant is", func(t *testing.T) {
		tr := translated()

		resolved := map[string]string{}
		for _, it := range tr.raw["httpRoutes"].([]any) {
			ns := jsonString(it, "metadata", "namespace")
			for _, c := range jsonFind(jsonAt(it, "status"), func(m map[string]any) bool { return m["type"] == "ResolvedRefs" }) {
				resolved[ns] = fmt.Sprintf("%v/%v", c["status"], c["reason"])
			}
		}
		t.Logf("egctl: ResolvedRefs of the routes: %v", resolved)
		if resolved[granted] != "True/ResolvedRefs" || resolved[ungranted] != "False/RefNotPermitted" {
			t.Errorf("egctl: ResolvedRefs %v, want True for %s (with its ReferenceGrant) and False/RefNotPermitted for %s (without)", resolved, granted, ungranted)
		}
		route := tr.route(t, granted, shProduct)
		headers, _ := jsonAt(route, "requestHeadersToAdd").([]any)
		var set []string
		for _, h := range headers {
			set = append(set, jsonString(h, "header", "key")+"="+jsonString(h, "header", "value")+" ("+jsonString(h, "appendAction")+")")
		}
		if !slices.Contains(set, shHeader+"="+granted+" (OVERWRITE_IF_EXISTS_OR_ADD)") {
			t.Errorf("egctl: route %s/%s adds request headers %v, want %s=%s overwriting a client's", granted, shProduct, set, shHeader, granted)
		}
		if jsonAt(route, "typedPerFilterConfig", "envoy.filters.http.api_key_auth") == nil {
			t.Errorf("egctl: route %s/%s has no api_key_auth: the tenant's SecurityPolicy does not guard its route to the shared instance", granted, shProduct)
		}
		cluster := jsonString(route, "route", "cluster")
		loads := jsonFind(tr.raw["xds"], func(m map[string]any) bool { return m["clusterName"] == cluster && m["endpoints"] != nil })
		var addrs, backends []string
		for _, l := range loads {
			for _, ep := range jsonFind(l, func(m map[string]any) bool { return m["socketAddress"] != nil }) {
				addrs = append(addrs, fmt.Sprintf("%s:%v", jsonString(ep, "socketAddress", "address"), jsonAt(ep, "socketAddress", "portValue")))
			}
			for _, r := range jsonFind(l, func(m map[string]any) bool { return m["kind"] == "Service" }) {
				backends = append(backends, fmt.Sprintf("%s/%s", r["namespace"], r["name"]))
			}
		}
		ip := jsonString(svc, "spec", "clusterIP")
		t.Logf("egctl: route %s/%s sets %v, goes to cluster %s: endpoints %v of %v", granted, shProduct, set, cluster, addrs, backends)
		if !reflect.DeepEqual(addrs, []string{ip + ":8080"}) || !reflect.DeepEqual(backends, []string{shNS + "/" + shSharedSvc}) {
			t.Errorf("egctl: cluster %s has endpoints %v of %v, want %s:8080 of Service %s/%s", cluster, addrs, backends, ip, shNS, shSharedSvc)
		}
	})
	st.step("egctl translated the routes")

	// Shared -> Dedicated: the tenant's own instance comes up beside the shared one; the route
	// switches once it is available.
	moveStart := time.Now()
	kubectl(t, "patch", "tenant", shMover, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"plan":%q}}`, shPro))
	tl := shMove(t, shMover, moveStart, func(tn shTenant, r shRoute, own shDeploy) bool {
		return r.own(shMover) && tn.product().Tenancy == "Dedicated" && strings.HasPrefix(tn.cond("Ready"), "True/")
	})
	tl.print(fmt.Sprintf("move of %s from %s (Shared) to %s (Dedicated)", shMover, shFree, shPro))
	st.step("%s moved to Dedicated", shMover)

	t.Run("after the first move", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			got, err := shSharedInstances()
			if err != nil {
				return err
			}
			want := []shSharedInstance{{Version: "v1", Namespace: shNS, Tenants: 2, Replicas: shReplicas, ReadyReplicas: shReplicas}}
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("status.sharedInstances %+v, want %+v", got, want)
			}
			grants, err := shGrants()
			if err != nil {
				return err
			}
			if names := slices.Sorted(maps.Keys(grants)); !reflect.DeepEqual(names, []string{"routes-" + shLastMover, "routes-" + shDeleted}) {
				return fmt.Errorf("ReferenceGrants %v, want those of the 2 Shared tenants left", names)
			}
			return nil
		})
		placement, _, err := shPlacement(shMover, shProReplicas, tenantLabel, shMover, zoneOf)
		if err != nil {
			t.Error(err)
		}
		t.Logf("Pods in %s after its move: %s", shMover, strings.Join(placement, ", "))
		if _, _, err := shPlacement(shNS, shReplicas, sharedLabel, shProduct, zoneOf); err != nil {
			t.Errorf("the shared instance after %s left: %v", shMover, err)
		}
		eventually(t, 30*time.Second, func() error {
			if used, err := shQuotaPods(shMover); err != nil || used != fmt.Sprint(shProReplicas) {
				return fmt.Errorf("tenant-quota in %s: status.used.pods %q (%v), want %d", shMover, used, err, shProReplicas)
			}
			return nil
		})
	})
	st.step("shared instance kept for the 2 others")

	// The last ones: one deleted, one moved; the instance stays until the mover's own is
	// available, then the namespace goes.
	lastStart := time.Now()
	kubectl(t, "delete", "tenant", shDeleted, "--wait=false")
	kubectl(t, "patch", "tenant", shLastMover, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"plan":%q}}`, shPro))
	tl = shMove(t, shLastMover, lastStart, func(tn shTenant, r shRoute, own shDeploy) bool {
		return r.own(shLastMover) && tn.product().Tenancy == "Dedicated" && strings.HasPrefix(tn.cond("Ready"), "True/")
	})
	var phase string
	nsPhase := func() error {
		out, err := runKubectl(nil, "get", "namespace", shNS, "--ignore-not-found", "-o", "jsonpath={.status.phase}")
		if err != nil {
			return err
		}
		if p := strings.TrimSpace(out); p != phase {
			tl.add("namespace %s: %s", shNS, orDash(p))
			phase = p
		}
		return nil
	}
	// No tenant needs the shared instance any more: the operator deletes its namespace.
	eventually(t, 30*time.Second, func() error {
		if err := nsPhase(); err != nil {
			return err
		}
		if phase == "Active" {
			return fmt.Errorf("namespace %s is still Active", shNS)
		}
		return nil
	})
	eventually(t, 30*time.Second, func() error {
		if got, err := shSharedInstances(); err != nil || len(got) != 0 {
			return fmt.Errorf("ApiProduct %s status.sharedInstances %+v (%v) with no Shared tenant, want none", shProduct, got, err)
		}
		return nil
	})
	// The other tenants go meanwhile (the namespace controller deletes their namespaces
	// beside the shared one); the cleanup has nothing left to wait for.
	kubectl(t, "delete", "tenants", shDedicated, shMover, shLastMover, "--wait=false")
	tl.add("tenants %s, %s and %s deleted (the test is over for them)", shDedicated, shMover, shLastMover)
	eventually(t, 60*time.Second, func() error {
		if err := nsPhase(); err != nil {
			return err
		}
		if phase != "" {
			return fmt.Errorf("namespace %s is still there (%s)", shNS, phase)
		}
		return nil
	})
	tl.add("namespace %s gone", shNS)
	expectNotFound(t, "namespace", shNS)
	eventually(t, 60*time.Second, func() error {
		out, err := runKubectl(nil, append([]string{"get", "tenants", "--ignore-not-found", "-o", "name"}, all...)...)
		if err != nil || strings.TrimSpace(out) != "" {
			return fmt.Errorf("tenants still there: %s %v", strings.Join(strings.Fields(out), ", "), err)
		}
		return nil
	})
	tl.add("tenants gone")
	tl.print(fmt.Sprintf("deletion of %s and move of %s; the shared namespace", shDeleted, shLastMover))
	st.step("shared namespace %s deleted with its last tenant; the tenants deleted", shNS)
	t.Logf("TestShared took %v", time.Since(start).Round(100*time.Millisecond))
}

// shHostileOwner: the owner of a Shared tenant tries to reach the shared instance around
// the operator's route.
func shHostileOwner(t *testing.T) {
	t.Run("a Shared tenant's owner", func(t *testing.T) {
		ns, owner := shLastMover, shOwnerOf(shLastMover)
		as := func(stdin []byte, args ...string) error {
			_, err := kubectlAs(owner, stdin, args...)
			return err
		}
		eventually(t, 30*time.Second, func() error {
			can, _ := kubectlAs(owner, nil, "auth", "can-i", "create", "deployments", "-n", ns)
			if strings.TrimSpace(can) != "yes" {
				return fmt.Errorf("the owner's admin role is not in effect yet (can-i create deployments in %s: %q)", ns, can)
			}
			return nil
		})
		// RBAC: nothing in the shared namespace, read or write.
		for _, r := range []string{"pods", "deployments.apps", "services", "secrets", refGrants} {
			wantRefused(t, "the owner listing "+r+" in "+shNS, as(nil, "get", r, "-n", shNS), "forbidden")
		}
		// What the owner may do in the shared namespace, all of it: nothing but asking
		// what it may do and reading its own Tenant.
		out, err := kubectlAs(owner, nil, "auth", "can-i", "--list", "-n", shNS)
		if err != nil {
			t.Fatal(err)
		}
		var granted []string
		for _, row := range parseTable(out).rows {
			r, names := row["Resources"], row["Resource Names"]
			switch {
			case r == "":
			case strings.HasPrefix(r, "selfsubject") && (strings.HasSuffix(r, ".authorization.k8s.io") || strings.HasSuffix(r, ".authentication.k8s.io")):
			case r == "tenants.tenancy.openplatform.io" && names == "["+ns+"]":
			default:
				granted = append(granted, r+" "+names+" "+row["Verbs"])
			}
		}
		if len(granted) > 0 {
			t.Errorf("the owner of %s may, in %s: %v\n%s", ns, shNS, granted, out)
		}
		wantRefused(t, "the owner proxying to the shared Service",
			as(nil, "get", "--raw", "/api/v1/namespaces/"+shNS+"/services/"+shSharedSvc+":8080/proxy/"), "forbidden")
		wantRefused(t, "the owner labelling namespace "+shNS, as(nil, "label", "namespace", shNS, "x=y", "--dry-run=server"), "forbidden")

		// Where an admin lets owners write HTTPRoutes: the operator's route cannot be turned
		// elsewhere, and a route of the owner's own cannot reach the shared Service (its
		// namespace's ReferenceGrant would let Envoy Gateway resolve it, and it could claim
		// another tenant in X-Tenant).
		kubectlApply(t, fmt.Sprintf(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: owner-routes, namespace: %[1]s}
rules: [{apiGroups: [gateway.networking.k8s.io], resources: [httproutes], verbs: [create, get, update, patch, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owner-routes, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: owner-routes}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: %[2]s}]
`, ns, owner))
		eventually(t, 30*time.Second, func() error {
			can, _ := kubectlAs(owner, nil, "auth", "can-i", "patch", httpRoutes, "-n", ns)
			if strings.TrimSpace(can) != "yes" {
				return fmt.Errorf("the owner's route Role is not in effect yet (can-i patch httproutes: %q)", can)
			}
			return nil
		})
		for _, p := range []struct{ what, patch string }{
			{"to claim tenant " + shMover + " in X-Tenant", fmt.Sprintf(`[{"op":"replace","path":"/spec/rules/0/filters/0/requestHeaderModifier/set/0/value","value":%q}]`, shMover)},
			{"to drop X-Tenant", `[{"op":"remove","path":"/spec/rules/0/filters"}]`},
			{"to another Service", `[{"op":"replace","path":"/spec/rules/0/backendRefs/0/name","value":"elsewhere"}]`},
		} {
			err := as(nil, "patch", httpRoutes, shProduct, "-n", ns, "--type=json", "-p", p.patch, "--dry-run=server")
			switch {
			case err == nil:
				t.Errorf("the owner changing the operator's route %s: allowed, want it refused", p.what)
			case strings.Contains(err.Error(), "tenant-operator-managed-objects"):
				wantRefused(t, "the owner changing the operator's route "+p.what, err, "HTTPRoute "+ns+"/"+shProduct, "is managed by the tenant-operator for Tenant "+ns)
			default:
				wantRefused(t, "the owner changing the operator's route "+p.what, err, "tenant-operator-tenant-httproutes")
				t.Logf("the owner changing the operator's route %s: refused by tenant-httproutes: %v", p.what, err)
			}
		}
		wantRefused(t, "the owner deleting the operator's route", as(nil, "delete", httpRoutes, shProduct, "-n", ns, "--dry-run=server"),
			"tenant-operator-managed-objects")

		ownRoute := func(name, filters string) []byte {
			return []byte(fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  parentRefs: [{name: %[3]s, namespace: %[4]s}]
  hostnames: [%[2]s.sh.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /free-for-all}}]
    backendRefs: [{name: %[5]s, namespace: %[6]s, port: 8080}]%[7]s
`, name, ns, gwGatewayName, gwGatewayNS, shSharedSvc, shNS, filters))
		}
		// The schema takes them: the cluster admin's dry run passes.
		claim := fmt.Sprintf("\n    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Tenant, value: %s}]}}]", shMover)
		for _, c := range []struct{ what, name, filters string }{
			{"claiming tenant " + shMover + " in X-Tenant", "owner-claim", claim},
			{"without X-Tenant", "owner-plain", ""},
		} {
			_, err := runKubectl(ownRoute(c.name, c.filters), "create", "--dry-run=server", "-f", "-")
			wantAllowed(t, "the cluster admin creating a route to the shared Service "+c.what, err)
			err = as(ownRoute(c.name, c.filters), "create", "--dry-run=server", "-f", "-")
			if err == nil {
				t.Errorf("GAP: the owner of Shared tenant %s may write its own HTTPRoute to the shared Service %s/%s %s "+
					"(the namespace's ReferenceGrant routes-%s admits every HTTPRoute of %s; the gateway-guarded-services annotation lists only Services of the tenant's own namespace)",
					ns, shNS, shSharedSvc, c.what, ns, ns)
				continue
			}
			wantRefused(t, "the owner routing to the shared Service "+c.what, err, "tenant-operator-tenant-httproutes")
			t.Logf("the owner's own route to the shared Service %s: %v", c.what, err)
		}
		// A Service of its own is still fine.
		eventually(t, 10*time.Second, func() error {
			return as([]byte(strings.Replace(strings.Replace(string(ownRoute("owner-own", "")), "namespace: "+shNS+", ", "", 1), shSharedSvc, "owner-own-api", 1)),
				"create", "--dry-run=server", "-f", "-")
		})
	})
}
