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

// How the CEL rules on quantities (quota.hard, limitRange) are built; this comment is not a
// doc comment, so it stays out of kubectl explain:
//   - A value is read with quantity(string(v)) (v is an int or a string) only after it
//     matched the quantity pattern: resource.ParseQuantity never returns on some strings
//     the schema pattern refuses (7E7222222221), and CEL rules run even when the pattern
//     failed.
//   - Resource names follow what the API server accepts: ResourceQuota takes its standard
//     names, hugepages-* and requests.hugepages-*, and any <DNS subdomain>/<name>; a
//     container (LimitRange of type Container) takes cpu, memory, ephemeral-storage,
//     hugepages-*, *kubernetes.io/* and extended resources (<domain>/<name> not starting
//     with requests.). Object counts (pods, ..., and extended names) must be whole numbers.
//   - Whole numbers: isInteger() is false for 1000m, 1.0 and 19-digit numbers, which
//     Kubernetes counts as whole, so the rule also subtracts int(asApproximateFloat())
//     twice (halved first, to stay inside int64) and wants an exact 0 left.
//   - Bounds: the operator splits every key in units, CPU keys (and amounts that are not
//     whole) in thousandths (internal/quota); compareTo is exact, so the limits are 2^63-1
//     and 9223372036854775807m.
//   - Cost: the API server estimates a rule from the largest input; maxProperties bounds
//     the maps, and hack/quantity-pattern.sh gives every quantity maxLength 64 (no marker
//     reaches the values of a ResourceList).

// PlanQuota is a tenant-wide resource budget.
type PlanQuota struct {
	// hard is the budget of the whole tenant, in ResourceQuota terms
	// (requests.cpu, limits.memory, pods, count/deployments.apps, ...). Every tenant
	// namespace's tenant-quota also holds services.nodeports: 0 and
	// services.loadbalancers: 0 unless hard names them (then they are split like any key):
	// NodePort and LoadBalancer Services open the tenant to the outside of the fence.
	// Keys are ResourceQuota resource names; object counts (pods, services, count/*, ...)
	// are whole numbers; every value is at most 2^63-1, and at most 2^63-1 thousandths
	// (9223372036854775807m) for CPU and amounts that are not whole, which are split in
	// thousandths.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'resourcequotas', 'services', 'replicationcontrollers', 'secrets', 'persistentvolumeclaims', 'configmaps', 'services.nodeports', 'services.loadbalancers'] || (size(k) <= 63 && k.matches('^(requests[.])?hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$')))`,message="spec.quota.hard keys must be ResourceQuota resource names such as requests.cpu, limits.memory, requests.storage, pods, services, count/deployments.apps, gold.storageclass.storage.k8s.io/requests.storage or requests.example.com/gpu"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') || quantity(string(self[k])).compareTo(quantity('0')) >= 0)`,message="spec.quota.hard values must not be negative"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !(k in ['pods', 'resourcequotas', 'services', 'replicationcontrollers', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers'] || (k.contains('/') && !k.contains('kubernetes.io/') && !k.startsWith('requests.') && k.indexOf('/') <= 244)) || !string(self[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') || quantity(string(self[k])).compareTo(quantity('0')) < 0 || quantity(string(self[k])).compareTo(quantity('9223372036854775807')) > 0 || (quantity(string(self[k])).isInteger() || quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).asApproximateFloat())).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).asApproximateFloat())).asApproximateFloat())).compareTo(quantity('0')) == 0))`,message="spec.quota.hard values that count objects (pods, services, secrets, configmaps, persistentvolumeclaims, resourcequotas, replicationcontrollers, services.nodeports, services.loadbalancers, count/* and names with a domain) must be whole numbers, e.g. pods: 10"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, !string(self[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') || quantity(string(self[k])).compareTo(quantity('0')) < 0 || (quantity(string(self[k])).compareTo(quantity('9223372036854775807')) <= 0 && (!(k.endsWith('cpu') || !(quantity(string(self[k])).isInteger() || quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).asApproximateFloat())).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).sub(int(quantity(string(self[k])).sub(int(quantity(string(self[k])).asApproximateFloat() / 2.0)).asApproximateFloat())).asApproximateFloat())).compareTo(quantity('0')) == 0)) || quantity(string(self[k])).compareTo(quantity('9223372036854775807m')) <= 0)))`,message="spec.quota.hard values must fit in 64 bits when the operator splits them: at most 9223372036854775807, or 9223372036854775807m for CPU and for amounts that are not whole numbers (split in thousandths)"
	Hard corev1.ResourceList `json:"hard,omitempty"`
}

