package e2e

// The hostile tenant: an owner who tries every way out of the fence, and a cluster admin
// outside system:masters who makes the likely mistakes, against the operator running as
// its ServiceAccount with the RBAC of config/default and the admission policies of
// config/policy (what the install bundle holds). One case per way out that was found
// (issue "Isolation that holds against a hostile tenant"); the metrics endpoint has its
// own test (metrics_endpoint_test.go) and hack/cluster.sh its own (cluster_script_test.go).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	hostilePlan    = "hostile"
	hostileProduct = "hostile-api"
	hostileGateway = "hostile-gw"
	mallory        = "mallory@evil.example" // owner of tenant mallory
	victimOwner    = "victor@victim.example"
	carol          = "carol@platform.example" // cluster-admin by a ClusterRoleBinding, not in system:masters
	operatorSA     = "system:serviceaccount:tenant-operator-system:tenant-operator-controller-manager"
)

// kubectlAs runs kubectl as an impersonated user (a member of system:authenticated).
func kubectlAs(user string, stdin []byte, args ...string) (string, error) {
	return runKubectl(stdin, append([]string{"--as", user, "--as-group", "system:authenticated"}, args...)...)
}

// wantRefused fails the test unless err is a refusal whose message holds every part.
func wantRefused(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed, want it refused", what)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: refused, but the message does not say %q: %v", what, p, err)
			return
		}
	}
}

// wantAllowed fails the test if err is not nil.
func wantAllowed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want it allowed", what, err)
	}
}

// tenantCondition returns a tenant's condition of a type as "Status/Reason: message".
func tenantCondition(name, typ string) (string, error) {
	out, err := runKubectl(nil, "get", "tenant", name, "-o", "json")
	if err != nil {
		return "", err
	}
	var tn tenant
	if err := json.Unmarshal([]byte(out), &tn); err != nil {
		return "", err
	}
	for _, c := range tn.Status.Conditions {
		if c.Type == typ {
			return c.Status + "/" + c.Reason + ": " + c.Message, nil
		}
	}
	return "", fmt.Errorf("tenant %s has no %s condition", name, typ)
}

// waitCondition waits until the tenant's condition starts with want ("False/ReservedNamespace").
func waitCondition(t *testing.T, name, typ, want string) string {
	t.Helper()
	var got string
	eventually(t, 60*time.Second, func() error {
		var err error
		if got, err = tenantCondition(name, typ); err != nil {
			return err
		}
		if !strings.HasPrefix(got, want) {
			return fmt.Errorf("tenant %s: %s is %s, want %s", name, typ, got, want)
		}
		return nil
	})
	return got
}

// labelsOf returns an object's labels.
func labelsOf(t *testing.T, args ...string) map[string]string {
	t.Helper()
	var o struct {
		Metadata objectMeta `json:"metadata"`
	}
	kubectlJSON(t, &o, append([]string{"get"}, args...)...)
	return o.Metadata.Labels
}

const hostileSetup = `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: hostile-api}
spec:
  defaultVersion: v1
  versions:
  - name: v1
    components:
    - {name: api, image: registry.example.com/hostile-api:1.0.0, port: 8080}
  exposure:
    component: api
    gateway: {name: public, namespace: hostile-gw}
    hostname: "{tenant}.hostile.example.com"
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ServicePlan
metadata: {name: hostile}
spec:
  maxNamespaces: 3
  quota:
    hard: {requests.cpu: "2", requests.memory: 2Gi, pods: "20"}
  limitRange:
    defaultRequest: {cpu: 50m, memory: 64Mi}
    default: {cpu: 100m, memory: 128Mi}
  podSecurity: restricted
  ownerRole: admin
  network:
    allowIngressFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: hostile-gw}}
    egress: Restricted
    allowEgressTo: ["10.20.0.0/16"]
  products:
  - name: hostile-api
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: mallory}
spec:
  plan: hostile
  owners: [{kind: User, name: mallory@evil.example}]
  namespaces: [{name: mallory}, {name: mallory-dev}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: victim}
spec:
  plan: hostile
  owners: [{kind: User, name: victor@victim.example}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hostile-carol-cluster-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol@platform.example}]
`

