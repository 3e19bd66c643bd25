// Package storetest holds what the tests of the stores, and of the
// packages that use a store, share.
package storetest

import (
	"testing"

	"github.com/montool/montool/internal/store"
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