// PlanLimitRange is the container defaults and bounds of a plan. Keys are container
// resource names (cpu, memory, ephemeral-storage, hugepages-<size>, extended resources
// with a domain); for every resource set in both, min <= defaultRequest <= default <= max
// and min <= max, as the API server requires of the LimitRange tenant-limits.
// +kubebuilder:validation:XValidation:rule=`!has(self.min) || !has(self.max) || self.min.all(k, !(k in self.max) || !(string(self.min[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.max[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.min[k])).compareTo(quantity(string(self.max[k]))) > 0))`,message="limitRange.min is above limitRange.max for a resource: lower min or raise max",fieldPath=".min"
// +kubebuilder:validation:XValidation:rule=`!has(self.min) || !has(self.defaultRequest) || self.min.all(k, !(k in self.defaultRequest) || !(string(self.min[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.defaultRequest[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.min[k])).compareTo(quantity(string(self.defaultRequest[k]))) > 0))`,message="limitRange.defaultRequest is below limitRange.min for a resource: raise defaultRequest or lower min",fieldPath=".defaultRequest"
// +kubebuilder:validation:XValidation:rule=`!has(self.defaultRequest) || !has(self.max) || self.defaultRequest.all(k, !(k in self.max) || !(string(self.defaultRequest[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.max[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.defaultRequest[k])).compareTo(quantity(string(self.max[k]))) > 0))`,message="limitRange.defaultRequest is above limitRange.max for a resource: lower defaultRequest or raise max",fieldPath=".defaultRequest"
// +kubebuilder:validation:XValidation:rule=`!has(self.defaultRequest) || !has(self.default) || self.defaultRequest.all(k, !(k in self.default) || !(string(self.defaultRequest[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.default[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.defaultRequest[k])).compareTo(quantity(string(self.default[k]))) > 0))`,message="limitRange.defaultRequest is above limitRange.default for a resource (a default request cannot exceed the default limit): lower defaultRequest or raise default",fieldPath=".defaultRequest"
// +kubebuilder:validation:XValidation:rule=`!has(self.min) || !has(self.default) || self.min.all(k, !(k in self.default) || !(string(self.min[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.default[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.min[k])).compareTo(quantity(string(self.default[k]))) > 0))`,message="limitRange.default is below limitRange.min for a resource: raise default or lower min",fieldPath=".default"
// +kubebuilder:validation:XValidation:rule=`!has(self.default) || !has(self.max) || self.default.all(k, !(k in self.max) || !(string(self.default[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && string(self.max[k]).matches('^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?$') && quantity(string(self.default[k])).compareTo(quantity(string(self.max[k]))) > 0))`,message="limitRange.default is above limitRange.max for a resource: lower default or raise max",fieldPath=".default"
type PlanLimitRange struct {
	// defaultRequest is the request a container gets when it sets none.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="limitRange.defaultRequest keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`

	// default is the limit a container gets when it sets none.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="limitRange.default keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	Default corev1.ResourceList `json:"default,omitempty"`

	// max is the most a container may request or be limited to.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="limitRange.max keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	Max corev1.ResourceList `json:"max,omitempty"`

	// min is the least a container may request.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="limitRange.min keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	Min corev1.ResourceList `json:"min,omitempty"`
}

// The allowIngressFrom rules iterate a literal list of 16 indices instead of
// matchExpressions itself: metav1.LabelSelector sets no maxItems, so a rule iterating it is
// estimated at the size of a whole request and the API server refuses the CRD. A separate
// rule caps matchExpressions at those 16 entries.

