package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/revision"
)

// Kinds of product objects.
const (
	KindDeployment = "Deployment"
	KindService    = "Service"
	KindSecret     = "Secret"
	KindHTTPRoute  = "HTTPRoute"

	// HTTPRouteCRD is the name of the Gateway API HTTPRoute CRD.
	HTTPRouteCRD = "httproutes.gateway.networking.k8s.io"
)

// Names, keys and environment of product objects.
const (
	// CredentialsKey is the key of the API key in <product>-credentials.
	CredentialsKey = "api-key"
	// AnnotationRotation on a credentials Secret records the value of the Tenant's
	// rotate-credentials annotation the key was generated for.
	AnnotationRotation = "tenancy.openplatform.io/rotation"
	// AnnotationCredentialsHash on a pod template rolls the Deployment when the key changes.
	AnnotationCredentialsHash = "tenancy.openplatform.io/credentials-hash"

	LabelAppName    = "app.kubernetes.io/name"
	LabelAppVersion = "app.kubernetes.io/version"

	EnvTenant         = "TENANT"
	EnvProductVersion = "PRODUCT_VERSION"
	EnvRateLimit      = "RATE_LIMIT_RPM"
	EnvAPIKey         = "API_KEY"

	// nonRootUID is the user product containers run as.
	nonRootUID = int64(65532)

	// ProgressDeadlineSeconds is how long a product Deployment may take to make a rollout
	// available before its controller reports ProgressDeadlineExceeded and the tenant's
	// ProductsReady says so: five minutes, for API services that start in seconds and pull
	// images of a few hundred megabytes (Kubernetes' default is ten).
	ProgressDeadlineSeconds = int32(300)
)

// Resolved is one of a tenant's products with the version, namespace and plan entry that
// apply to it.
type Resolved struct {
	Product   *tenancyv1alpha1.ApiProduct
	Version   *tenancyv1alpha1.ProductVersion
	PlanEntry tenancyv1alpha1.PlanProduct
	Namespace string
	// Revision names the revision Version's content is stored as: the live spec's after
	// ResolveProducts, the one the tenant is assigned once a rollout decided.
	Revision string
	// Pinned is whether the tenant picked the version itself (spec.products[].version).
	Pinned bool
}

// ResolveError says why a tenant's products cannot be resolved; Reason is a condition reason.
type ResolveError struct {
	Reason, Message string
}

func (e *ResolveError) Error() string { return e.Message }

// ResolveProducts picks the tenant's products (spec.products, else every product of the
// plan) and, for each, the version (tenant pin, else the plan's version, else the product's
// defaultVersion) and the namespace (tenant's choice, else its first namespace).
func ResolveProducts(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct) ([]Resolved, *ResolveError) {
	entries := map[string]tenancyv1alpha1.PlanProduct{}
	for _, p := range plan.Spec.Products {
		entries[p.Name] = p
	}
	type want struct{ name, version, namespace string }
	var wants []want
	if len(t.Spec.Products) > 0 {
		for _, p := range t.Spec.Products {
			wants = append(wants, want{p.Name, p.Version, p.Namespace})
		}
	} else {
		for _, p := range plan.Spec.Products {
			wants = append(wants, want{name: p.Name})
		}
	}
	firstNS := t.DesiredNamespaces()[0].Name
	var out []Resolved
	for _, w := range wants {
		entry, ok := entries[w.name]
		if !ok {
			return nil, &ResolveError{tenancyv1alpha1.ReasonProductNotInPlan, fmt.Sprintf(
				"Product %s is not in plan %s: remove it from spec.products, or add it to the plan's spec.products.", w.name, plan.Name)}
		}
		product := products[w.name]
		if product == nil {
			return nil, &ResolveError{tenancyv1alpha1.ReasonProductNotFound, fmt.Sprintf(
				"ApiProduct %s does not exist: create it, or remove it from plan %s.", w.name, plan.Name)}
		}
		version, source := w.version, "spec.products["+w.name+"].version"
		if version == "" {
			version, source = entry.Version, "plan "+plan.Name+"'s version of "+w.name
		}
		if version == "" {
			version, source = product.Spec.DefaultVersion, "ApiProduct "+w.name+"'s defaultVersion"
		}
		var v *tenancyv1alpha1.ProductVersion
		for i := range product.Spec.Versions {
			if product.Spec.Versions[i].Name == version {
				v = &product.Spec.Versions[i]
			}
		}
		if v == nil {
			return nil, &ResolveError{tenancyv1alpha1.ReasonVersionNotFound, fmt.Sprintf(
				"ApiProduct %s has no version %s (from %s): pick one of %s.", w.name, version, source, versionNames(product))}
		}
		ns := w.namespace
		if ns == "" {
			ns = firstNS
		}
		out = append(out, Resolved{Product: product, Version: v, PlanEntry: entry, Namespace: ns,
			Revision: revision.Name(product.Name, v), Pinned: w.version != ""})
	}
	return out, nil
}

