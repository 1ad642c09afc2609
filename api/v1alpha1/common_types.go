package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
)

// ComputeResources are the CPU and memory requests and limits of a container.
type ComputeResources struct {
	// requests is the minimum amount of compute resources a container asks for.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="resources.requests keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	Requests corev1.ResourceList `json:"requests,omitempty"`

	// limits is the maximum amount of compute resources a container may use.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule=`self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || (size(k) <= 63 && k.matches('^hugepages-[-A-Za-z0-9_.]*[A-Za-z0-9]$')) || (k.indexOf('/') <= 253 && k.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$') && (k.contains('kubernetes.io/') || (!k.startsWith('requests.') && k.indexOf('/') <= 244))))`,message="resources.limits keys must be container resource names: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource with a domain such as example.com/gpu"
	Limits corev1.ResourceList `json:"limits,omitempty"`
}

// Labels and annotations that make up the contract between the operator, admins and tenants.
const (
	// LabelManagedBy marks every object the operator creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on the operator's objects.
	ManagedByValue = "tenant-operator"
	// LabelTenant names the Tenant an object belongs to.
	LabelTenant = "tenancy.openplatform.io/tenant"
	// LabelProduct names the ApiProduct a product object belongs to.
	LabelProduct = "tenancy.openplatform.io/product"
	// LabelPlan on a product's Services names the tenant's ServicePlan: a ServiceMonitor
	// copies it (with the tenant and product labels) onto every metric it scrapes.
	LabelPlan = "tenancy.openplatform.io/plan"
	// LabelSharedProduct on a shared namespace and on the objects in it names the
	// ApiProduct whose shared instances they are.
	LabelSharedProduct = "tenancy.openplatform.io/shared-product"
	// HeaderTenant is the request header a tenant's route to a shared instance sets to the
	// tenant's name, overwriting what a client sends.
	HeaderTenant = "X-Tenant"
	// LabelVersion on a product revision (a ControllerRevision in the operator's namespace)
	// names the product version whose content it holds.
	LabelVersion = "tenancy.openplatform.io/version"
	// AnnotationRevision on a product Deployment names the revision it was rendered from.
	AnnotationRevision = "tenancy.openplatform.io/revision"

	// AnnotationAdopt, set by an admin on an existing namespace to the name of a Tenant,
	// hands the namespace over to that Tenant.
	AnnotationAdopt = "tenancy.openplatform.io/adopt"
	// AnnotationAdopted marks a namespace the operator adopted rather than created: deleting
	// the Tenant releases it instead of deleting it.
	AnnotationAdopted = "tenancy.openplatform.io/adopted"
	// AnnotationRotateCredentials on a Tenant: changing its value rotates the tenant's
	// product credentials.
	AnnotationRotateCredentials = "tenancy.openplatform.io/rotate-credentials"

	// LabelEgress on a tenant namespace is the plan's spec.network.egress (Open or
	// Restricted), for the admission policy that keeps tenant-written NetworkPolicies
	// within the plan.
	LabelEgress = "tenancy.openplatform.io/egress"
	// AnnotationAllowEgressTo on a tenant namespace lists the plan's allowEgressTo CIDRs,
	// comma-separated (absent when there are none).
	AnnotationAllowEgressTo = "tenancy.openplatform.io/allow-egress-to"
	// LabelAlwaysPullImages ("true") on a tenant namespace makes the always-pull-images
	// admission policy set imagePullPolicy Always on every container of its Pods.
	LabelAlwaysPullImages = "tenancy.openplatform.io/always-pull-images"
	// AnnotationHostnames on a tenant namespace lists the hostnames of the tenant's exposed
	// products, comma-separated: the only hosts tenant-written HTTPRoutes may claim.
	AnnotationHostnames = "tenancy.openplatform.io/hostnames"
	// AnnotationGuardedServices on a tenant namespace lists, comma-separated, the Services
	// behind gateway policies (the entry Services of the tenant's products with
	// exposure.policies other than None): tenant-written HTTPRoutes may not route to them,
	// which would go around the keys, tokens and rate limits.
	AnnotationGuardedServices = "tenancy.openplatform.io/gateway-guarded-services"

	// TenantFinalizer holds a Tenant until its namespaces and cluster-wide RBAC are cleaned up.
	TenantFinalizer = "tenancy.openplatform.io/tenant-cleanup"
	// InUseFinalizer holds a ServicePlan or ApiProduct while tenants use it.
	InUseFinalizer = "tenancy.openplatform.io/in-use"

	// FieldManager is the server-side apply field manager of every object the operator writes.
	FieldManager = "tenant-operator"
)

