package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/montool/montool/internal/event"
)

// This file is everything the server asks of a store: the Store contract,
// which every store implements, and the optional abilities, which a store
// implements when it has them. The server finds each ability by asserting
// its interface on the Store it was given; a store should check the ones it
// has at compile time, in its tests (a store does not import the server),
// as in
//
//	var _ server.Sizer = (*store.Memory)(nil)

// Store is the database the server reads and writes. Implementations must be
// safe for concurrent use, must not keep the events or strings they are
// given past the call (they are valid only as long as the ingestjson.Batch
// they were decoded into), and must return values the caller owns.
type Store interface {
	// Apply applies each event on its own, at most once per client and
	// event id, and returns one result per event, in order. An error means
	// the store failed as a whole.
	Apply(ctx context.Context, events []event.Event) ([]event.Result, error)
	// View returns what one client holds, its samples read in place so that
	// a dump of any size streams, or an error of kind event.ErrNotFound.
	View(ctx context.Context, clientID string) (*event.View, error)
	// Clients lists the known clients, sorted by id.
	Clients(ctx context.Context) ([]event.ClientInfo, error)
	// Delete forgets a client, its events and its event ids, and returns
	// how many events it held, or an error of kind event.ErrNotFound.
	Delete(ctx context.Context, clientID string) (int64, error)
}

// Readiness is what a Store that is not usable at once implements, such as
// a durable store loading its data: until Ready reports true, the API
// answers 503, /readyz says so, and /metrics leaves out montool_store_*.
type Readiness interface {
	Ready() bool
}

// Failure is what a Store implements that can fail for good while it
// runs, such as a durable store whose write-ahead log cannot be written:
// once Failed returns an error, /readyz answers 503, and the API answers a
// read with 503 and a write with the error, both with its message.
type Failure interface {
	Failed() error
}

// Sizer is what a Store implements that knows about how much memory its
// events take, as it counts them against its memory limit: the stats report
// it as store_bytes, and /metrics as montool_store_bytes. Without it both
// leave the size out (the stats say 0).
type Sizer interface {
	Bytes() int64
}

// KeyCounter is what a Store implements that can count the keys it holds
// over all clients: /metrics reports the count as montool_store_keys.
type KeyCounter interface {
	Keys() int
}

// MetricsCollector is what a Store implements that has Prometheus metrics
// of its own, such as a durable store's write-ahead log: the server
// registers it in /metrics beside its own when it is made, and New panics
// if a metric of the store's has the name of one of the server's.
type MetricsCollector interface {
	prometheus.Collector
}
