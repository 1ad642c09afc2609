package render

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Gateway policies: what the gateway enforces in front of a tenant's route. A provider
// renders them for one implementation (Envoy Gateway today); the rest of the operator sees
// only objects, kinds and the CRDs a provider needs, so another implementation (Kuadrant,
// Kong) is another provider.

// Kinds of gateway policy objects.
const (
	KindSecurityPolicy       = "SecurityPolicy"
	KindBackendTrafficPolicy = "BackendTrafficPolicy"
)

// Names and keys of the gateway's credentials.
const (
	// AnnotationKeyRotatedAt on a gateway keys Secret records when the key in its
	// "<tenant>-previous" entry was replaced (RFC 3339): it stays valid for the product's
	// rotationGracePeriod from then.
	AnnotationKeyRotatedAt = "tenancy.openplatform.io/key-rotated-at"
	// PreviousKeySuffix ends the client ID of the previous key in a gateway keys Secret.
	PreviousKeySuffix = "-previous"
	// DefaultAPIKeyHeader is the header clients send their key in unless the product says.
	DefaultAPIKeyHeader = "x-api-key"
	// DefaultTenantClaim is the token claim that names the tenant unless the product says.
	DefaultTenantClaim = "tenant"
)

// GatewayKeysName is the name of the Secret holding the keys the gateway accepts for a
// tenant's product.
func GatewayKeysName(product string) string { return product + "-gateway-keys" }

// GatewayKeys are the API keys the gateway accepts for a tenant's product: the current
// one and, during the rotation grace period, the one it replaced.
type GatewayKeys struct {
	Current string
	// Previous is the replaced key, "" when none is still valid.
	Previous string
	// RotatedAt is when Previous was replaced; zero without Previous.
	RotatedAt time.Time
}

// PolicyProvider renders the gateway policies of one gateway implementation.
type PolicyProvider interface {
	// CRDs are the names of the CustomResourceDefinitions the provider's kinds need; while
	// any is missing the product gets no route at all (fail closed).
	CRDs() []string
	// Objects are the policies of a tenant's product route, written before the route.
	Objects(in ProductInput, route string) []Object
}

// providers are the gateway policy implementations by exposure.policies.
var providers = map[tenancyv1alpha1.GatewayPolicies]PolicyProvider{
	tenancyv1alpha1.GatewayPoliciesEnvoyGateway: envoyGateway{},
}

// Policies returns the provider that enforces a product's auth and rate limit at the
// gateway, or nil when nothing at the gateway does (exposure.policies None, or no exposure).
func Policies(p *tenancyv1alpha1.ApiProduct) PolicyProvider {
	if p.Spec.Exposure == nil {
		return nil
	}
	return providers[p.Spec.Exposure.Policies]
}

// PolicyCRDs are the names of every CRD a gateway policy provider needs, sorted.
func PolicyCRDs() []string {
	var out []string
	for _, p := range providers {
		out = append(out, p.CRDs()...)
	}
	sort.Strings(out)
	return out
}

// APIKeyHeader is the header a product's clients send their key in.
func APIKeyHeader(p *tenancyv1alpha1.ApiProduct) string {
	if k := p.Spec.Auth.APIKey; k != nil && k.Header != "" {
		return k.Header
	}
	return DefaultAPIKeyHeader
}

// RotationGracePeriod is how long a replaced key of the product stays valid at the gateway.
func RotationGracePeriod(p *tenancyv1alpha1.ApiProduct) time.Duration {
	if k := p.Spec.Auth.APIKey; k != nil {
		return k.RotationGracePeriod.Duration
	}
	return 0
}

// TenantClaim is the token claim that must name the tenant.
func TenantClaim(o *tenancyv1alpha1.OAuth2) string {
	if o != nil && o.TenantClaim != "" {
		return o.TenantClaim
	}
	return DefaultTenantClaim
}

// gatewayKeysSecret holds the keys the gateway accepts: each entry's key is a client ID
// (the tenant, and "<tenant>-previous" during the grace period), its value an API key.
func gatewayKeysSecret(t *tenancyv1alpha1.Tenant, r Resolved, keys *GatewayKeys) Object {
	name := GatewayKeysName(r.Product.Name)
	data := map[string][]byte{t.Name: []byte(keys.Current)}
	s := corev1ac.Secret(name, r.Namespace).
		WithLabels(productLabels(t, r)).
		WithType(corev1.SecretTypeOpaque)
	if keys.Previous != "" {
		data[t.Name+PreviousKeySuffix] = []byte(keys.Previous)
		s.WithAnnotations(map[string]string{AnnotationKeyRotatedAt: keys.RotatedAt.UTC().Format(time.RFC3339)})
	}
	s.WithData(data)
	return Object{Kind: KindSecret, Namespace: r.Namespace, Name: name, Apply: s}
}

// NextGatewayKeys decides the keys the gateway accepts after a pass: the current key and,
// when the key the gateway last accepted as current (live, the keys Secret as it is) has
// just been replaced, or was replaced less than grace ago, that previous key. It returns
// the keys and when the previous one expires (zero without one), so that the caller can
// come back at that moment to drop it.
func NextGatewayKeys(tenant, current string, live *corev1.Secret, grace time.Duration, now time.Time) (*GatewayKeys, time.Time) {
	keys := &GatewayKeys{Current: current}
	if live == nil || grace <= 0 {
		return keys, time.Time{}
	}
	prev, rotatedAt := "", time.Time{}
	if was := string(live.Data[tenant]); was != "" && was != current {
		prev, rotatedAt = was, now.Truncate(time.Second) // rotated in this pass
	} else if old := string(live.Data[tenant+PreviousKeySuffix]); old != "" && old != current {
		// A time to come (written by hand) would keep the old key valid for longer than the
		// grace period: only a rotation that happened counts.
		if at, err := time.Parse(time.RFC3339, live.Annotations[AnnotationKeyRotatedAt]); err == nil && !at.After(now) {
			prev, rotatedAt = old, at
		}
	}
	if prev == "" {
		return keys, time.Time{}
	}
	until := rotatedAt.Add(grace)
	if !now.Before(until) {
		return keys, time.Time{}
	}
	keys.Previous, keys.RotatedAt = prev, rotatedAt
	return keys, until
}
