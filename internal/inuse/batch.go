package inuse

import (
	"sync"
	"time"
)

// Recount factors: a status recount after a tenant change waits at least StatusBatchDelay,
// and at least recountFactor times as long as the object's last recount took, up to
// MaxBatchDelay. A recount reads every tenant of the plan or product, so with thousands of
// tenants it takes long enough that recounting once a second would spend a large share of a
// core on it; waiting ten times its duration keeps it under a tenth of one worker's time,
// whatever the number of tenants.
const (
	recountFactor = 10
	MaxBatchDelay = 30 * time.Second
)

// Batcher remembers how long each object's last recount took. The zero value is ready to use
// and safe for concurrent use.
type Batcher struct {
	took sync.Map // object name → time.Duration
}

// Delay is how long a change of one of name's tenants waits before name is recounted.
func (b *Batcher) Delay(name string) time.Duration {
	d := StatusBatchDelay
	if v, ok := b.took.Load(name); ok {
		d = max(d, recountFactor*v.(time.Duration))
	}
	return min(d, MaxBatchDelay)
}

// Observe records how long a recount of name took.
func (b *Batcher) Observe(name string, took time.Duration) { b.took.Store(name, took) }

// Forget drops what is known of name (it is gone).
func (b *Batcher) Forget(name string) { b.took.Delete(name) }
