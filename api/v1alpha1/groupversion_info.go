// Package v1alpha1 contains the tenancy.openplatform.io/v1alpha1 API: ServicePlan,
// ApiProduct and Tenant, all cluster-scoped.
// +kubebuilder:object:generate=true
// +groupName=tenancy.openplatform.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the tenancy API.
	GroupVersion = schema.GroupVersion{Group: "tenancy.openplatform.io", Version: "v1alpha1"}

	// SchemeBuilder registers the tenancy types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the tenancy types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
