package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openplatform/tenant-operator/test/internal/harness"
)

// runKubectl runs kubectl against the test cluster from the repository root, with
// stdin if not nil, and returns its standard output.
func runKubectl(stdin []byte, args ...string) (string, error) {
	return harness.Kubectl{Kubeconfig: kubeconfig, Dir: repoRoot}.Run(context.Background(), stdin, args...)
}

// waitCRDsEstablished waits up to a minute until the named CRDs are Established and fails
// the test if they are not.
func waitCRDsEstablished(t *testing.T, names ...string) {
	t.Helper()
	k := harness.Kubectl{Kubeconfig: kubeconfig, Dir: repoRoot}
	if err := harness.WaitCRDsEstablished(context.Background(), k, time.Minute, names...); err != nil {
		t.Fatal(err)
	}
}

// kubectl runs kubectl and fails the test if it fails.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runKubectl(nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kubectlApply applies the given YAML and fails the test if that fails.
func kubectlApply(t *testing.T, yaml string) {
	t.Helper()
	if _, err := runKubectl([]byte(yaml), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// kubectlJSON gets objects with -o json and decodes them into v.
func kubectlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := kubectl(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding kubectl %s: %v", strings.Join(args, " "), err)
	}
}

// expectNotFound fails the test unless kubectl get says the object does not exist.
func expectNotFound(t *testing.T, kind, name string) {
	t.Helper()
	out, err := runKubectl(nil, "get", kind, name, "-o", "name")
	switch {
	case err == nil:
		t.Errorf("%s %s still exists: %s", kind, name, strings.TrimSpace(out))
	case !strings.Contains(err.Error(), "NotFound"):
		t.Errorf("%s %s: want NotFound, got %v", kind, name, err)
	}
}

// eventually calls fn every half second until it returns nil, and fails the test
// with fn's last error if that does not happen within timeout.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// consistently calls fn every half second for d and fails the test as soon as it
// returns an error.
func consistently(t *testing.T, d time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := fn(); err != nil {
			t.Fatalf("should have held for %v: %v", d, err)
		}
		if !time.Now().Before(deadline) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// dumpOnFailure logs the tenancy objects and recent warnings when the test fails,
// so that a failure shows what the operator reported.
func dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, args := range [][]string{
			{"get", "serviceplans,apiproducts,tenants", "-o", "wide"},
			{"get", "tenants", "-o", "yaml"},
			{"get", "namespaces", "--show-labels"},
			{"get", "events", "-A", "--field-selector", "type=Warning"},
		} {
			out, err := runKubectl(nil, args...)
			if err != nil {
				t.Logf("%v", err)
				continue
			}
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
		}
	})
}

var columnName = regexp.MustCompile(`\S+( \S+)*`)

// table is kubectl's default output: header names and rows of cells.
type table struct {
	header []string
	rows   []map[string]string // cells by header name
}

// parseTable reads kubectl get's table output. Column names may contain single
// spaces ("PRODUCTS READY"); columns are separated by at least two spaces and cells
// are left-aligned under their header, so they are cut at the header's offsets.
func parseTable(out string) table {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return table{}
	}
	var tb table
	locs := columnName.FindAllStringIndex(lines[0], -1)
	for _, loc := range locs {
		tb.header = append(tb.header, lines[0][loc[0]:loc[1]])
	}
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, loc := range locs {
			start, end := loc[0], len(line)
			if i+1 < len(locs) {
				end = min(locs[i+1][0], len(line))
			}
			if start < len(line) {
				row[tb.header[i]] = strings.TrimSpace(line[start:end])
			}
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// The parts of the API this suite reads, decoded from kubectl's JSON: the wire
// format users and tools see, deliberately not the operator's Go types.

type objectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type tenant struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Plan       string `json:"plan"`
		Namespaces []struct {
			Name string `json:"name"`
		} `json:"namespaces"`
	} `json:"spec"`
	Status struct {
		Conditions []condition `json:"conditions"`
	} `json:"status"`
}

// namespaces are the tenant's namespaces: as listed, else one named after it.
func (tn tenant) namespaces() []string {
	if len(tn.Spec.Namespaces) == 0 {
		return []string{tn.Metadata.Name}
	}
	var names []string
	for _, ns := range tn.Spec.Namespaces {
		names = append(names, ns.Name)
	}
	return names
}

type servicePlan struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		MaxNamespaces int    `json:"maxNamespaces"`
		PodSecurity   string `json:"podSecurity"`
	} `json:"spec"`
}

type namespace struct {
	Metadata objectMeta `json:"metadata"`
}

// ready returns nil when the tenant's Ready condition is True, else an error that
// says what the operator reports instead.
func (tn tenant) ready() error {
	for _, c := range tn.Status.Conditions {
		if c.Type == "Ready" {
			if c.Status == "True" {
				return nil
			}
			return fmt.Errorf("tenant %s: Ready=%s, %s: %s", tn.Metadata.Name, c.Status, c.Reason, c.Message)
		}
	}
	return fmt.Errorf("tenant %s has no Ready condition yet", tn.Metadata.Name)
}

// parallelStory marks a test that runs alongside the other stories marked so, after
// every test that is not: it never stops the operator or the control plane, and it
// reads and writes only its own objects (its names, labels and namespaces) besides the
// cluster's fixtures (the nodes' zones of hack/cluster.sh). Most of such a test's time is
// waiting (for kwok's Pod stages, the HPA controller, a rollout's health gate), so
// together they take about as long as the longest of them.
func parallelStory(t *testing.T) {
	t.Helper()
	t.Parallel()
}
