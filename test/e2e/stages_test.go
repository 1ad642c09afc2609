package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// stagesPod is what TestNeverReadyStage reads of a Pod.
type stagesPod struct {
	Metadata struct {
		Name   string            `json:"name"`
		UID    string            `json:"uid"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase             string      `json:"phase"`
		Conditions        []condition `json:"conditions"`
		ContainerStatuses []struct {
			Ready   bool  `json:"ready"`
			Started *bool `json:"started"`
			State   struct {
				Running *struct{} `json:"running"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

// stagesPods lists the Pods of namespace with the label app=app.
func stagesPods(namespace, app string) ([]stagesPod, error) {
	out, err := runKubectl(nil, "get", "pods", "-n", namespace, "-l", "app="+app, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []stagesPod `json:"items"`
	}
	return list.Items, json.Unmarshal([]byte(out), &list)
}

// deploymentAvailable reads a Deployment's Available condition and available replicas.
func deploymentAvailable(namespace, name string) (status string, available int, err error) {
	out, err := runKubectl(nil, "get", "deployment", name, "-n", namespace, "-o", "json")
	if err != nil {
		return "", 0, err
	}
	var d struct {
		Status struct {
			AvailableReplicas int         `json:"availableReplicas"`
			Conditions        []condition `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return "", 0, err
	}
	status = "missing"
	if c := productsCondition(d.Status.Conditions, "Available"); c != nil {
		status = c.Status
	}
	return status, d.Status.AvailableReplicas, nil
}

// neverReady checks that the Pods are as hack/stages/pod-never-ready.yaml leaves them:
// scheduled, Running, containers started, Ready and ContainersReady False.
func neverReady(pods []stagesPod, want int) error {
	if len(pods) != want {
		return fmt.Errorf("%d Pods, want %d", len(pods), want)
	}
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.Status.Phase != "Running" {
			return fmt.Errorf("pod %s on node %q is %q, want Running on a node", p.Metadata.Name, p.Spec.NodeName, p.Status.Phase)
		}
		for _, typ := range []string{"Ready", "ContainersReady"} {
			c := productsCondition(p.Status.Conditions, typ)
			if c == nil || c.Status != "False" || c.Reason != "ContainersNotReady" {
				return fmt.Errorf("pod %s: %s is %+v, want False with reason ContainersNotReady", p.Metadata.Name, typ, c)
			}
		}
		if len(p.Status.ContainerStatuses) == 0 {
			return fmt.Errorf("pod %s has no container statuses", p.Metadata.Name)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Ready || cs.State.Running == nil || cs.Started == nil || !*cs.Started {
				return fmt.Errorf("pod %s: a container is ready=%v, running=%v, started=%v; want started and running, not ready",
					p.Metadata.Name, cs.Ready, cs.State.Running != nil, cs.Started)
			}
		}
	}
	return nil
}

// TestNeverReadyStage: the cluster's kwok stages (hack/stages) make the Pods of
// harness.NeverReadyImage Running but never Ready, while Pods of any other image become
// Ready as with kwok's default stages. A Deployment of each in a plain namespace: the
// normal one becomes available; the never-ready one has its Pods Running and unready, the
// same Pods (not failed and replaced), and no replica available, for 8 seconds.
func TestNeverReadyStage(t *testing.T) {
	const ns = "e2e-stages"
	t.Cleanup(func() {
		if _, err := runKubectl(nil, "delete", "namespace", ns, "--ignore-not-found", "--wait=false"); err != nil {
			t.Logf("deleting namespace %s: %v", ns, err)
		}
	})
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, args := range [][]string{
			{"get", "stages"},
			{"get", "deployments,pods", "-n", ns, "-o", "wide"},
			{"get", "pods", "-n", ns, "-o", "yaml"},
		} {
			out, err := runKubectl(nil, args...)
			if err != nil {
				t.Logf("%v", err)
				continue
			}
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
		}
	})

	var stages struct {
		Items []struct {
			Metadata objectMeta `json:"metadata"`
		} `json:"items"`
	}
	kubectlJSON(t, &stages, "get", "stages.kwok.x-k8s.io")
	var names []string
	for _, s := range stages.Items {
		names = append(names, s.Metadata.Name)
	}
	for _, want := range []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete", "pod-never-ready"} {
		if !slices.Contains(names, want) {
			t.Errorf("the cluster has no Stage %s (it has %v): hack/stages was not applied", want, names)
		}
	}

	deployment := func(name, image string) string {
		return fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[3]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: %[2]s
`, name, image, ns)
	}
	kubectl(t, "create", "namespace", ns)
	kubectlApply(t, deployment("normal", "registry.example.com/e2e/normal:1")+"---"+deployment("never-ready", harness.NeverReadyImage))

	start := time.Now()
	eventually(t, 60*time.Second, func() error {
		status, available, err := deploymentAvailable(ns, "normal")
		if err != nil {
			return err
		}
		if status != "True" || available != 2 {
			return fmt.Errorf("deployment normal: Available %s with %d available replicas, want True with 2", status, available)
		}
		pods, err := stagesPods(ns, "never-ready")
		if err != nil {
			return err
		}
		return neverReady(pods, 2)
	})
	t.Logf("after %v: deployment normal available, the never-ready Pods Running and unready", time.Since(start).Round(100*time.Millisecond))

	pods, err := stagesPods(ns, "never-ready")
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, p := range pods {
		uids = append(uids, p.Metadata.UID)
	}
	consistently(t, 8*time.Second, func() error {
		pods, err := stagesPods(ns, "never-ready")
		if err != nil {
			return err
		}
		if err := neverReady(pods, 2); err != nil {
			return err
		}
		for _, p := range pods {
			if !slices.Contains(uids, p.Metadata.UID) {
				return fmt.Errorf("pod %s is new: the never-ready Pods were replaced", p.Metadata.Name)
			}
		}
		status, available, err := deploymentAvailable(ns, "never-ready")
		if err != nil {
			return err
		}
		if status == "True" || available != 0 {
			return fmt.Errorf("deployment never-ready: Available %s with %d available replicas, want none available", status, available)
		}
		return nil
	})
}
