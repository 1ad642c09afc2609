package render

import (
	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

// Envoy Gateway's policy API (gateway.envoyproxy.io/v1alpha1). The operator writes these
// kinds through small local types of just the fields it sets: the Envoy Gateway Go module
// would bring its whole control plane along. The fields the CRDs default inside lists
// (credentialRefs[].kind, claims[].valueType, remoteJWKS.cacheDuration) are written with
// their default values, so that the object the API server stores equals the desired one
// and a pass with nothing to change writes nothing.
const (
	EnvoyGatewayGroup   = "gateway.envoyproxy.io"
	EnvoyGatewayVersion = "v1alpha1"

	SecurityPolicyCRD       = "securitypolicies.gateway.envoyproxy.io"
	BackendTrafficPolicyCRD = "backendtrafficpolicies.gateway.envoyproxy.io"

	// jwksCacheDuration is how long Envoy keeps the fetched JWKS (Envoy Gateway's default).
	jwksCacheDuration = "300s"
)

// envoyGateway renders Envoy Gateway policies: a SecurityPolicy for the product's auth and
// for suspension, and a BackendTrafficPolicy for the plan's rate limit, both targeting the
// tenant's HTTPRoute.
type envoyGateway struct{}

func (envoyGateway) CRDs() []string { return []string{BackendTrafficPolicyCRD, SecurityPolicyCRD} }

func (envoyGateway) Objects(in ProductInput, route string) []Object {
	t, r := in.Tenant, in.Resolved
	var out []Object
	target := []egTargetRef{{Group: "gateway.networking.k8s.io", Kind: KindHTTPRoute, Name: route}}

	sp := &securityPolicySpec{TargetRefs: target}
	switch r.Product.Spec.Auth.Type {
	case "", tenancyv1alpha1.AuthAPIKey:
		keys := in.GatewayKeys
		if keys == nil {
			keys = &GatewayKeys{}
		}
		out = append(out, gatewayKeysSecret(t, r, keys))
		sp.APIKeyAuth = &egAPIKeyAuth{
			CredentialRefs: []egSecretRef{{Group: "", Kind: KindSecret, Name: GatewayKeysName(r.Product.Name)}},
			ExtractFrom:    []egExtractFrom{{Headers: []string{APIKeyHeader(r.Product)}}},
		}
	case tenancyv1alpha1.AuthOAuth2:
		o := r.Product.Spec.Auth.OAuth2
		provider := egJWTProvider{Name: r.Product.Name, RemoteJWKS: egRemoteJWKS{CacheDuration: jwksCacheDuration}}
		if o != nil {
			provider.Issuer, provider.RemoteJWKS.URI = o.IssuerURL, o.JWKSURI
			if o.Audience != "" {
				provider.Audiences = []string{o.Audience}
			}
		}
		sp.JWT = &egJWT{Providers: []egJWTProvider{provider}}
		// Only tokens issued for this tenant pass: a valid token of another tenant is refused.
		sp.Authorization = &egAuthorization{DefaultAction: "Deny", Rules: []egAuthorizationRule{{
			Name: "tenant-" + t.Name, Action: "Allow",
			Principal: egPrincipal{JWT: &egJWTPrincipal{Provider: provider.Name, Claims: []egJWTClaim{{
				Name: TenantClaim(o), ValueType: "String", Values: []string{t.Name},
			}}}},
		}}}
	}
	if t.Spec.Suspended {
		// Every request is refused (403), whoever sends it; the keys stay on record.
		sp.Authorization = &egAuthorization{DefaultAction: "Deny"}
	}
	if sp.APIKeyAuth != nil || sp.JWT != nil || sp.Authorization != nil {
		out = append(out, egPolicy(t, r, KindSecurityPolicy, sp))
	}
	if rl := r.PlanEntry.RateLimit; rl != nil {
		out = append(out, egPolicy(t, r, KindBackendTrafficPolicy, &backendTrafficPolicySpec{
			TargetRefs: target,
			RateLimit: egRateLimit{Local: egLocalRateLimit{Rules: []egRateLimitRule{{
				Limit: egRateLimitValue{Requests: rl.RequestsPerMinute, Unit: "Minute"},
			}}}},
		}))
	}
	return out
}

// egPolicy is an Envoy Gateway policy of the tenant's product, named after the product.
func egPolicy(t *tenancyv1alpha1.Tenant, r Resolved, kind string, spec any) Object {
	return Object{Kind: kind, Namespace: r.Namespace, Name: r.Product.Name, Apply: &customObject{
		APIVersion: EnvoyGatewayGroup + "/" + EnvoyGatewayVersion,
		Kind:       kind,
		Metadata:   customMetadata{Name: r.Product.Name, Namespace: r.Namespace, Labels: productLabels(t, r)},
		Spec:       spec,
	}}
}

// customObject is an object of another project's CRD (Envoy Gateway, prometheus-operator)
// to apply, typed by the operator's own small spec types.
type customObject struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   customMetadata `json:"metadata"`
	Spec       any            `json:"spec"`
}

