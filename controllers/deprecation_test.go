package controllers

// User story of a deprecated product version (issue 13, item 5): the product's status says
// since when a version is deprecated, the HTTPRoutes of the tenants on it tell their API
// clients with the Deprecation (RFC 9745) and Sunset (RFC 8594) response headers, and each
// such tenant gets one Warning Event.

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
	"github.com/openplatform/tenant-operator/internal/render"
)

// TestDeprecationReachesClients: an exposed product with versions v1 and v2 and a tenant on
// each. Marking v1 deprecated with a sunset records deprecatedSince in status.versions, adds
// Deprecation and Sunset response headers to the v1 tenant's route only, and tells the v1
// tenant once with a Warning Event that names the version, the product, the sunset and v2
// to move to. Later spec changes keep the date and tell nobody again; a new sunset reaches
// the route. Un-deprecating removes the headers and the date; deprecating again starts a
// new date.
func TestDeprecationReachesClients(t *testing.T) {
	t.Parallel()
	installHTTPRouteCRD(t) // already there after TestHTTPRouteAfterGatewayAPIInstalled; needed when run alone
	const product, planName, onV1, onV2 = "dep-api", "dep-plan", "dep-one", "dep-two"
	deploy := product + "-api"
	ap := newAPIProduct(product, "v2",
		productVersion("v1", productComponent("api", "registry.example.com/dep:1.0.0", 8080)),
		productVersion("v2", productComponent("api", "registry.example.com/dep:2.0.0", 8080)))
	ap.Spec.Exposure = &tenancyv1alpha1.Exposure{
		Component: "api",
		Gateway:   tenancyv1alpha1.GatewayRef{Name: "public", Namespace: "platform-gateway"},
		Hostname:  "{tenant}.dep.example.com",
	}
	mustCreate(t, ap)
	mustCreate(t, newProductPlan(planName, tenancyv1alpha1.PlanProduct{Name: product}))
	pinned := newTenant(onV1, planName)
	pinned.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v1"}}
	mustCreate(t, pinned)
	mustCreate(t, newTenant(onV2, planName)) // the product's defaultVersion, v2

	// 1. Before: both tenants run, their routes have no header filter, nothing is deprecated.
	for _, tenant := range []string{onV1, onV2} {
		waitProductsRunning(t, tenant, tenant, tenancyv1alpha1.ReasonReconciled, deploy)
	}
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		want := []tenancyv1alpha1.VersionStatus{{Name: "v1", Tenants: 1}, {Name: "v2", Tenants: 1}}
		if !reflect.DeepEqual(p.Status.Versions, want) {
			return fmt.Errorf("ApiProduct %s status.versions %s, want %s", product, describeVersions(p.Status.Versions), describeVersions(want))
		}
		return nil
	})
	eventually(t, 0, func() error { return wantRouteHeaders(onV1, product, "v1", nil) })
	eventually(t, 0, func() error { return wantRouteHeaders(onV2, product, "v2", nil) })
	noDeprecationEvents := func(tenant string) error { return wantDeprecationEvents(tenant, product, 0) }
	for _, tenant := range []string{onV1, onV2} {
		if err := noDeprecationEvents(tenant); err != nil {
			t.Fatal(err)
		}
	}

	// 2. v1 is deprecated, to go away on 30 June 2027.
	sunset := time.Date(2027, time.June, 30, 0, 0, 0, 0, time.UTC)
	const sunsetHeader = "Wed, 30 Jun 2027 00:00:00 GMT"
	if got := sunset.Format(http.TimeFormat); got != sunsetHeader {
		t.Fatalf("http.TimeFormat of %v is %q, want %q", sunset, got, sunsetHeader)
	}
	markedAt := time.Now()
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Versions[0].Deprecated = true
		p.Spec.Versions[0].Sunset = &metav1.Time{Time: sunset}
	})
	since := waitDeprecatedSince(t, product, markedAt)
	deprecation := "@" + strconv.FormatInt(since.Unix(), 10)
	headers := []gatewayv1.HTTPHeader{{Name: render.HeaderDeprecation, Value: deprecation}, {Name: render.HeaderSunset, Value: sunsetHeader}}
	eventually(t, 0, func() error { return wantRouteHeaders(onV1, product, "v1", headers) })
	eventually(t, 0, func() error {
		return wantDeprecationEvents(onV1, product, 1, "Version v1 of product "+product,
			"is to go away on 2027-06-30T00:00:00Z", "move to version v2")
	})
	// The v2 tenant's route and Events stay as they were, and the v1 tenant is told once.
	consistently(t, 2*time.Second, func() error {
		return errors.Join(wantRouteHeaders(onV2, product, "v2", nil), noDeprecationEvents(onV2),
			wantDeprecationEvents(onV1, product, 1), wantRouteHeaders(onV1, product, "v1", headers))
	})

	// 3. Later spec changes keep the date and tell nobody again: an unrelated one (the
	// display name), then a new sunset, which reaches the route. Each happens at least a
	// second after the date, so a date taken again would differ.
	time.Sleep(time.Until(since.Add(1100 * time.Millisecond)))
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) { p.Spec.DisplayName = "Deprecation story" })
	stable := func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		if p.Status.ObservedGeneration != p.Generation {
			return fmt.Errorf("ApiProduct %s status.observedGeneration %d, generation %d", product, p.Status.ObservedGeneration, p.Generation)
		}
		v1, _ := versionStatusOf(p, "v1")
		if !v1.Deprecated || v1.DeprecatedSince == nil || !v1.DeprecatedSince.Equal(&since) {
			return fmt.Errorf("ApiProduct %s status.versions %s, want v1 deprecated since %s still", product,
				describeVersions(p.Status.Versions), since.UTC().Format(time.RFC3339))
		}
		return nil
	}
	eventually(t, 0, stable)
	consistently(t, 2*time.Second, func() error {
		return errors.Join(stable(), wantRouteHeaders(onV1, product, "v1", headers), wantDeprecationEvents(onV1, product, 1),
			wantRouteHeaders(onV2, product, "v2", nil), noDeprecationEvents(onV2))
	})

	later := time.Date(2027, time.December, 31, 0, 0, 0, 0, time.UTC)
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) { p.Spec.Versions[0].Sunset = &metav1.Time{Time: later} })
	headers = []gatewayv1.HTTPHeader{{Name: render.HeaderDeprecation, Value: deprecation}, {Name: render.HeaderSunset, Value: "Fri, 31 Dec 2027 00:00:00 GMT"}}
	eventually(t, 0, func() error { return errors.Join(stable(), wantRouteHeaders(onV1, product, "v1", headers)) })
	consistently(t, time.Second, func() error {
		return errors.Join(stable(), wantDeprecationEvents(onV1, product, 1), noDeprecationEvents(onV2))
	})

	// 4. v1 is not deprecated any more (and has no sunset): the headers and the date go.
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) {
		p.Spec.Versions[0].Deprecated = false
		p.Spec.Versions[0].Sunset = nil
	})
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		want := []tenancyv1alpha1.VersionStatus{{Name: "v1", Tenants: 1}, {Name: "v2", Tenants: 1}}
		if p.Status.ObservedGeneration != p.Generation || !reflect.DeepEqual(p.Status.Versions, want) {
			return fmt.Errorf("ApiProduct %s status.versions %s at generation %d of %d, want %s", product,
				describeVersions(p.Status.Versions), p.Status.ObservedGeneration, p.Generation, describeVersions(want))
		}
		return nil
	})
	eventually(t, 0, func() error { return wantRouteHeaders(onV1, product, "v1", nil) })
	consistently(t, time.Second, func() error {
		return errors.Join(wantRouteHeaders(onV1, product, "v1", nil), wantRouteHeaders(onV2, product, "v2", nil),
			wantDeprecationEvents(onV1, product, 1), noDeprecationEvents(onV2))
	})

	// 5. Deprecated again, without a sunset: a new date, only the Deprecation header, and
	// the v1 tenant is told again.
	time.Sleep(time.Until(since.Add(2100 * time.Millisecond)))
	again := time.Now()
	mustUpdate(t, ap, func(p *tenancyv1alpha1.ApiProduct) { p.Spec.Versions[0].Deprecated = true })
	since2 := waitDeprecatedSince(t, product, again)
	if !since2.After(since.Time) {
		t.Errorf("deprecatedSince after deprecating again is %s, want later than the first %s", since2.UTC(), since.UTC())
	}
	headers = []gatewayv1.HTTPHeader{{Name: render.HeaderDeprecation, Value: "@" + strconv.FormatInt(since2.Unix(), 10)}}
	eventually(t, 0, func() error { return wantRouteHeaders(onV1, product, "v1", headers) })
	eventually(t, 0, func() error {
		return wantDeprecationEvents(onV1, product, 2, "Version v1 of product "+product, "move to version v2")
	})
	consistently(t, time.Second, func() error {
		return errors.Join(wantRouteHeaders(onV2, product, "v2", nil), noDeprecationEvents(onV2), wantDeprecationEvents(onV1, product, 2))
	})

	// 6. A tenant that starts on the deprecated version is told too, once, and its route
	// carries the header from the start.
	const late = "dep-three"
	newcomer := newTenant(late, planName)
	newcomer.Spec.Products = []tenancyv1alpha1.TenantProduct{{Name: product, Version: "v1"}}
	mustCreate(t, newcomer)
	eventually(t, 0, func() error { return wantRouteHeaders(late, product, "v1", headers) })
	eventually(t, 0, func() error {
		return wantDeprecationEvents(late, product, 1, "now runs version v1 of product "+product, "is deprecated")
	})
	consistently(t, time.Second, func() error { return wantDeprecationEvents(late, product, 1) })
}