// ResolveProduct resolves one of the tenant's products as ResolveProducts does, whatever
// the state of its other products. It returns nil when the tenant does not have the product.
func ResolveProduct(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, p *tenancyv1alpha1.ApiProduct) (*Resolved, *ResolveError) {
	// Resolve it alone: the products are picked from spec.products, else from the plan.
	// Shallow copies with their own products list: ResolveProducts only reads, and a
	// product's status recount resolves every tenant of the product.
	tt, pp := t, plan
	if len(t.Spec.Products) > 0 {
		c := *t
		tt = &c
		if tt.Spec.Products = only(t.Spec.Products, p.Name, func(w tenancyv1alpha1.TenantProduct) string { return w.Name }); len(tt.Spec.Products) == 0 {
			return nil, nil
		}
	} else {
		c := *plan
		pp = &c
		if pp.Spec.Products = only(plan.Spec.Products, p.Name, func(w tenancyv1alpha1.PlanProduct) string { return w.Name }); len(pp.Spec.Products) == 0 {
			return nil, nil
		}
	}
	out, err := ResolveProducts(tt, pp, map[string]*tenancyv1alpha1.ApiProduct{p.Name: p})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return &out[0], nil
}

// only are the items named name.
func only[T any](items []T, name string, nameOf func(T) string) []T {
	var out []T
	for _, it := range items {
		if nameOf(it) == name {
			out = append(out, it)
		}
	}
	return out
}

