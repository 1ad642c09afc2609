package main

import (
	"strings"
	"testing"
	"time"
)

// TestLeaseTimings: the leader election flags client-go would panic on are refused with
// the flags' names; the defaults and the e2e suite's short timings pass.
func TestLeaseTimings(t *testing.T) {
	for _, c := range []struct {
		lease, renew, retry time.Duration
		refused             string // a part of the error, "" when accepted
	}{
		{15 * time.Second, 10 * time.Second, 2 * time.Second, ""},
		{6 * time.Second, 4 * time.Second, time.Second, ""},
		{5 * time.Second, 10 * time.Second, 2 * time.Second, "--leader-elect-lease-duration (5s) must be longer than --leader-elect-renew-deadline (10s)"},
		{15 * time.Second, 10 * time.Second, 9 * time.Second, "1.2 × --leader-elect-retry-period (9s)"},
		{15 * time.Second, 10 * time.Second, 0, "--leader-elect-retry-period must be positive"},
	} {
		err := leaseTimings(c.lease, c.renew, c.retry)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("lease %v renew %v retry %v refused: %v", c.lease, c.renew, c.retry, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("lease %v renew %v retry %v: error %v, want one saying %q", c.lease, c.renew, c.retry, err, c.refused)
		}
	}
}
