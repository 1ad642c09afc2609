package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The parts of a Tenant's product status this file reads, from kubectl's JSON.
type productsTenant struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Suspended bool `json:"suspended"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64 `json:"observedGeneration"`
		Products           []struct {
			Name              string `json:"name"`
			Version           string `json:"version"`
			Namespace         string `json:"namespace"`
			Replicas          int32  `json:"replicas"`
			ReadyReplicas     int32  `json:"readyReplicas"`
			Endpoint          string `json:"endpoint"`
			CredentialsSecret string `json:"credentialsSecret"`
		} `json:"products"`
		ProductsReady string      `json:"productsReady"`
		Conditions    []condition `json:"conditions"`
	} `json:"status"`
}

type productsPod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase      string      `json:"phase"`
		Conditions []condition `json:"conditions"`
	} `json:"status"`
}

type productsNode struct {
	Metadata struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// nodeZones returns the zone (topology.kubernetes.io/zone) of each simulated node, and
// fails the test unless there are 3 nodes in 3 zones, as hack/cluster.sh makes them.
func nodeZones(t *testing.T) map[string]string {
	t.Helper()
	var nodeList struct {
		Items []productsNode `json:"items"`
	}
	kubectlJSON(t, &nodeList, "get", "nodes")
	zoneOf := map[string]string{}
	zones := map[string]bool{}
	for _, n := range nodeList.Items {
		if _, ok := n.Metadata.Annotations["kwok.x-k8s.io/node"]; ok || n.Metadata.Labels["type"] == "kwok" {
			zoneOf[n.Metadata.Name] = n.Metadata.Labels[zoneKey]
			zones[n.Metadata.Labels[zoneKey]] = true
		}
	}
	delete(zones, "")
	if len(zoneOf) < 3 || len(zones) < 3 {
		t.Fatalf("the cluster's simulated nodes and their zones are %v; the test needs 3 nodes in 3 zones (%s), as hack/cluster.sh labels them", zoneOf, zoneKey)
	}
	return zoneOf
}

// productsCondition returns the condition of a type, or nil.
func productsCondition(conds []condition, typ string) *condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// readProductsTenant reads a tenant, returning an error instead of failing the test.
func readProductsTenant(name string) (productsTenant, error) {
	var tn productsTenant
	out, err := runKubectl(nil, "get", "tenant", name, "-o", "json")
	if err != nil {
		return tn, err
	}
	return tn, json.Unmarshal([]byte(out), &tn)
}

// tenantPods lists the Pods of a tenant in a namespace.
func tenantPods(namespace, tenant string) ([]productsPod, error) {
	out, err := runKubectl(nil, "get", "pods", "-n", namespace, "-l", tenantLabel+"="+tenant, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []productsPod `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// productsRunning checks that the tenant is Ready with its products ready, that every Pod
// of the tenant is Running and Ready on a simulated node, and that each product's
// status.products entry counts exactly its Running Pods, as many as it wants.
func productsRunning(name, namespace string, wantProducts int, nodes map[string]productsNode) error {
	tn, err := readProductsTenant(name)
	if err != nil {
		return err
	}
	if c := productsCondition(tn.Status.Conditions, "Ready"); c == nil || c.Status != "True" {
		return fmt.Errorf("tenant %s is not Ready: %+v", name, c)
	}
	if c := productsCondition(tn.Status.Conditions, "ProductsReady"); c == nil || c.Status != "True" || c.Reason == "Suspended" {
		return fmt.Errorf("tenant %s: ProductsReady %+v, want True and not Suspended", name, c)
	}
	if want := fmt.Sprintf("%d/%d", wantProducts, wantProducts); tn.Status.ProductsReady != want || len(tn.Status.Products) != wantProducts {
		return fmt.Errorf("tenant %s: status.productsReady %q with %d products, want %s", name, tn.Status.ProductsReady, len(tn.Status.Products), want)
	}
	pods, err := tenantPods(namespace, name)
	if err != nil {
		return err
	}
	running := map[string]int32{}
	for _, p := range pods {
		if p.Status.Phase != "Running" {
			return fmt.Errorf("pod %s/%s is %s, want Running", namespace, p.Metadata.Name, p.Status.Phase)
		}
		if c := productsCondition(p.Status.Conditions, "Ready"); c == nil || c.Status != "True" {
			return fmt.Errorf("pod %s/%s is not Ready: %+v", namespace, p.Metadata.Name, c)
		}
		if _, ok := nodes[p.Spec.NodeName]; !ok {
			return fmt.Errorf("pod %s/%s runs on %q, which is not one of the simulated nodes", namespace, p.Metadata.Name, p.Spec.NodeName)
		}
		running[p.Metadata.Labels["tenancy.openplatform.io/product"]]++
	}
	total := int32(0)
	for _, s := range tn.Status.Products {
		if s.Replicas == 0 || s.ReadyReplicas != s.Replicas {
			return fmt.Errorf("tenant %s: product %s has %d/%d ready replicas", name, s.Name, s.ReadyReplicas, s.Replicas)
		}
		if running[s.Name] != s.ReadyReplicas {
			return fmt.Errorf("tenant %s: product %s reports %d ready replicas, but %d of its Pods are Running",
				name, s.Name, s.ReadyReplicas, running[s.Name])
		}
		total += s.Replicas
	}
	if int32(len(pods)) != total {
		return fmt.Errorf("tenant %s has %d Pods, its products want %d", name, len(pods), total)
	}
	return nil
}