// waitDeprecatedSince waits until status.versions says v1 is deprecated and v2 is not, and
// returns v1's deprecatedSince, which must be between markedAt (at second precision) and
// now, and within a few seconds of markedAt.
func waitDeprecatedSince(t *testing.T, product string, markedAt time.Time) metav1.Time {
	t.Helper()
	var since metav1.Time
	eventually(t, 0, func() error {
		p, err := fetchProduct(product)
		if err != nil {
			return err
		}
		v1, ok1 := versionStatusOf(p, "v1")
		v2, ok2 := versionStatusOf(p, "v2")
		if p.Status.ObservedGeneration != p.Generation || !ok1 || !ok2 || !v1.Deprecated || v1.DeprecatedSince == nil ||
			v2.Deprecated || v2.DeprecatedSince != nil || v1.Tenants != 1 || v2.Tenants != 1 {
			return fmt.Errorf("ApiProduct %s status.versions %s at generation %d of %d, want v1 deprecated with a date, v2 not, one tenant each",
				product, describeVersions(p.Status.Versions), p.Status.ObservedGeneration, p.Generation)
		}
		since = *v1.DeprecatedSince
		return nil
	})
	now := time.Now()
	if since.Time.Before(markedAt.Truncate(time.Second)) || since.Time.After(now) || since.Time.Sub(markedAt) > 5*time.Second {
		t.Fatalf("status.versions[v1].deprecatedSince %s, want between %s and %s, within 5s of marking it deprecated",
			since.UTC().Format(time.RFC3339Nano), markedAt.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	return since
}

func versionStatusOf(p *tenancyv1alpha1.ApiProduct, version string) (tenancyv1alpha1.VersionStatus, bool) {
	for _, v := range p.Status.Versions {
		if v.Name == version {
			return v, true
		}
	}
	return tenancyv1alpha1.VersionStatus{}, false
}

func describeVersions(vs []tenancyv1alpha1.VersionStatus) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		s := fmt.Sprintf("{%s tenants=%d deprecated=%t", v.Name, v.Tenants, v.Deprecated)
		if v.DeprecatedSince != nil {
			s += " since=" + v.DeprecatedSince.UTC().Format(time.RFC3339)
		}
		parts = append(parts, s+"}")
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// wantRouteHeaders checks the tenant's HTTPRoute <product> (in the namespace named after the
// tenant): the route of version, one rule to the entrypoint Service and, with want nil, no
// filter; else exactly one ResponseHeaderModifier filter that sets exactly want, in order.
func wantRouteHeaders(tenant, product, version string, want []gatewayv1.HTTPHeader) error {
	r := &gatewayv1.HTTPRoute{}
	if err := get(r, tenant, product); err != nil {
		return err
	}
	if v := r.Labels[render.LabelAppVersion]; v != version {
		return fmt.Errorf("HTTPRoute %s/%s is of version %q, want %s", tenant, product, v, version)
	}
	if len(r.Spec.Hostnames) != 1 || r.Spec.Hostnames[0] != gatewayv1.Hostname(tenant+".dep.example.com") {
		return fmt.Errorf("HTTPRoute %s/%s hostnames %v, want [%s.dep.example.com]", tenant, product, r.Spec.Hostnames, tenant)
	}
	if len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 1 || r.Spec.Rules[0].BackendRefs[0].Name != gatewayv1.ObjectName(product+"-api") {
		return fmt.Errorf("HTTPRoute %s/%s rules %+v, want one rule to Service %s-api", tenant, product, r.Spec.Rules, product)
	}
	filters := r.Spec.Rules[0].Filters
	if want == nil {
		if len(filters) != 0 {
			return fmt.Errorf("HTTPRoute %s/%s has filters %s, want none (version %s is not deprecated)", tenant, product, describeFilters(filters), version)
		}
		return nil
	}
	wantFilter := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier,
		ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: want}}
	if len(filters) != 1 || !reflect.DeepEqual(filters[0], wantFilter) {
		return fmt.Errorf("HTTPRoute %s/%s has filters %s, want %s", tenant, product, describeFilters(filters),
			describeFilters([]gatewayv1.HTTPRouteFilter{wantFilter}))
	}
	return nil
}