// TestHostileTenant tries each way out of the fence as mallory (the owner of tenant
// mallory) and as carol (a cluster admin outside system:masters).
func TestHostileTenant(t *testing.T) {
	dumpOnFailure(t)
	kubectlApply(t, hostileSetup)
	t.Cleanup(func() {
		_, _ = runKubectl(nil, "delete", "tenants", "mallory", "victim", "--ignore-not-found", "--wait=false")
		_, _ = runKubectl(nil, "delete", "clusterrolebinding", "hostile-carol-cluster-admin", "--ignore-not-found")
	})
	eventually(t, 120*time.Second, func() error {
		for _, name := range []string{"mallory", "victim"} {
			if c, err := tenantCondition(name, "Ready"); err != nil || !strings.HasPrefix(c, "True/") {
				return fmt.Errorf("tenant %s: Ready %s %v", name, c, err)
			}
		}
		return nil
	})
	// RBAC and the policies are fed by informers: wait until mallory's binding works.
	eventually(t, 30*time.Second, func() error {
		_, err := kubectlAs(mallory, nil, "create", "configmap", "probe", "-n", "mallory", "--dry-run=server")
		return err
	})

	t.Run("1 tenant NetworkPolicies cannot undo the plan", func(t *testing.T) {
		np := func(name, spec string) []byte {
			return []byte(fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: mallory}\nspec:\n%s", name, spec))
		}
		apply := func(name, spec string) error {
			_, err := kubectlAs(mallory, np(name, spec), "create", "-f", "-")
			return err
		}
		wantRefused(t, "egress to everywhere under egress: Restricted",
			apply("open-egress", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]\n"), "spec.network.egress")
		wantRefused(t, "egress to 0.0.0.0/0",
			apply("egress-anywhere", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"), "spec.network.allowEgressTo")
		wantRefused(t, "egress to the victim's namespaces",
			apply("egress-victim", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {tenancy.openplatform.io/tenant: victim}}}]}]\n"), "Restricted")
		wantRefused(t, "ingress from every namespace",
			apply("ingress-all", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"), "outside tenant mallory")
		wantRefused(t, "ingress from everyone",
			apply("ingress-everyone", "  podSelector: {}\n  ingress: [{}]\n"), "every source")
		wantAllowed(t, "ingress from the tenant's own namespaces",
			apply("own-ingress", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {tenancy.openplatform.io/tenant: mallory}}}]}]\n"))
		wantAllowed(t, "egress to a CIDR inside allowEgressTo",
			apply("egress-allowed-cidr", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.20.1.0/24}}]}]\n"))
	})

	t.Run("2 two tenants racing for one namespace", func(t *testing.T) {
		var yaml strings.Builder
		for _, name := range []string{"r3", "r3-x"} {
			fmt.Fprintf(&yaml, `---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: %[1]s}
spec:
  plan: hostile
  owners: [{kind: User, name: owner@%[1]s.example}]
  namespaces: [{name: %[1]s}, {name: r3-x-shared}]
  products: [{name: hostile-api, namespace: r3-x-shared}]
`, name)
		}
		kubectlApply(t, yaml.String())
		t.Cleanup(func() {
			_, _ = runKubectl(nil, "delete", "tenants", "r3", "r3-x", "--ignore-not-found", "--wait=false")
		})
		var winner, loser string
		eventually(t, 60*time.Second, func() error {
			winner = labelsOf(t, "namespace", "r3-x-shared")["tenancy.openplatform.io/tenant"]
			for _, name := range []string{"r3", "r3-x"} {
				if name != winner {
					loser = name
				}
			}
			c, err := tenantCondition(loser, "NamespacesReady")
			if err != nil || !strings.HasPrefix(c, "False/NamespaceConflict") || !strings.Contains(c, "tenant "+winner) {
				return fmt.Errorf("winner %q, loser %s: NamespacesReady %s %v", winner, loser, c, err)
			}
			return nil
		})
		t.Logf("r3-x-shared went to %s; %s reports %s", winner, loser, waitCondition(t, loser, "NamespacesReady", "False/NamespaceConflict"))
		out := kubectl(t, "get", "secrets,rolebindings,resourcequotas,networkpolicies,deployments", "-n", "r3-x-shared",
			"-l", "tenancy.openplatform.io/tenant="+loser, "-o", "name")
		if strings.TrimSpace(out) != "" {
			t.Errorf("objects of the loser %s in r3-x-shared: %s", loser, out)
		}
		can, _ := kubectlAs("owner@"+loser+".example", nil, "auth", "can-i", "get", "secrets", "-n", "r3-x-shared")
		if strings.TrimSpace(can) != "no" {
			t.Errorf("the loser's owner can get Secrets in r3-x-shared: %q", can)
		}
	})

	t.Run("3 adoption leaves user objects alone", func(t *testing.T) {
		kubectl(t, "create", "namespace", "adopter-legacy")
		t.Cleanup(func() { _, _ = runKubectl(nil, "delete", "namespace", "adopter-legacy", "--wait=false") })
		kubectl(t, "create", "deployment", "hostile-api-api", "-n", "adopter-legacy", "--image=registry.example.com/legacy:7")
		before := kubectl(t, "get", "deployment", "hostile-api-api", "-n", "adopter-legacy", "-o", "jsonpath={.metadata.generation} {.metadata.labels} {.spec.selector} {.spec.template.spec.containers[*].name}")
		// carol hands the namespace over (she may: she can update Tenants).
		_, err := kubectlAs(carol, nil, "annotate", "namespace", "adopter-legacy", "tenancy.openplatform.io/adopt=adopter")
		wantAllowed(t, "carol annotating adopter-legacy for adoption", err)
		kubectlApply(t, `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: adopter}
spec:
  plan: hostile
  owners: [{kind: User, name: owner@adopter.example}]
  namespaces: [{name: adopter-legacy}]
`)
		c := waitCondition(t, "adopter", "ProductsReady", "False/ObjectConflict")
		if !strings.Contains(c, "adopter-legacy/hostile-api-api") {
			t.Errorf("ProductsReady %q does not name Deployment adopter-legacy/hostile-api-api", c)
		}
		kubectl(t, "delete", "tenant", "adopter", "--timeout=60s")
		after := kubectl(t, "get", "deployment", "hostile-api-api", "-n", "adopter-legacy", "-o", "jsonpath={.metadata.generation} {.metadata.labels} {.spec.selector} {.spec.template.spec.containers[*].name}")
		if after != before {
			t.Errorf("the user's Deployment changed: %q, was %q", after, before)
		}
		if l := labelsOf(t, "namespace", "adopter-legacy"); l["tenancy.openplatform.io/tenant"] != "" {
			t.Errorf("adopter-legacy still has the tenant label after release: %v", l)
		}
	})

	t.Run("4 tampering with tenant-isolation is put back, also across a restart", func(t *testing.T) {
		restartOperatorIfDown(t)
		spec := func() string {
			return kubectl(t, "get", "networkpolicy", "tenant-isolation", "-n", "mallory", "-o", "jsonpath={.spec}")
		}
		want := spec()
		tamper := `{"spec":{"podSelector":{"matchLabels":{"nothing":"matches"}}}}`
		wantRefused(t, "carol patching tenant-isolation",
			func() error {
				_, err := kubectlAs(carol, nil, "patch", "networkpolicy", "tenant-isolation", "-n", "mallory", "--type=merge", "-p", tamper)
				return err
			}(), "is managed by the tenant-operator for Tenant mallory")
		// The masters admin can; the operator puts it back while running...
		kubectl(t, "patch", "networkpolicy", "tenant-isolation", "-n", "mallory", "--type=merge", "--field-manager=intruder", "-p", tamper)
		eventually(t, 30*time.Second, func() error {
			if got := spec(); got != want {
				return fmt.Errorf("tenant-isolation spec %s, want %s", got, want)
			}
			return nil
		})
		// ...and after a restart, for what was changed while it was down.
		if err := env.stopOperator(); err != nil {
			t.Fatal(err)
		}
		kubectl(t, "patch", "networkpolicy", "tenant-isolation", "-n", "mallory", "--type=merge", "--field-manager=intruder", "-p", tamper)
		if err := env.startOperator(); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, func() error {
			if got := spec(); got != want {
				return fmt.Errorf("after a restart: tenant-isolation spec %s, want %s", got, want)
			}
			return nil
		})
	})

	t.Run("5 reserved namespaces never become tenant namespaces", func(t *testing.T) {
		kubectlApply(t, `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: tenant-operator}
spec:
  plan: hostile
  owners: [{kind: User, name: mallory@evil.example}]
  namespaces: [{name: tenant-operator-x}, {name: tenant-operator-system}]
---
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: hostile}
spec:
  plan: hostile
  owners: [{kind: User, name: mallory@evil.example}]
  namespaces: [{name: hostile-gw}]
`)
		t.Cleanup(func() {
			_, _ = runKubectl(nil, "delete", "tenants", "tenant-operator", "hostile", "--ignore-not-found", "--wait=false")
		})
		c := waitCondition(t, "tenant-operator", "NamespacesReady", "False/ReservedNamespace")
		if !strings.Contains(c, "tenant-operator-system") {
			t.Errorf("NamespacesReady %q does not name tenant-operator-system", c)
		}
		waitCondition(t, "hostile", "NamespacesReady", "False/ReservedNamespace")
		if l := labelsOf(t, "namespace", "tenant-operator-system"); l["tenancy.openplatform.io/tenant"] != "" {
			t.Errorf("the operator's namespace got a tenant label: %v", l)
		}
		_, err := kubectlAs(mallory, nil, "create", "serviceaccount", "tenant-operator-controller-manager", "-n", "tenant-operator-system", "--dry-run=server")
		wantRefused(t, "mallory creating the operator's ServiceAccount name in its namespace", err, "forbidden")
		_, err = runKubectl([]byte(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: kube-evil}
spec:
  plan: hostile
  owners: [{kind: User, name: mallory@evil.example}]
`), "apply", "--dry-run=server", "-f", "-")
		wantRefused(t, "a Tenant named kube-evil", err, "may not be default or start with kube-")
	})

	t.Run("6 the operator's ServiceAccount is fenced", func(t *testing.T) {
		kubectl(t, "create", "namespace", "hostile-unlabelled")
		t.Cleanup(func() { _, _ = runKubectl(nil, "delete", "namespace", "hostile-unlabelled", "--wait=false") })
		asOperator := func(args ...string) error {
			_, err := runKubectl(nil, append([]string{"--as", operatorSA}, args...)...)
			return err
		}
		wantRefused(t, "the operator deleting a namespace it did not label",
			asOperator("delete", "namespace", "hostile-unlabelled", "--dry-run=server"), "may only delete namespaces")
		wantRefused(t, "the operator binding a ClusterRole outside tenancy:*",
			asOperator("create", "clusterrolebinding", "hostile-evil", "--clusterrole=view", "--user=mallory@evil.example", "--dry-run=server"), "tenancy:*")
		wantRefused(t, "the operator binding tenancy:x:reader to another role",
			asOperator("create", "clusterrolebinding", "tenancy:hostile:reader", "--clusterrole=view", "--user=mallory@evil.example", "--dry-run=server"), "same name")
		wantRefused(t, "the operator granting Secrets in a tenancy:* ClusterRole",
			asOperator("create", "clusterrole", "tenancy:hostile:reader", "--verb=get", "--resource=secrets", "--dry-run=server"), "tenants")
		wantRefused(t, "the operator binding a role in kube-system",
			asOperator("create", "rolebinding", "hostile-evil", "-n", "kube-system", "--clusterrole=view", "--user=mallory@evil.example", "--dry-run=server"), "labelled tenancy.openplatform.io/tenant")
		for _, verb := range [][]string{
			{"create", "pods"}, {"update", "deployments"}, {"impersonate", "users"}, {"escalate", "clusterroles"}, {"bind", "clusterroles/cluster-admin"},
		} {
			out, _ := runKubectl(nil, "auth", "can-i", verb[0], verb[1], "--as", operatorSA, "-A")
			if strings.TrimSpace(out) != "no" {
				t.Errorf("the operator's ServiceAccount can %s %s (%q): its RBAC is wider than what it uses", verb[0], verb[1], out)
			}
		}
	})

	t.Run("7 only tenant admins may plant the adopt annotation", func(t *testing.T) {
		kubectlApply(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hostile-namespace-maker}
rules: [{apiGroups: [""], resources: [namespaces], verbs: [create, get, patch, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hostile-namespace-maker}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: hostile-namespace-maker}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: nsmaker@evil.example}]
`)
		t.Cleanup(func() {
			_, _ = runKubectl(nil, "delete", "clusterrolebinding,clusterrole", "hostile-namespace-maker", "--ignore-not-found")
			_, _ = runKubectl(nil, "delete", "namespace", "mallory-planted", "--ignore-not-found", "--wait=false")
		})
		planted := []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mallory-planted\n  annotations: {tenancy.openplatform.io/adopt: mallory}\n")
		eventually(t, 30*time.Second, func() error {
			_, err := kubectlAs("nsmaker@evil.example", nil, "create", "namespace", "mallory-probe", "--dry-run=server")
			return err
		})
		_, err := kubectlAs("nsmaker@evil.example", planted, "create", "-f", "-")
		wantRefused(t, "a namespace creator planting the adopt annotation", err, "tenancy.openplatform.io/adopt")
		_, err = kubectlAs("nsmaker@evil.example", nil, "create", "namespace", "mallory-planted")
		wantAllowed(t, "a namespace creator creating a plain namespace", err)
		_, err = kubectlAs("nsmaker@evil.example", nil, "annotate", "namespace", "mallory-planted", "tenancy.openplatform.io/adopt=mallory")
		wantRefused(t, "a namespace creator annotating for adoption", err, "tenancy.openplatform.io/adopt")
	})

	t.Run("8 only the operator sets the management label", func(t *testing.T) {
		forged := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forged\n  namespace: mallory\n  labels: {app.kubernetes.io/managed-by: tenant-operator, tenancy.openplatform.io/tenant: victim}\n")
		_, err := kubectlAs(mallory, forged, "create", "-f", "-")
		wantRefused(t, "mallory creating a ConfigMap labelled managed-by tenant-operator", err, "managed-by")
		_, err = kubectlAs(mallory, nil, "create", "configmap", "plain", "-n", "mallory")
		wantAllowed(t, "mallory creating a plain ConfigMap", err)
		_, err = kubectlAs(mallory, nil, "label", "configmap", "plain", "-n", "mallory", "app.kubernetes.io/managed-by=tenant-operator")
		wantRefused(t, "mallory adding the label later", err, "managed-by")
	})

	t.Run("9 Services that leave the fence", func(t *testing.T) {
		for _, typ := range []string{"nodeport", "loadbalancer"} {
			_, err := kubectlAs(mallory, nil, "create", "service", typ, "hostile-"+typ, "-n", "mallory", "--tcp=80:8080")
			wantRefused(t, "mallory creating a "+typ+" Service", err, "exceeded quota")
		}
		svc := []byte("apiVersion: v1\nkind: Service\nmetadata: {name: hostile-externalip, namespace: mallory}\nspec:\n  ports: [{port: 80}]\n  externalIPs: [203.0.113.10]\n")
		_, err := kubectlAs(mallory, svc, "create", "-f", "-")
		wantRefused(t, "mallory creating a Service with externalIPs", err, "externalIPs")
		_, err = kubectlAs(mallory, nil, "create", "service", "clusterip", "hostile-plain", "-n", "mallory", "--tcp=80:8080")
		wantAllowed(t, "mallory creating a ClusterIP Service", err)
	})

	t.Run("10 images are always pulled", func(t *testing.T) {
		pod := []byte(`apiVersion: v1
kind: Pod
metadata: {name: cached-image, namespace: mallory}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  initContainers:
  - {name: init, image: registry.example.com/victim-private:1, imagePullPolicy: Never, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}
  containers:
  - {name: app, image: registry.example.com/victim-private:1, imagePullPolicy: IfNotPresent, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}
`)
		out, err := kubectlAs(mallory, pod, "create", "--dry-run=server", "-o", "jsonpath={.spec.initContainers[*].imagePullPolicy} {.spec.containers[*].imagePullPolicy}", "-f", "-")
		if err != nil {
			t.Fatal(err)
		}
		if out != "Always Always" {
			t.Errorf("imagePullPolicy of init container and container = %q, want Always Always", out)
		}
	})

	t.Run("11 hostnames stay the tenant's own", func(t *testing.T) {
		_, err := runKubectl([]byte(`
apiVersion: tenancy.openplatform.io/v1alpha1
kind: ApiProduct
metadata: {name: hostile-shared-host}
spec:
  defaultVersion: v1
  versions: [{name: v1, components: [{name: api, image: x, port: 8080}]}]
  exposure: {component: api, gateway: {name: public, namespace: hostile-gw}, hostname: "*.api.example.com"}
`), "apply", "--dry-run=server", "-f", "-")
		wantRefused(t, "a product hostname with a wildcard and without {tenant}", err, "{tenant}")

		installHTTPRouteCRD(t)
		kubectlApply(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: hostile-routes, namespace: mallory}
rules: [{apiGroups: [gateway.networking.k8s.io], resources: [httproutes], verbs: [create, get, update, patch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: hostile-routes, namespace: mallory}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: hostile-routes}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: mallory@evil.example}]
`)
		route := func(host string) []byte {
			return []byte(fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hostile-route, namespace: mallory}
spec:
  parentRefs: [{name: public, namespace: hostile-gw}]
  hostnames: [%q]
  rules: [{backendRefs: [{name: hostile-api-api, port: 8080}]}]
`, host))
		}
		eventually(t, 60*time.Second, func() error {
			_, err := kubectlAs(mallory, route("mallory.hostile.example.com"), "create", "--dry-run=server", "-f", "-")
			return err
		})
		_, err = kubectlAs(mallory, route("victim.hostile.example.com"), "create", "--dry-run=server", "-f", "-")
		wantRefused(t, "mallory routing the victim's hostname", err, "victim.hostile.example.com")
		_, err = kubectlAs(mallory, route("*.hostile.example.com"), "create", "--dry-run=server", "-f", "-")
		wantRefused(t, "mallory routing a wildcard", err, "wildcard")
	})

	t.Run("12 Retain keeps removed namespaces and its fence no longer admits the tenant label", func(t *testing.T) {
		kubectlApply(t, `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: keeper}
spec:
  plan: hostile
  owners: [{kind: User, name: owner@keeper.example}]
  namespaces: [{name: keeper}, {name: keeper-old}]
  deletionPolicy: Retain
`)
		t.Cleanup(func() {
			_, _ = runKubectl(nil, "delete", "tenant", "keeper", "--ignore-not-found", "--wait=false")
			_, _ = runKubectl(nil, "delete", "namespace", "keeper", "keeper-old", "keeper-new", "--ignore-not-found", "--wait=false")
		})
		waitCondition(t, "keeper", "Ready", "True")
		kubectl(t, "patch", "tenant", "keeper", "--type=merge", "-p", `{"spec":{"namespaces":[{"name":"keeper"}]}}`)
		eventually(t, 60*time.Second, func() error {
			l := labelsOf(t, "namespace", "keeper-old")
			if l["tenancy.openplatform.io/tenant"] != "" {
				return fmt.Errorf("keeper-old still labelled %v", l)
			}
			return nil
		})
		if out := kubectl(t, "get", "namespace", "keeper-old", "-o", "jsonpath={.metadata.deletionTimestamp}"); out != "" {
			t.Errorf("keeper-old is being deleted (deletionTimestamp %s), want it retained", out)
		}
		kubectl(t, "delete", "tenant", "keeper", "--timeout=60s")
		kubectlApply(t, `
apiVersion: tenancy.openplatform.io/v1alpha1
kind: Tenant
metadata: {name: keeper}
spec:
  plan: hostile
  owners: [{kind: User, name: owner@keeper.example}]
  namespaces: [{name: keeper-new}]
`)
		waitCondition(t, "keeper", "Ready", "True")
		for _, ns := range []string{"keeper", "keeper-old"} {
			sel := kubectl(t, "get", "networkpolicy", "tenant-isolation", "-n", ns, "-o", "jsonpath={.spec.ingress[*].from[*].namespaceSelector}")
			if strings.Contains(sel, "tenancy.openplatform.io/tenant") || !strings.Contains(sel, "kubernetes.io/metadata.name") {
				t.Errorf("retained %s/tenant-isolation peers %s: want them by namespace name, not by the tenant label", ns, sel)
			}
			if strings.Contains(sel, "keeper-new") {
				t.Errorf("retained %s/tenant-isolation admits the new tenant's namespace keeper-new: %s", ns, sel)
			}
		}
	})

	t.Run("13 privileged plans say so", func(t *testing.T) {
		kubectlApply(t, "apiVersion: tenancy.openplatform.io/v1alpha1\nkind: ServicePlan\nmetadata: {name: hostile-privileged}\nspec: {podSecurity: privileged}\n")
		t.Cleanup(func() { _, _ = runKubectl(nil, "delete", "serviceplan", "hostile-privileged", "--ignore-not-found") })
		kubectl(t, "wait", "--for=condition=PrivilegedPods", "serviceplan/hostile-privileged", "--timeout=30s")
	})

	t.Run("15 product Pods do not claim the operator", func(t *testing.T) {
		eventually(t, 60*time.Second, func() error {
			out, err := runKubectl(nil, "get", "pods", "-n", "mallory", "-l", "tenancy.openplatform.io/product=hostile-api", "-o", "name")
			if err != nil || strings.TrimSpace(out) == "" {
				return fmt.Errorf("no product Pods in mallory yet: %q %v", out, err)
			}
			return nil
		})
		if out := kubectl(t, "get", "pods,replicasets", "-n", "mallory", "-l", "app.kubernetes.io/managed-by=tenant-operator", "-o", "name"); strings.TrimSpace(out) != "" {
			t.Errorf("Pods or ReplicaSets labelled managed-by tenant-operator: %s", out)
		}
	})
}

