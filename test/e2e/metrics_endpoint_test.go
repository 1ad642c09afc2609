package e2e

// The metrics endpoint as a Deployment of the operator serves it by default: HTTPS, each
// request's bearer token authenticated (TokenReview) and authorized (SubjectAccessReview
// for get on /metrics) by the API server, which the ClusterRole metrics-reader of
// config/default grants. The suite's operator runs with that default, on loopback, as the
// bundle's ServiceAccount, whose generated RBAC must allow both reviews.

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// A metric of the operator's own (controllers/metrics.go): a histogram without labels,
// so it is exposed from the start, before any tenant became Ready.
const operatorMetric = "tenant_operator_tenant_time_to_ready_seconds"

// metricsResponse is what one request to the metrics endpoint got.
type metricsResponse struct {
	status int
	proto  string
	body   string
	tls    *tls.ConnectionState
}

// getMetrics requests /metrics from url with the bearer token, if any. The client offers
// HTTP/2, so that an endpoint that accepts it shows in the response's protocol.
func getMetrics(url, token string) (metricsResponse, error) {
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			// The operator's certificate is self-signed (no --metrics-cert-path); what it
			// is issued for is checked by the test.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true,
		},
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return metricsResponse{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return metricsResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return metricsResponse{}, err
	}
	return metricsResponse{status: resp.StatusCode, proto: resp.Proto, body: string(b), tls: resp.TLS}, nil
}

