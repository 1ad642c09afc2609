package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fault scenarios: the operator killed, the API server down, another writer changing
// what the operator manages. Each ends with every tenant Ready and nothing
// duplicated, orphaned or lost (checkTenancy). The CRD reinstall scenario is in
// zz_crd_reinstall_test.go, the last of the tests that run one at a time, because it deletes
// the CRDs (the parallel stories run after it, on the reinstalled ones).

// TestOperatorKilledWhileProvisioning kills the operator with SIGKILL as soon as it has
// made the first namespace of 50 Tenants that arrive in one apply, then starts it again:
// like a replacement pod, it first waits for the dead process's leader election lease to
// expire.
func TestOperatorKilledWhileProvisioning(t *testing.T) {
	dumpOnFailure(t)
	restartOperatorIfDown(t)
	st := newScenarioTimer(t)
	const prefix, plan = "fk-", "fault-kill"
	names := tenantNames(prefix, 50)

	env.waitWorking(t, 60*time.Second)
	kubectlApply(t, planYAML(plan, 1))
	var manifests strings.Builder
	for _, n := range names {
		manifests.WriteString(tenantYAML(n, plan, nil))
	}
	kubectlApply(t, manifests.String())
	st.step("applied 50 tenants in one kubectl apply")

	// Kill it once it is provisioning: the first of the tenants' namespaces is there.
	eventually(t, 30*time.Second, func() error {
		out, err := runKubectl(nil, "get", "namespaces", "-l", tenantLabel, "-o", "name")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "namespace/"+prefix) {
			return errors.New("the operator has not made a namespace of the 50 tenants yet")
		}
		return nil
	})
	if err := env.killOperator(); err != nil {
		t.Fatal(err)
	}
	st.step("killed the operator with SIGKILL")
	// How far it got: the kill must land mid-provisioning to mean anything.
	if tenants, err := listTenants(prefix); err == nil {
		ready := 0
		for _, tn := range tenants {
			if tn.ready() == nil {
				ready++
			}
		}
		objs, _ := labelledObjects(prefix)
		namespaces := 0
		for _, o := range objs {
			if o.Kind == "Namespace" {
				namespaces++
			}
		}
		t.Logf("at the kill: %d of 50 tenants Ready, %d of 50 namespaces made, %d labelled objects", ready, namespaces, len(objs))
	}

	if err := env.startOperator(); err != nil {
		t.Fatal(err)
	}
	st.step("started the operator again")
	env.waitWorking(t, 60*time.Second)
	st.step("the new operator holds the leader election lease (the dead one's expired) and runs its controllers")
	waitTenantsReady(t, prefix, names, 150*time.Second)
	st.step("all 50 tenants Ready")
	checkTenancy(t, prefix)
	if t.Failed() {
		t.FailNow()
	}

	deleteTenants(t, names)
	waitTenantsGone(t, prefix, 150*time.Second)
	st.step("deleted the 50 tenants: every namespace and labelled object of theirs is gone")
	kubectl(t, "delete", "serviceplan", plan, "--wait=false")
}

// TestAPIServerOutage kills kube-apiserver right after 10 Tenants are applied and
// starts it again 8 s later, past the operator's lease (6 s here), with kwokctl, as the
// kubelet would restart a static pod (the cluster's kube-controller-manager and
// kube-scheduler elect no leader, hack/kwokctl.yaml, so they ride the outage out).
func TestAPIServerOutage(t *testing.T) {
	dumpOnFailure(t)
	restartOperatorIfDown(t)
	st := newScenarioTimer(t)
	const prefix, plan = "fo-", "fault-outage"
	names := tenantNames(prefix, 10)

	env.waitWorking(t, 60*time.Second)
	kubectlApply(t, planYAML(plan, 2))
	var manifests strings.Builder
	for i, n := range names {
		var namespaces []string
		if i%2 == 1 {
			namespaces = []string{n, n + "-dev"}
		}
		manifests.WriteString(tenantYAML(n, plan, namespaces))
	}
	kubectlApply(t, manifests.String())
	st.step("applied 10 tenants")
	if tenants, err := listTenants(prefix); err == nil {
		ready := 0
		for _, tn := range tenants {
			if tn.ready() == nil {
				ready++
			}
		}
		t.Logf("before the outage: %d of 10 tenants Ready", ready)
	}

	offset := env.logOffset()
	if err := env.killAPIServer(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	st.step("killed kube-apiserver")
	// The outage itself, not a wait for something: longer than the operator's leader
	// election renew deadline and lease (4 s and 6 s here), which the scenario is about.
	time.Sleep(leaseDuration + 2*time.Second - time.Since(down))
	runningAfterOutage := env.operatorRunning()
	dead, err := env.startDeadComponents()
	if err != nil {
		t.Fatal(err)
	}
	st.step("API server down for %v; kwokctl started again: %v", time.Since(down).Round(100*time.Millisecond), dead)

	if runningAfterOutage && env.operatorRunning() {
		t.Logf("the operator kept running through the outage")
	} else {
		lines, _ := env.logLines(offset, regexp.MustCompile(`(?i)leader|lease|problem running manager|stopped with an error`), 6)
		t.Logf("the operator exited during the outage (%v), as a leader that cannot renew its lease does; "+
			"starting it again as its Deployment would. Its last words:\n%s", env.exitErr(), strings.Join(lines, "\n"))
		if err := env.startOperator(); err != nil {
			t.Fatal(err)
		}
		st.step("started the operator again")
		env.waitWorking(t, 60*time.Second)
		st.step("the new operator holds the leader election lease and runs its controllers")
	}

	waitTenantsReady(t, prefix, names, 120*time.Second)
	st.step("all 10 tenants Ready")
	checkTenancy(t, prefix)
	if t.Failed() {
		t.FailNow()
	}
	// Deleting works too, with the restarted kube-controller-manager deleting namespaces.
	deleteTenants(t, names)
	waitTenantsGone(t, prefix, 120*time.Second)
	st.step("deleted the 10 tenants: every namespace and labelled object of theirs is gone")
	kubectl(t, "delete", "serviceplan", plan, "--wait=false")
}

// quotaState is the part of a ResourceQuota this test reads.
type quotaState struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		ManagedFields   []struct {
			Manager    string         `json:"manager"`
			Operation  string         `json:"operation"`
			Time       string         `json:"time"`
			FieldsV1   map[string]any `json:"fieldsV1"`
			Subresouce string         `json:"subresource"`
		} `json:"managedFields"`
	} `json:"metadata"`
	Spec struct {
		Hard map[string]string `json:"hard"`
	} `json:"spec"`
	Status struct {
		Hard map[string]string `json:"hard"`
	} `json:"status"`
}