// TestProductsRunOnSimulatedNodes: a tenant with two products on the enterprise plan gets
// its product Pods Running on the kwok nodes and reports their readiness; suspending it
// removes every Pod, resuming brings them back.
func TestProductsRunOnSimulatedNodes(t *testing.T) {
	dumpOnFailure(t)
	applySamples(t) // the enterprise plan and the payments and reports products

	const name = "e2e-products"
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "tenant", name, "--ignore-not-found", "--wait", "--timeout=120s"); err != nil {
			t.Logf("deleting tenant %s: %v", name, err)
		}
	})
	kubectlApply(t, fmt.Sprintf(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata:
  name: %s
spec:
  displayName: Products test
  plan: enterprise
  owners:
  - kind: User
    name: e2e@example.com
  products:
  - name: payments
  - name: reports
`, name))

	// The simulated nodes.
	var nodeList struct {
		Items []productsNode `json:"items"`
	}
	kubectlJSON(t, &nodeList, "get", "nodes")
	nodes := map[string]productsNode{}
	for _, n := range nodeList.Items {
		if _, ok := n.Metadata.Annotations["kwok.x-k8s.io/node"]; ok || n.Metadata.Labels["type"] == "kwok" {
			nodes[n.Metadata.Name] = n
		}
	}
	if len(nodes) == 0 {
		t.Fatalf("the cluster has no kwok nodes: %+v", nodeList.Items)
	}

	eventually(t, 120*time.Second, func() error { return productsRunning(name, name, 2, nodes) })
	tn, err := readProductsTenant(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tn.Status.Products {
		t.Logf("product %s %s in %s: %d/%d ready, endpoint %q, credentials %q",
			s.Name, s.Version, s.Namespace, s.ReadyReplicas, s.Replicas, s.Endpoint, s.CredentialsSecret)
	}

	out := kubectl(t, "get", "tnt")
	var row map[string]string
	for _, r := range parseTable(out).rows {
		if r["NAME"] == name {
			row = r
		}
	}
	switch {
	case row == nil:
		t.Errorf("kubectl get tnt has no row for %s:\n%s", name, out)
	case row["PRODUCTS READY"] != "2/2" || row["READY"] != "True":
		t.Errorf("kubectl get tnt: %s has PRODUCTS READY %q and READY %q, want 2/2 and True:\n%s",
			name, row["PRODUCTS READY"], row["READY"], out)
	}

	// Suspended: every Pod goes; the tenant reports its products scaled to zero.
	kubectl(t, "patch", "tenant", name, "--type=merge", "-p", `{"spec":{"suspended":true}}`)
	eventually(t, 120*time.Second, func() error {
		pods, err := tenantPods(name, name)
		if err != nil {
			return err
		}
		if len(pods) > 0 {
			var names []string
			for _, p := range pods {
				names = append(names, p.Metadata.Name+"("+p.Status.Phase+")")
			}
			return fmt.Errorf("tenant %s still has %d Pods: %s", name, len(pods), strings.Join(names, ", "))
		}
		tn, err := readProductsTenant(name)
		if err != nil {
			return err
		}
		if c := productsCondition(tn.Status.Conditions, "ProductsReady"); c == nil || c.Status != "True" || c.Reason != "Suspended" {
			return fmt.Errorf("tenant %s: ProductsReady %+v, want True with reason Suspended", name, c)
		}
		for _, s := range tn.Status.Products {
			if s.Replicas != 0 || s.ReadyReplicas != 0 {
				return fmt.Errorf("tenant %s: suspended product %s reports %d/%d replicas, want 0/0", name, s.Name, s.ReadyReplicas, s.Replicas)
			}
		}
		return nil
	})

	// Resumed: Ready again with every Pod Running.
	kubectl(t, "patch", "tenant", name, "--type=merge", "-p", `{"spec":{"suspended":false}}`)
	eventually(t, 120*time.Second, func() error { return productsRunning(name, name, 2, nodes) })
}
