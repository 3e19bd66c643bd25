package durable

import (
	"fmt"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/wal"
)

// benchRun returns a run of n accepted events of one client, as a batch of
// a request gives the journal: UUID ids, a few keys, values whole and not.
func benchRun(n int) ([]event.Event, []event.Result) {
	events := make([]event.Event, n)
	for i := range events {
		value := float64(i)
		if i%2 == 1 {
			value += 0.25
		}
		events[i] = event.Event{
			ClientID: "client-a", ID: fmt.Sprintf("%08x-9dad-41d1-80b4-%012x", i, i), Timestamp: event.Timestamp(1_763_850_000+i) * 1e9,
			Type: event.Type(1 + i%2), Key: fmt.Sprintf("key-%d", i%10), Value: value,
		}
	}
	return events, make([]event.Result, n)
}

// benchLog opens a log that leaves syncing to the OS in a temporary
// directory, closed when b ends.
func benchLog(b *testing.B) *wal.Log {
	b.Helper()
	l, err := wal.Open(b.TempDir(), 0, wal.Options{Sync: wal.SyncNever, SegmentBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkJournalRecord measures the journal's Record of a run of 1,000
// events: encoding them into a frame and buffering it. The writes that
// keep the buffer bounded are not timed.
func BenchmarkJournalRecord(b *testing.B) {
	events, results := benchRun(1000)
	l := benchLog(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Record("client-a", events, results)
		if i++; i%64 == 0 {
			b.StopTimer()
			if err := l.Wait(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}

// BenchmarkJournalRecordWait measures what a request of 1,000 events asks
// of the journal and the log, from goroutines in parallel: Record, then
// Wait for the write (not synced).
func BenchmarkJournalRecordWait(b *testing.B) {
	events, results := benchRun(1000)
	l := benchLog(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Record("client-a", events, results)
			if err := l.Wait(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
