// Package harness holds what the end-to-end tests and the benchmark both need to run
// processes of their own on this machine: the repository's root, free ports, a kwok
// cluster of hack/cluster.sh (Cluster), kubectl against it (Kubectl, InstallCRDs) and the
// operator binary as a child process (StartOperator).
package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// RepoRoot returns the repository's root: the first directory at or above the working
// directory that holds hack/cluster.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "cluster.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (a directory with hack/cluster.sh)")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr returns host:port of a FreePort on 127.0.0.1, for a --*-bind-address flag.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}