// Condition types. Ready, Reconciling and Stalled follow kstatus; the others detail Ready.
const (
	ConditionReady           = "Ready"
	ConditionReconciling     = "Reconciling"
	ConditionStalled         = "Stalled"
	ConditionNamespacesReady = "NamespacesReady"
	ConditionQuotaReady      = "QuotaReady"
	ConditionNetworkIsolated = "NetworkIsolated"
	ConditionAccessGranted   = "AccessGranted"
	ConditionProductsReady   = "ProductsReady"
	// ConditionPrivilegedPods on a ServicePlan is True when the plan lets tenants run
	// privileged Pods (podSecurity: privileged): a warning, not a failure.
	ConditionPrivilegedPods = "PrivilegedPods"
)

// Condition reasons.
const (
	ReasonReconciled           = "Reconciled"
	ReasonProgressing          = "Progressing"
	ReasonDeleting             = "Deleting"
	ReasonPlanNotFound         = "PlanNotFound"
	ReasonProductNotFound      = "ProductNotFound"
	ReasonProductNotInPlan     = "ProductNotInPlan"
	ReasonVersionNotFound      = "VersionNotFound"
	ReasonTooManyNamespaces    = "TooManyNamespaces"
	ReasonNamespaceConflict    = "NamespaceConflict"
	ReasonNamespaceTerminating = "NamespaceTerminating"
	ReasonOverBudget           = "OverBudget"
	ReasonApplyFailed          = "ApplyFailed"
	ReasonBlocked              = "Blocked"
	ReasonInUse                = "InUse"
	ReasonNoProducts           = "NoProducts"
	ReasonSuspended            = "Suspended"
	ReasonInvalidQuota         = "InvalidQuota"
	ReasonReservedNamespace    = "ReservedNamespace"
	ReasonObjectConflict       = "ObjectConflict"
	// ReasonPodsRejected: a product Deployment reports ReplicaFailure (the API server
	// refused its Pods: quota, Pod Security, LimitRange).
	ReasonPodsRejected = "PodsRejected"
	// ReasonProgressDeadlineExceeded: a product Deployment did not become available within
	// its progressDeadlineSeconds.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonMissingResourceDefaults: a plan's quota covers a compute resource that a
	// product component does not set and the plan's limitRange does not default.
	ReasonMissingResourceDefaults = "MissingResourceDefaults"
	// ReasonZeroQuotaShare: a namespace that runs a product gets a quota share of 0 for a
	// key the plan limits.
	ReasonZeroQuotaShare = "ZeroQuotaShare"
	// ReasonInvalidLimitRange: the plan's limitRange cannot be applied (a default above max).
	ReasonInvalidLimitRange = "InvalidLimitRange"
	// ReasonNameCollision: two products of a tenant would make objects of the same name.
	ReasonNameCollision = "NameCollision"
	// ReasonGatewayPoliciesUnavailable: a product asks for gateway policies whose CRDs are
	// not installed, so it gets no route (ProductsReady).
	ReasonGatewayPoliciesUnavailable = "GatewayPoliciesUnavailable"
	// ReasonSharedNotPossible: a plan gives a product with tenancy Shared that cannot be
	// shared (not exposed, or its auth is checked by nothing at the gateway).
	ReasonSharedNotPossible = "SharedNotPossible"
	// ReasonRolloutFailed: a tenant a rollout moved failed; the rollout stopped.
	ReasonRolloutFailed = "RolloutFailed"
	// ReasonRollingOut: a rollout is moving tenants to a new revision.
	ReasonRollingOut = "RollingOut"
	// ReasonRolloutPaused: spec.rollout.paused holds a rollout.
	ReasonRolloutPaused = "RolloutPaused"
	// ReasonPrivilegedPods is the reason of a ServicePlan's PrivilegedPods condition.
	ReasonPrivilegedPods = "PrivilegedPodSecurity"
)