// installHTTPRouteCRD installs the Gateway API's HTTPRoute CRD from the module cache and
// removes it when the test ends.
func installHTTPRouteCRD(t *testing.T) {
	t.Helper()
	installGatewayAPICRD(t, "httproutes")
}

// installGatewayAPICRD installs one of the Gateway API's standard CRDs (file
// gateway.networking.k8s.io_<resource>.yaml of the pinned module) and removes it when the
// last test using it ends: tests running in parallel (parallelStory) share it. Another
// test may have just removed it (without waiting): a CRD still being deleted is waited for
// first, since applying it would not stop the deletion.
func installGatewayAPICRD(t *testing.T, resource string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = repoRoot
	dir, err := cmd.Output()
	if err != nil {
		t.Fatalf("locating sigs.k8s.io/gateway-api: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "standard", "gateway.networking.k8s.io_"+resource+".yaml")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	gatewayCRDs.Lock()
	defer gatewayCRDs.Unlock()
	if gatewayCRDs.users[resource] == 0 {
		eventually(t, 90*time.Second, func() error {
			out, err := runKubectl(nil, "get", "-f", path, "--ignore-not-found", "-o", "jsonpath={.metadata.deletionTimestamp}")
			if err != nil || strings.TrimSpace(out) != "" {
				return fmt.Errorf("the %s CRD is still being deleted (since %s) %v", resource, out, err)
			}
			return nil
		})
		kubectl(t, "apply", "--server-side", "-f", path)
	}
	gatewayCRDs.users[resource]++
	t.Cleanup(func() {
		gatewayCRDs.Lock()
		defer gatewayCRDs.Unlock()
		if gatewayCRDs.users[resource]--; gatewayCRDs.users[resource] == 0 {
			_, _ = runKubectl(nil, "delete", "-f", path, "--ignore-not-found", "--wait=false")
		}
	})
	waitCRDsEstablished(t, resource+".gateway.networking.k8s.io")
}

// gatewayCRDs counts the running tests that use each Gateway API CRD (installGatewayAPICRD).
var gatewayCRDs = struct {
	sync.Mutex
	users map[string]int
}{users: map[string]int{}}
