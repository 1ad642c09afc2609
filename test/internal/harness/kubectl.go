package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Kubectl runs kubectl against one cluster.
type Kubectl struct {
	Kubeconfig string
	Dir        string // the working directory, for relative paths in arguments
}

// Run runs kubectl with args, and with stdin when it is not nil, and returns its standard
// output. The error of a failure quotes kubectl's standard error.
func (k Kubectl) Run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", k.Kubeconfig}, args...)...)
	cmd.Dir = k.Dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// InstallCRDs installs what `make install` does, server-side: the CRDs of config/crd and
// the admission policy of config/policy when there is one; then it waits until every CRD
// is Established (60s at most).
func InstallCRDs(ctx context.Context, k Kubectl, root string) error {
	if _, err := k.Run(ctx, nil, "apply", "--server-side", "-k", filepath.Join(root, "config", "crd")); err != nil {
		return err
	}
	policy := filepath.Join(root, "config", "policy")
	if st, err := os.Stat(policy); err == nil && st.IsDir() {
		flag := "-f"
		if _, err := os.Stat(filepath.Join(policy, "kustomization.yaml")); err == nil {
			flag = "-k"
		}
		if _, err := k.Run(ctx, nil, "apply", "--server-side", flag, policy); err != nil {
			return err
		}
	}
	return WaitCRDsEstablished(ctx, k, 60*time.Second)
}

// WaitCRDsEstablished waits until the named CRDs (every CRD when none is named) are
// Established. Unlike `kubectl wait --for=condition=Established`, it waits for a CRD that
// has no status conditions yet (kubectl fails on a CRD read right after its creation), and
// for a named CRD that does not exist yet.
func WaitCRDsEstablished(ctx context.Context, k Kubectl, timeout time.Duration, names ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var pending []string // what the last look that the timeout did not cut short found
	var err error
	for {
		p, e := crdsNotEstablished(ctx, k, names)
		if e == nil && len(p) == 0 {
			return nil
		}
		if ctx.Err() == nil {
			pending, err = p, e
		}
		select {
		case <-ctx.Done():
			switch {
			case err == nil && len(pending) > 0:
				err = fmt.Errorf("not Established: %s", strings.Join(pending, ", "))
			case err == nil:
				err = ctx.Err()
			}
			return fmt.Errorf("waiting %v for the CRDs to be Established: %w", timeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// crdsNotEstablished lists the named CRDs (every CRD when none is named) that are missing
// or not Established.
func crdsNotEstablished(ctx context.Context, k Kubectl, names []string) ([]string, error) {
	out, err := k.Run(ctx, nil, "get", "customresourcedefinitions", "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status struct {
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("decoding the CRDs: %w", err)
	}
	established := map[string]bool{}
	for _, crd := range list.Items {
		established[crd.Metadata.Name] = false
		for _, c := range crd.Status.Conditions {
			if c.Type == "Established" && c.Status == "True" {
				established[crd.Metadata.Name] = true
			}
		}
	}
	if len(names) == 0 {
		for name := range established {
			names = append(names, name)
		}
	}
	var pending []string
	for _, name := range names {
		if !established[name] {
			pending = append(pending, name)
		}
	}
	sort.Strings(pending)
	return pending, nil
}