func describeFilters(fs []gatewayv1.HTTPRouteFilter) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		s := string(f.Type)
		if m := f.ResponseHeaderModifier; m != nil {
			s += fmt.Sprintf("{set %v add %v remove %v}", m.Set, m.Add, m.Remove)
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// wantDeprecationEvents checks the VersionDeprecated Events regarding the tenant: n
// occurrences in all (an Event's series counts its repeats), each a Warning of action
// Deprecate related to the ApiProduct, whose note contains every excerpt.
func wantDeprecationEvents(tenant, product string, n int, excerpts ...string) error {
	tn, err := fetchTenant(tenant)
	if err != nil {
		return err
	}
	events, err := regardingEvents("Tenant", tenant, tn.UID)
	if err != nil {
		return err
	}
	var got []string
	count := 0
	var problems []string
	for _, e := range events {
		if e.Reason != "VersionDeprecated" {
			continue
		}
		occurrences := 1
		if e.Series != nil {
			occurrences = int(e.Series.Count)
		}
		count += occurrences
		got = append(got, fmt.Sprintf("%s %s (x%d, related %v): %s", e.Type, e.Action, occurrences, e.Related, e.Note))
		if e.Type != corev1.EventTypeWarning || e.Action != "Deprecate" {
			problems = append(problems, fmt.Sprintf("type %s action %s, want Warning Deprecate", e.Type, e.Action))
		}
		if rel := e.Related; rel == nil || rel.Kind != "ApiProduct" || rel.Name != product || rel.APIVersion != tenancyv1alpha1.GroupVersion.String() {
			problems = append(problems, fmt.Sprintf("related %v, want ApiProduct %s", rel, product))
		}
		for _, x := range excerpts {
			if !strings.Contains(e.Note, x) {
				problems = append(problems, fmt.Sprintf("note %q lacks %q", e.Note, x))
			}
		}
	}
	if count != n {
		problems = append(problems, fmt.Sprintf("%d occurrences, want %d", count, n))
	}
	if len(problems) > 0 {
		return fmt.Errorf("VersionDeprecated Events of tenant %s: %s\nthey are:\n  %s", tenant, strings.Join(problems, "; "), strings.Join(got, "\n  "))
	}
	return nil
}
