package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKeepFiles: -keep-cluster-logs keeps every log, the rotated audit logs too, readable
// after the cluster's directory is deleted, and a second keep replaces what the first kept.
func TestKeepFiles(t *testing.T) {
	logs, out := t.TempDir(), filepath.Join(t.TempDir(), "cluster-logs")
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(logs, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("audit.log", "current")
	write("audit-2026-12-03T06-26-13.703.log", "rotated")
	write("kube-apiserver.log", "apiserver")
	write("audit.yaml", "not a log")
	for range 2 {
		n, err := keepFiles(logs, out, "*.log")
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("kept %d files, want 3", n)
		}
	}
	if err := os.RemoveAll(logs); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"audit.log": "current", "audit-2026-12-03T06-26-13.703.log": "rotated", "kube-apiserver.log": "apiserver"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != want {
			t.Errorf("%s after the cluster went: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "audit.yaml")); !os.IsNotExist(err) {
		t.Errorf("audit.yaml kept (%v), want only the logs", err)
	}
}
