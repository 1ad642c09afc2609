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

// ApiProductSpec describes an API the platform offers: containerized microservice
// components in one or more versions, how it is exposed, and how clients authenticate.
// +kubebuilder:validation:XValidation:rule="self.versions.exists(v, v.name == self.defaultVersion)",message="defaultVersion must name one of spec.versions"
// +kubebuilder:validation:XValidation:rule="!has(self.exposure) || self.versions.all(v, v.components.exists(c, c.name == self.exposure.component && has(c.port)))",message="exposure.component must name a component with a port in every version"
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
}

// ProductVersion is one version of an API product.
type ProductVersion struct {
	// name of the version, e.g. v2.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Name string `json:"name"`

	// deprecated marks a version that new tenants should not pin.
	// +optional
	Deprecated bool `json:"deprecated,omitempty"`

	// components are the microservices of this version. Each becomes a Deployment
	// <product>-<component> in the tenant's namespace, and a Service when it has a port.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	Components []Component `json:"components"`
}

// Component is a containerized microservice of an API product.
type Component struct {
	// name of the component, e.g. api or worker.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// image is the container image of the component.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
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

	// env are extra environment variables of the component.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	Env []EnvVar `json:"env,omitempty"`

	// resources are the component's compute resources, unless the plan overrides them.
	// +optional
	Resources *ComputeResources `json:"resources,omitempty"`
}

// EnvVar is an environment variable with a literal value.
type EnvVar struct {
	// name of the variable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z][-._a-zA-Z0-9]*$`
	Name string `json:"name"`

	// value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// Exposure publishes a product through a Gateway API HTTPRoute.
// +kubebuilder:validation:XValidation:rule="!has(self.pathPrefix) || self.pathPrefix.startsWith('/')",message="exposure.pathPrefix must start with /"
type Exposure struct {
	// component is the entrypoint component; it must exist, with a port, in every version.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	Component string `json:"component"`

	// gateway is the Gateway the tenant's HTTPRoute attaches to.
	Gateway GatewayRef `json:"gateway"`

	// hostname is the route's hostname template; {tenant} is replaced by the tenant name,
	// e.g. "{tenant}.api.example.com". It must contain {tenant} and no wildcard, so that
	// no two tenants share or capture each other's host.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.contains('{tenant}')",message="exposure.hostname must contain {tenant}, e.g. {tenant}.api.example.com: without it every tenant's route would serve the same host"
	// +kubebuilder:validation:XValidation:rule="!self.contains('*')",message="exposure.hostname must not contain a wildcard (*): a wildcard host would capture other tenants' traffic"
	Hostname string `json:"hostname,omitempty"`

	// pathPrefix is the path the product is served under. Default: "/<product name>".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	PathPrefix string `json:"pathPrefix,omitempty"`
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
type Auth struct {
	// type is None, APIKey (a per-tenant key in the Secret <product>-credentials) or OAuth2.
	// +optional
	// +kubebuilder:default=APIKey
	Type AuthType `json:"type,omitempty"`

	// oauth2 configures token validation with auth.type OAuth2.
	// +optional
	OAuth2 *OAuth2 `json:"oauth2,omitempty"`
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

	// versions says how many tenants run each version.
	// +optional
	// +listType=map
	// +listMapKey=name
	Versions []VersionStatus `json:"versions,omitempty"`

	// conditions: Ready summarises the product's state.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// VersionStatus counts the tenants on one version of a product.
type VersionStatus struct {
	// name of the version.
	Name string `json:"name"`
	// tenants is the number of tenants on the version.
	Tenants int32 `json:"tenants"`
}

// ApiProduct is an API the platform offers, made of containerized microservice
// components, with versions, exposure through a Gateway API route, and an auth mode.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ap,categories=tenancy
// +kubebuilder:printcolumn:name="Default version",type=string,JSONPath=`.spec.defaultVersion`
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
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
