package durable

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/wal"
)

// TestJournal records runs and deletions through a journal and checks
// what the log gives back: the accepted events of each run and the
// deletions, in order; nothing for a run with nothing accepted; a UUID id
// in its canonical form.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	j := &journal{log: l}
	ev := func(client, id string, ts event.Timestamp) event.Event {
		return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: event.Cumulative, Key: "k", Value: float64(ts)}
	}

	j.Record("c1", []event.Event{ev("c1", "a", 1), ev("c1", "dup", 2), ev("c1", "b", 3), ev("c1", "conflict", 4)},
		[]event.Result{accept, duplicate, accept, rejected})
	// Runs with nothing accepted leave nothing.
	j.Record("c1", nil, nil)
	j.Record("c1", []event.Event{ev("c1", "dup", 5)}, []event.Result{duplicate})
	j.Record("c1", []event.Event{ev("c1", "conflict", 6), ev("c1", "dup", 7)}, []event.Result{rejected, duplicate})
	j.Delete("c1")
	// A UUID id comes back in canonical form.
	j.Record("c2", []event.Event{{ClientID: "c2", ID: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", Timestamp: 5, Type: event.TimeSeries, Key: "k", Value: 3}},
		[]event.Result{accept})
	j.Record("c1", []event.Event{ev("c1", "c", 8)}, []event.Result{accept})
	if err := l.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	var (
		got    []string // "+client/id" for an event, "-client" for a deletion
		events []event.Event
		frames int
	)
	if _, err := wal.Replay(dir, 0, false, func(payload []byte) error {
		frames++
		if client, ok, err := decodeDelete(payload); ok || err != nil {
			got = append(got, "-"+client)
			return err
		}
		var err error
		n := len(events)
		if events, err = decodeEvents(events, payload); err != nil {
			return err
		}
		for _, e := range events[n:] {
			got = append(got, "+"+e.ClientID+"/"+e.ID)
		}
		return nil
	}); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	want := []string{"+c1/a", "+c1/b", "-c1", "+c2/6ba7b810-9dad-11d1-80b4-00c04fd430c8", "+c1/c"}
	if !slices.Equal(got, want) {
		t.Errorf("the log holds %q, want %q", got, want)
	}
	if frames != 4 {
		t.Errorf("the log holds %d frames, want 4: one a run with events accepted, one the deletion", frames)
	}
	checkEvents(t, events, []event.Event{
		ev("c1", "a", 1), ev("c1", "b", 3),
		{ClientID: "c2", ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Timestamp: 5, Type: event.TimeSeries, Key: "k", Value: 3},
		ev("c1", "c", 8),
	})
}

// TestJournalNothingAccepted checks that a journal whose runs have
// nothing accepted writes nothing at all.
func TestJournalNothingAccepted(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(dir, 0, wal.Options{Sync: wal.SyncAlways, SegmentBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	j := &journal{log: l}
	events := []event.Event{{ClientID: "c", ID: "a", Type: event.Cumulative, Key: "k", Value: 1}}
	j.Record("c", nil, nil)
	j.Record("c", events, []event.Result{duplicate})
	j.Record("c", events, []event.Result{rejected})
	if err := l.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	seqs, err := wal.Segments(dir)
	if err != nil || len(seqs) != 1 {
		t.Fatalf("Segments = %v, %v; want one", seqs, err)
	}
	fi, err := os.Stat(filepath.Join(dir, wal.SegmentName(seqs[0])))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 {
		t.Errorf("the segment is %d bytes, want it empty", fi.Size())
	}
}

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
	j := &journal{log: benchLog(b)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j.Record("client-a", events, results)
		if i++; i%64 == 0 {
			b.StopTimer()
			if err := j.log.Wait(); err != nil {
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
	j := &journal{log: benchLog(b)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.Record("client-a", events, results)
			if err := j.log.Wait(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
