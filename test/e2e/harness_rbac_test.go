package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// serviceAccount names the ServiceAccount the operator runs as.
type serviceAccount struct {
	Namespace, Name string
}

// username is how the API server (and so the admission policy) sees the account.
func (sa serviceAccount) username() string {
	return "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
}

// The operator's ServiceAccount as config/default names it, which config/policy exempts.
var wantOperatorSA = serviceAccount{Namespace: "tenant-operator-system", Name: "tenant-operator-controller-manager"}

// rbacKinds are the objects of config/default that make up the operator's identity and
// permissions. Not the Deployment (the operator runs as a subprocess here) and not
// the CRDs (installed already).
var rbacKinds = map[string]bool{
	"Namespace": true, "ServiceAccount": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// installOperatorRBAC applies the RBAC of `kubectl kustomize config/default`, with the
// names and namespace that overlay gives it, and returns the ServiceAccount.
func installOperatorRBAC() (serviceAccount, error) {
	rendered, err := runKubectl(nil, "kustomize", "config/default")
	if err != nil {
		return serviceAccount{}, err
	}
	var (
		kept, skipped []string
		items         []map[string]any
		accounts      []serviceAccount
	)
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return serviceAccount{}, fmt.Errorf("decoding kubectl kustomize config/default: %w", err)
		}
		if obj == nil {
			continue
		}
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		if !rbacKinds[kind] {
			skipped = append(skipped, kind+"/"+name)
			continue
		}
		if kind == "ServiceAccount" {
			accounts = append(accounts, serviceAccount{Namespace: ns, Name: name})
		}
		kept = append(kept, kind+"/"+name)
		items = append(items, obj)
	}
	if len(accounts) != 1 {
		return serviceAccount{}, fmt.Errorf("config/default has %d ServiceAccounts (%v), want exactly one", len(accounts), accounts)
	}
	// The admission policy exempts the operator by this exact username.
	if accounts[0] != wantOperatorSA {
		return serviceAccount{}, fmt.Errorf("config/default names the operator's ServiceAccount %s, but config/policy exempts %s",
			accounts[0].username(), wantOperatorSA.username())
	}
	list, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		return serviceAccount{}, err
	}
	if _, err := runKubectl(list, "apply", "--server-side", "-f", "-"); err != nil {
		return serviceAccount{}, err
	}
	sort.Strings(skipped)
	fmt.Printf("e2e: applied the operator's RBAC from config/default: %s (not applied: %s)\n",
		strings.Join(kept, ", "), summarize(skipped))
	return accounts[0], nil
}

// summarize lists names, collapsing runs of one kind: "CustomResourceDefinition x3, Deployment/x".
func summarize(names []string) string {
	count := map[string]int{}
	var kinds []string
	for _, n := range names {
		kind, _, _ := strings.Cut(n, "/")
		if count[kind] == 0 {
			kinds = append(kinds, kind)
		}
		count[kind]++
	}
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s x%d", k, count[k]))
	}
	return strings.Join(parts, ", ")
}

