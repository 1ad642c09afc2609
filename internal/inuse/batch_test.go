package inuse

import (
	"testing"
	"time"
)

func TestBatcherDelay(t *testing.T) {
	var b Batcher
	for _, c := range []struct {
		took, want time.Duration
	}{
		{0, StatusBatchDelay},                             // never recounted
		{20 * time.Millisecond, StatusBatchDelay},         // a small plan or product
		{250 * time.Millisecond, 2500 * time.Millisecond}, // thousands of tenants
		{time.Minute, MaxBatchDelay},
	} {
		if c.took > 0 {
			b.Observe("p", c.took)
		}
		if got := b.Delay("p"); got != c.want {
			t.Errorf("after a recount of %v: delay %v, want %v", c.took, got, c.want)
		}
	}
	if got := b.Delay("other"); got != StatusBatchDelay {
		t.Errorf("another object's delay %v, want %v", got, StatusBatchDelay)
	}
	b.Forget("p")
	if got := b.Delay("p"); got != StatusBatchDelay {
		t.Errorf("after Forget: delay %v, want %v", got, StatusBatchDelay)
	}
}
