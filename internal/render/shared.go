package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Shared instances: the tenants of plans that give them a product with tenancy Shared are
// served by one instance of each product version in the product's shared namespace. The
// instance has no tenant: it learns who is calling from the X-Tenant header each tenant's
// route sets, and the tenant's keys and rate limit are the gateway's to check.

// Kinds and names of shared instance objects.
const (
	KindReferenceGrant = "ReferenceGrant"
	ReferenceGrantCRD  = "referencegrants.gateway.networking.k8s.io"

	// SharedIsolationPolicyName admits traffic to a shared namespace from the gateway only.
	SharedIsolationPolicyName = "shared-isolation"

	// DefaultSharedReplicas is how many replicas each component of a shared instance runs
	// unless the product says.
	DefaultSharedReplicas = int32(2)
)

// SharedNamespace is the namespace of a product's shared instances.
func SharedNamespace(p *tenancyv1alpha1.ApiProduct) string {
	if p.Spec.Shared != nil && p.Spec.Shared.Namespace != "" {
		return p.Spec.Shared.Namespace
	}
	return "shared-" + p.Name
}

// SharedReplicas is how many replicas each component of a product's shared instances runs.
func SharedReplicas(p *tenancyv1alpha1.ApiProduct) int32 {
	if p.Spec.Shared != nil && p.Spec.Shared.Replicas != nil {
		return *p.Spec.Shared.Replicas
	}
	return DefaultSharedReplicas
}

// notDNSLabel matches what a DNS label (a Service name) cannot hold.
var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// SharedName joins the parts of a shared object's name (product, version, component) into
// a DNS label: versions may hold capitals, dots and underscores, and names are at most 63
// characters. A name that had to change gets a short digest of the parts, so that two
// versions that read alike (v1.0 and v1-0) never share one.
func SharedName(parts ...string) string {
	joined := strings.Join(parts, "-")
	if name := dnsLabel(joined); name == joined && len(name) <= 63 {
		return name
	}
	return withDigest(parts)
}

