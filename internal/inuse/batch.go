package inuse

import (
	"sync"
	"time"
)

// Recount factors: a status recount after a tenant change waits at least StatusBatchDelay,
// and at least recountFactor times as long as the object's last recount took, up to
// MaxBatchDelay. The ApiProduct reconciler uses it: its pass reads and resolves every tenant
// of the product, so with thousands of tenants recounting once a second spent a large share
// of a core; waiting ten times the pass keeps it under a tenth of its worker's time, whatever
// the number of tenants. (A plan's recount only counts names and keeps StatusBatchDelay.)
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
