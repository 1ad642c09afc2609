package render

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// IsolationPolicy renders tenant-isolation: every pod of the namespace accepts traffic only
// from pods in the same tenant's namespaces and from the plan's allowIngressFrom peers.
func IsolationPolicy(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, namespace string) Object {
	from := []*networkingv1ac.NetworkPolicyPeerApplyConfiguration{tenantPeer(t.Name)}
	for i := range plan.Spec.Network.AllowIngressFrom {
		from = append(from, peer(&plan.Spec.Network.AllowIngressFrom[i]))
	}
	np := networkingv1ac.NetworkPolicy(IsolationPolicyName, namespace).
		WithLabels(Labels(t.Name)).
		WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(from...)))
	return Object{Kind: KindNetworkPolicy, Namespace: namespace, Name: IsolationPolicyName, Apply: np}
}

// EgressPolicy renders tenant-egress for plans with egress: Restricted: pods may reach only
// the same tenant's namespaces, cluster DNS and the plan's allowEgressTo CIDRs. It reports
// false for plans with open egress.
func EgressPolicy(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, namespace string) (Object, bool) {
	if plan.Spec.Network.Egress != tenancyv1alpha1.EgressRestricted {
		return Object{}, false
	}
	dnsPort := intstr.FromInt32(53)
	dns := networkingv1ac.NetworkPolicyEgressRule().
		WithTo(networkingv1ac.NetworkPolicyPeer().
			WithNamespaceSelector(metav1ac.LabelSelector().
				WithMatchLabels(map[string]string{corev1.LabelMetadataName: metav1.NamespaceSystem})).
			WithPodSelector(metav1ac.LabelSelector().
				WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
		WithPorts(
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolUDP).WithPort(dnsPort),
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(dnsPort),
		)
	rules := []*networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration{
		networkingv1ac.NetworkPolicyEgressRule().WithTo(tenantPeer(t.Name)),
		dns,
	}
	if cidrs := plan.Spec.Network.AllowEgressTo; len(cidrs) > 0 {
		to := make([]*networkingv1ac.NetworkPolicyPeerApplyConfiguration, len(cidrs))
		for i, c := range cidrs {
			to[i] = networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(c))
		}
		rules = append(rules, networkingv1ac.NetworkPolicyEgressRule().WithTo(to...))
	}
	np := networkingv1ac.NetworkPolicy(EgressPolicyName, namespace).
		WithLabels(Labels(t.Name)).
		WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(rules...))
	return Object{Kind: KindNetworkPolicy, Namespace: namespace, Name: EgressPolicyName, Apply: np}, true
}

// tenantPeer selects every pod in the tenant's namespaces.
func tenantPeer(tenant string) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	return networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(
		metav1ac.LabelSelector().WithMatchLabels(map[string]string{tenancyv1alpha1.LabelTenant: tenant}))
}

// peer converts a NetworkPolicyPeer from the plan into its apply configuration.
func peer(p *networkingv1.NetworkPolicyPeer) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	out := networkingv1ac.NetworkPolicyPeer()
	if p.PodSelector != nil {
		out.WithPodSelector(selector(p.PodSelector))
	}
	if p.NamespaceSelector != nil {
		out.WithNamespaceSelector(selector(p.NamespaceSelector))
	}
	if p.IPBlock != nil {
		ip := networkingv1ac.IPBlock().WithCIDR(p.IPBlock.CIDR)
		if len(p.IPBlock.Except) > 0 {
			ip.WithExcept(p.IPBlock.Except...)
		}
		out.WithIPBlock(ip)
	}
	return out
}

func selector(s *metav1.LabelSelector) *metav1ac.LabelSelectorApplyConfiguration {
	out := metav1ac.LabelSelector()
	if len(s.MatchLabels) > 0 {
		out.WithMatchLabels(s.MatchLabels)
	}
	for _, e := range s.MatchExpressions {
		req := metav1ac.LabelSelectorRequirement().WithKey(e.Key).WithOperator(e.Operator)
		if len(e.Values) > 0 {
			req.WithValues(e.Values...)
		}
		out.WithMatchExpressions(req)
	}
	return out
}
