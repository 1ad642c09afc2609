package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// auditPolicy makes the benchmark's API server log every write of the kinds the operator
// makes and of Events at the Metadata level (who, what, when, no bodies), and writes of the
// tenancy kinds with their request bodies (what a status patch changed). Pods, nodes, leases and the controllers' own objects are not logged: they are
// most of a run's writes and none of them is the operator's.
//
// Its first rule logs every request of the Helm baseline's identity (helmUser), reads,
// discovery and writes alike, at the Metadata level: the API server applies the first rule
// that matches, so this rule changes nothing for any other user.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["` + helmUser + `"]
- level: None
  resources:
  - group: ""
    resources: [pods, pods/status, pods/binding, nodes, nodes/status, endpoints]
  - group: apps
    resources: [replicasets, replicasets/status]
  - group: coordination.k8s.io
  - group: discovery.k8s.io
- level: Request
  verbs: [create, update, patch, delete, deletecollection]
  resources:
  - group: tenancy.openplatform.io
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
`

// auditPolicyArgs writes the policy into dir and returns the kwokctl flags that use it.
func auditPolicyArgs(dir string) (string, error) {
	path := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(path, []byte(auditPolicy), 0o644); err != nil {
		return "", err
	}
	return "--kube-audit-policy " + path, nil
}

// auditEvent holds the fields of an audit.k8s.io/v1 Event the benchmark reads.
type auditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	UserAgent  string `json:"userAgent"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Received time.Time `json:"requestReceivedTimestamp"`
}

// operatorUserAgent is how client-go names bin/manager's requests ("manager/<version> ...").
const operatorUserAgent = "manager/"

// write is one logged write request of the operator.
type write struct {
	Verb     string `json:"verb"`
	Resource string `json:"resource"`
	Object   string `json:"object"`
	Code     int    `json:"code"`
}

func (w write) String() string {
	return fmt.Sprintf("%s %s %s (%d)", w.Verb, w.Resource, w.Object, w.Code)
}

// operatorWrites reads the API server's audit log and returns the operator's writes whose
// requests arrived in [from, to).
func (c *cluster) operatorWrites(from, to time.Time) ([]write, error) {
	return c.auditedRequests(from, to, func(e *auditEvent) bool {
		return strings.HasPrefix(e.UserAgent, operatorUserAgent) && e.ObjectRef != nil
	})
}

// userRequests returns every logged request of the user whose request arrived in [from,
// to), resource requests and others (discovery, OpenAPI) alike.
func (c *cluster) userRequests(user string, from, to time.Time) ([]write, error) {
	return c.auditedRequests(from, to, func(e *auditEvent) bool { return e.User.Username == user })
}

// auditedRequests reads the API server's audit log and returns the requests match accepts
// whose requests arrived in [from, to). The API server rotates its log every 100 MB (a
// 1,000-tenant run writes several), keeping the old files next to it as audit-<time>.log.
func (c *cluster) auditedRequests(from, to time.Time, match func(*auditEvent) bool) ([]write, error) {
	files, err := filepath.Glob(filepath.Join(filepath.Dir(c.auditLog), "audit*.log"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no audit log at %s (%v)", c.auditLog, err)
	}
	var writes []write
	for _, path := range files {
		w, err := readRequests(path, from, to, match)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w...)
	}
	return writes, nil
}

// readRequests returns the requests match accepts in [from, to) from one audit log file.
// A request without an object (discovery, OpenAPI) is named by its path (nonResource).
func readRequests(path string, from, to time.Time, match func(*auditEvent) bool) ([]write, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the API server's audit log: %w", err)
	}
	defer f.Close()
	var writes []write
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if e.Stage != "ResponseComplete" || e.Received.Before(from) || !e.Received.Before(to) || !match(&e) {
			continue
		}
		var w write
		if e.ObjectRef == nil {
			w = write{Verb: e.Verb, Resource: nonResource(e.RequestURI), Object: e.RequestURI}
		} else {
			w = write{Verb: e.Verb, Resource: e.ObjectRef.Resource, Object: e.ObjectRef.Name}
			if e.ObjectRef.Subresource != "" {
				w.Resource += "/" + e.ObjectRef.Subresource
			}
			if e.ObjectRef.Namespace != "" {
				w.Object = e.ObjectRef.Namespace + "/" + w.Object
			}
		}
		if e.ResponseStatus != nil {
			w.Code = e.ResponseStatus.Code
		}
		writes = append(writes, w)
	}
	return writes, sc.Err()
}

// nonResource names a request that is not for an object by its path without the query,
// with the group and version of OpenAPI v3 documents left out: "/api", "/apis",
// "/openapi/v3", "/openapi/v3/*".
func nonResource(uri string) string {
	p, _, _ := strings.Cut(uri, "?")
	if rest, ok := strings.CutPrefix(p, "/openapi/v3/"); ok && rest != "" {
		return "/openapi/v3/*"
	}
	return p
}

// isMutating reports whether a request of the verb writes.
func isMutating(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// writeCount is how many writes of one verb on one resource a phase made.
type writeCount struct {
	Verb     string `json:"verb"`
	Resource string `json:"resource"`
	Count    int    `json:"count"`
}

// countWrites groups writes by verb and resource, the most frequent first.
func countWrites(writes []write) []writeCount {
	n := map[[2]string]int{}
	for _, w := range writes {
		n[[2]string{w.Verb, w.Resource}]++
	}
	counts := make([]writeCount, 0, len(n))
	for k, v := range n {
		counts = append(counts, writeCount{Verb: k[0], Resource: k[1], Count: v})
	}
	sort.Slice(counts, func(i, j int) bool {
		if counts[i].Count != counts[j].Count {
			return counts[i].Count > counts[j].Count
		}
		return counts[i].Resource+counts[i].Verb < counts[j].Resource+counts[j].Verb
	})
	return counts
}

// formatCounts renders counts as "create namespaces 1000, patch tenants/status 2000".
func formatCounts(counts []writeCount) string {
	if len(counts) == 0 {
		return "none"
	}
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%s %s %d", c.Verb, c.Resource, c.Count)
	}
	return strings.Join(parts, ", ")
}

// formatWrites lists writes one by one, at most ten.
func formatWrites(writes []write) string {
	if len(writes) == 0 {
		return "no write of the operator"
	}
	parts := make([]string, 0, min(len(writes), 10))
	for i, w := range writes {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(writes)-10))
			break
		}
		parts = append(parts, w.String())
	}
	return strings.Join(parts, "; ")
}
