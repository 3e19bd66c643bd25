// Package storetest holds what the tests of the stores, and of the
// packages that use a store, share.
package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// NewMemory returns an empty memory store with policy p, and fails tb when
// p does not validate.
func NewMemory(tb testing.TB, p store.Policy) *store.Memory {
	tb.Helper()
	m, err := store.New(store.Options{Policy: p})
	if err != nil {
		tb.Fatalf("store.New: %v", err)
	}
	return m
}

// StoreEnv is the environment variable that names the store New makes:
// memory (the default) or durable. CI runs the server's tests once with
// each.
const StoreEnv = "MONTOOL_TEST_STORE"

// New returns an empty store with policy p, ready to use and closed when
// tb ends, of the kind StoreEnv names.
func New(tb testing.TB, p store.Policy) server.Store {
	tb.Helper()
	switch kind := os.Getenv(StoreEnv); kind {
	case "", "memory":
		return NewMemory(tb, p)
	case "durable":
		s, err := durable.New(durable.Options{Dir: tb.TempDir(), Sync: wal.SyncAlways, Policy: p})
		if err == nil {
			err = s.Load(context.Background())
		}
		if err != nil {
			tb.Fatalf("durable store: %v", err)
		}
		tb.Cleanup(func() {
			if err := s.Close(context.Background()); err != nil {
				tb.Errorf("close the durable store: %v", err)
			}
		})
		return s
	default:
		tb.Fatalf("%s=%q: want memory or durable", StoreEnv, kind)
		return nil
	}
}
