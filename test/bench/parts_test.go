package main

import (
	"strings"
	"testing"
)

// TestParts: a long run splits into a baseline part and an operator part, each on its own
// cluster; a choice that would run the operator beside the baseline's objects, or measure
// nothing, is refused with the flag to pass.
func TestParts(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		baseline, operator, delete bool
		helm, compare              bool
		refused                    string
	}{
		{name: "complete", baseline: true, operator: true, delete: true, helm: true, compare: true},
		{name: "the baseline alone, left to go with the cluster", baseline: true, delete: false},
		{name: "the operator alone", operator: true, delete: true},
		{name: "the operator alone, without deleting", operator: true},
		{name: "nothing", delete: true, refused: "leave nothing to measure"},
		{name: "both without deleting", baseline: true, operator: true, refused: "pass -baseline=false or -operator=false"},
		{name: "Helm without deleting", baseline: true, helm: true, refused: "pass -helm-baseline=false with -delete=false"},
		{name: "a comparison of parts", operator: true, delete: true, compare: true, refused: "pass -compare-tenancy=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Baseline: tc.baseline, Operator: tc.operator, Delete: tc.delete, HelmBaseline: tc.helm, CompareTenancy: tc.compare}
			err := cfg.checkParts()
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("got %v, want an error saying %q", err, tc.refused)
			}
		})
	}
}

// TestPartMarkdown: the results of a part say what the run left out and show no figure of
// it (a ratio without a baseline would be a division by zero).
func TestPartMarkdown(t *testing.T) {
	op := &Result{Tenancy: "Dedicated", Auth: "None", Setup: Setup{Tenants: 10000}, Skipped: []string{"baseline"}}
	op.Create.Wall, op.Delete.Wall = 2000, 3000
	md := op.Markdown()
	for _, want := range []string{"A part of a run: without baseline", "| wall time until all 10000 tenants Ready (T_operator) | 2000.0 s |", "| delete all 10000 tenants until they and their namespaces are gone | 3000.0 s |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the operator part's results lack %q:\n%s", want, md)
		}
	}
	for _, absent := range []string{"T_raw", "baseline:"} {
		if strings.Contains(md, absent) {
			t.Errorf("the operator part's results show %q:\n%s", absent, md)
		}
	}
	// A run stopped during the fan-out reports neither the fan-out nor the deletion as
	// taking no time.
	op.FanOut.Wall, op.Delete.Wall = 0, 0
	md = op.Markdown()
	for _, want := range []string{"| plan quota change: all tenants' quotas updated | did not finish |", "| delete all 10000 tenants until they and their namespaces are gone | did not finish |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the results of a run stopped in the fan-out lack %q:\n%s", want, md)
		}
	}
	// Each phase's memory peaks; a phase whose high-water mark could not be reset shows
	// its RSS as unknown, not as 0 MiB.
	op.Memory = []phaseMemory{{Phase: "create", PeakRSS: 160 << 20, PeakHeap: 101 << 20}, {Phase: "steady state", PeakHeap: 129 << 20}}
	md = op.Markdown()
	if want := "| the same by phase | create 160 / 101 MiB; steady state RSS unknown / 129 MiB |"; !strings.Contains(md, want) {
		t.Errorf("the results lack %q:\n%s", want, md)
	}
	base := &Result{Tenancy: "Dedicated", Auth: "None", Setup: Setup{Tenants: 10000}, Skipped: []string{"operator", "delete"}}
	base.Baseline.Ready = 1300
	md = base.Markdown()
	if !strings.Contains(md, "(T_raw) | 1300.0 s") || strings.Contains(md, "T_operator") || strings.Contains(md, "deleting") {
		t.Errorf("the baseline part's results: want T_raw alone:\n%s", md)
	}
}