func versionNames(p *tenancyv1alpha1.ApiProduct) string {
	names := make([]string, len(p.Spec.Versions))
	for i, v := range p.Spec.Versions {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// Credential is a tenant's API key for a product.
type Credential struct {
	Key string
	// Rotation is the value of the Tenant's rotate-credentials annotation the key was made for.
	Rotation string
}

// ProductInput is what rendering one product of a tenant needs.
type ProductInput struct {
	Tenant   *tenancyv1alpha1.Tenant
	Resolved Resolved
	// Credential is the product's API key; nil unless auth.type is APIKey.
	Credential *Credential
	// Routes is true when the HTTPRoute kind is installed in the cluster.
	Routes bool
	// Policies is true when the CRDs of the product's gateway policy provider are
	// installed (see Policies); without them a product that asks for gateway policies gets
	// no route.
	Policies bool
	// GatewayKeys are the keys the gateway accepts, for a product with API key auth and
	// gateway policies.
	GatewayKeys *GatewayKeys
	// Monitoring is true when the prometheus-operator's ServiceMonitor CRD is installed:
	// components with metrics get a ServiceMonitor.
	Monitoring bool
	// SharedVersion, when set, is the version of the product's shared instance that serves
	// the tenant: its route goes there, setting X-Tenant.
	SharedVersion string
	// NoInstance leaves out the tenant's own instance (Deployments, Services, autoscalers,
	// budgets, monitors): a shared instance serves it, and no move needs its own.
	NoInstance bool
}

// RouteMade reports whether a tenant's product gets an HTTPRoute: it is exposed, the
// HTTPRoute kind is served and, when the product asks for gateway policies, their CRDs
// are installed too (a route without its policies would serve the API without auth or
// rate limit).
func RouteMade(r Resolved, routes, policies bool) bool {
	return r.Product.Spec.Exposure != nil && routes && (Policies(r.Product) == nil || policies)
}

// UsesAPIKey reports whether a product hands out per-tenant API keys.
func UsesAPIKey(p *tenancyv1alpha1.ApiProduct) bool {
	return p.Spec.Auth.Type == "" || p.Spec.Auth.Type == tenancyv1alpha1.AuthAPIKey
}

// CredentialsName is the name of a product's credentials Secret.
func CredentialsName(product string) string { return product + "-credentials" }

// ComponentName is the name of a component's Deployment and Service.
func ComponentName(product, component string) string { return product + "-" + component }

// Product renders a tenant's instance of a product: a Deployment per component, a Service
// per component with a port, the credentials Secret for APIKey auth and an HTTPRoute when
// the product is exposed and the HTTPRoute kind exists, preceded by its gateway policies
// when the product has them (and with none of the two while their CRDs are missing).
func Product(in ProductInput) []Object {
	r := in.Resolved
	var out []Object
	if in.Credential != nil {
		out = append(out, credentialsSecret(in.Tenant, r, in.Credential))
	}
	replicas, autoscaled := Replicas(in.Tenant, r)
	for i := range r.Version.Components {
		if in.NoInstance {
			break
		}
		c := &r.Version.Components[i]
		out = append(out, deployment(in, c))
		if autoscaled {
			out = append(out, horizontalPodAutoscaler(in.Tenant, r, c))
		}
		if replicas >= 2 {
			out = append(out, podDisruptionBudget(in.Tenant, r, c))
		}
		if c.Port != nil || c.Metrics != nil {
			out = append(out, service(in.Tenant, r, c))
		}
		if c.Metrics != nil && in.Monitoring {
			out = append(out, serviceMonitor(in.Tenant, r, c))
		}
	}
	if RouteMade(r, in.Routes, in.Policies) {
		if p := Policies(r.Product); p != nil {
			out = append(out, p.Objects(in, r.Product.Name)...)
		}
		out = append(out, httpRoute(in.Tenant, r, r.Product.Spec.Exposure, in.SharedVersion))
	}
	return out
}

// productLabels are the labels of every object of a product.
func productLabels(t *tenancyv1alpha1.Tenant, r Resolved) map[string]string {
	l := Labels(t.Name)
	l[tenancyv1alpha1.LabelProduct] = r.Product.Name
	l[LabelAppVersion] = r.Version.Name
	return l
}

// selectorLabels select a component's pods; they never change, so the Deployment's
// immutable selector stays valid across versions.
func selectorLabels(t *tenancyv1alpha1.Tenant, product, component string) map[string]string {
	return map[string]string{
		tenancyv1alpha1.LabelTenant:  t.Name,
		tenancyv1alpha1.LabelProduct: product,
		LabelAppName:                 ComponentName(product, component),
	}
}

func componentLabels(t *tenancyv1alpha1.Tenant, r Resolved, component string) map[string]string {
	l := productLabels(t, r)
	l[LabelAppName] = ComponentName(r.Product.Name, component)
	return l
}

func credentialsSecret(t *tenancyv1alpha1.Tenant, r Resolved, c *Credential) Object {
	name := CredentialsName(r.Product.Name)
	s := corev1ac.Secret(name, r.Namespace).
		WithLabels(productLabels(t, r)).
		WithAnnotations(map[string]string{AnnotationRotation: c.Rotation}).
		WithType(corev1.SecretTypeOpaque).
		WithData(map[string][]byte{CredentialsKey: []byte(c.Key)})
	return Object{Kind: KindSecret, Namespace: r.Namespace, Name: name, Apply: s}
}

// CredentialsHash is a short digest of a key: it rolls the Deployments on rotation without
// putting the key in the pod template.
func CredentialsHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

func deployment(in ProductInput, c *tenancyv1alpha1.Component) Object {
	t, r := in.Tenant, in.Resolved
	name := ComponentName(r.Product.Name, c.Name)
	replicas, autoscaled := Replicas(t, r)

	env := []*corev1ac.EnvVarApplyConfiguration{
		corev1ac.EnvVar().WithName(EnvTenant).WithValue(t.Name),
		corev1ac.EnvVar().WithName(EnvProductVersion).WithValue(r.Version.Name),
	}
	if rl := r.PlanEntry.RateLimit; rl != nil {
		env = append(env, corev1ac.EnvVar().WithName(EnvRateLimit).WithValue(strconv.Itoa(int(rl.RequestsPerMinute))))
	}
	for _, e := range c.Env {
		env = append(env, corev1ac.EnvVar().WithName(e.Name).WithValue(e.Value))
	}
	podAnnotations := map[string]string{}
	if in.Credential != nil {
		env = append(env, corev1ac.EnvVar().WithName(EnvAPIKey).WithValueFrom(corev1ac.EnvVarSource().
			WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(CredentialsName(r.Product.Name)).WithKey(CredentialsKey))))
		podAnnotations[AnnotationCredentialsHash] = CredentialsHash(in.Credential.Key)
	}

	container := componentContainer(c, env, resources(r.PlanEntry.Resources, c.Resources))

	// The Pods are the ReplicaSet's, not the operator's: their labels do not claim
	// app.kubernetes.io/managed-by (only the objects the operator writes carry it).
	podLabels := componentLabels(t, r, c.Name)
	delete(podLabels, tenancyv1alpha1.LabelManagedBy)
	var constraints []*corev1ac.TopologySpreadConstraintApplyConfiguration
	if highlyAvailable(t, r) {
		constraints = spread(selectorLabels(t, r.Product.Name, c.Name))
	}
	podSpec := componentPodSpec(container, constraints)
	template := corev1ac.PodTemplateSpec().
		WithLabels(podLabels).
		WithSpec(podSpec)
	if len(podAnnotations) > 0 {
		template.WithAnnotations(podAnnotations)
	}
	spec := appsv1ac.DeploymentSpec().
		WithProgressDeadlineSeconds(ProgressDeadlineSeconds).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(selectorLabels(t, r.Product.Name, c.Name))).
		WithTemplate(template)
	spec.WithReplicas(replicas)
	o := Object{Kind: KindDeployment, Namespace: r.Namespace, Name: name}
	if autoscaled {
		// The autoscaler owns the count: a new Deployment starts at its minimum, an
		// existing one is applied without replicas (see LeftToOthers).
		o.LeftToOthers = [][]string{{"spec", "replicas"}}
	}
	o.Apply = appsv1ac.Deployment(name, r.Namespace).
		WithLabels(componentLabels(t, r, c.Name)).
		WithAnnotations(revisionAnnotation(r.Revision)).
		WithSpec(spec)
	return o
}

