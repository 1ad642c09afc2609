package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AuthType is how clients authenticate to an API product.
// +kubebuilder:validation:Enum=None;APIKey;OAuth2
type AuthType string

// Auth types.
const (
	AuthNone   AuthType = "None"
	AuthAPIKey AuthType = "APIKey"
	AuthOAuth2 AuthType = "OAuth2"
)

// GatewayPolicies names who enforces a product's auth and rate limit at the gateway.
// +kubebuilder:validation:Enum=None;EnvoyGateway
type GatewayPolicies string

// Gateway policy providers.
const (
	// GatewayPoliciesNone writes no gateway policies: the route serves whoever reaches it,
	// and the components get the key and the rate limit to enforce themselves.
	GatewayPoliciesNone GatewayPolicies = "None"
	// GatewayPoliciesEnvoyGateway writes Envoy Gateway SecurityPolicy and
	// BackendTrafficPolicy objects beside each tenant's route.
	GatewayPoliciesEnvoyGateway GatewayPolicies = "EnvoyGateway"
)

// ApiProductSpec describes an API the platform offers: containerized microservice
// components in one or more versions, how it is exposed, and how clients authenticate.
// +kubebuilder:validation:XValidation:rule="self.versions.exists(v, v.name == self.defaultVersion)",message="defaultVersion must name one of spec.versions"
// +kubebuilder:validation:XValidation:rule="!has(self.exposure) || self.versions.all(v, v.components.exists(c, c.name == self.exposure.component && has(c.port)))",message="exposure.component must name a component with a port in every version"
// +kubebuilder:validation:XValidation:rule="!has(self.auth) || !has(self.auth.apiKey) || (has(self.exposure) && self.exposure.policies == 'EnvoyGateway')",message="auth.apiKey (header, rotationGracePeriod) is what the gateway checks: it needs exposure.policies EnvoyGateway (with policies None the components get only the current key, as API_KEY)"
// +kubebuilder:validation:XValidation:rule="!has(self.exposure) || !has(self.exposure.policies) || self.exposure.policies != 'EnvoyGateway' || !has(self.auth) || self.auth.type != 'OAuth2' || (has(self.auth.oauth2) && has(self.auth.oauth2.jwksURI))",message="auth.oauth2.jwksURI is required with exposure.policies EnvoyGateway and auth.type OAuth2: the gateway verifies token signatures with the keys published there, e.g. https://id.example.com/.well-known/jwks.json"
type ApiProductSpec struct {
	// displayName is the product's human-readable name, e.g. "Payments API".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// description says what the API does.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// defaultVersion is the version tenants get unless their plan or the tenant picks
	// another. It must name one of versions.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	DefaultVersion string `json:"defaultVersion"`

	// versions are the versions of the product, each a set of components.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	Versions []ProductVersion `json:"versions"`

	// exposure publishes the product through a Gateway API HTTPRoute per tenant. Without
	// it the product is reachable only inside the cluster.
	// +optional
	Exposure *Exposure `json:"exposure,omitempty"`

	// auth is how clients authenticate to the product.
	// +optional
	// +kubebuilder:default={type: APIKey}
	Auth Auth `json:"auth,omitempty"`

	// shared configures the product's shared instances, which serve the tenants of plans
	// that give them the product with tenancy Shared.
	// +optional
	Shared *SharedSpec `json:"shared,omitempty"`

	// rollout moves a change of the product to tenants in waves, each gated on the moved
	// tenants being healthy, and returns them to the stable revision on failure. Without it
	// every tenant moves at once.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`
}

// FailurePolicy is what a rollout does when a moved tenant fails.
// +kubebuilder:validation:Enum=Rollback;Pause
type FailurePolicy string

// Failure policies.
const (
	// FailureRollback returns every moved tenant to the revision it ran before.
	FailureRollback FailurePolicy = "Rollback"
	// FailurePause leaves the moved tenants where they are and moves nobody else.
	FailurePause FailurePolicy = "Pause"
)

