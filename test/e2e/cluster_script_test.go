package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterScriptFindsAClusterInALongList: `hack/cluster.sh down` must delete a cluster
// that kwokctl lists, however long the list. A stand-in kwokctl (in a bin/ of the test's
// own, so no real cluster is touched) lists the cluster first and then far more than a
// pipe holds: a `kwokctl get clusters | grep -q` under pipefail fails there (grep exits at
// the first line, kwokctl dies of SIGPIPE), and down would report the cluster as missing
// and leave it running.
func TestClusterScriptFindsAClusterInALongList(t *testing.T) {
	bin := t.TempDir()
	marker := filepath.Join(bin, "deleted")
	kwokctl := `#!/bin/sh
case "$*" in
  *"get clusters"*)
    echo e2e-target
    i=0
    while [ $i -lt 30000 ]; do echo "some-other-cluster-$i"; i=$((i+1)); done ;;
  *"delete cluster"*)
    echo "$*" > "$MARKER" ;;
  *)
    echo "unexpected kwokctl $*" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "kwokctl"), []byte(kwokctl), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), "down", "e2e-target")
	cmd.Env = append(os.Environ(), "LOCALBIN="+bin, "KWOK_WORKDIR="+filepath.Join(bin, "workdir"), "MARKER="+marker)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/cluster.sh down e2e-target: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "does not exist") {
		t.Errorf("hack/cluster.sh down reported the listed cluster as missing:\n%s", out)
	}
	got, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("kwokctl delete cluster was not called (output:\n%s)", out)
	}
	if !strings.Contains(string(got), "--name e2e-target") {
		t.Errorf("kwokctl was called as %q, want it to delete e2e-target", got)
	}
}