// IsApplyConfiguration marks customObject as a server-side apply configuration.
func (*customObject) IsApplyConfiguration() {}

type customMetadata struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type egTargetRef struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

type securityPolicySpec struct {
	TargetRefs    []egTargetRef    `json:"targetRefs"`
	APIKeyAuth    *egAPIKeyAuth    `json:"apiKeyAuth,omitempty"`
	JWT           *egJWT           `json:"jwt,omitempty"`
	Authorization *egAuthorization `json:"authorization,omitempty"`
}

type egAPIKeyAuth struct {
	CredentialRefs []egSecretRef   `json:"credentialRefs"`
	ExtractFrom    []egExtractFrom `json:"extractFrom"`
}

type egSecretRef struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

type egExtractFrom struct {
	Headers []string `json:"headers"`
}

type egJWT struct {
	Providers []egJWTProvider `json:"providers"`
}

type egJWTProvider struct {
	Name       string       `json:"name"`
	Issuer     string       `json:"issuer,omitempty"`
	Audiences  []string     `json:"audiences,omitempty"`
	RemoteJWKS egRemoteJWKS `json:"remoteJWKS"`
}

type egRemoteJWKS struct {
	URI           string `json:"uri"`
	CacheDuration string `json:"cacheDuration"`
}

type egAuthorization struct {
	DefaultAction string                `json:"defaultAction"`
	Rules         []egAuthorizationRule `json:"rules,omitempty"`
}

type egAuthorizationRule struct {
	Name      string      `json:"name"`
	Action    string      `json:"action"`
	Principal egPrincipal `json:"principal"`
}

type egPrincipal struct {
	JWT *egJWTPrincipal `json:"jwt,omitempty"`
}

type egJWTPrincipal struct {
	Provider string       `json:"provider"`
	Claims   []egJWTClaim `json:"claims"`
}

type egJWTClaim struct {
	Name      string   `json:"name"`
	ValueType string   `json:"valueType"`
	Values    []string `json:"values"`
}

type backendTrafficPolicySpec struct {
	TargetRefs []egTargetRef `json:"targetRefs"`
	RateLimit  egRateLimit   `json:"rateLimit"`
}

// egRateLimit sets the local (per Envoy replica) limit; rateLimit.type is deprecated since
// Envoy Gateway v1.5 (the local and global fields say it).
type egRateLimit struct {
	Local egLocalRateLimit `json:"local"`
}

type egLocalRateLimit struct {
	Rules []egRateLimitRule `json:"rules"`
}

type egRateLimitRule struct {
	Limit egRateLimitValue `json:"limit"`
}

type egRateLimitValue struct {
	Requests int32  `json:"requests"`
	Unit     string `json:"unit"`
}
