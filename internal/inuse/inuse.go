// Package inuse keeps ServicePlans and ApiProducts that tenants use from being deleted
// under them, and the shared limits of their status.
package inuse

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// MaxListedTenants caps status.tenantNames so a popular plan's status stays small.
const MaxListedTenants = 100

// StatusBatchDelay is how long a plan's or product's status waits after a change of one of
// its tenants before it is recounted. Changes within it are counted together: 1,000 tenants
// created at once make a few status writes per second instead of one write each.
const StatusBatchDelay = time.Second

// EnsureFinalizer keeps the in-use finalizer on a plan or product while it exists and
// removes it once the object is being deleted and no tenant uses it any more.
func EnsureFinalizer(ctx context.Context, c client.Client, o client.Object, users int) error {
	base := o.DeepCopyObject().(client.Object)
	var changed bool
	if o.GetDeletionTimestamp().IsZero() {
		changed = controllerutil.AddFinalizer(o, tenancyv1alpha1.InUseFinalizer)
	} else if users == 0 {
		changed = controllerutil.RemoveFinalizer(o, tenancyv1alpha1.InUseFinalizer)
	}
	if !changed {
		return nil
	}
	if err := c.Patch(ctx, o, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("updating the finalizers of %s: %w", o.GetName(), err)
	}
	return nil
}

// CapNames limits a list of tenant names in status.
func CapNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	if len(names) > MaxListedTenants {
		return names[:MaxListedTenants]
	}
	return names
}
