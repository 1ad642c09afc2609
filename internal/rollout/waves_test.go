package rollout

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/openplatform/tenant-operator/api/v1alpha1"
)

func matchLabels(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func waveNames(ws []Wave) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func TestWavesNames(t *testing.T) {
	cases := []struct {
		name  string
		waves []tenancyv1alpha1.RolloutWave
		want  []string
	}{
		{
			name: "no waves: everyone moves in the implicit (remaining) wave",
			want: []string{RemainingWave},
		},
		{
			name: "selector and plan waves are followed by (remaining)",
			waves: []tenancyv1alpha1.RolloutWave{
				{Name: "canary", TenantSelector: matchLabels("canary", "true")},
				{Name: "free", Plans: []string{"free"}},
			},
			want: []string{"canary", "free", RemainingWave},
		},
		{
			name: "a catch-all last wave replaces (remaining)",
			waves: []tenancyv1alpha1.RolloutWave{
				{Name: "canary", TenantSelector: matchLabels("canary", "true")},
				{Name: "everyone"},
			},
			want: []string{"canary", "everyone"},
		},
		{
			name: "waves after a catch-all in the middle are dropped",
			waves: []tenancyv1alpha1.RolloutWave{
				{Name: "canary", TenantSelector: matchLabels("canary", "true")},
				{Name: "everyone"},
				{Name: "free", Plans: []string{"free"}},
				{Name: "late", TenantSelector: matchLabels("tier", "gold")},
			},
			want: []string{"canary", "everyone"},
		},
		{
			name:  "a catch-all first wave is the only wave",
			waves: []tenancyv1alpha1.RolloutWave{{Name: "all"}, {Name: "free", Plans: []string{"free"}}},
			want:  []string{"all"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := waveNames(Waves(&tenancyv1alpha1.RolloutSpec{Waves: tc.waves}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Waves() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAssign(t *testing.T) {
	spec := &tenancyv1alpha1.RolloutSpec{Waves: []tenancyv1alpha1.RolloutWave{
		{Name: "canary", TenantSelector: matchLabels("canary", "true")},
		{Name: "eu", TenantSelector: expr("region", metav1.LabelSelectorOpIn, "eu-west", "eu-north")},
		{Name: "free", Plans: []string{"free", "trial"}},
		{Name: "labelled", TenantSelector: expr("team", metav1.LabelSelectorOpExists)},
		{Name: "not-internal", TenantSelector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"tier": "gold"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "internal", Operator: metav1.LabelSelectorOpDoesNotExist}},
		}},
		{Name: "not-us", TenantSelector: expr("region", metav1.LabelSelectorOpNotIn, "us-east")},
	}}
	waves := Waves(spec)
	cases := []struct {
		name   string
		labels map[string]string
		plan   string
		want   string
	}{
		{"matchLabels selects", map[string]string{"canary": "true"}, "pro", "canary"},
		{"matchLabels needs the exact value", map[string]string{"canary": "false", "region": "us-east"}, "pro", RemainingWave},
		{"matchExpressions In selects", map[string]string{"region": "eu-north"}, "pro", "eu"},
		{"plans select the tenants on them", nil, "trial", "free"},
		{"a plan not listed is not selected", map[string]string{"region": "us-east"}, "pro", RemainingWave},
		{"matchExpressions Exists", map[string]string{"team": "payments", "region": "us-east"}, "pro", "labelled"},
		{"matchLabels with DoesNotExist: both must hold", map[string]string{"tier": "gold", "region": "us-east"}, "pro", "not-internal"},
		{"DoesNotExist fails when the label is there", map[string]string{"tier": "gold", "internal": "yes", "region": "us-east"}, "pro", RemainingWave},
		{"NotIn selects a tenant without the label", nil, "pro", "not-us"},
		{"selected by two waves: the first wins (canary before plan)", map[string]string{"canary": "true"}, "free", "canary"},
		{"selected by two waves: the first wins (selector before selector)", map[string]string{"region": "eu-west", "team": "x"}, "free", "eu"},
		{"selected by plan and a later selector: the plan wave", map[string]string{"team": "x"}, "free", "free"},
		{"selected by nobody: (remaining)", map[string]string{"region": "us-east"}, "enterprise", RemainingWave},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := waves[Assign(waves, tc.labels, tc.plan)].Name; got != tc.want {
				t.Errorf("Assign(%v, %q) = wave %s, want %s", tc.labels, tc.plan, got, tc.want)
			}
		})
	}
}

func TestAssignCatchAllInTheMiddle(t *testing.T) {
	waves := Waves(&tenancyv1alpha1.RolloutSpec{Waves: []tenancyv1alpha1.RolloutWave{
		{Name: "canary", TenantSelector: matchLabels("canary", "true")},
		{Name: "everyone"},
		{Name: "free", Plans: []string{"free"}},
	}})
	for _, tc := range []struct {
		labels map[string]string
		plan   string
		want   string
	}{
		{map[string]string{"canary": "true"}, "free", "canary"},
		// The free wave comes after the catch-all: its tenants move with everyone.
		{nil, "free", "everyone"},
		{nil, "pro", "everyone"},
	} {
		if got := waves[Assign(waves, tc.labels, tc.plan)].Name; got != tc.want {
			t.Errorf("Assign(%v, %q) = %s, want %s", tc.labels, tc.plan, got, tc.want)
		}
	}
}

func TestAssignFollowsAPlanChange(t *testing.T) {
	waves := Waves(&tenancyv1alpha1.RolloutSpec{Waves: []tenancyv1alpha1.RolloutWave{
		{Name: "canary", TenantSelector: matchLabels("canary", "true")},
		{Name: "free", Plans: []string{"free"}},
		{Name: "pro", Plans: []string{"pro"}},
	}})
	labels := map[string]string{"team": "acme"}
	if got := waves[Assign(waves, labels, "pro")].Name; got != "pro" {
		t.Fatalf("on plan pro: wave %s, want pro", got)
	}
	// Mid-rollout the tenant moves to plan free: Assign is a function of the tenant as it
	// is now, so it lands in the free wave.
	if got := waves[Assign(waves, labels, "free")].Name; got != "free" {
		t.Errorf("after moving to plan free: wave %s, want free", got)
	}
	if got := waves[Assign(waves, labels, "enterprise")].Name; got != RemainingWave {
		t.Errorf("after moving to plan enterprise: wave %s, want %s", got, RemainingWave)
	}
}

func TestAssignInvalidSelectorSelectsNobody(t *testing.T) {
	// A stored object from before validation may hold a selector that does not parse: its
	// tenants move in a later wave rather than the rollout failing or everyone matching.
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "canary", Operator: "Bogus", Values: []string{"true"}}}}
	waves := Waves(&tenancyv1alpha1.RolloutSpec{Waves: []tenancyv1alpha1.RolloutWave{
		{Name: "broken", TenantSelector: bad},
		{Name: "free", Plans: []string{"free"}},
	}})
	if got := waveNames(waves); !reflect.DeepEqual(got, []string{"broken", "free", RemainingWave}) {
		t.Fatalf("Waves() = %v", got)
	}
	if got := waves[Assign(waves, map[string]string{"canary": "true"}, "free")].Name; got != "free" {
		t.Errorf("tenant of the broken wave on plan free: wave %s, want free", got)
	}
	if got := waves[Assign(waves, map[string]string{"canary": "true"}, "pro")].Name; got != RemainingWave {
		t.Errorf("tenant of the broken wave on plan pro: wave %s, want %s", got, RemainingWave)
	}
}