// TestMetricsEndpoint: plain HTTP gets no metrics; over HTTPS a request without a token is
// 401, one with a token the API server rejects is refused, a ServiceAccount without the
// metrics-reader ClusterRole is 403, and one bound to it gets the operator's metrics, over
// HTTP/1.1 (HTTP/2 is off by default).
func TestMetricsEndpoint(t *testing.T) {
	if !env.operatorRunning() {
		t.Fatalf("the suite's operator is not running: %v", env.exitErr())
	}
	addr := env.metricsAddr
	httpsURL := "https://" + addr + "/metrics"

	// The ClusterRole is config/default's, applied by installOperatorRBAC with the RBAC.
	var role rbacv1.ClusterRole
	kubectlJSON(t, &role, "get", "clusterrole", bundleMetricsReader)
	if want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}; !reflect.DeepEqual(role.Rules, want) {
		t.Fatalf("ClusterRole %s in the cluster: rules %+v, want %+v", bundleMetricsReader, role.Rules, want)
	}

	const ns, reader, stranger = "me-metrics", "me-metrics-reader", "me-metrics-stranger"
	t.Cleanup(func() {
		for _, args := range [][]string{
			{"delete", "clusterrolebinding", reader, "--ignore-not-found"},
			{"delete", "namespace", ns, "--ignore-not-found", "--wait", "--timeout=60s"},
		} {
			if _, err := runKubectl(nil, args...); err != nil {
				t.Logf("cleaning up: %v", err)
			}
		}
	})
	kubectlApply(t, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[2]s
  namespace: %[1]s
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[3]s
  namespace: %[1]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %[2]s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: %[4]s
subjects:
- kind: ServiceAccount
  name: %[2]s
  namespace: %[1]s
`, ns, reader, stranger, bundleMetricsReader))
	readerUser := serviceAccount{Namespace: ns, Name: reader}.username()
	strangerUser := serviceAccount{Namespace: ns, Name: stranger}.username()
	// The API server's RBAC authorizer sees a new binding shortly after it is written; the
	// operator caches a denial for 30 s, so ask only once the API server agrees.
	eventually(t, 30*time.Second, func() error {
		out, _ := runKubectl(nil, "auth", "can-i", "--as="+readerUser, "get", "/metrics")
		if strings.TrimSpace(out) != "yes" {
			return fmt.Errorf("the API server does not let %s get /metrics yet: %q", readerUser, strings.TrimSpace(out))
		}
		return nil
	})
	if out, _ := runKubectl(nil, "auth", "can-i", "--as="+strangerUser, "get", "/metrics"); strings.TrimSpace(out) != "no" {
		t.Fatalf("%s may get /metrics without the metrics-reader ClusterRole: %q", strangerUser, strings.TrimSpace(out))
	}
	token := func(sa string) string {
		return strings.TrimSpace(kubectl(t, "create", "token", sa, "-n", ns, "--duration=10m"))
	}
	readerToken, strangerToken := token(reader), token(stranger)

	// The endpoint is up once it answers HTTPS at all; without a token, that is 401.
	var anonymous metricsResponse
	eventually(t, 30*time.Second, func() error {
		var err error
		anonymous, err = getMetrics(httpsURL, "")
		return err
	})
	if anonymous.status != http.StatusUnauthorized || strings.Contains(anonymous.body, operatorMetric) {
		t.Errorf("HTTPS without a token: %d %q, want 401 and no metrics", anonymous.status, abbreviateBody(anonymous.body))
	}
	if cs := anonymous.tls; cs == nil || len(cs.PeerCertificates) == 0 {
		t.Errorf("HTTPS without a TLS connection state: %+v", cs)
	} else if err := cs.PeerCertificates[0].VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("the metrics certificate is not for 127.0.0.1: %v", err)
	}

	t.Run("plain HTTP", func(t *testing.T) {
		resp, err := getMetrics("http://"+addr+"/metrics", "")
		if err == nil && (resp.status == http.StatusOK || strings.Contains(resp.body, operatorMetric)) {
			t.Errorf("plain HTTP got %d with %q: the metrics must only be served over HTTPS", resp.status, abbreviateBody(resp.body))
		}
		t.Logf("plain HTTP: %v %d %q", err, resp.status, abbreviateBody(resp.body))
	})

	// controller-runtime's filter answers a token that the TokenReview rejects with 500
	// "Authentication failed" (the authenticator reports it as an error), not 401.
	t.Run("token the API server rejects", func(t *testing.T) {
		resp, err := getMetrics(httpsURL, "me-not-a-token")
		if err != nil {
			t.Fatal(err)
		}
		if (resp.status != http.StatusUnauthorized && resp.status != http.StatusInternalServerError) || strings.Contains(resp.body, operatorMetric) {
			t.Errorf("a made-up token: %d %q, want 401 or 500 and no metrics", resp.status, abbreviateBody(resp.body))
		}
	})

	t.Run("ServiceAccount without metrics-reader", func(t *testing.T) {
		resp, err := getMetrics(httpsURL, strangerToken)
		if err != nil {
			t.Fatal(err)
		}
		if resp.status != http.StatusForbidden || strings.Contains(resp.body, operatorMetric) {
			t.Errorf("%s: %d %q, want 403 and no metrics", strangerUser, resp.status, abbreviateBody(resp.body))
		}
	})

	t.Run("ServiceAccount bound to metrics-reader", func(t *testing.T) {
		var resp metricsResponse
		eventually(t, 60*time.Second, func() error {
			var err error
			if resp, err = getMetrics(httpsURL, readerToken); err != nil {
				return err
			}
			if resp.status != http.StatusOK {
				return fmt.Errorf("%s: %d %q, want 200", readerUser, resp.status, abbreviateBody(resp.body))
			}
			return nil
		})
		if !strings.Contains(resp.body, "# TYPE "+operatorMetric+" histogram") {
			t.Errorf("the metrics lack %s:\n%s", operatorMetric, abbreviateBody(resp.body))
		}
		if !strings.Contains(resp.body, "controller_runtime_reconcile_total{") {
			t.Errorf("the metrics lack controller-runtime's controller_runtime_reconcile_total:\n%s", abbreviateBody(resp.body))
		}
		if resp.proto != "HTTP/1.1" {
			t.Errorf("the metrics were served over %s, want HTTP/1.1 (--enable-http2 is off by default)", resp.proto)
		}
	})
}

// abbreviateBody shortens a response body for a message.
func abbreviateBody(body string) string {
	const max = 300
	if len(body) > max {
		return body[:max] + "..."
	}
	return body
}