// writeTokenKubeconfig writes a kubeconfig for the same API server and CA as the
// admin's, whose user is a 24-hour token of sa, and checks the API server sees it
// as that ServiceAccount.
func writeTokenKubeconfig(sa serviceAccount, path string) error {
	token, err := runKubectl(nil, "create", "token", sa.Name, "-n", sa.Namespace, "--duration=24h")
	if err != nil {
		return err
	}
	raw, err := runKubectl(nil, "config", "view", "--raw", "--minify", "--flatten", "-o", "json")
	if err != nil {
		return err
	}
	var admin struct {
		Clusters []struct {
			Cluster map[string]any `json:"cluster"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(raw), &admin); err != nil {
		return fmt.Errorf("decoding the admin kubeconfig: %w", err)
	}
	if len(admin.Clusters) != 1 {
		return fmt.Errorf("the admin kubeconfig has %d clusters, want 1", len(admin.Clusters))
	}
	cluster := map[string]any{}
	for _, k := range []string{"server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name"} {
		if v, ok := admin.Clusters[0].Cluster[k]; ok {
			cluster[k] = v
		}
	}
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "e2e", "cluster": cluster}},
		"users":           []any{map[string]any{"name": sa.Name, "user": map[string]any{"token": strings.TrimSpace(token)}}},
		"contexts":        []any{map[string]any{"name": "operator", "context": map[string]any{"cluster": "e2e", "user": sa.Name}}},
		"current-context": "operator",
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	out, err := runKubectl(nil, "--kubeconfig", path, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil {
		return fmt.Errorf("checking the operator's token: %w", err)
	}
	if out != sa.username() {
		return fmt.Errorf("the operator's kubeconfig authenticates as %q, want %q", out, sa.username())
	}
	fmt.Printf("e2e: the operator runs as %s\n", out)
	return nil
}

// denied matches what the operator logs when the API server refuses it: RBAC
// ("... is forbidden: User ... cannot ...") and admission policies ("... denied request").
var denied = regexp.MustCompile(`(?i)is forbidden|denied request`)

// checkOperatorLog fails the suite when the API server denied the operator anything:
// the operator may retry its way past a missing permission, so a green test alone
// does not prove that the generated RBAC suffices.
func (s *suite) checkOperatorLog() error {
	f, err := os.Open(s.logPath)
	if err != nil {
		return nil // never started
	}
	defer f.Close()
	var hits []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		if denied.MatchString(sc.Text()) {
			hits = append(hits, sc.Text())
		}
	}
	if len(hits) == 0 {
		return nil
	}
	const shown = 20
	if len(hits) > shown {
		hits = append(hits[:shown], fmt.Sprintf("... and %d more", len(hits)-shown))
	}
	return fmt.Errorf("the API server denied the operator (RBAC or admission policy) %d times; its RBAC or the policy's exemption is incomplete:\n%s",
		len(hits), strings.Join(hits, "\n"))
}

// killOperator kills the operator with SIGKILL, as an OOM kill or a node failure
// would: no graceful shutdown, no release of the leader election lease.
func (s *suite) killOperator() error {
	if s.op == nil {
		return errors.New("the operator is not running: it did not start")
	}
	return s.op.Kill()
}

// restartOperatorIfDown is for tests that stop the operator: if a test fails before it
// starts the operator again, the tests after it still get a running one.
func restartOperatorIfDown(t *testing.T) {
	t.Cleanup(func() {
		if !env.operatorRunning() {
			t.Logf("the operator is not running (%v): starting it for the tests that follow", env.exitErr())
			if err := env.startOperator(); err != nil {
				t.Errorf("restarting the operator: %v", err)
			}
		}
	})
}

// logOffset is the current size of the operator's log, for logLines.
func (s *suite) logOffset() int64 {
	st, err := os.Stat(s.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logLines returns the operator's log lines written since offset that match re, at
// most max of them (the last ones), shortened to their time, level, message and
// error, and how many matched in all.
func (s *suite) logLines(offset int64, re *regexp.Regexp, max int) ([]string, int) {
	b, err := os.ReadFile(s.logPath)
	if err != nil || int64(len(b)) < offset {
		return nil, 0
	}
	var lines []string
	n := 0
	for _, line := range strings.Split(string(b[offset:]), "\n") {
		if re.MatchString(line) {
			n++
			lines = append(lines, shortLogLine(line))
			if len(lines) > max {
				lines = lines[1:]
			}
		}
	}
	return lines, n
}

// shortLogLine renders a JSON log line of the operator without its stack trace.
func shortLogLine(line string) string {
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		return line
	}
	out := fmt.Sprintf("%v %v %v: %v", entry["ts"], entry["level"], entry["logger"], entry["msg"])
	for _, k := range []string{"controller", "name", "error", "err"} {
		if v, ok := entry[k]; ok {
			out += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	if len(out) > 400 {
		out = out[:400] + "..."
	}
	return out
}

// waitWorking waits until the operator started last holds the leader election lease
// and its controllers run: a restarted operator first waits for the lease of the one
// before it to expire.
func (s *suite) waitWorking(t *testing.T, timeout time.Duration) {
	t.Helper()
	re := regexp.MustCompile(`"Starting workers".*"controller":"tenant"`)
	eventually(t, timeout, func() error {
		if _, n := s.logLines(s.startOffset, re, 1); n == 0 {
			return errors.New("the operator's tenant controller has not started (waiting for the leader election lease?)")
		}
		return nil
	})
}