func getQuota(ns string) (quotaState, error) {
	var q quotaState
	out, err := runKubectl(nil, "get", "resourcequota", "tenant-quota", "-n", ns, "--show-managed-fields", "-o", "json")
	if err != nil {
		return q, err
	}
	return q, json.Unmarshal([]byte(out), &q)
}

// managers summarizes managedFields: who wrote what, when.
func (q quotaState) managers() string {
	var parts []string
	for _, m := range q.Metadata.ManagedFields {
		var fields []string
		if spec, ok := m.FieldsV1["f:spec"].(map[string]any); ok {
			if hard, ok := spec["f:hard"].(map[string]any); ok {
				fields = slices.Sorted(maps.Keys(hard))
			}
		}
		parts = append(parts, fmt.Sprintf("%s (%s%s at %s, spec.hard: %v)", m.Manager, m.Operation,
			map[bool]string{true: " /" + m.Subresouce, false: ""}[m.Subresouce != ""], m.Time, fields))
	}
	return strings.Join(parts, "; ")
}

// TestIntruderEditIsReverted changes tenant-quota's spec.hard as a cluster admin in
// system:masters (whom the admission policy lets through) with a field manager of its
// own. The operator puts the plan's values back, and then the object stays put: no
// endless fight over the fields.
func TestIntruderEditIsReverted(t *testing.T) {
	dumpOnFailure(t)
	st := newScenarioTimer(t)
	const prefix, plan, name = "fi-", "fault-intruder", "fi-a"
	kubectlApply(t, planYAML(plan, 2)+tenantYAML(name, plan, []string{name, name + "-dev"}))
	waitTenantsReady(t, prefix, []string{name}, 60*time.Second)
	st.step("tenant Ready")

	orig, err := getQuota(name)
	if err != nil {
		t.Fatal(err)
	}
	want := orig.Spec.Hard
	changed := map[string]string{"pods": "999", "requests.cpu": "64"}
	for k := range changed {
		if _, ok := want[k]; !ok {
			t.Fatalf("tenant-quota of %s has no %s to change: %v", name, k, want)
		}
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"hard": changed}})
	kubectl(t, "patch", "resourcequota", "tenant-quota", "-n", name, "--type=merge", "--field-manager=intruder", "-p", string(patch))
	edited := time.Now()
	st.step("intruder changed spec.hard %v to %v", want, changed)

	// Restored: the operator's values back, and the quota controller's status caught up,
	// so that nothing but the operator has a reason to write the object again.
	var restored quotaState
	eventually(t, 30*time.Second, func() error {
		q, err := getQuota(name)
		if err != nil {
			return err
		}
		if !maps.Equal(q.Spec.Hard, want) {
			return fmt.Errorf("spec.hard is %v, want %v; managers: %s", q.Spec.Hard, want, q.managers())
		}
		if !maps.Equal(q.Status.Hard, want) {
			return fmt.Errorf("status.hard is %v, want %v (the quota controller has not caught up)", q.Status.Hard, want)
		}
		restored = q
		return nil
	})
	st.step("the operator restored spec.hard %v after the edit", time.Since(edited).Round(10*time.Millisecond))
	t.Logf("managedFields after the restoration: %s", restored.managers())

	// No fight: the object does not change any more.
	consistently(t, 10*time.Second, func() error {
		q, err := getQuota(name)
		if err != nil {
			return err
		}
		if q.Metadata.ResourceVersion != restored.Metadata.ResourceVersion {
			return fmt.Errorf("tenant-quota changed again after the restoration (resourceVersion %s -> %s): spec.hard %v; managers: %s",
				restored.Metadata.ResourceVersion, q.Metadata.ResourceVersion, q.Spec.Hard, q.managers())
		}
		return nil
	})
	st.step("tenant-quota's resourceVersion stayed %s for 10s", restored.Metadata.ResourceVersion)
	waitTenantsReady(t, prefix, []string{name}, 30*time.Second)
	checkTenancy(t, prefix)
	if t.Failed() {
		t.FailNow()
	}
	deleteTenants(t, []string{name})
	waitTenantsGone(t, prefix, 60*time.Second)
	st.step("deleted the tenant")
	kubectl(t, "delete", "serviceplan", plan, "--wait=false")
}
