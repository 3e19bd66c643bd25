// Package outputtest is for tests that read what a logger or a process
// writes while it runs: a buffer safe for a writer and a reader, which a
// test can wait on for a line it expects.
package outputtest

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent writes and reads, which can
// wait for what is written. Its zero value is not ready: use New.
type Buffer struct {
	mu      sync.Mutex // guards buf
	buf     bytes.Buffer
	written chan struct{} // gets a token after each write
}

// New returns an empty Buffer.
func New() *Buffer { return &Buffer{written: make(chan struct{}, 1)} }

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.written <- struct{}{}:
	default:
	}
	return n, err
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits up to timeout for re to match what was written and returns
// the submatches. It fails t at the timeout, or when exited (which may be
// nil: never) is closed first with no match, such as when the process
// that writes has ended.
func (b *Buffer) WaitFor(t testing.TB, re *regexp.Regexp, timeout time.Duration, exited <-chan struct{}) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for range 100_000 { // one round per write; bounded in count as well as time
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m
		}
		select {
		case <-b.written:
		case <-exited:
			if m := re.FindStringSubmatch(b.String()); m != nil {
				return m
			}
			t.Fatalf("the process exited before writing %q; got:\n%s", re, b.String())
		case <-deadline.C:
			t.Fatalf("nothing matching %q written within %s; got:\n%s", re, timeout, b.String())
		}
	}
	t.Fatalf("nothing matching %q written after 100000 writes; got:\n%s", re, b.String())
	return nil
}