// RolloutSpec says how a change of the product reaches its tenants.
type RolloutSpec struct {
	// waves are the steps of a rollout, in order. A tenant belongs to the first wave that
	// selects it; a wave with neither tenantSelector nor plans selects every tenant not yet
	// selected. Tenants that no wave selects move last, in a wave named "(remaining)".
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	Waves []RolloutWave `json:"waves,omitempty"`

	// maxConcurrentTenants is how many tenants of a wave move at the same time.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxConcurrentTenants int32 `json:"maxConcurrentTenants,omitempty"`

	// healthTimeout is how long a moved tenant has to make the product available (every
	// replica of every component updated and ready). A tenant whose Pods are refused
	// (PodsRejected) or whose Deployment passes its progress deadline fails at once.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$')",message="rollout.healthTimeout must be a duration of hours, minutes and seconds such as 10m, 1h30m or 90s (no days: write 24h)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('24h'))",message="rollout.healthTimeout must be between 1s and 24h, e.g. 10m"
	HealthTimeout metav1.Duration `json:"healthTimeout,omitempty"`

	// pauseBetweenWaves is how long a wave soaks, healthy, before the next one starts.
	// +optional
	// +kubebuilder:default="0s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$')",message="rollout.pauseBetweenWaves must be a duration of hours, minutes and seconds such as 0s, 30m or 1h30m (no days: write 168h for a week)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$') || duration(self) <= duration('168h')",message="rollout.pauseBetweenWaves must be at most 168h (a week), e.g. 30m"
	PauseBetweenWaves metav1.Duration `json:"pauseBetweenWaves,omitempty"`

	// failurePolicy is what happens when a moved tenant fails: Rollback returns every moved
	// tenant to the revision it ran before; Pause leaves them and moves nobody else. Either
	// way the product reports Ready=False, reason RolloutFailed, until its spec changes.
	// +optional
	// +kubebuilder:default=Rollback
	FailurePolicy FailurePolicy `json:"failurePolicy,omitempty"`

	// paused holds the rollout where it is: tenants already moving finish (and are still
	// checked), no other tenant moves.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// RolloutWave is one step of a rollout: the tenants it selects. metav1.LabelSelector brings
// no validation of its own into a CRD, so the rules below check its operators and values
// (at most 16 matchExpressions, so that a rule can iterate them within the CEL budget).
// +kubebuilder:validation:XValidation:rule="!has(self.tenantSelector) || !has(self.plans)",message="a wave selects tenants by tenantSelector or by plans, not both: make two waves"
// +kubebuilder:validation:XValidation:rule="!has(self.tenantSelector) || !has(self.tenantSelector.matchExpressions) || size(self.tenantSelector.matchExpressions) <= 16",message="a wave's tenantSelector.matchExpressions may have at most 16 entries",fieldPath=".tenantSelector.matchExpressions"
// +kubebuilder:validation:XValidation:rule="!has(self.tenantSelector) || !has(self.tenantSelector.matchExpressions) || [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].all(i, i >= size(self.tenantSelector.matchExpressions) || (self.tenantSelector.matchExpressions[i].operator in ['In', 'NotIn'] ? (has(self.tenantSelector.matchExpressions[i].values) && size(self.tenantSelector.matchExpressions[i].values) > 0) : (self.tenantSelector.matchExpressions[i].operator in ['Exists', 'DoesNotExist'] && (!has(self.tenantSelector.matchExpressions[i].values) || size(self.tenantSelector.matchExpressions[i].values) == 0))))",message="a wave's tenantSelector.matchExpressions: each operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values",fieldPath=".tenantSelector.matchExpressions"
type RolloutWave struct {
	// name of the wave, e.g. canary.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// tenantSelector selects the wave's tenants by their labels.
	// +optional
	TenantSelector *metav1.LabelSelector `json:"tenantSelector,omitempty"`

	// plans selects the tenants on these ServicePlans.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=set
	Plans []string `json:"plans,omitempty"`
}

// ProductVersion is one version of an API product.
// +kubebuilder:validation:XValidation:rule="!has(self.sunset) || (has(self.deprecated) && self.deprecated)",message="versions[].sunset needs deprecated: true: a version is deprecated before it goes away (clients see the Deprecation header first)"
type ProductVersion struct {
	// name of the version, e.g. v2.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Name string `json:"name"`

	// deprecated marks a version that new tenants should not pin. The HTTPRoutes of the
	// tenants on it add the response header Deprecation (RFC 9745) with the time the
	// operator first saw the version deprecated (status.versions[].deprecatedSince), and
	// each such tenant gets a Warning Event.
	// +optional
	Deprecated bool `json:"deprecated,omitempty"`

	// sunset is when a deprecated version is expected to go away: the tenants' HTTPRoutes
	// add the response header Sunset (RFC 8594) with it, e.g. "2027-06-30T00:00:00Z".
	// +optional
	Sunset *metav1.Time `json:"sunset,omitempty"`

	// components are the microservices of this version. Each becomes a Deployment
	// <product>-<component> in the tenant's namespace, and a Service when it has a port.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	Components []Component `json:"components"`
}

// The image rule follows the grammar of container image references: an optional registry
// (DNS-like labels, capitals allowed, or [IPv6], with an optional :port) and a slash, a
// lowercase path of components joined by '.', '_', '__' or dashes, an optional :tag of
// at most 128 word characters, '.' and '-', and an optional @algorithm:hex digest (sha256
// digests must be 64 lowercase hex digits). Whitespace has a rule of its own, so that " "
// gets the message that says so.

// Component is a containerized microservice of an API product.
type Component struct {
	// name of the component, e.g. api or worker.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// image is the container image of the component: a reference
	// [registry[:port]/]path[:tag][@sha256:<digest>] with a lowercase path and no whitespace,
	// e.g. registry.example.com/payments-api:1.8.0.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule=`!self.matches('[[:space:]]')`,message="image must not contain spaces, tabs or line breaks: write the reference alone, e.g. registry.example.com/payments-api:1.8.0"
	// +kubebuilder:validation:XValidation:rule=`self.matches('[[:space:]]') || (self.matches('^(([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?([.][A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*|[[][0-9A-Fa-f:]+[]])(:[0-9]+)?/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][-A-Za-z0-9_.]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$') && (!self.contains('@sha256:') || self.matches('@sha256:[0-9a-f]{64}$')))`,message="image must be an image reference [registry[:port]/]path[:tag][@sha256:<64 lowercase hex digits>] with a lowercase path, e.g. registry.example.com/payments-api:1.8.0"
	Image string `json:"image"`

	// args are the container's arguments.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Args []string `json:"args,omitempty"`

	// port is the port the component serves on. A Service is made only for components
	// with a port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`

	// healthPath is the HTTP path of the readiness probe on port.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^/`
	HealthPath string `json:"healthPath,omitempty"`

	// env are extra environment variables of the component. TENANT, PRODUCT_VERSION,
	// RATE_LIMIT_RPM and API_KEY are set by the operator and cannot be listed here.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	Env []EnvVar `json:"env,omitempty"`

	// resources are the component's compute resources, unless the plan overrides them.
	// +optional
	Resources *ComputeResources `json:"resources,omitempty"`

	// metrics is where the component serves Prometheus metrics. With it the component's
	// Service gets a metrics port (unless it is port), and, when the prometheus-operator's
	// ServiceMonitor CRD is installed, a ServiceMonitor <product>-<component> labels each
	// target with its tenant, plan and product.
	// +optional
	Metrics *ComponentMetrics `json:"metrics,omitempty"`
}

// EnvVar is an environment variable with a literal value.
type EnvVar struct {
	// name of the variable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z][-._a-zA-Z0-9]*$`
	// +kubebuilder:validation:XValidation:rule=`!(self in ['TENANT', 'PRODUCT_VERSION', 'RATE_LIMIT_RPM', 'API_KEY'])`,message="TENANT, PRODUCT_VERSION, RATE_LIMIT_RPM and API_KEY are set by the operator on every component: give the variable another name"
	Name string `json:"name"`

	// value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// SharedSpec configures a product's shared instances: one per product version that Shared
// tenants use, in one namespace.
type SharedSpec struct {
	// namespace of the shared instances. Default: shared-<product>. The operator creates
	// it and deletes it when no tenant uses the product's shared instances any more; it is
	// reserved, never a tenant namespace. Set it when the product is created: changing it
	// while tenants use the shared instances moves their routes before the new instances
	// are available and leaves the old namespace behind.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// replicas of each component of a shared instance. With 2 or more each component gets
	// a PodDisruptionBudget and its Pods spread over nodes and zones.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`
}

// ComponentMetrics is where a component serves Prometheus metrics.
type ComponentMetrics struct {
	// port the metrics are served on; it may be the component's port.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// path of the metrics.
	// +optional
	// +kubebuilder:default=/metrics
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^/[-A-Za-z0-9._~/]*$`
	Path string `json:"path,omitempty"`
}

// Exposure publishes a product through a Gateway API HTTPRoute.
type Exposure struct {
	// component is the entrypoint component; it must exist, with a port, in every version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	Component string `json:"component"`

	// gateway is the Gateway the tenant's HTTPRoute attaches to.
	Gateway GatewayRef `json:"gateway"`

	// hostname is the route's hostname template; {tenant} is replaced by the tenant name,
	// e.g. "{tenant}.api.example.com". It must contain {tenant} and no wildcard, so that
	// no two tenants share or capture each other's host, and be a lowercase DNS name once
	// {tenant} is replaced.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.contains('{tenant}')",message="exposure.hostname must contain {tenant}, e.g. {tenant}.api.example.com: without it every tenant's route would serve the same host"
	// +kubebuilder:validation:XValidation:rule="!self.contains('*')",message="exposure.hostname must not contain a wildcard (*): a wildcard host would capture other tenants' traffic"
	// +kubebuilder:validation:XValidation:rule=`!self.contains('{tenant}') || self.contains('*') || self.replace('{tenant}', 'x').matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?([.][a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$')`,message="exposure.hostname must be a DNS name once {tenant} is replaced: lowercase letters, digits, '-' and '.', each label starting and ending with a letter or digit, e.g. {tenant}.api.example.com"
	Hostname string `json:"hostname,omitempty"`

	// pathPrefix is the path the product is served under. Default: "/<product name>". It
	// starts with /, holds only URL path characters (letters, digits, -._~!$&'()*+,;=:@/ and
	// %XX escapes) and has no empty (//), . or .. segment and no encoded slash (%2F), as
	// Gateway API requires of an HTTPRoute path.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule=`self.startsWith('/')`,message="exposure.pathPrefix must start with /, e.g. /payments"
	// +kubebuilder:validation:XValidation:rule=`self.matches("^([-A-Za-z0-9._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$")`,message="exposure.pathPrefix may only contain letters, digits, /, %XX escapes and the URL path characters - . _ ~ ! $ & ' ( ) * + , ; = : @ (no spaces, ? or #)"
	// +kubebuilder:validation:XValidation:rule=`!self.matches('//|/[.][.]?(/|$)|%2[fF]')`,message="exposure.pathPrefix must not contain an empty segment (//), a . or .. segment, or an encoded slash (%2F): Gateway API refuses such paths"
	PathPrefix string `json:"pathPrefix,omitempty"`

	// policies says who enforces auth and the plan's rate limit at the gateway. None (the
	// default): nothing at the gateway checks keys, tokens or limits; the route serves
	// whoever reaches it, and the components get RATE_LIMIT_RPM and API_KEY to enforce
	// themselves. EnvoyGateway: beside each tenant's HTTPRoute the operator writes an Envoy
	// Gateway SecurityPolicy (API key or JWT bound to the tenant) and BackendTrafficPolicy
	// (the plan's rate limit); without the Envoy Gateway CRDs no route is made at all.
	// +optional
	// +kubebuilder:default=None
	Policies GatewayPolicies `json:"policies,omitempty"`
}

// GatewayRef names a Gateway API Gateway.
type GatewayRef struct {
	// name of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// namespace of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
}

// Auth is how clients authenticate to a product.
// +kubebuilder:validation:XValidation:rule="self.type != 'OAuth2' || has(self.oauth2)",message="auth.oauth2 is required when auth.type is OAuth2"
// +kubebuilder:validation:XValidation:rule="!has(self.apiKey) || self.type == 'APIKey'",message="auth.apiKey is only for auth.type APIKey: remove it, or set type APIKey"
// +kubebuilder:validation:XValidation:rule="!has(self.oauth2) || self.type == 'OAuth2'",message="auth.oauth2 is only for auth.type OAuth2: remove it, or set type OAuth2"
type Auth struct {
	// type is None, APIKey (a per-tenant key in the Secret <product>-credentials) or OAuth2.
	// +optional
	// +kubebuilder:default=APIKey
	Type AuthType `json:"type,omitempty"`

	// apiKey configures the gateway's key check with auth.type APIKey and
	// exposure.policies EnvoyGateway.
	// +optional
	APIKey *APIKeyAuth `json:"apiKey,omitempty"`

	// oauth2 configures token validation with auth.type OAuth2.
	// +optional
	OAuth2 *OAuth2 `json:"oauth2,omitempty"`
}

// APIKeyAuth configures how the gateway reads and accepts a tenant's API key.
type APIKeyAuth struct {
	// header is the request header clients send the key in.
	// +optional
	// +kubebuilder:default=x-api-key
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][-A-Za-z0-9]*$')",message="auth.apiKey.header must be an HTTP header name of letters, digits and - (no _: Envoy refuses requests with underscores in header names by default), e.g. x-api-key"
	// +kubebuilder:validation:XValidation:rule="!(self.lowerAscii() in ['authorization', 'proxy-authorization', 'host', 'cookie', 'x-tenant', 'content-type', 'content-length', 'transfer-encoding', 'connection']) && !self.lowerAscii().startsWith('x-envoy-')",message="auth.apiKey.header must not be a header that HTTP, Envoy or the platform gives another meaning (Authorization, Proxy-Authorization, Host, Cookie, X-Tenant, Content-Type, Content-Length, Transfer-Encoding, Connection, x-envoy-*): use e.g. x-api-key"
	Header string `json:"header,omitempty"`

	// rotationGracePeriod is how long the previous key keeps working at the gateway after
	// the tenant's key is rotated (tenancy.openplatform.io/rotate-credentials), so that
	// clients can switch without an outage. 0s drops it at once.
	// +optional
	// +kubebuilder:default="0s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$')",message="auth.apiKey.rotationGracePeriod must be a duration of hours, minutes and seconds such as 0s, 1h or 30m (no days: write 168h for a week)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(h|m|s|ms))+$') || duration(self) <= duration('720h')",message="auth.apiKey.rotationGracePeriod must be at most 720h (30 days), e.g. 24h"
	RotationGracePeriod metav1.Duration `json:"rotationGracePeriod,omitempty"`
}

// OAuth2 configures OAuth2 token validation.
type OAuth2 struct {
	// issuerURL is the token issuer.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https://`
	IssuerURL string `json:"issuerURL"`

	// audience is the audience tokens must carry.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Audience string `json:"audience,omitempty"`

	// jwksURI is where the issuer publishes the keys that sign its tokens; the gateway
	// fetches them to verify signatures. Required with exposure.policies EnvoyGateway.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^https://[^/?#[:space:]]+(/[^[:space:]]*)?$')",message="auth.oauth2.jwksURI must be an https:// URL, e.g. https://id.example.com/.well-known/jwks.json"
	JWKSURI string `json:"jwksURI,omitempty"`

	// tenantClaim is the token claim that must equal the tenant's name: the gateway refuses
	// a token on every route but its tenant's, so one tenant's token never reaches another
	// tenant's instance. A dot separates the names of nested claims (org.tenant is the
	// claim tenant inside the claim org), so a claim whose own name holds a dot (a URL-style
	// name) cannot be used.
	// +optional
	// +kubebuilder:default=tenant
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9_][-A-Za-z0-9_]*([.][A-Za-z0-9_][-A-Za-z0-9_]*)*$')",message="auth.oauth2.tenantClaim must be a claim name of letters, digits, - and _, with . between the names of nested claims, e.g. tenant or org.tenant (a URL-style claim name cannot be matched: the gateway reads its dots as nesting)"
	TenantClaim string `json:"tenantClaim,omitempty"`
}

// ApiProductStatus is the observed state of an ApiProduct.
type ApiProductStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// tenants is the number of tenants that use the product.
	// +optional
	Tenants int32 `json:"tenants"`

	// tenantNames lists the tenants that use the product (at most 100 are listed); they keep
	// the product from being deleted.
	// +optional
	// +listType=set
	TenantNames []string `json:"tenantNames,omitempty"`

	// sharedInstances are the product's shared instances, one per version that Shared
	// tenants use, in the shared namespace.
	// +optional
	// +listType=map
	// +listMapKey=version
	SharedInstances []SharedInstanceStatus `json:"sharedInstances,omitempty"`

	// versions says how many tenants run each version.
	// +optional
	// +listType=map
	// +listMapKey=name
	Versions []VersionStatus `json:"versions,omitempty"`

	// rollout is the state of the product's latest rollout, with spec.rollout set.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// conditions: Ready summarises the product's state; Reconciling is True while a rollout
	// moves tenants, Stalled after it failed.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SharedInstanceStatus is the state of one shared instance of a product.
type SharedInstanceStatus struct {
	// version of the product the instance runs.
	Version string `json:"version"`
	// namespace the instance runs in.
	Namespace string `json:"namespace"`
	// tenants served by the instance, or about to be.
	Tenants int32 `json:"tenants"`
	// replicas desired over the instance's Deployments.
	// +optional
	Replicas int32 `json:"replicas"`
	// readyReplicas over the instance's Deployments.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// revision is the ControllerRevision the instance's Deployments are rendered from. With
	// spec.rollout, a shared instance moves to a new revision as one unit, in the wave of the
	// first of its tenants (status.rollout.movingTenants names it shared:<version>).
	// +optional
	Revision string `json:"revision,omitempty"`
	// previousRevision is the revision a rollback returns the instance to, while the rollout
	// that moved it is not over.
	// +optional
	PreviousRevision string `json:"previousRevision,omitempty"`
}

// RolloutPhase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Paused;Succeeded;Failed;RolledBack
type RolloutPhase string

// Rollout phases.
const (
	RolloutProgressing RolloutPhase = "Progressing"
	RolloutPaused      RolloutPhase = "Paused"
	RolloutSucceeded   RolloutPhase = "Succeeded"
	RolloutFailed      RolloutPhase = "Failed"
	RolloutRolledBack  RolloutPhase = "RolledBack"
)

// RolloutStatus is the state of a product's rollout. It is the rollout's memory: the
// operator resumes from it after a restart.
type RolloutStatus struct {
	// revision is the revision being rolled out (the ControllerRevision in the operator's
	// namespace), or the one rolled out last.
	// +optional
	Revision string `json:"revision,omitempty"`

	// targetRevisions are all the revisions this rollout moves tenants to: usually just
	// revision; more when one change gives tenants on different versions new content.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=40
	TargetRevisions []string `json:"targetRevisions,omitempty"`

	// stableRevision is the revision the tenants ran before the rollout started, the last
	// one they all ran.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`

	// phase is Progressing, Paused, Succeeded, Failed (a tenant failed, failurePolicy
	// Pause) or RolledBack (a tenant failed, the moved tenants went back).
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`

	// wave is the wave the rollout is in, or ended in.
	// +optional
	Wave string `json:"wave,omitempty"`

	// updatedTenants is how many of the rollout's tenants run their new revision, available.
	// +optional
	UpdatedTenants int32 `json:"updatedTenants"`

	// tenants is how many tenants the rollout moves; a shared instance counts as one, for
	// all the tenants it serves.
	// +optional
	Tenants int32 `json:"tenants"`

	// failedTenants are the tenants whose move failed (at most 100 are listed); a shared
	// instance is named shared:<version>.
	// +optional
	// +listType=set
	FailedTenants []string `json:"failedTenants,omitempty"`

	// movingTenants are the tenants told to move and not yet available, with when they
	// were told: they have healthTimeout from then. A shared instance moves as one unit,
	// named shared:<version>, in the first wave that selects one of its tenants.
	// +optional
	// +listType=map
	// +listMapKey=name
	MovingTenants []MovingTenant `json:"movingTenants,omitempty"`

	// waveSucceededTime is when the wave named by wave became healthy; the next wave starts
	// pauseBetweenWaves later.
	// +optional
	WaveSucceededTime *metav1.Time `json:"waveSucceededTime,omitempty"`

	// observedGeneration is the product generation the phase was decided for: a failed
	// rollout is retried when the generation changes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// message says what the rollout does or why it stopped.
	// +optional
	Message string `json:"message,omitempty"`
}

// MovingTenant is a tenant a rollout told to move.
type MovingTenant struct {
	// name of the Tenant, or shared:<version> for the shared instance of a version.
	Name string `json:"name"`
	// since is when it was told to move.
	Since metav1.Time `json:"since"`
}

// VersionStatus counts the tenants on one version of a product.
type VersionStatus struct {
	// name of the version.
	Name string `json:"name"`
	// tenants is the number of tenants on the version.
	Tenants int32 `json:"tenants"`
	// deprecated is the version's spec.versions[].deprecated.
	// +optional
	Deprecated bool `json:"deprecated,omitempty"`
	// deprecatedSince is when the operator first saw the version deprecated: the date of the
	// Deprecation response header of the tenants' routes. Cleared when it is no longer
	// deprecated.
	// +optional
	DeprecatedSince *metav1.Time `json:"deprecatedSince,omitempty"`
}

// ApiProduct is an API the platform offers, made of containerized microservice
// components, with versions, exposure through a Gateway API route, and an auth mode.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ap,categories=tenancy
// +kubebuilder:printcolumn:name="Default version",type=string,JSONPath=`.spec.defaultVersion`
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rollout.phase`
// +kubebuilder:printcolumn:name="Wave",type=string,JSONPath=`.status.rollout.wave`
// +kubebuilder:printcolumn:name="Updated",type=string,JSONPath=`.status.rollout.updatedTenants`,priority=1
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.rollout.revision`,priority=1
// +kubebuilder:printcolumn:name="Auth",type=string,JSONPath=`.spec.auth.type`,priority=1
// +kubebuilder:printcolumn:name="Gateway policies",type=string,JSONPath=`.spec.exposure.policies`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ApiProduct struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the product.
	Spec ApiProductSpec `json:"spec"`

	// status is the observed state of the product.
	// +optional
	Status ApiProductStatus `json:"status,omitempty"`
}

// ApiProductList is a list of ApiProducts.
// +kubebuilder:object:root=true
type ApiProductList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ApiProduct `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ApiProduct{}, &ApiProductList{})
}
