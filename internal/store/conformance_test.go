package store_test

import (
	"testing"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestConformance runs the store conformance suite against the memory
// store.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, p store.Policy) server.Store { return storetest.NewMemory(t, p) })
}
