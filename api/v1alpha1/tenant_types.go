package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OwnerKind is the kind of a tenant owner.
// +kubebuilder:validation:Enum=User;Group;ServiceAccount
type OwnerKind string

// Owner kinds.
const (
	OwnerUser           OwnerKind = "User"
	OwnerGroup          OwnerKind = "Group"
	OwnerServiceAccount OwnerKind = "ServiceAccount"
)

// DeletionPolicy says what happens to a tenant's namespaces when the Tenant is deleted.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletionPolicy string

// Deletion policies.
const (
	DeletionDelete DeletionPolicy = "Delete"
	DeletionRetain DeletionPolicy = "Retain"
)

// TenantSpec is what an admin asks for: a plan, owners, namespaces and products.
type TenantSpec struct {
	// displayName is the tenant's human-readable name, e.g. "Acme Corp".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// plan is the name of the ServicePlan the tenant is on. A plan that does not exist yet
	// is reported as Ready=False, reason PlanNotFound, and heals once the plan is created.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Plan string `json:"plan"`

	// owners get the plan's ownerRole in every tenant namespace and may read this Tenant.
	// A ServiceAccount owner lives in one of the tenant's namespaces. Names starting with
	// system: are Kubernetes' own and are refused for Users and Groups (system:authenticated
	// would hand the tenant to everyone); a service account is written as kind ServiceAccount.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Owners []Owner `json:"owners"`

	// namespaces are the tenant's namespaces. Each name must be the tenant's name or start
	// with "<tenant>-", be a DNS label and have at most 63 characters. Default: one
	// namespace named after the tenant. A namespace that exists already and does not belong
	// to this tenant is never taken over (NamespacesReady=False, reason NamespaceConflict)
	// unless an admin annotates it tenancy.openplatform.io/adopt=<tenant>.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	Namespaces []TenantNamespace `json:"namespaces,omitempty"`

	// products are the API products the tenant runs (at most 20). Default: every product of
	// the plan. Every product listed must be in the plan.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	Products []TenantProduct `json:"products,omitempty"`

	// suspended scales every product Deployment of the tenant to 0; namespaces, data and
	// credentials are kept.
	// +optional
	Suspended bool `json:"suspended,omitempty"`

	// deletionPolicy says what deleting the Tenant, or removing a namespace from
	// spec.namespaces, does: Delete deletes the namespaces the operator created and releases
	// adopted ones; Retain keeps every namespace and its contents and only removes the
	// tenant labels (its NetworkPolicies keep fencing it in, by namespace name instead of by
	// the tenant label).
	// +optional
	// +kubebuilder:default=Delete
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// Owner is a user, group or service account that owns a tenant.
// +kubebuilder:validation:XValidation:rule="self.kind != 'ServiceAccount' || (has(self.namespace) && size(self.namespace) > 0)",message="a ServiceAccount owner needs a namespace"
// +kubebuilder:validation:XValidation:rule="self.kind == 'ServiceAccount' || !has(self.namespace)",message="namespace is only valid for a ServiceAccount owner"
// +kubebuilder:validation:XValidation:rule=`self.kind != 'ServiceAccount' || self.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')`,message="a ServiceAccount owner's name must be a ServiceAccount name (lowercase letters, digits, '-' and '.'), e.g. deployer",fieldPath=".name"
// +kubebuilder:validation:XValidation:rule=`self.kind != 'Group' || !self.name.startsWith('system:')`,message="a Group owner may not be a system: group: Kubernetes puts many or all users in those (system:authenticated is everyone who can log in), so name a group of the tenant's own",fieldPath=".name"
// +kubebuilder:validation:XValidation:rule=`self.kind != 'User' || !self.name.startsWith('system:serviceaccount:')`,message="a service account is an owner of kind ServiceAccount with its name and namespace, not a User named system:serviceaccount:<namespace>:<name>",fieldPath=".name"
// +kubebuilder:validation:XValidation:rule=`self.kind != 'User' || self.name.startsWith('system:serviceaccount:') || !self.name.startsWith('system:')`,message="a User owner may not be named system:...: the prefix is reserved for Kubernetes' own identities (system:anonymous is every unauthenticated request), so name a person or robot account",fieldPath=".name"
type Owner struct {
	// kind is User, Group or ServiceAccount.
	Kind OwnerKind `json:"kind"`

	// name of the user, group or service account.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// namespace of a ServiceAccount owner.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// TenantNamespace is one of a tenant's namespaces.
type TenantNamespace struct {
	// name of the namespace: the tenant's name or "<tenant>-<suffix>", a DNS label of at
	// most 63 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self != 'default' && !self.startsWith('kube-')",message="default and kube-* are Kubernetes' own namespaces and can never be tenant namespaces"
	Name string `json:"name"`

	// quotaWeight is this namespace's share of the plan's quota budget, relative to the
	// tenant's other namespaces.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	QuotaWeight int32 `json:"quotaWeight,omitempty"`
}

// TenantProduct is an API product a tenant runs.
type TenantProduct struct {
	// name of the ApiProduct; it must be in the tenant's plan.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	Name string `json:"name"`

	// version pins the tenant to a version of the product. Default: the plan's version,
	// else the product's defaultVersion.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Version string `json:"version,omitempty"`

	// namespace the product runs in; one of the tenant's namespaces. Default: the first.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// NamespacePhase is the state of a tenant namespace.
type NamespacePhase string

// Namespace phases.
const (
	NamespacePending     NamespacePhase = "Pending"
	NamespaceActive      NamespacePhase = "Active"
	NamespaceTerminating NamespacePhase = "Terminating"
	NamespaceConflict    NamespacePhase = "Conflict"
)

// NamespaceStatus is the observed state of a tenant namespace.
type NamespaceStatus struct {
	// name of the namespace.
	Name string `json:"name"`
	// phase is Pending (not created yet), Active, Terminating, or Conflict (exists and
	// belongs to someone else).
	Phase NamespacePhase `json:"phase"`
	// adopted is true for a namespace that was handed over rather than created; deleting
	// the tenant releases it.
	// +optional
	Adopted bool `json:"adopted,omitempty"`
}

// QuotaStatus is the tenant-wide quota budget and its use.
type QuotaStatus struct {
	// hard is the plan's tenant-wide budget.
	// +optional
	Hard corev1.ResourceList `json:"hard,omitempty"`
	// used is the usage summed over the tenant's namespaces.
	// +optional
	Used corev1.ResourceList `json:"used,omitempty"`
}

// ProductStatus is the observed state of one of the tenant's products.
type ProductStatus struct {
	// name of the ApiProduct.
	Name string `json:"name"`
	// version the tenant runs.
	// +optional
	Version string `json:"version,omitempty"`
	// revision is the ControllerRevision (in the operator's namespace) of the content the
	// tenant runs: <product>-<version>-<hash>.
	// +optional
	Revision string `json:"revision,omitempty"`
	// previousRevision is the revision the tenant ran before a rollout in progress moved it;
	// a rollback returns it there. Empty outside a rollout.
	// +optional
	PreviousRevision string `json:"previousRevision,omitempty"`
	// namespace the product runs in: the tenant's, or the shared namespace of the shared
	// instance that serves it.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// tenancy is Dedicated (the tenant's own instance serves it) or Shared (the product's
	// shared instance does). During a move between the two it names the instance that
	// serves the tenant until the other one is available.
	// +optional
	Tenancy Tenancy `json:"tenancy,omitempty"`
	// sharedInstance is the shared instance (<product>-<version>) that serves the tenant,
	// with tenancy Shared.
	// +optional
	SharedInstance string `json:"sharedInstance,omitempty"`
	// replicas desired over all of the product's Deployments.
	// +optional
	Replicas int32 `json:"replicas"`
	// readyReplicas over all of the product's Deployments.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// endpoint is the URL the product is served at, when it is exposed.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// credentialsSecret is the Secret holding the tenant's API key, with auth.type APIKey.
	// +optional
	CredentialsSecret string `json:"credentialsSecret,omitempty"`
}

// TenantStatus is the observed state of a Tenant, for admins and for the tenant.
type TenantStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// plan is the ServicePlan the status was computed with.
	// +optional
	Plan string `json:"plan,omitempty"`

	// namespaces are the tenant's namespaces and their phase.
	// +optional
	// +listType=map
	// +listMapKey=name
	Namespaces []NamespaceStatus `json:"namespaces,omitempty"`

	// namespaceCount is the number of the tenant's namespaces that are Active.
	// +optional
	NamespaceCount int32 `json:"namespaceCount"`

	// quota is the tenant-wide budget and its use.
	// +optional
	Quota *QuotaStatus `json:"quota,omitempty"`

	// products are the tenant's API products.
	// +optional
	// +listType=map
	// +listMapKey=name
	Products []ProductStatus `json:"products,omitempty"`

	// productsReady counts the products whose replicas are all ready, as "ready/total".
	// +optional
	ProductsReady string `json:"productsReady,omitempty"`

	// conditions: Ready (summary, always present), Reconciling, Stalled, NamespacesReady,
	// QuotaReady, NetworkIsolated, AccessGranted, ProductsReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// The rule on ServiceAccount owners' namespaces sits at the root (it needs metadata.name), and
// the API server does not ratchet a root rule: it would refuse every later write of a Tenant
// stored before the rule (status, labels, the operator removing its finalizer). So it skips
// updates that leave spec.owners and spec.namespaces as they were (oldSelf).

// Tenant is a customer of the platform: a plan, owners, namespaces and products. It becomes
// namespaces with Pod Security labels, a ResourceQuota share, a LimitRange, NetworkPolicies
// that fence the tenant in, RoleBindings for its owners, and per-tenant product instances.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tnt,categories=tenancy
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",message="a Tenant's name must be a DNS label (lowercase letters, digits and '-', at most 63 characters): it names the tenant's namespaces and labels"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.namespaces) || self.spec.namespaces.all(n, n.name == self.metadata.name || (size(n.name) > size(self.metadata.name) && n.name.substring(0, size(self.metadata.name)) == self.metadata.name && n.name.substring(size(self.metadata.name), size(self.metadata.name) + 1) == '-'))",message="spec.namespaces: every namespace name must be the tenant's name or start with '<tenant name>-'"
// +kubebuilder:validation:XValidation:rule="self.metadata.name != 'default' && !self.metadata.name.startsWith('kube-')",message="a Tenant's name may not be default or start with kube-: those namespaces are Kubernetes' own and can never be tenant namespaces"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.products) || self.spec.products.all(p, !has(p.namespace) || (has(self.spec.namespaces) && size(self.spec.namespaces) > 0 ? self.spec.namespaces.exists(n, n.name == p.namespace) : p.namespace == self.metadata.name))",message="spec.products[].namespace must be one of the tenant's namespaces"
// +kubebuilder:validation:XValidation:rule=`(oldSelf.hasValue() && oldSelf.value().spec.owners == self.spec.owners && (has(oldSelf.value().spec.namespaces) ? (has(self.spec.namespaces) && oldSelf.value().spec.namespaces == self.spec.namespaces) : !has(self.spec.namespaces))) || self.spec.owners.all(o, o.kind != 'ServiceAccount' || !has(o.__namespace__) || ((has(self.spec.namespaces) && size(self.spec.namespaces) > 0) ? self.spec.namespaces.exists(n, n.name == o.__namespace__) : o.__namespace__ == self.metadata.name))`,message="a ServiceAccount owner's namespace must be one of the tenant's namespaces (spec.namespaces, or the tenant's name when spec.namespaces is empty): a service account elsewhere is controlled by whoever runs that namespace",fieldPath=".spec.owners",optionalOldSelf=true
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.spec.plan`
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaceCount`
// +kubebuilder:printcolumn:name="Products ready",type=string,JSONPath=`.status.productsReady`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the admin asks for.
	Spec TenantSpec `json:"spec"`

	// status is what the operator observed, including the conditions a tenant reads.
	// +optional
	Status TenantStatus `json:"status,omitempty"`
}

// TenantList is a list of Tenants.
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Tenant{}, &TenantList{})
}

// DesiredNamespaces returns the tenant's namespaces with their quota weights, defaulting to
// one namespace named after the tenant with weight 1.
func (t *Tenant) DesiredNamespaces() []TenantNamespace {
	if len(t.Spec.Namespaces) == 0 {
		return []TenantNamespace{{Name: t.Name, QuotaWeight: 1}}
	}
	out := make([]TenantNamespace, len(t.Spec.Namespaces))
	for i, ns := range t.Spec.Namespaces {
		out[i] = ns
		if out[i].QuotaWeight < 1 {
			out[i].QuotaWeight = 1
		}
	}
	return out
}
