package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodSecurityLevel is a Pod Security Standards level.
// +kubebuilder:validation:Enum=restricted;baseline;privileged
type PodSecurityLevel string

// Pod Security levels.
const (
	PodSecurityRestricted PodSecurityLevel = "restricted"
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityPrivileged PodSecurityLevel = "privileged"
)

// OwnerRole is the built-in ClusterRole that a tenant's owners get in its namespaces.
// +kubebuilder:validation:Enum=admin;edit;view
type OwnerRole string

// Owner roles.
const (
	OwnerRoleAdmin OwnerRole = "admin"
	OwnerRoleEdit  OwnerRole = "edit"
	OwnerRoleView  OwnerRole = "view"
)

// EgressMode says whether tenant pods may open connections anywhere.
// +kubebuilder:validation:Enum=Open;Restricted
type EgressMode string

// Egress modes.
const (
	EgressOpen       EgressMode = "Open"
	EgressRestricted EgressMode = "Restricted"
)

// ServicePlanSpec is a tier that admins sell: a tenant-wide quota budget, container
// limits, Pod Security level, network rules, owner role and the API products a tenant on
// the plan gets.
type ServicePlanSpec struct {
	// displayName is the plan's human-readable name, e.g. "Pro".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// description says what the plan is for.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// maxNamespaces is how many namespaces a tenant on this plan may have. A tenant that
	// lists more is reported with Ready=False, reason TooManyNamespaces, and is left as it was.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxNamespaces int32 `json:"maxNamespaces,omitempty"`

	// quota is the tenant-wide resource budget. It is split across the tenant's namespaces
	// in proportion to their quotaWeight, so the shares add up exactly to the budget.
	// +optional
	Quota *PlanQuota `json:"quota,omitempty"`

	// limitRange sets container defaults and bounds in every tenant namespace
	// (the LimitRange tenant-limits). Without it no LimitRange is created.
	// +optional
	LimitRange *PlanLimitRange `json:"limitRange,omitempty"`

	// podSecurity is the Pod Security Standards level enforced, audited and warned in every
	// tenant namespace.
	// +optional
	// +kubebuilder:default=restricted
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`

	// alwaysPullImages makes every container of the tenant's Pods pull its image on start
	// (imagePullPolicy Always, set by the MutatingAdmissionPolicy always-pull-images on
	// namespaces labelled tenancy.openplatform.io/always-pull-images=true), so that a tenant
	// cannot run a private image another tenant's Pod left in a node's cache. Default true.
	// +optional
	// +kubebuilder:default=true
	AlwaysPullImages *bool `json:"alwaysPullImages,omitempty"`

	// ownerRole is the built-in ClusterRole (admin, edit or view) bound to the tenant's
	// owners in each of its namespaces (the RoleBinding tenant-owners).
	// +optional
	// +kubebuilder:default=admin
	OwnerRole OwnerRole `json:"ownerRole,omitempty"`

	// network sets the network rules of tenants on this plan. Tenant pods always accept
	// traffic from the same tenant's namespaces.
	// +optional
	Network PlanNetwork `json:"network,omitempty"`

	// products are the ApiProducts that tenants on this plan get, with replicas,
	// resources and rate limit.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	Products []PlanProduct `json:"products,omitempty"`
}

// PlanQuota is a tenant-wide resource budget.
type PlanQuota struct {
	// hard is the budget of the whole tenant, in ResourceQuota terms
	// (requests.cpu, limits.memory, pods, count/deployments.apps, ...). Every tenant
	// namespace's tenant-quota also holds services.nodeports: 0 and
	// services.loadbalancers: 0 unless hard names them (then they are split like any key):
	// NodePort and LoadBalancer Services open the tenant to the outside of the fence.
	// +optional
	Hard corev1.ResourceList `json:"hard,omitempty"`
}

// PlanLimitRange is the container defaults and bounds of a plan.
type PlanLimitRange struct {
	// defaultRequest is the request a container gets when it sets none.
	// +optional
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`

	// default is the limit a container gets when it sets none.
	// +optional
	Default corev1.ResourceList `json:"default,omitempty"`

	// max is the most a container may request or be limited to.
	// +optional
	Max corev1.ResourceList `json:"max,omitempty"`

	// min is the least a container may request.
	// +optional
	Min corev1.ResourceList `json:"min,omitempty"`
}

// PlanNetwork holds the network rules of a plan.
// +kubebuilder:validation:XValidation:rule="!has(self.allowEgressTo) || size(self.allowEgressTo) == 0 || self.egress == 'Restricted'",message="allowEgressTo only applies with egress: Restricted; set egress to Restricted or remove allowEgressTo"
type PlanNetwork struct {
	// allowIngressFrom lists extra peers (for example the gateway's namespace) allowed to
	// reach tenant pods, in NetworkPolicy peer form.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	AllowIngressFrom []networkingv1.NetworkPolicyPeer `json:"allowIngressFrom,omitempty"`

	// egress is Open (tenant pods may connect anywhere) or Restricted (only to the same
	// tenant's namespaces, cluster DNS and allowEgressTo; the NetworkPolicy tenant-egress).
	// +optional
	// +kubebuilder:default=Open
	Egress EgressMode `json:"egress,omitempty"`

	// allowEgressTo lists CIDRs tenant pods may reach with egress: Restricted.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="allowEgressTo entries must be CIDRs such as 10.20.0.0/16"
	AllowEgressTo []string `json:"allowEgressTo,omitempty"`
}

// PlanProduct is an ApiProduct included in a plan.
type PlanProduct struct {
	// name is the name of the ApiProduct.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// version is the plan's default version of the product. Without it tenants get the
	// product's defaultVersion; a tenant may pin another one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Version string `json:"version,omitempty"`

	// replicas is the number of replicas of every component of the product.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// resources, when set, replaces the resources of every component of the product.
	// +optional
	Resources *ComputeResources `json:"resources,omitempty"`

	// rateLimit is the request rate a tenant may send to the product, passed to the
	// components as RATE_LIMIT_RPM.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// RateLimit is a request rate limit.
type RateLimit struct {
	// requestsPerMinute is the number of requests allowed per minute.
	// +kubebuilder:validation:Minimum=1
	RequestsPerMinute int32 `json:"requestsPerMinute"`
}

// ServicePlanStatus is the observed state of a ServicePlan.
type ServicePlanStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// tenants is the number of tenants on this plan.
	// +optional
	Tenants int32 `json:"tenants"`

	// tenantNames lists the tenants on this plan (at most 100 are listed); they keep the
	// plan from being deleted.
	// +optional
	// +listType=set
	TenantNames []string `json:"tenantNames,omitempty"`

	// conditions: Ready is False with a reason when, for example, a product is missing.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ServicePlan is a tier that admins sell (free, pro, ...): a tenant-wide quota budget,
// container limits, Pod Security level, network rules, owner role, and the API products a
// tenant on the plan gets.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=sp,categories=tenancy
// +kubebuilder:printcolumn:name="Tenants",type=integer,JSONPath=`.status.tenants`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServicePlan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the plan.
	// +optional
	Spec ServicePlanSpec `json:"spec,omitempty"`

	// status is the observed state of the plan.
	// +optional
	Status ServicePlanStatus `json:"status,omitempty"`
}

// ServicePlanList is a list of ServicePlans.
// +kubebuilder:object:root=true
type ServicePlanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServicePlan `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServicePlan{}, &ServicePlanList{})
}