// PlanNetwork holds the network rules of a plan.
// +kubebuilder:validation:XValidation:rule="!has(self.allowEgressTo) || size(self.allowEgressTo) == 0 || self.egress == 'Restricted'",message="allowEgressTo only applies with egress: Restricted; set egress to Restricted or remove allowEgressTo"
type PlanNetwork struct {
	// allowIngressFrom lists extra peers (for example the gateway's namespace) allowed to
	// reach tenant pods, in NetworkPolicy peer form: a podSelector and/or namespaceSelector,
	// or an ipBlock alone. A selector has at most 16 matchExpressions, each with operator In
	// or NotIn and values, or Exists or DoesNotExist without values.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.podSelector) || !has(self.podSelector.matchExpressions) || size(self.podSelector.matchExpressions) <= 16`,message="allowIngressFrom podSelector.matchExpressions may have at most 16 entries",fieldPath=".podSelector.matchExpressions"
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.podSelector) || !has(self.podSelector.matchExpressions) || [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].all(i, i >= size(self.podSelector.matchExpressions) || (self.podSelector.matchExpressions[i].operator in ['In', 'NotIn'] ? (has(self.podSelector.matchExpressions[i].values) && size(self.podSelector.matchExpressions[i].values) > 0) : (self.podSelector.matchExpressions[i].operator in ['Exists', 'DoesNotExist'] && (!has(self.podSelector.matchExpressions[i].values) || size(self.podSelector.matchExpressions[i].values) == 0))))`,message="allowIngressFrom podSelector.matchExpressions: each operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values",fieldPath=".podSelector.matchExpressions"
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.namespaceSelector) || !has(self.namespaceSelector.matchExpressions) || size(self.namespaceSelector.matchExpressions) <= 16`,message="allowIngressFrom namespaceSelector.matchExpressions may have at most 16 entries",fieldPath=".namespaceSelector.matchExpressions"
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.namespaceSelector) || !has(self.namespaceSelector.matchExpressions) || [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].all(i, i >= size(self.namespaceSelector.matchExpressions) || (self.namespaceSelector.matchExpressions[i].operator in ['In', 'NotIn'] ? (has(self.namespaceSelector.matchExpressions[i].values) && size(self.namespaceSelector.matchExpressions[i].values) > 0) : (self.namespaceSelector.matchExpressions[i].operator in ['Exists', 'DoesNotExist'] && (!has(self.namespaceSelector.matchExpressions[i].values) || size(self.namespaceSelector.matchExpressions[i].values) == 0))))`,message="allowIngressFrom namespaceSelector.matchExpressions: each operator must be In or NotIn with at least one value, or Exists or DoesNotExist without values",fieldPath=".namespaceSelector.matchExpressions"
	// +kubebuilder:validation:items:XValidation:rule=`has(self.podSelector) || has(self.namespaceSelector) || has(self.ipBlock)`,message="each allowIngressFrom entry needs a podSelector, a namespaceSelector or an ipBlock"
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.ipBlock) || (!has(self.podSelector) && !has(self.namespaceSelector))`,message="an allowIngressFrom entry with an ipBlock may not also have a podSelector or a namespaceSelector: make them separate entries"
	// +kubebuilder:validation:items:XValidation:rule=`!has(self.ipBlock) || isCIDR(self.ipBlock.cidr)`,message="allowIngressFrom ipBlock.cidr must be a CIDR such as 10.20.0.0/16",fieldPath=".ipBlock.cidr"
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

// Tenancy says whether a plan's tenants get instances of a product of their own.
// +kubebuilder:validation:Enum=Dedicated;Shared
type Tenancy string

// Tenancies.
const (
	// TenancyDedicated gives each tenant its own Deployments of the product, in its own
	// namespace, counted against its quota.
	TenancyDedicated Tenancy = "Dedicated"
	// TenancyShared serves the plan's tenants from one instance of each product version in
	// the product's shared namespace; each tenant keeps its own credentials, route and
	// gateway policies.
	TenancyShared Tenancy = "Shared"
)

// PlanProduct is an ApiProduct included in a plan.
// +kubebuilder:validation:XValidation:rule="!has(self.tenancy) || self.tenancy != 'Shared' || !has(self.autoscaling)",message="autoscaling is for Dedicated instances: a Shared product runs the replicas of the ApiProduct's spec.shared.replicas; remove autoscaling or set tenancy Dedicated"
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

	// tenancy is Dedicated (each tenant gets its own instance of the product) or Shared
	// (the plan's tenants are served by the product's shared instance, in its shared
	// namespace: no Pods of their own and nothing charged to their quota; replicas,
	// resources and autoscaling of this entry do not apply). Shared needs the product to
	// be exposed: tenants reach a shared instance only through the gateway.
	// +optional
	// +kubebuilder:default=Dedicated
	Tenancy Tenancy `json:"tenancy,omitempty"`

	// replicas is the number of replicas of every component of the product. With 2 or
	// more, each component gets a PodDisruptionBudget (maxUnavailable 1) and its Pods are
	// spread over nodes and zones. Ignored while autoscaling is set.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// autoscaling gives every component of the product a HorizontalPodAutoscaler
	// (autoscaling/v2) that sets its replica count from CPU use; the operator then leaves
	// the count to it (a suspended tenant still goes to 0, and its autoscalers are removed
	// until it resumes). The components need CPU requests (theirs, the plan's resources,
	// or the plan's limitRange defaults) for utilization to be measured.
	// +optional
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`

	// resources, when set, replaces the resources of every component of the product.
	// +optional
	Resources *ComputeResources `json:"resources,omitempty"`

	// rateLimit is the request rate a tenant may send to the product, passed to the
	// components as RATE_LIMIT_RPM.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
}

// Autoscaling bounds the replicas of each component of a product and sets the CPU use it
// aims for.
// +kubebuilder:validation:XValidation:rule="self.minReplicas <= self.maxReplicas",message="autoscaling.minReplicas must not be above autoscaling.maxReplicas"
type Autoscaling struct {
	// minReplicas is the fewest replicas of each component. With 2 or more, each component
	// gets a PodDisruptionBudget and its Pods are spread over nodes and zones.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MinReplicas int32 `json:"minReplicas"`

	// maxReplicas is the most replicas of each component.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage is the average CPU use, in percent of the Pods' CPU
	// requests, the autoscaler keeps each component at.
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilizationPercentage int32 `json:"targetCPUUtilizationPercentage,omitempty"`
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
