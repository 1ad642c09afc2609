package controllers

// The tenant guardrails of config/policy as a hostile tenant owner and a cluster-admin who is
// not in system:masters meet them: what each admission policy refuses, with the message
// parts the user reads, and what stays allowed. The namespaces are labelled and annotated by
// the test itself, as the operator labels and annotates tenant namespaces (tenant, egress,
// allow-egress-to, always-pull-images, hostnames), so the policies are tested on their own;
// no Tenant named gr-a or gr-b exists.
//
// Users: alice owns tenant gr-a (RBAC admin in its namespaces, as tenant-owners gives),
// carol is cluster-admin through a ClusterRoleBinding, erin may create and edit namespaces
// but not Tenants, dana may also update Tenant gr-a; the operator's ServiceAccount is
// impersonated with cluster-admin rights, so that only the operator-fence policy limits it.
//
// It runs in parallel with other parallel tests: the policies only hold back impersonated
// users (the test client and the manager are in system:masters), and installPolicies and
// aggregateBuiltinRoles are shared.

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// operatorUser is how the API server names the operator's ServiceAccount as config/default
// deploys it: the identity config/policy exempts, and the one operator-fence holds.
const operatorUser = "system:serviceaccount:tenant-operator-system:tenant-operator-controller-manager"

func TestGuardrails(t *testing.T) {
	t.Parallel()
	const (
		tenantA = "gr-a"
		tenantB = "gr-b"
		alice   = "alice@gr-a.example"
		carol   = "gr-carol"
		erin    = "gr-erin"
		dana    = "gr-dana"
		// Namespaces of tenant gr-a, labelled as the operator labels them.
		nsRestricted = "gr-a"         // egress Restricted, allowEgressTo two CIDRs
		nsOpen       = "gr-a-open"    // egress Open, no hostnames
		nsRoutes     = "gr-a-web"     // egress Open, two hostnames
		nsPull       = "gr-a-pull"    // always-pull-images, no egress label
		nsPlain      = "gr-plain"     // no tenant: outside every tenant policy
		nsHandover   = "gr-handover"  // adopt annotation set by an admin
		nsFencePlain = "gr-fence"     // no tenant label, no adopt annotation
		nsFenceOwned = "gr-fence-own" // managed-by and tenant labels: the operator created it
		nsFenceAdopt = "gr-fence-adopt"
	)
	tenantLabels := func(extra ...string) map[string]string {
		l := map[string]string{tenancyv1alpha1.LabelTenant: tenantA}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	namespaces := []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: nsRestricted,
			Labels:      tenantLabels(tenancyv1alpha1.LabelEgress, "Restricted"),
			Annotations: map[string]string{tenancyv1alpha1.AnnotationAllowEgressTo: "10.20.0.0/16,192.168.0.0/24"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsOpen, Labels: tenantLabels(tenancyv1alpha1.LabelEgress, "Open")}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsRoutes,
			Labels: tenantLabels(tenancyv1alpha1.LabelEgress, "Open"),
			Annotations: map[string]string{tenancyv1alpha1.AnnotationHostnames: "gr-a.api.example.com,gr-a.reports.example.com",
				tenancyv1alpha1.AnnotationGuardedServices: "payments-api,reports-web"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsPull, Labels: tenantLabels(tenancyv1alpha1.LabelAlwaysPullImages, "true")}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsPlain}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsHandover, Annotations: map[string]string{tenancyv1alpha1.AnnotationAdopt: tenantA}}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsFencePlain}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsFenceOwned,
			Labels: tenantLabels(tenancyv1alpha1.LabelManagedBy, tenancyv1alpha1.ManagedByValue)}},
		{ObjectMeta: metav1.ObjectMeta{Name: nsFenceAdopt, Annotations: map[string]string{tenancyv1alpha1.AnnotationAdopt: tenantA}}},
	}

	installPolicies(t)
	aggregateBuiltinRoles(t)
	for _, ns := range namespaces {
		createForTest(t, ns)
	}
	// alice: admin where tenant-owners would make her admin; carol: cluster-admin; the
	// operator's ServiceAccount: cluster-admin; erin and dana: namespaces, dana also Tenant
	// gr-a.
	for _, ns := range []string{nsRestricted, nsOpen, nsRoutes, nsPull, nsPlain} {
		createForTest(t, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "gr-alice-admin", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
		})
	}
	clusterRole := func(name string, rules ...rbacv1.PolicyRule) {
		createForTest(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})
	}
	bindCluster := func(name, role string, subject rbacv1.Subject) {
		createForTest(t, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{subject},
		})
	}
	user := func(name string) rbacv1.Subject {
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
	}
	namespaceRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"},
		Verbs: []string{"get", "list", "create", "update", "patch"}}
	clusterRole("gr-namespace-editor", namespaceRule)
	clusterRole("gr-tenant-manager", namespaceRule, rbacv1.PolicyRule{
		APIGroups: []string{tenancyv1alpha1.GroupVersion.Group}, Resources: []string{"tenants"},
		ResourceNames: []string{tenantA}, Verbs: []string{"get", "update"},
	})
	bindCluster("gr-carol-cluster-admin", "cluster-admin", user(carol))
	bindCluster("gr-operator-cluster-admin", "cluster-admin", rbacv1.Subject{
		Kind: rbacv1.ServiceAccountKind, Namespace: "tenant-operator-system", Name: "tenant-operator-controller-manager"})
	bindCluster("gr-erin-namespaces", "gr-namespace-editor", user(erin))
	bindCluster("gr-dana-tenants", "gr-tenant-manager", user(dana))

	asAlice, asCarol, asErin, asDana := impersonate(t, alice), impersonate(t, carol), impersonate(t, erin), impersonate(t, dana)
	asOperator := impersonate(t, operatorUser)

	// RBAC is fed by informers: wait until every binding works (dry-run probes). Each
	// subtest then waits for its policy by its first refusal.
	eventually(t, 0, func() error {
		for _, ns := range []string{nsRestricted, nsOpen, nsRoutes, nsPull, nsPlain} {
			if err := asAlice.Create(testCtx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gr-probe", Namespace: ns}}, client.DryRunAll); err != nil {
				return err
			}
		}
		for _, c := range []client.Client{asCarol, asOperator, asErin, asDana} {
			if err := c.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gr-probe"}}, client.DryRunAll); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("managed cluster-scoped objects are named in the denial", func(t *testing.T) {
		t.Parallel()
		// Before the fix the managed-objects policy's message failed for cluster-scoped kinds
		// (request.namespace is absent there) and the API server answered "failed
		// expression: false".
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-managed:reader", Labels: map[string]string{
			tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue, tenancyv1alpha1.LabelTenant: "gr-managed"}}}
		createForTest(t, role)
		eventually(t, 0, func() error {
			edited := role.DeepCopy()
			edited.Labels["gr-test/edited-by"] = carol
			return wantForbidden(asCarol.Update(testCtx, edited, client.DryRunAll),
				"ClusterRole tenancy:gr-managed:reader is managed by the tenant-operator for Tenant gr-managed", "spec.owners")
		})
	})

	t.Run("tenant NetworkPolicies", func(t *testing.T) {
		t.Parallel()
		peerNS := func(l map[string]string) networkingv1.NetworkPolicyPeer {
			return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: l}}
		}
		ownTenant := peerNS(map[string]string{tenancyv1alpha1.LabelTenant: tenantA})
		samePods := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
		ipBlock := func(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
			return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
		}
		dns := networkingv1.NetworkPolicyPeer{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
		}
		dnsPorts := []networkingv1.NetworkPolicyPort{
			{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))},
			{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(53))},
		}
		ingress := func(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
			return networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: peers}},
			}
		}
		egress := func(rules ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicySpec {
			return networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: rules}
		}
		to := func(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyEgressRule {
			return networkingv1.NetworkPolicyEgressRule{To: peers}
		}
		policy := func(ns, name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
			return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
		}
		const (
			ingressField = "the ServicePlan's spec.network.allowIngressFrom"
			egressField  = "spec.network.egress: Restricted"
			cidrField    = "the ServicePlan's spec.network.allowEgressTo (10.20.0.0/16, 192.168.0.0/24)"
		)
		otherTenant := peerNS(map[string]string{tenancyv1alpha1.LabelTenant: tenantB})
		refused := []struct {
			name string
			as   client.Client
			np   *networkingv1.NetworkPolicy
			msg  []string
		}{
			{"ingress from everyone (no from)", asAlice, policy(nsRestricted, "gr-everyone", networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}),
				[]string{"spec.ingress[0] of NetworkPolicy gr-a/gr-everyone has no from peers", "tenancy.openplatform.io/tenant: gr-a", ingressField}},
			{"ingress from all namespaces", asAlice, policy(nsRestricted, "gr-all-ns", ingress(samePods, peerNS(nil))),
				[]string{"the peer spec.ingress[0].from[1] of NetworkPolicy gr-a/gr-all-ns admits namespaces outside tenant gr-a", ingressField}},
			{"ingress from another tenant", asAlice, policy(nsRestricted, "gr-tenant-b", ingress(otherTenant)),
				[]string{"spec.ingress[0].from[0]", "outside tenant gr-a", ingressField}},
			{"ingress from a namespace named, not pinned to the tenant", asAlice, policy(nsRestricted, "gr-by-name",
				ingress(peerNS(map[string]string{"kubernetes.io/metadata.name": "gr-b"}))),
				[]string{"spec.ingress[0].from[0]", "outside tenant gr-a", ingressField}},
			{"ingress from an ipBlock", asAlice, policy(nsRestricted, "gr-ipblock", ingress(ipBlock("10.0.0.0/8"))),
				[]string{"the peer spec.ingress[0].from[0] (ipBlock 10.0.0.0/8)", "other tenants' Pod IPs", ingressField}},
			{"ingress from all namespaces under Open egress too", asAlice, policy(nsOpen, "gr-all-ns", ingress(peerNS(nil))),
				[]string{"spec.ingress[0].from[0] of NetworkPolicy gr-a-open/gr-all-ns", ingressField}},
			{"ingress from all namespaces by a cluster-admin", asCarol, policy(nsRestricted, "gr-carol", ingress(peerNS(nil))),
				[]string{"spec.ingress[0].from[0]", ingressField}},
			{"egress anywhere (no to)", asAlice, policy(nsRestricted, "gr-anywhere", egress(networkingv1.NetworkPolicyEgressRule{})),
				[]string{"spec.egress[0] of NetworkPolicy gr-a/gr-anywhere has no to peers", egressField, "spec.network.allowEgressTo"}},
			{"egress to all namespaces", asAlice, policy(nsRestricted, "gr-egress-all-ns", egress(to(peerNS(nil)))),
				[]string{"the peer spec.egress[0].to[0]", "outside tenant gr-a", egressField}},
			{"egress to another tenant, in a second rule", asAlice, policy(nsRestricted, "gr-egress-b", egress(to(ownTenant), to(otherTenant))),
				[]string{"the peer spec.egress[1].to[0]", "outside tenant gr-a", egressField}},
			{"egress to kube-system beyond DNS", asAlice, policy(nsRestricted, "gr-kube-system",
				egress(to(peerNS(map[string]string{"kubernetes.io/metadata.name": "kube-system"})))),
				[]string{"spec.egress[0].to[0]", egressField}},
			{"egress to 0.0.0.0/0", asAlice, policy(nsRestricted, "gr-internet", egress(to(ipBlock("0.0.0.0/0")))),
				[]string{"the peer spec.egress[0].to[0] (ipBlock 0.0.0.0/0)", cidrField}},
			{"egress to a CIDR wider than allowEgressTo", asAlice, policy(nsRestricted, "gr-wider", egress(to(ipBlock("10.0.0.0/8")))),
				[]string{"(ipBlock 10.0.0.0/8)", cidrField}},
			{"egress to the DNS Pods on every port", asAlice, policy(nsRestricted, "gr-dns-all-ports", egress(to(dns))),
				[]string{"spec.egress[0] of NetworkPolicy gr-a/gr-dns-all-ports allows the cluster DNS Pods on ports other than 53", egressField}},
			{"egress anywhere in a namespace without the egress label", asAlice, policy(nsPull, "gr-anywhere", egress(networkingv1.NetworkPolicyEgressRule{})),
				[]string{"spec.egress[0] of NetworkPolicy gr-a-pull/gr-anywhere has no to peers"}},
		}
		for _, c := range refused {
			t.Run("refused: "+c.name, func(t *testing.T) {
				eventually(t, 0, func() error { return wantForbidden(c.as.Create(testCtx, c.np.DeepCopy(), client.DryRunAll), c.msg...) })
			})
		}

		allowed := []struct {
			name string
			as   client.Client
			np   *networkingv1.NetworkPolicy
		}{
			{"ingress from the namespace's own Pods", asAlice, policy(nsRestricted, "gr-same-namespace", ingress(samePods))},
			{"ingress from the tenant's namespaces", asAlice, policy(nsRestricted, "gr-same-tenant", ingress(ownTenant, networkingv1.NetworkPolicyPeer{
				NamespaceSelector: ownTenant.NamespaceSelector, PodSelector: samePods.PodSelector}))},
			{"default deny", asAlice, policy(nsRestricted, "gr-default-deny", networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}})},
			{"egress to DNS on port 53 and to the tenant", asAlice, policy(nsRestricted, "gr-dns", egress(
				networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{dns}, Ports: dnsPorts}, to(ownTenant, samePods)))},
			{"egress to CIDRs inside allowEgressTo", asAlice, policy(nsRestricted, "gr-allowed-cidrs", egress(
				to(ipBlock("10.20.1.0/24", "10.20.1.128/25"), ipBlock("192.168.0.0/24"))))},
			{"egress anywhere under Open egress", asAlice, policy(nsOpen, "gr-anywhere", egress(networkingv1.NetworkPolicyEgressRule{}, to(ipBlock("0.0.0.0/0"))))},
			{"ingress from all namespaces outside tenant namespaces", asCarol, policy(nsPlain, "gr-all-ns", ingress(peerNS(nil)))},
			{"ingress from all namespaces by the operator", asOperator, policy(nsRestricted, "gr-operator", ingress(peerNS(nil)))},
		}
		for _, c := range allowed {
			t.Run("allowed: "+c.name, func(t *testing.T) {
				if err := c.as.Create(testCtx, c.np); err != nil {
					t.Errorf("creating NetworkPolicy %s/%s: %v, want it allowed", c.np.Namespace, c.np.Name, err)
				}
			})
		}

		t.Run("refused: an update that opens an allowed policy", func(t *testing.T) {
			np := policy(nsRestricted, "gr-widened", ingress(samePods))
			if err := asAlice.Create(testCtx, np); err != nil {
				t.Fatalf("creating NetworkPolicy %s/%s: %v, want it allowed", np.Namespace, np.Name, err)
			}
			np.Spec.Ingress[0].From = append(np.Spec.Ingress[0].From, peerNS(nil))
			eventually(t, 0, func() error {
				return wantForbidden(asAlice.Update(testCtx, np.DeepCopy(), client.DryRunAll), "spec.ingress[0].from[1]", ingressField)
			})
		})
	})

	t.Run("tenant Services", func(t *testing.T) {
		t.Parallel()
		service := func(ns, name string, externalIPs ...string) *corev1.Service {
			return &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: corev1.ServiceSpec{
					Selector:    map[string]string{"app": "web"},
					Ports:       []corev1.ServicePort{{Port: 80}},
					ExternalIPs: externalIPs,
				},
			}
		}
		eventually(t, 0, func() error {
			return wantForbidden(asAlice.Create(testCtx, service(nsRestricted, "gr-external", "203.0.113.10"), client.DryRunAll),
				"Service gr-a/gr-external sets spec.externalIPs (203.0.113.10)", "remove spec.externalIPs")
		})
		eventually(t, 0, func() error {
			return wantForbidden(asCarol.Create(testCtx, service(nsOpen, "gr-external", "203.0.113.11"), client.DryRunAll),
				"Service gr-a-open/gr-external sets spec.externalIPs")
		})
		web := service(nsRestricted, "gr-web")
		if err := asAlice.Create(testCtx, web); err != nil {
			t.Fatalf("alice creating ClusterIP Service %s/gr-web: %v, want it allowed", nsRestricted, err)
		}
		web.Spec.ExternalIPs = []string{"203.0.113.12"}
		if err := wantForbidden(asAlice.Update(testCtx, web), "Service gr-a/gr-web sets spec.externalIPs (203.0.113.12)"); err != nil {
			t.Errorf("alice adding externalIPs to Service %s/gr-web: %v", nsRestricted, err)
		}
		if err := asCarol.Create(testCtx, service(nsPlain, "gr-external", "203.0.113.13")); err != nil {
			t.Errorf("carol creating a Service with externalIPs outside tenant namespaces: %v, want it allowed", err)
		}
	})

	t.Run("tenant disruption budgets", func(t *testing.T) {
		t.Parallel()
		budget := func(name string, maxUnavailable, minAvailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
			return &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsRestricted},
				Spec: policyv1.PodDisruptionBudgetSpec{
					Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					MaxUnavailable: maxUnavailable, MinAvailable: minAvailable,
				},
			}
		}
		const platforms = "is refused: in tenant namespaces disruption budgets are the platform's, since one of a tenant's own could block the drains of nodes other tenants run on"
		// Every budget of a tenant's own is refused: one that allows no disruption blocks
		// drains, and so do two harmless ones over the same Pods.
		for _, c := range []struct {
			name string
			as   client.Client
			pdb  *policyv1.PodDisruptionBudget
		}{
			{"maxUnavailable 0", asAlice, budget("gr-pdb-zero", ptr.To(intstr.FromInt32(0)), nil)},
			{"maxUnavailable 00%", asAlice, budget("gr-pdb-zeros", ptr.To(intstr.FromString("00%")), nil)},
			{"minAvailable 100%", asAlice, budget("gr-pdb-min", nil, ptr.To(intstr.FromString("100%")))},
			{"maxUnavailable 1 (a second one over the same Pods would block evictions)", asAlice, budget("gr-pdb-one", ptr.To(intstr.FromInt32(1)), nil)},
			{"by a cluster-admin", asCarol, budget("gr-pdb-carol", ptr.To(intstr.FromInt32(1)), nil)},
		} {
			t.Run("refused: "+c.name, func(t *testing.T) {
				eventually(t, 0, func() error {
					return wantForbidden(c.as.Create(testCtx, c.pdb.DeepCopy(), client.DryRunAll), "PodDisruptionBudget gr-a/"+c.pdb.Name+" "+platforms)
				})
			})
		}
		t.Run("allowed: the operator's", func(t *testing.T) {
			if err := asOperator.Create(testCtx, budget("gr-pdb-operator", ptr.To(intstr.FromInt32(1)), nil), client.DryRunAll); err != nil {
				t.Errorf("the operator creating a budget: %v, want it allowed", err)
			}
		})
	})

	t.Run("managed-by label", func(t *testing.T) {
		t.Parallel()
		managed := map[string]string{tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue, tenancyv1alpha1.LabelTenant: tenantB}
		configMap := func(name string, l map[string]string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsRestricted, Labels: l}}
		}
		const only = "which only the tenant-operator may set"
		eventually(t, 0, func() error {
			return wantForbidden(asAlice.Create(testCtx, configMap("gr-forged", managed), client.DryRunAll),
				"ConfigMap gr-a/gr-forged sets app.kubernetes.io/managed-by: tenant-operator in metadata.labels", only)
		})
		deployment := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "gr-forged", Namespace: nsRestricted},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "forged"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "forged", tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue}},
					Spec:       restrictedPodSpec(),
				},
			},
		}
		if err := wantForbidden(asAlice.Create(testCtx, deployment, client.DryRunAll), "Deployment gr-a/gr-forged", "in spec.template.metadata.labels", only); err != nil {
			t.Errorf("alice creating a Deployment whose Pod template carries the label: %v", err)
		}
		for _, o := range []client.Object{
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gr-forged", Labels: managed}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gr-forged", Labels: map[string]string{tenancyv1alpha1.LabelManagedBy: tenancyv1alpha1.ManagedByValue}}},
			&tenancyv1alpha1.ServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "gr-forged", Labels: managed}},
		} {
			kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
			kind = kind[strings.LastIndex(kind, ".")+1:]
			if err := wantForbidden(asCarol.Create(testCtx, o, client.DryRunAll), kind+" gr-forged sets app.kubernetes.io/managed-by", only); err != nil {
				t.Errorf("carol (cluster-admin) creating %s gr-forged with the label: %v", kind, err)
			}
		}

		own := configMap("gr-own", map[string]string{"app.kubernetes.io/managed-by": "helm"})
		if err := asAlice.Create(testCtx, own); err != nil {
			t.Fatalf("alice creating ConfigMap %s/gr-own managed by helm: %v, want it allowed", nsRestricted, err)
		}
		own.Labels = managed
		if err := wantForbidden(asAlice.Update(testCtx, own), "ConfigMap gr-a/gr-own sets app.kubernetes.io/managed-by: tenant-operator", only); err != nil {
			t.Errorf("alice relabelling her ConfigMap managed-by tenant-operator: %v", err)
		}
		if err := asOperator.Create(testCtx, configMap("gr-by-operator", managed)); err != nil {
			t.Errorf("the operator creating a ConfigMap with the label: %v, want it allowed", err)
		}
		// Kubernetes' own controllers copy the label from the operator's Deployments.
		rsController := impersonate(t, "system:serviceaccount:kube-system:replicaset-controller")
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gr-from-replicaset", Namespace: nsRestricted, Labels: managed}, Spec: restrictedPodSpec()}
		if err := rsController.Create(testCtx, pod, client.DryRunAll); err != nil {
			t.Errorf("kube-system's replicaset-controller creating a Pod with the label: %v, want it allowed", err)
		}
	})

	t.Run("adopt annotation", func(t *testing.T) {
		t.Parallel()
		adopt := func(name, tenant string) *corev1.Namespace {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if tenant != "" {
				ns.Annotations = map[string]string{tenancyv1alpha1.AnnotationAdopt: tenant}
			}
			return ns
		}
		// setAdopt patches the annotation of namespace name to tenant ("" removes it).
		setAdopt := func(c client.Client, name, tenant string) error {
			ns := &corev1.Namespace{}
			if err := get(ns, "", name); err != nil {
				return err
			}
			patch := client.MergeFrom(ns.DeepCopy())
			if ns.Annotations == nil {
				ns.Annotations = map[string]string{}
			}
			if tenant == "" {
				delete(ns.Annotations, tenancyv1alpha1.AnnotationAdopt)
			} else {
				ns.Annotations[tenancyv1alpha1.AnnotationAdopt] = tenant
			}
			return c.Patch(testCtx, ns, patch)
		}
		const (
			setMsg    = "only a user allowed to update that Tenant may set it"
			changeMsg = "only a user allowed to update that Tenant may change or remove it"
		)
		eventually(t, 0, func() error {
			return wantForbidden(asErin.Create(testCtx, adopt("gr-erin-planted", tenantA), client.DryRunAll),
				"the tenancy.openplatform.io/adopt annotation of namespace gr-erin-planted hands it to Tenant gr-a", setMsg)
		})
		if err := wantForbidden(asErin.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: "gr-erin-labelled", Labels: map[string]string{tenancyv1alpha1.LabelTenant: tenantA}}}, client.DryRunAll),
			"the "+tenancyv1alpha1.LabelTenant+" label of namespace gr-erin-labelled"); err != nil {
			t.Errorf("erin creating a namespace labelled into tenant %s: %v", tenantA, err)
		}
		mine := adopt("gr-erin", "")
		if err := asErin.Create(testCtx, mine); err != nil {
			t.Fatalf("erin creating namespace gr-erin without the annotation: %v, want it allowed", err)
		}
		t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(testCtx, mine)) })
		if err := wantForbidden(setAdopt(asErin, "gr-erin", tenantA), "namespace gr-erin hands it to Tenant gr-a", setMsg); err != nil {
			t.Errorf("erin annotating her namespace gr-erin adopt=%s: %v", tenantA, err)
		}
		if err := wantForbidden(setAdopt(asErin, nsHandover, ""), "namespace gr-handover hands it to Tenant gr-a", changeMsg); err != nil {
			t.Errorf("erin removing the adopt annotation an admin set on %s: %v", nsHandover, err)
		}
		// Other edits of an annotated namespace are not the policy's business.
		ns := &corev1.Namespace{}
		if err := get(ns, "", nsHandover); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Annotations["gr-test/edited-by"] = erin
		if err := asErin.Patch(testCtx, ns, patch); err != nil {
			t.Errorf("erin annotating %s with something else: %v, want it allowed", nsHandover, err)
		}

		// dana may update Tenant gr-a, not gr-b.
		danas := adopt("gr-dana", tenantA)
		if err := asDana.Create(testCtx, danas); err != nil {
			t.Fatalf("dana creating namespace gr-dana with adopt=%s: %v, want it allowed", tenantA, err)
		}
		t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(testCtx, danas)) })
		if err := wantForbidden(setAdopt(asDana, "gr-dana", tenantB), "namespace gr-dana hands it to Tenant gr-b", setMsg); err != nil {
			t.Errorf("dana moving gr-dana's adoption to %s: %v", tenantB, err)
		}
		if err := setAdopt(asDana, "gr-dana", ""); err != nil {
			t.Errorf("dana removing the adopt annotation of gr-dana: %v, want it allowed", err)
		}
		// And a cluster-admin (who may update every Tenant) hands namespaces over as before.
		if err := setAdopt(asCarol, "gr-erin", tenantB); err != nil {
			t.Errorf("carol (cluster-admin) annotating gr-erin adopt=%s: %v, want it allowed", tenantB, err)
		}
	})

	t.Run("operator fence", func(t *testing.T) {
		t.Parallel()
		const fence = "the tenant-operator's ServiceAccount may only "
		annotate := func(c client.Client, name string) error {
			ns := &corev1.Namespace{}
			if err := get(ns, "", name); err != nil {
				return err
			}
			patch := client.MergeFrom(ns.DeepCopy())
			if ns.Annotations == nil {
				ns.Annotations = map[string]string{}
			}
			ns.Annotations["gr-test/edited-by"] = "operator"
			return c.Patch(testCtx, ns, patch)
		}
		deleteNS := func(name string) error {
			return asOperator.Delete(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, client.DryRunAll)
		}
		readerRule := rbacv1.PolicyRule{APIGroups: []string{tenancyv1alpha1.GroupVersion.Group}, Resources: []string{"tenants"},
			ResourceNames: []string{tenantA}, Verbs: []string{"get", "list", "watch"}}
		roleBinding := func(ns, role string) *rbacv1.RoleBinding {
			return &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "tenant-owners", Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
			}
		}
		const deleteMsg = fence + "delete namespaces labelled app.kubernetes.io/managed-by: tenant-operator and tenancy.openplatform.io/tenant"
		eventually(t, 0, func() error {
			return wantForbidden(deleteNS(nsFencePlain), deleteMsg, "namespace "+nsFencePlain+" is not")
		})

		refused := []struct {
			name string
			err  func() error
			msg  []string
		}{
			{"deleting a tenant namespace it did not create", func() error { return deleteNS(nsOpen) }, []string{deleteMsg, "namespace " + nsOpen}},
			{"updating a namespace outside tenancy", func() error { return annotate(asOperator, nsFencePlain) },
				[]string{fence + "update namespaces with a tenancy.openplatform.io/tenant label or a tenancy.openplatform.io/adopt annotation", "namespace " + nsFencePlain}},
			{"creating a ClusterRole not named tenancy:*", func() error {
				return asOperator.Create(testCtx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gr-fence-role"}}, client.DryRunAll)
			}, []string{fence + "write ClusterRoles and ClusterRoleBindings named tenancy:*", "ClusterRole gr-fence-role"}},
			{"deleting ClusterRole cluster-admin", func() error {
				return asOperator.Delete(testCtx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}}, client.DryRunAll)
			}, []string{fence + "write ClusterRoles and ClusterRoleBindings named tenancy:*", "ClusterRole cluster-admin"}},
			{"creating a ClusterRoleBinding not named tenancy:*", func() error {
				return asOperator.Create(testCtx, &rbacv1.ClusterRoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "gr-fence-binding"},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
					Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
				}, client.DryRunAll)
			}, []string{fence + "write ClusterRoles and ClusterRoleBindings named tenancy:*", "ClusterRoleBinding gr-fence-binding"}},
			{"a tenancy:* ClusterRole that reads Secrets", func() error {
				return asOperator.Create(testCtx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:reader"},
					Rules: []rbacv1.PolicyRule{readerRule, {APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}, client.DryRunAll)
			}, []string{fence + "give a tenancy:* ClusterRole rules that get, list and watch tenancy.openplatform.io tenants", "ClusterRole tenancy:gr-a:reader asks for more"}},
			{"a tenancy:* ClusterRole that updates Tenants", func() error {
				rule := readerRule
				rule.Verbs = []string{"get", "update"}
				return asOperator.Create(testCtx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:reader"}, Rules: []rbacv1.PolicyRule{rule}}, client.DryRunAll)
			}, []string{fence + "give a tenancy:* ClusterRole rules", "asks for more"}},
			{"a tenancy:* ClusterRole that aggregates others", func() error {
				return asOperator.Create(testCtx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:aggregated"},
					AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.example/aggregate": "true"}}}}}, client.DryRunAll)
			}, []string{fence + "give a tenancy:* ClusterRole rules", "ClusterRole tenancy:gr-a:aggregated asks for more"}},
			{"a tenancy:* ClusterRoleBinding to cluster-admin", func() error {
				return asOperator.Create(testCtx, &rbacv1.ClusterRoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:reader"},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
					Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
				}, client.DryRunAll)
			}, []string{fence + "bind a tenancy:* ClusterRoleBinding to the ClusterRole of the same name", "binds ClusterRole cluster-admin"}},
			{"a RoleBinding outside tenant namespaces", func() error {
				return asOperator.Create(testCtx, roleBinding(nsFencePlain, "admin"), client.DryRunAll)
			}, []string{fence + "write RoleBindings in namespaces labelled tenancy.openplatform.io/tenant", "namespace " + nsFencePlain + " is not"}},
			{"a RoleBinding to cluster-admin", func() error {
				return asOperator.Create(testCtx, roleBinding(nsOpen, "cluster-admin"), client.DryRunAll)
			}, []string{fence + "bind RoleBindings to the ClusterRoles admin, edit or view", "RoleBinding gr-a-open/tenant-owners binds ClusterRole cluster-admin"}},
			{"deleting a RoleBinding of kube-system", func() error {
				rbs := &rbacv1.RoleBindingList{}
				if err := k8s.List(testCtx, rbs, client.InNamespace("kube-system")); err != nil {
					return err
				}
				if len(rbs.Items) == 0 {
					return fmt.Errorf("kube-system has no RoleBindings to try")
				}
				return asOperator.Delete(testCtx, &rbs.Items[0], client.DryRunAll)
			}, []string{fence + "write RoleBindings in namespaces labelled tenancy.openplatform.io/tenant", "namespace kube-system is not"}},
		}
		for _, c := range refused {
			t.Run("refused: "+c.name, func(t *testing.T) {
				if err := wantForbidden(c.err(), c.msg...); err != nil {
					t.Error(err)
				}
			})
		}

		t.Run("allowed: what the operator does", func(t *testing.T) {
			if err := deleteNS(nsFenceOwned); err != nil {
				t.Errorf("deleting namespace %s (managed-by and tenant labels): %v, want it allowed", nsFenceOwned, err)
			}
			for _, ns := range []string{nsOpen, nsFenceAdopt} {
				if err := annotate(asOperator, ns); err != nil {
					t.Errorf("updating namespace %s: %v, want it allowed", ns, err)
				}
			}
			role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:reader"}, Rules: []rbacv1.PolicyRule{readerRule}}
			binding := &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "tenancy:gr-a:reader"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "tenancy:gr-a:reader"},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: alice}},
			}
			owners := roleBinding(nsOpen, "edit")
			for _, o := range []client.Object{role, binding, owners} {
				if err := asOperator.Create(testCtx, o); err != nil {
					t.Errorf("creating %T %s: %v, want it allowed", o, o.GetName(), err)
					continue
				}
				t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(testCtx, o)) })
			}
			for _, o := range []client.Object{owners, binding, role} {
				if err := asOperator.Delete(testCtx, o); err != nil {
					t.Errorf("deleting %T %s: %v, want it allowed", o, o.GetName(), err)
				}
			}
		})
	})

	t.Run("always pull images", func(t *testing.T) {
		t.Parallel()
		pod := func(ns, name string) *corev1.Pod {
			spec := restrictedPodSpec()
			app := spec.Containers[0]
			spec.Containers = nil
			for _, c := range []struct {
				name   string
				policy corev1.PullPolicy
			}{{"if-not-present", corev1.PullIfNotPresent}, {"never", corev1.PullNever}, {"defaulted", ""}} {
				cc := *app.DeepCopy()
				cc.Name, cc.ImagePullPolicy = c.name, c.policy
				spec.Containers = append(spec.Containers, cc)
			}
			initC := *app.DeepCopy()
			initC.Name, initC.ImagePullPolicy = "init", corev1.PullNever
			spec.InitContainers = []corev1.Container{initC}
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
		}
		policies := func(p *corev1.Pod) map[string]corev1.PullPolicy {
			out := map[string]corev1.PullPolicy{}
			for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
				out[c.Name] = c.ImagePullPolicy
			}
			for _, c := range p.Spec.EphemeralContainers {
				out[c.Name] = c.ImagePullPolicy
			}
			return out
		}
		allAlways := func(p *corev1.Pod) error {
			for name, policy := range policies(p) {
				if policy != corev1.PullAlways {
					return fmt.Errorf("Pod %s/%s: container %s has imagePullPolicy %q, want Always (all: %v)", p.Namespace, p.Name, name, policy, policies(p))
				}
			}
			return nil
		}
		// The MutatingAdmissionPolicy is fed by informers too: wait until a dry run shows it.
		eventually(t, 0, func() error {
			p := pod(nsPull, "gr-probe")
			if err := asAlice.Create(testCtx, p, client.DryRunAll); err != nil {
				return err
			}
			return allAlways(p)
		})

		p := pod(nsPull, "gr-pull")
		if err := asAlice.Create(testCtx, p); err != nil {
			t.Fatalf("alice creating Pod %s/gr-pull: %v", nsPull, err)
		}
		stored := &corev1.Pod{}
		if err := get(stored, nsPull, "gr-pull"); err != nil {
			t.Fatal(err)
		}
		if err := allAlways(stored); err != nil {
			t.Errorf("read back: %v", err)
		}
		// An ephemeral container (kubectl debug) gets Always when it is added.
		stored.Spec.EphemeralContainers = append(stored.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debugger", Image: "registry.example.com/debug:1.0.0", ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			},
		})
		if err := k8s.SubResource("ephemeralcontainers").Update(testCtx, stored); err != nil {
			t.Fatalf("adding an ephemeral container to Pod %s/gr-pull: %v", nsPull, err)
		}
		if err := get(stored, nsPull, "gr-pull"); err != nil {
			t.Fatal(err)
		}
		if len(stored.Spec.EphemeralContainers) != 1 {
			t.Errorf("Pod %s/gr-pull has ephemeral containers %v, want debugger", nsPull, stored.Spec.EphemeralContainers)
		} else if err := allAlways(stored); err != nil {
			t.Errorf("after kubectl debug: %v", err)
		}

		// A namespace without the label keeps what the Pod asks for.
		plain := pod(nsPlain, "gr-pull")
		if err := asAlice.Create(testCtx, plain); err != nil {
			t.Fatalf("alice creating Pod %s/gr-pull: %v", nsPlain, err)
		}
		if err := get(plain, nsPlain, "gr-pull"); err != nil {
			t.Fatal(err)
		}
		want := map[string]corev1.PullPolicy{"init": corev1.PullNever, "if-not-present": corev1.PullIfNotPresent,
			"never": corev1.PullNever, "defaulted": corev1.PullIfNotPresent}
		if got := policies(plain); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Pod %s/gr-pull (namespace without %s) has pull policies %v, want them unchanged: %v",
				nsPlain, tenancyv1alpha1.LabelAlwaysPullImages, got, want)
		}
	})

	t.Run("tenant HTTPRoutes", func(t *testing.T) {
		t.Parallel()
		installHTTPRouteCRD(t)
		clusterRole("gr-httproute-editor", rbacv1.PolicyRule{APIGroups: []string{gatewayv1.GroupName}, Resources: []string{"httproutes"},
			Verbs: []string{"get", "list", "create", "update", "patch", "delete"}})
		for _, ns := range []string{nsRoutes, nsOpen} {
			createForTest(t, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "gr-alice-httproutes", Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "gr-httproute-editor"},
				Subjects:   []rbacv1.Subject{user(alice)},
			})
		}
		route := func(ns, name string, hostnames ...string) *gatewayv1.HTTPRoute {
			r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
			for _, h := range hostnames {
				r.Spec.Hostnames = append(r.Spec.Hostnames, gatewayv1.Hostname(h))
			}
			return r
		}
		// to sends a route's second rule to a backend (a Service unless kind says otherwise).
		to := func(r *gatewayv1.HTTPRoute, backend string, kind ...string) *gatewayv1.HTTPRoute {
			ref := gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: gatewayv1.ObjectName(backend), Port: ptr.To(gatewayv1.PortNumber(8080))}}}
			if len(kind) > 0 {
				ref.Group, ref.Kind = ptr.To(gatewayv1.Group("example.com")), ptr.To(gatewayv1.Kind(kind[0]))
			}
			r.Spec.Rules = append(r.Spec.Rules,
				gatewayv1.HTTPRouteRule{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "own-web", Port: ptr.To(gatewayv1.PortNumber(8080))}}}}},
				gatewayv1.HTTPRouteRule{BackendRefs: []gatewayv1.HTTPBackendRef{ref}})
			return r
		}
		// elsewhere sends a route to the Service of a shared instance in another namespace,
		// as a backend or, with mirror, as a request mirror.
		elsewhere := func(r *gatewayv1.HTTPRoute, mirror bool) *gatewayv1.HTTPRoute {
			ref := gatewayv1.BackendObjectReference{Name: "payments-v1-api", Namespace: ptr.To(gatewayv1.Namespace("shared-payments")),
				Port: ptr.To(gatewayv1.PortNumber(8080))}
			rule := gatewayv1.HTTPRouteRule{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: ref}}}}
			if mirror {
				rule = gatewayv1.HTTPRouteRule{
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: "own-web", Port: ptr.To(gatewayv1.PortNumber(8080))}}}},
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestMirror,
						RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: ref}}},
				}
			}
			r.Spec.Rules = append(r.Spec.Rules, rule)
			return r
		}
		const guarded = "routes to a Service behind gateway policies (one of payments-api, reports-web), whose API keys, tokens and rate limit the gateway checks only on the route the tenant-operator makes for it"
		const (
			own   = "tenant gr-a's hostnames (gr-a.api.example.com, gr-a.reports.example.com)"
			field = "spec.exposure.hostname"
		)
		refused := []struct {
			name string
			as   client.Client
			r    *gatewayv1.HTTPRoute
			msg  []string
		}{
			{"another tenant's hostname", asAlice, route(nsRoutes, "gr-b", "gr-b.api.example.com"),
				[]string{"the hostname gr-b.api.example.com in spec.hostnames of HTTPRoute gr-a-web/gr-b", own, field}},
			{"one foreign hostname among own ones", asAlice, route(nsRoutes, "gr-mixed", "gr-a.api.example.com", "gr-b.api.example.com"),
				[]string{"the hostname gr-b.api.example.com", own}},
			{"a wildcard", asAlice, route(nsRoutes, "gr-wildcard", "*.api.example.com"),
				[]string{"the hostname *.api.example.com", "wildcards are not allowed", field}},
			{"a wildcard under an own hostname", asAlice, route(nsRoutes, "gr-own-wildcard", "*.gr-a.api.example.com"),
				[]string{"the hostname *.gr-a.api.example.com", "wildcards are not allowed"}},
			{"a name that only ends like an own hostname", asAlice, route(nsRoutes, "gr-suffix", "evil-gr-a.api.example.com"),
				[]string{"the hostname evil-gr-a.api.example.com", own}},
			{"no hostnames", asAlice, route(nsRoutes, "gr-any-host"),
				[]string{"HTTPRoute gr-a-web/gr-any-host has no spec.hostnames, so it would take every host of its Gateway", field}},
			{"a namespace without hostnames", asAlice, route(nsOpen, "gr-no-hosts", "gr-a.api.example.com"),
				[]string{"HTTPRoute gr-a-open/gr-no-hosts is refused because tenant gr-a exposes no hostnames", field}},
			{"another tenant's hostname by a cluster-admin", asCarol, route(nsRoutes, "gr-carol", "gr-b.api.example.com"),
				[]string{"the hostname gr-b.api.example.com", own}},
			{"a Service behind gateway policies", asAlice, to(route(nsRoutes, "gr-around", "gr-a.api.example.com"), "payments-api"),
				[]string{"HTTPRoute gr-a-web/gr-around " + guarded}},
			{"a Service of another namespace (a shared instance's)", asAlice, elsewhere(route(nsRoutes, "gr-shared", "gr-a.api.example.com"), false),
				[]string{"HTTPRoute gr-a-web/gr-shared sends traffic to another namespace (a backendRef or request mirror with a namespace other than gr-a-web)"}},
			{"a request mirror to another namespace", asAlice, elsewhere(route(nsRoutes, "gr-mirror", "gr-a.api.example.com"), true),
				[]string{"HTTPRoute gr-a-web/gr-mirror sends traffic to another namespace"}},
		}
		for _, c := range refused {
			t.Run("refused: "+c.name, func(t *testing.T) {
				eventually(t, 0, func() error { return wantForbidden(c.as.Create(testCtx, c.r.DeepCopy(), client.DryRunAll), c.msg...) })
			})
		}
		for _, c := range []struct {
			name string
			as   client.Client
			r    *gatewayv1.HTTPRoute
		}{
			{"own hostnames", asAlice, route(nsRoutes, "gr-own", "gr-a.api.example.com", "gr-a.reports.example.com")},
			{"a subdomain of an own hostname", asAlice, route(nsRoutes, "gr-sub", "v2.gr-a.reports.example.com")},
			{"a Service not behind gateway policies", asAlice, to(route(nsRoutes, "gr-other-svc", "gr-a.api.example.com"), "payments-worker")},
			{"a backend of another kind named like a guarded Service", asAlice, to(route(nsRoutes, "gr-other-kind", "gr-a.api.example.com"), "payments-api", "Thing")},
			{"the operator's routes", asOperator, route(nsOpen, "gr-operator", "gr-a.api.example.com")},
		} {
			t.Run("allowed: "+c.name, func(t *testing.T) {
				if err := c.as.Create(testCtx, c.r); err != nil {
					t.Errorf("creating HTTPRoute %s/%s: %v, want it allowed", c.r.Namespace, c.r.Name, err)
				}
			})
		}
	})
}

// createForTest creates o as the admin and deletes it when the test ends (a namespace stays
// Terminating in envtest, which is harmless).
func createForTest(t *testing.T, o client.Object) {
	t.Helper()
	mustCreate(t, o)
	t.Cleanup(func() {
		if err := client.IgnoreNotFound(k8s.Delete(testCtx, o)); err != nil {
			t.Errorf("deleting %T %s: %v", o, o.GetName(), err)
		}
	})
}