// dnsLabel lowercases s and turns what a DNS label cannot hold into dashes.
func dnsLabel(s string) string {
	return strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// withDigest joins parts into a DNS label of at most 63 characters ending in a digest of
// the parts.
func withDigest(parts []string) string {
	name := dnsLabel(strings.Join(parts, "-"))
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	digest := hex.EncodeToString(sum[:4])
	if len(name) > 54 {
		name = strings.TrimRight(name[:54], "-")
	}
	return name + "-" + digest
}

// SharedInstanceName names the shared instance of a product version: <product>-<version>.
func SharedInstanceName(product, version string) string { return sharedName(product, version) }

// SharedComponentName names the Deployment and Service of a component of a shared
// instance: <product>-<version>-<component>.
func SharedComponentName(product, version, component string) string {
	return sharedName(product, version, component)
}

// sharedName is SharedName, with a digest also when the version holds a dash: else
// version v1-beta's component api and version v1's component beta-api would share a name.
func sharedName(product, version string, rest ...string) string {
	parts := append([]string{product, version}, rest...)
	if strings.Contains(version, "-") {
		return withDigest(parts)
	}
	return SharedName(parts...)
}

// SharedLabels are the labels of every object of a product's shared instances.
func SharedLabels(product string) map[string]string {
	return map[string]string{
		tenancyv1alpha1.LabelManagedBy:     tenancyv1alpha1.ManagedByValue,
		tenancyv1alpha1.LabelSharedProduct: product,
	}
}

func sharedSelector(product, version, component string) map[string]string {
	return map[string]string{
		tenancyv1alpha1.LabelSharedProduct: product,
		LabelAppName:                       SharedComponentName(product, version, component),
	}
}

func sharedComponentLabels(product, version, component string) map[string]string {
	l := SharedLabels(product)
	l[LabelAppName] = SharedComponentName(product, version, component)
	l[LabelAppVersion] = SharedName(version)
	return l
}

// SharedInput is what rendering a product's shared instances needs.
type SharedInput struct {
	Product *tenancyv1alpha1.ApiProduct
	// Versions are the versions in use by Shared tenants, each with the revision it is
	// rendered from.
	Versions []SharedVersion
	// RouteNamespaces are the namespaces of the tenant routes to the shared instances:
	// each gets a ReferenceGrant, as Gateway API asks of a route to a Service in another
	// namespace.
	RouteNamespaces []string
	// Grants is true when the ReferenceGrant kind is served.
	Grants bool
	// Peers are the extra peers the plans of the Shared tenants admit to tenant Pods
	// (network.allowIngressFrom): where their gateway's proxies run, when not in the
	// Gateway's namespace (Envoy Gateway runs them in its own namespace by default).
	Peers []networkingv1.NetworkPolicyPeer
}

// SharedVersion is a version of a product a shared instance runs.
type SharedVersion struct {
	Version  *tenancyv1alpha1.ProductVersion
	Revision string
}

// SharedNamespaceObject is a product's shared namespace: the operator's, marked as the
// product's, with the restricted Pod Security level.
func SharedNamespaceObject(p *tenancyv1alpha1.ApiProduct) Object {
	name := SharedNamespace(p)
	labels := SharedLabels(p.Name)
	labels[psaEnforce] = string(tenancyv1alpha1.PodSecurityRestricted)
	labels[psaAudit] = string(tenancyv1alpha1.PodSecurityRestricted)
	labels[psaWarn] = string(tenancyv1alpha1.PodSecurityRestricted)
	return Object{Kind: KindNamespace, Name: name, Apply: corev1ac.Namespace(name).WithLabels(labels)}
}

// Shared renders what is in a product's shared namespace: shared-isolation, and for each
// version in use a Deployment and Service per component (PodDisruptionBudget and spread
// with 2 or more replicas), and a ReferenceGrant per namespace of the tenants' routes.
func Shared(in SharedInput) []Object {
	p := in.Product
	ns := SharedNamespace(p)
	out := []Object{sharedIsolation(p, in.Peers)}
	replicas := SharedReplicas(p)
	for _, sv := range in.Versions {
		v := sv.Version
		for i := range v.Components {
			c := &v.Components[i]
			out = append(out, sharedDeployment(p, sv, c, replicas))
			if replicas >= 2 {
				name := SharedComponentName(p.Name, v.Name, c.Name)
				out = append(out, disruptionBudget(name, ns, sharedComponentLabels(p.Name, v.Name, c.Name), sharedSelector(p.Name, v.Name, c.Name)))
			}
			if c.Port != nil {
				out = append(out, sharedService(p, v, c))
			}
		}
	}
	if in.Grants {
		namespaces := append([]string(nil), in.RouteNamespaces...)
		sort.Strings(namespaces)
		for i, n := range namespaces {
			if i > 0 && namespaces[i-1] == n {
				continue
			}
			out = append(out, referenceGrant(p, n))
		}
	}
	return out
}

// sharedIsolation admits traffic to the shared instances from the exposure gateway's
// namespace, the peers the Shared tenants' plans admit to tenant Pods (their gateway's
// proxies, when they run elsewhere), and the shared namespace itself (one component calls
// another) only: tenants reach the instances through their routes, where the gateway checks
// their keys and sets X-Tenant, never directly (a tenant's Pod could claim any tenant there).
func sharedIsolation(p *tenancyv1alpha1.ApiProduct, peers []networkingv1.NetworkPolicyPeer) Object {
	ns := SharedNamespace(p)
	from := []*networkingv1ac.NetworkPolicyPeerApplyConfiguration{
		networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()),
	}
	if e := p.Spec.Exposure; e != nil {
		from = append(from, networkingv1ac.NetworkPolicyPeer().
			WithNamespaceSelector(metav1ac.LabelSelector().
				WithMatchLabels(map[string]string{corev1.LabelMetadataName: e.Gateway.Namespace})))
	}
	for i := range peers {
		if sp, ok := sharedPeer(peers[i]); ok {
			from = append(from, peer(&sp))
		}
	}
	spec := networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(from...))
	np := networkingv1ac.NetworkPolicy(SharedIsolationPolicyName, ns).
		WithLabels(SharedLabels(p.Name)).
		WithSpec(spec)
	return Object{Kind: KindNetworkPolicy, Namespace: ns, Name: SharedIsolationPolicyName, Apply: np}
}

// sharedDeployment runs a component of a shared instance. It has no tenant: no TENANT, no
// API_KEY and no RATE_LIMIT_RPM (the tenant is in each request's X-Tenant header, its key
// and limit are checked at the gateway).
// sharedPeer is a plan's allowIngressFrom peer as the shared instances admit it: only
// namespaces, and never a tenant's. Under Dedicated a peer that matches tenant Pods (an
// ipBlock over the Pod network, an empty namespaceSelector) exposes only the tenant's own
// instance; on a shared instance its Pods could claim any tenant in X-Tenant.
func sharedPeer(p networkingv1.NetworkPolicyPeer) (networkingv1.NetworkPolicyPeer, bool) {
	if p.NamespaceSelector == nil || p.IPBlock != nil {
		return networkingv1.NetworkPolicyPeer{}, false
	}
	out := *p.DeepCopy()
	out.NamespaceSelector.MatchExpressions = append(out.NamespaceSelector.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: tenancyv1alpha1.LabelTenant, Operator: metav1.LabelSelectorOpDoesNotExist})
	return out, true
}

