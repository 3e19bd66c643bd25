package redisstore

import (
	"context"
	"testing"
)

// FlushForTest empties the Redis of s, for a test that has it to itself.
func (s *Store) FlushForTest(t *testing.T) {
	t.Helper()
	for addr, node := range s.rdb.Nodes() {
		if err := node.Do(context.Background(), node.B().Flushall().Build()).Error(); err != nil && !isReadonly(err) {
			t.Fatalf("FLUSHALL %s: %v", addr, err)
		}
	}
}