// componentContainer is a component's container: its image, arguments, environment,
// ports, readiness probe and resources, with the restricted Pod Security profile's
// security context.
func componentContainer(c *tenancyv1alpha1.Component, env []*corev1ac.EnvVarApplyConfiguration, res *corev1ac.ResourceRequirementsApplyConfiguration) *corev1ac.ContainerApplyConfiguration {
	container := corev1ac.Container().
		WithName(c.Name).
		WithImage(c.Image).
		WithEnv(env...).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).
			WithAllowPrivilegeEscalation(false).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if len(c.Args) > 0 {
		container.WithArgs(c.Args...)
	}
	if c.Port != nil {
		container.WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(*c.Port).WithProtocol(corev1.ProtocolTCP))
	}
	if c.Metrics != nil && metricsPort(c) == metricsPortName {
		container.WithPorts(corev1ac.ContainerPort().WithName(metricsPortName).WithContainerPort(c.Metrics.Port).WithProtocol(corev1.ProtocolTCP))
	}
	if c.Port != nil && c.HealthPath != "" {
		container.WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath(c.HealthPath).WithPort(intstr.FromInt32(*c.Port))))
	}
	if res != nil {
		container.WithResources(res)
	}
	return container
}

// componentPodSpec runs a component's container as a non-root user without a service
// account token, spread as given.
func componentPodSpec(container *corev1ac.ContainerApplyConfiguration, constraints []*corev1ac.TopologySpreadConstraintApplyConfiguration) *corev1ac.PodSpecApplyConfiguration {
	podSpec := corev1ac.PodSpec().
		WithAutomountServiceAccountToken(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(nonRootUID).
			WithRunAsGroup(nonRootUID).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithContainers(container)
	if len(constraints) > 0 {
		podSpec.WithTopologySpreadConstraints(constraints...)
	}
	return podSpec
}

// revisionAnnotation names the revision a Deployment was rendered from.
func revisionAnnotation(revision string) map[string]string {
	if revision == "" {
		return nil
	}
	return map[string]string{tenancyv1alpha1.AnnotationRevision: revision}
}

// resources picks the plan entry's resources, else the component's.
func resources(plan, component *tenancyv1alpha1.ComputeResources) *corev1ac.ResourceRequirementsApplyConfiguration {
	res := plan
	if res == nil {
		res = component
	}
	if res == nil || (len(res.Requests) == 0 && len(res.Limits) == 0) {
		return nil
	}
	out := corev1ac.ResourceRequirements()
	if len(res.Requests) > 0 {
		out.WithRequests(res.Requests.DeepCopy())
	}
	if len(res.Limits) > 0 {
		out.WithLimits(res.Limits.DeepCopy())
	}
	return out
}

// service serves a component's port and, when they are served apart, its metrics. It
// carries the tenant's plan, which a ServiceMonitor copies onto the metrics.
func service(t *tenancyv1alpha1.Tenant, r Resolved, c *tenancyv1alpha1.Component) Object {
	name := ComponentName(r.Product.Name, c.Name)
	var ports []*corev1ac.ServicePortApplyConfiguration
	if c.Port != nil {
		ports = append(ports, corev1ac.ServicePort().WithName("http").WithPort(*c.Port).
			WithTargetPort(intstr.FromString("http")).WithProtocol(corev1.ProtocolTCP))
	}
	if c.Metrics != nil && metricsPort(c) == metricsPortName {
		ports = append(ports, corev1ac.ServicePort().WithName(metricsPortName).WithPort(c.Metrics.Port).
			WithTargetPort(intstr.FromString(metricsPortName)).WithProtocol(corev1.ProtocolTCP))
	}
	labels := componentLabels(t, r, c.Name)
	if c.Metrics != nil {
		labels[tenancyv1alpha1.LabelPlan] = t.Spec.Plan
	}
	s := corev1ac.Service(name, r.Namespace).
		WithLabels(labels).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(selectorLabels(t, r.Product.Name, c.Name)).
			WithPorts(ports...))
	return Object{Kind: KindService, Namespace: r.Namespace, Name: name, Apply: s}
}