func sharedDeployment(p *tenancyv1alpha1.ApiProduct, sv SharedVersion, c *tenancyv1alpha1.Component, replicas int32) Object {
	v := sv.Version
	ns := SharedNamespace(p)
	name := SharedComponentName(p.Name, v.Name, c.Name)
	env := []*corev1ac.EnvVarApplyConfiguration{
		corev1ac.EnvVar().WithName(EnvProductVersion).WithValue(v.Name),
	}
	for _, e := range c.Env {
		env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValue(e.Value))
	}
	container := componentContainer(c, env, resources(nil, c.Resources))
	var constraints []*corev1ac.TopologySpreadConstraintApplyConfiguration
	if replicas >= 2 {
		constraints = spread(sharedSelector(p.Name, v.Name, c.Name))
	}
	podLabels := sharedComponentLabels(p.Name, v.Name, c.Name)
	delete(podLabels, tenancyv1alpha1.LabelManagedBy)
	d := appsv1ac.Deployment(name, ns).
		WithLabels(sharedComponentLabels(p.Name, v.Name, c.Name)).
		WithAnnotations(revisionAnnotation(sv.Revision)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithProgressDeadlineSeconds(ProgressDeadlineSeconds).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(sharedSelector(p.Name, v.Name, c.Name))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(podLabels).
				WithSpec(componentPodSpec(container, constraints))))
	return Object{Kind: KindDeployment, Namespace: ns, Name: name, Apply: d}
}

func sharedService(p *tenancyv1alpha1.ApiProduct, v *tenancyv1alpha1.ProductVersion, c *tenancyv1alpha1.Component) Object {
	ns := SharedNamespace(p)
	name := SharedComponentName(p.Name, v.Name, c.Name)
	s := corev1ac.Service(name, ns).
		WithLabels(sharedComponentLabels(p.Name, v.Name, c.Name)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(sharedSelector(p.Name, v.Name, c.Name)).
			WithPorts(corev1ac.ServicePort().WithName("http").WithPort(*c.Port).
				WithTargetPort(intstr.FromString("http")).WithProtocol(corev1.ProtocolTCP)))
	return Object{Kind: KindService, Namespace: ns, Name: name, Apply: s}
}

// referenceGrant lets the HTTPRoutes of one tenant namespace send traffic to the Services of
// the shared namespace (Gateway API refuses a route to another namespace's Service without
// one). It names the route namespace: one grant per namespace, as a grant lists at most 16.
func referenceGrant(p *tenancyv1alpha1.ApiProduct, routeNamespace string) Object {
	ns := SharedNamespace(p)
	name := "routes-" + routeNamespace
	if len(name) > 253 {
		name = name[:253]
	}
	g := gatewayv1ac.ReferenceGrant(name, ns).
		WithLabels(SharedLabels(p.Name)).
		WithSpec(gatewayv1ac.ReferenceGrantSpec().
			WithFrom(gatewayv1ac.ReferenceGrantFrom().
				WithGroup(gatewayv1.GroupName).WithKind(KindHTTPRoute).WithNamespace(gatewayv1.Namespace(routeNamespace))).
			WithTo(gatewayv1ac.ReferenceGrantTo().WithGroup("").WithKind(KindService)))
	return Object{Kind: KindReferenceGrant, Namespace: ns, Name: name, Apply: g}
}

// SharedCheck says why a product cannot be Shared on the tenant's plan, or nil: tenants
// reach a shared instance only through the gateway, which must check their keys or tokens
// (the instance cannot: it serves every tenant).
func SharedCheck(rp Resolved, plan string) *ResolveError {
	if rp.PlanEntry.Tenancy != tenancyv1alpha1.TenancyShared {
		return nil
	}
	p := rp.Product
	if p.Spec.Exposure == nil {
		return &ResolveError{Reason: tenancyv1alpha1.ReasonSharedNotPossible, Message: fmt.Sprintf(
			"Plan %s gives product %s with tenancy Shared, but the product has no spec.exposure: tenants reach a shared instance only through the gateway. Expose the product, or set the plan's tenancy to Dedicated.",
			plan, p.Name)}
	}
	if p.Spec.Auth.Type != tenancyv1alpha1.AuthNone && Policies(p) == nil {
		return &ResolveError{Reason: tenancyv1alpha1.ReasonSharedNotPossible, Message: fmt.Sprintf(
			"Plan %s gives product %s with tenancy Shared, but nothing at the gateway checks its %s auth (exposure.policies None) and a shared instance cannot check each tenant's key or token. Set the product's exposure.policies to EnvoyGateway, or the plan's tenancy to Dedicated.",
			plan, p.Name, p.Spec.Auth.Type)}
	}
	return nil
}
