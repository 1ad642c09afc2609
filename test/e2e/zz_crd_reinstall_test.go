package e2e

// This file sorts last so that its test runs after every other test that runs one at a
// time: it deletes the CRDs, and with them every Tenant, ServicePlan and ApiProduct of the
// tests before it. The parallel stories (parallelStory) start after it, on the
// reinstalled CRDs.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

const crdReinstallYAML = `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata:
  name: fault-crd-api
spec:
  displayName: CRD reinstall API
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - name: api
      image: registry.k8s.io/e2e-test-images/agnhost:2.53
      args: ["netexec", "--http-port=8080"]
      port: 8080
      resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
  auth:
    type: APIKey
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata:
  name: fault-crd
spec:
  displayName: CRD reinstall plan
  maxNamespaces: 2
  quota:
    hard:
      requests.cpu: "2"
      requests.memory: 2Gi
      limits.cpu: "4"
      limits.memory: 4Gi
      pods: "20"
  products:
  - name: fault-crd-api
`

// TestCRDReinstallKeepsTenants deletes the CRDs under Ready tenants (one with
// deletionPolicy Delete, one with Retain) and installs them again, as an uninstall
// and reinstall of the operator would. Deleting the CRDs deletes every Tenant; the
// operator must only drop their finalizers, touching no namespace and no object. The
// same Plan and Tenants applied again (from Git, say) take everything back: the same
// namespaces (same UIDs), the same objects and the same API keys.
func TestCRDReinstallKeepsTenants(t *testing.T) {
	dumpOnFailure(t)
	restartOperatorIfDown(t)
	st := newScenarioTimer(t)
	const prefix = "fc-"
	names := []string{"fc-a", "fc-b"}
	manifests := crdReinstallYAML +
		tenantYAML("fc-a", "fault-crd", []string{"fc-a", "fc-a-dev"}, "deletionPolicy: Delete") +
		tenantYAML("fc-b", "fault-crd", nil, "deletionPolicy: Retain")

	kubectlApply(t, manifests)
	waitTenantsReady(t, prefix, names, 120*time.Second)
	before := checkTenancy(t, prefix)
	for _, ns := range []string{"fc-a", "fc-b"} {
		if key := before["Secret/"+ns+"/fault-crd-api-credentials"].Data["api-key"]; key == "" {
			t.Errorf("namespace %s: no credentials Secret fault-crd-api-credentials with an api-key", ns)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	st.step("2 tenants Ready with their product: %d labelled objects", len(before))

	tenantUIDs := kubectl(t, append([]string{"get", "tenants", "-o", "jsonpath={.items[*].metadata.uid}"}, names...)...)
	crds := strings.Fields(kubectl(t, "get", "-k", "config/crd", "-o", "name"))
	offset := env.logOffset()
	kubectl(t, "delete", "-k", "config/crd", "--timeout=120s")
	st.step("deleted the CRDs (%s) and waited until they were gone", strings.Join(crds, ", "))
	if out, err := runKubectl(nil, "get", "-k", "config/crd", "-o", "name", "--ignore-not-found"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("the CRDs are still there: %q %v", out, err)
	}
	afterDelete, err := labelledObjects(prefix)
	if err != nil {
		t.Fatal(err)
	}
	compareObjects(t, "after deleting the CRDs", before, afterDelete)
	if lines, n := env.logLines(offset, regexp.MustCompile(`CRD is being deleted`), 4); n > 0 {
		t.Logf("the operator logged %d times that the Tenant CRD is being deleted, e.g.:\n%s", n, strings.Join(lines, "\n"))
	}
	if !env.operatorRunning() {
		t.Fatalf("the operator exited when its CRDs were deleted: %v", env.exitErr())
	}
	if t.Failed() {
		t.FailNow()
	}

	// Keep the CRDs gone, as a real reinstall would, until the operator's informers have
	// noticed that their kinds are gone (their watches fail), before they come back.
	for _, kind := range []string{"Tenant", "ServicePlan", "ApiProduct"} {
		failed := regexp.MustCompile(`Failed to watch.*\*v1alpha1\.` + kind + `"`)
		eventually(t, 30*time.Second, func() error {
			if _, n := env.logLines(offset, failed, 1); n == 0 {
				return fmt.Errorf("the operator's %s informer has not noticed that the kind is gone (no \"Failed to watch\" logged)", kind)
			}
			return nil
		})
	}
	st.step("the operator's Tenant, ServicePlan and ApiProduct watches failed: their kinds are gone")
	offset = env.logOffset()
	kubectl(t, "apply", "--server-side", "-k", "config/crd")
	var crdNames []string
	for _, crd := range crds {
		crdNames = append(crdNames, strings.TrimPrefix(crd, "customresourcedefinition.apiextensions.k8s.io/"))
	}
	waitCRDsEstablished(t, crdNames...)
	kubectlApply(t, manifests)
	st.step("installed the CRDs again and re-applied the same product, plan and tenants")

	// Ready again without a restart of the operator? Give it a minute; if not, say so,
	// restart it and see whether that helps, so the report tells which.
	reapplied := time.Now()
	var err2 error
	for time.Since(reapplied) < 60*time.Second {
		if err2 = tenantsReady(prefix, names); err2 == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err2 != nil {
		lines, n := env.logLines(offset, regexp.MustCompile(`(?i)error|fail`), 10)
		t.Errorf("the tenants are not Ready 60s after the CRDs and tenants came back, without a restart of the operator: %v\n"+
			"operator errors since the reinstall (%d, last ones):\n%s", err2, n, strings.Join(lines, "\n"))
		if err := env.stopOperator(); err != nil {
			t.Log(err)
		}
		if err := env.startOperator(); err != nil {
			t.Fatal(err)
		}
		d := waitTenantsReady(t, prefix, names, 90*time.Second)
		t.Errorf("after a restart of the operator the tenants became Ready in %v", d.Round(100*time.Millisecond))
	}
	st.step("both tenants Ready again")
	// They are new objects: the CRD deletion did delete the old ones.
	newUIDs := kubectl(t, append([]string{"get", "tenants", "-o", "jsonpath={.items[*].metadata.uid}"}, names...)...)
	for _, uid := range strings.Fields(newUIDs) {
		if strings.Contains(tenantUIDs, uid) {
			t.Errorf("tenant uid %s survived the deletion of the CRDs (before: %s, after: %s)", uid, tenantUIDs, newUIDs)
		}
	}
	if lines, n := env.logLines(offset, regexp.MustCompile(`(?i)"error"|ERROR`), 5); n > 0 {
		t.Logf("operator errors while the CRDs came back (%d, last ones):\n%s", n, strings.Join(lines, "\n"))
	}

	after := checkTenancy(t, prefix)
	compareObjects(t, "after reinstalling the CRDs and re-applying the tenants", before, after)
}