// Hostnames are the route hostnames of a tenant's products (spec.products, else every
// product of the plan): for each product with an exposure hostname, the template with
// {tenant} substituted, sorted and without repeats. Products missing from products are
// skipped.
func Hostnames(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct) []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range EffectiveProducts(t, plan) {
		p := products[name]
		if p == nil || p.Spec.Exposure == nil || p.Spec.Exposure.Hostname == "" {
			continue
		}
		if h := Hostname(p.Spec.Exposure.Hostname, t.Name); !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// GuardedServices are the entry Services of a tenant's products (spec.products, else every
// product of the plan) that have gateway policies, sorted and without repeats: its own
// HTTPRoutes may not route to them. Products missing from products are skipped.
func GuardedServices(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan, products map[string]*tenancyv1alpha1.ApiProduct) []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range EffectiveProducts(t, plan) {
		p := products[name]
		if p == nil || Policies(p) == nil {
			continue
		}
		if s := ComponentName(p.Name, p.Spec.Exposure.Component); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// EffectiveProducts are the names of a tenant's products: spec.products, else every product
// of the plan.
func EffectiveProducts(t *tenancyv1alpha1.Tenant, plan *tenancyv1alpha1.ServicePlan) []string {
	var names []string
	if len(t.Spec.Products) > 0 {
		for _, p := range t.Spec.Products {
			names = append(names, p.Name)
		}
		return names
	}
	for _, p := range plan.Spec.Products {
		names = append(names, p.Name)
	}
	return names
}

// Hostname is the route hostname of a tenant: the template with {tenant} substituted.
func Hostname(template, tenant string) string {
	return strings.ReplaceAll(template, "{tenant}", tenant)
}

// PathPrefix is the path a product is served under: exposure.pathPrefix, else /<product>.
func PathPrefix(p *tenancyv1alpha1.ApiProduct) string {
	if p.Spec.Exposure != nil && p.Spec.Exposure.PathPrefix != "" {
		return p.Spec.Exposure.PathPrefix
	}
	return "/" + p.Name
}

// httpRoute routes the tenant's hostname and the product's path to the entry Service: the
// tenant's own, or, with sharedVersion, that of the product's shared instance of that
// version, with the X-Tenant request header set to the tenant (a client's is overwritten).
func httpRoute(t *tenancyv1alpha1.Tenant, r Resolved, e *tenancyv1alpha1.Exposure, sharedVersion string) Object {
	version := r.Version
	if sharedVersion != "" {
		for i := range r.Product.Spec.Versions {
			if r.Product.Spec.Versions[i].Name == sharedVersion {
				version = &r.Product.Spec.Versions[i]
			}
		}
	}
	var port int32
	for _, c := range version.Components {
		if c.Name == e.Component && c.Port != nil {
			port = *c.Port
		}
	}
	backend := gatewayv1ac.HTTPBackendRef().
		WithName(gatewayv1.ObjectName(ComponentName(r.Product.Name, e.Component))).
		WithPort(gatewayv1.PortNumber(port))
	if sharedVersion != "" {
		backend.WithName(gatewayv1.ObjectName(SharedComponentName(r.Product.Name, sharedVersion, e.Component))).
			WithNamespace(gatewayv1.Namespace(SharedNamespace(r.Product)))
	}
	rule := gatewayv1ac.HTTPRouteRule().
		WithMatches(gatewayv1ac.HTTPRouteMatch().WithPath(gatewayv1ac.HTTPPathMatch().
			WithType(gatewayv1.PathMatchPathPrefix).WithValue(PathPrefix(r.Product))))
	// A suspended tenant's own instance runs no Pods; the shared instance keeps running for
	// the others, so a suspended tenant's route to it forwards nowhere (the gateway answers
	// 503, as for an own Service without endpoints).
	if sharedVersion == "" || !t.Spec.Suspended {
		rule.WithBackendRefs(backend)
	}
	if sharedVersion != "" {
		rule.WithFilters(gatewayv1ac.HTTPRouteFilter().
			WithType(gatewayv1.HTTPRouteFilterRequestHeaderModifier).
			WithRequestHeaderModifier(gatewayv1ac.HTTPHeaderFilter().WithSet(
				gatewayv1ac.HTTPHeader().WithName(tenancyv1alpha1.HeaderTenant).WithValue(t.Name))))
	}
	if headers := DeprecationHeaders(r.Product, r.Version.Name); len(headers) > 0 {
		set := make([]*gatewayv1ac.HTTPHeaderApplyConfiguration, 0, len(headers))
		for _, h := range headers {
			set = append(set, gatewayv1ac.HTTPHeader().WithName(gatewayv1.HTTPHeaderName(h.Name)).WithValue(h.Value))
		}
		rule.WithFilters(gatewayv1ac.HTTPRouteFilter().
			WithType(gatewayv1.HTTPRouteFilterResponseHeaderModifier).
			WithResponseHeaderModifier(gatewayv1ac.HTTPHeaderFilter().WithSet(set...)))
	}
	spec := gatewayv1ac.HTTPRouteSpec().
		WithParentRefs(gatewayv1ac.ParentReference().
			WithName(gatewayv1.ObjectName(e.Gateway.Name)).
			WithNamespace(gatewayv1.Namespace(e.Gateway.Namespace))).
		WithRules(rule)
	if e.Hostname != "" {
		spec.WithHostnames(gatewayv1.Hostname(Hostname(e.Hostname, t.Name)))
	}
	route := gatewayv1ac.HTTPRoute(r.Product.Name, r.Namespace).
		WithLabels(productLabels(t, r)).
		WithSpec(spec)
	return Object{Kind: KindHTTPRoute, Namespace: r.Namespace, Name: r.Product.Name, Apply: route}
}

// Header is an HTTP header the gateway sets on responses.
type Header struct{ Name, Value string }

// Response headers that tell API clients a version is going away.
const (
	// HeaderDeprecation (RFC 9745) carries the date the version was deprecated, as a
	// structured-field Date: @<Unix seconds>.
	HeaderDeprecation = "Deprecation"
	// HeaderSunset (RFC 8594) carries the date the version is expected to go away, as an
	// HTTP-date.
	HeaderSunset = "Sunset"
)

// DeprecationHeaders are the response headers of a tenant's route to a version of the
// product: for a deprecated version, Deprecation with the time the operator first saw it
// deprecated (status.versions[].deprecatedSince) and Sunset when the version has one; none
// until that time is recorded. The version's deprecation is read from the live spec, whatever
// revision of it the tenant runs.
func DeprecationHeaders(p *tenancyv1alpha1.ApiProduct, version string) []Header {
	var v *tenancyv1alpha1.ProductVersion
	for i := range p.Spec.Versions {
		if p.Spec.Versions[i].Name == version {
			v = &p.Spec.Versions[i]
		}
	}
	if v == nil || !v.Deprecated {
		return nil
	}
	var out []Header
	for _, s := range p.Status.Versions {
		if s.Name == version && s.Deprecated && s.DeprecatedSince != nil {
			out = append(out, Header{HeaderDeprecation, "@" + strconv.FormatInt(s.DeprecatedSince.Unix(), 10)})
		}
	}
	if len(out) == 0 {
		// Not recorded yet (the ApiProduct reconciler writes it within a moment): clients see
		// Deprecation before, or with, Sunset.
		return nil
	}
	if v.Sunset != nil {
		out = append(out, Header{HeaderSunset, v.Sunset.UTC().Format(http.TimeFormat)})
	}
	return out
}

// Endpoint is the URL a tenant reaches a product at: the route's hostname and path when the
// product is exposed with a hostname and its route is made (see RouteMade), else the
// entrypoint Service inside the cluster.
func Endpoint(t *tenancyv1alpha1.Tenant, r Resolved, routed bool) string {
	if e := r.Product.Spec.Exposure; e != nil {
		if e.Hostname != "" && routed {
			return "https://" + Hostname(e.Hostname, t.Name) + PathPrefix(r.Product)
		}
		for _, c := range r.Version.Components {
			if c.Name == e.Component && c.Port != nil {
				return fmt.Sprintf("http://%s.%s.svc:%d", ComponentName(r.Product.Name, c.Name), r.Namespace, *c.Port)
			}
		}
	}
	for _, c := range r.Version.Components {
		if c.Port != nil {
			return fmt.Sprintf("http://%s.%s.svc:%d", ComponentName(r.Product.Name, c.Name), r.Namespace, *c.Port)
		}
	}
	return ""
}
