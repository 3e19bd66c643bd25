package durable_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/wal"
)

// The durable store is a server.Store with these of the optional
// abilities.
var (
	_ server.Store            = (*durable.Store)(nil)
	_ server.Readiness        = (*durable.Store)(nil)
	_ server.Failure          = (*durable.Store)(nil)
	_ server.Sizer            = (*durable.Store)(nil)
	_ server.KeyCounter       = (*durable.Store)(nil)
	_ server.MetricsCollector = (*durable.Store)(nil)
)

// base is an arbitrary moment (2025-11-22T22:20:00Z) in nanoseconds.
const base = event.Timestamp(1_763_850_000_000_000_000)

// sec returns the timestamp n seconds after base.
func sec(n int64) event.Timestamp { return base + event.Timestamp(n)*1_000_000_000 }

// The clients of the tests: one named, one a UUID.
const (
	clientA = "client-a"
	clientB = "0b2b7a6e-1f0c-4c3e-9a51-2f3c1d5e6a7b"
)

func ev(client, id string, typ event.Type, key string, ts event.Timestamp, v float64) event.Event {
	return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: typ, Key: key, Value: v}
}

// uuid returns a distinct UUID for each round and n.
func uuid(round, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", round, n) }

// mixedEvents returns n distinct events of round (ids unique to it) over
// both clients, CUMULATIVE and TIME-SERIES keys, UUID and other ids, with
// timestamps out of order.
func mixedEvents(round, n int) []event.Event {
	events := make([]event.Event, 0, n)
	for i := range n {
		client := clientA
		if i%4 == 3 {
			client = clientB
		}
		id := uuid(round, i)
		if i%2 == 0 {
			id = "r" + strconv.Itoa(round) + "-e" + strconv.Itoa(i)
		}
		ts := sec(int64((i * 7919) % 97))
		switch i % 3 {
		case 0:
			events = append(events, ev(client, id, event.Cumulative, "requests", ts, 0.1))
		case 1:
			events = append(events, ev(client, id, event.TimeSeries, "cpu", ts, float64(i)/4))
		default:
			events = append(events, ev(client, id, event.TimeSeries, "mem", ts, float64(round*1000+i)))
		}
	}
	return events
}

// other returns e with other content under the same id.
func other(e event.Event) event.Event {
	e.Value += 1000
	return e
}

// outcome is what a test expects of one Result.
type outcome int

const (
	accepted outcome = iota
	duplicate
	conflicting
)

func (o outcome) String() string { return [...]string{"accepted", "duplicate", "conflict"}[o] }

func outcomeOf(r event.Result) string {
	switch {
	case r.Err != nil && errors.Is(r.Err, event.ErrConflict):
		return conflicting.String()
	case r.Err != nil:
		return "error " + r.Err.Error()
	case r.Duplicate:
		return duplicate.String()
	}
	return accepted.String()
}

// newStore makes a store over opts.
func newStore(t *testing.T, opts durable.Options) *durable.Store {
	t.Helper()
	s, err := durable.New(opts)
	if err != nil {
		t.Fatalf("New: unexpected error %v", err)
	}
	return s
}

// openStore makes a store over opts and loads it.
func openStore(t *testing.T, opts durable.Options) *durable.Store {
	t.Helper()
	s := newStore(t, opts)
	if err := s.Load(context.Background()); err != nil {
		t.Fatalf("Load: unexpected error %v", err)
	}
	if !s.Ready() {
		t.Fatalf("Ready after Load: got false, want true")
	}
	return s
}

func closeStore(t *testing.T, s *durable.Store) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: unexpected error %v", err)
	}
}

// applyEvents applies events, checks each result against want, and counts
// the accepted events per client into counts.
func applyEvents(t *testing.T, s *durable.Store, counts map[string]int64, events []event.Event, want []outcome) {
	t.Helper()
	results, err := s.Apply(context.Background(), events)
	if err != nil {
		t.Fatalf("Apply: unexpected error %v", err)
	}
	if len(results) != len(events) {
		t.Fatalf("Apply: got %d results, want %d", len(results), len(events))
	}
	for i, r := range results {
		if got := outcomeOf(r); got != want[i].String() {
			t.Errorf("Apply: event %d (%s %q): got %s, want %s", i, events[i].ClientID, events[i].ID, got, want[i])
		}
		if r.Err == nil && !r.Duplicate {
			counts[events[i].ClientID]++
		}
	}
}

// allAccepted returns n accepted outcomes.
func allAccepted(n int) []outcome { return make([]outcome, n) }

// state is everything a store holds, as its public API reads it.
type state struct {
	clients []event.ClientInfo
	dumps   []*event.Dump
}

func readState(t *testing.T, s *durable.Store) state {
	t.Helper()
	ctx := context.Background()
	infos, err := s.Clients(ctx)
	if err != nil {
		t.Fatalf("Clients: unexpected error %v", err)
	}
	st := state{clients: infos}
	for _, c := range infos {
		v, err := s.View(ctx, c.ClientID)
		if err != nil {
			t.Fatalf("View(%q): unexpected error %v", c.ClientID, err)
		}
		st.dumps = append(st.dumps, v.Dump())
	}
	return st
}

// checkState compares what s holds with want, and its clients with counts.
func checkState(t *testing.T, s *durable.Store, want state, counts map[string]int64) {
	t.Helper()
	got := readState(t, s)
	var wantClients []event.ClientInfo
	for c, n := range counts {
		wantClients = append(wantClients, event.ClientInfo{ClientID: c, Events: n})
	}
	slices.SortFunc(wantClients, func(a, b event.ClientInfo) int { return strings.Compare(a.ClientID, b.ClientID) })
	if !slices.Equal(got.clients, wantClients) {
		t.Errorf("Clients: got %v, want %v", got.clients, wantClients)
	}
	if !slices.Equal(got.clients, want.clients) {
		t.Errorf("Clients: got %v, want %v as before", got.clients, want.clients)
	}
	if len(got.dumps) != len(want.dumps) {
		t.Errorf("got %d clients' views, want %d", len(got.dumps), len(want.dumps))
		return
	}
	for i := range want.dumps {
		if !reflect.DeepEqual(got.dumps[i], want.dumps[i]) {
			t.Errorf("View(%q).Dump(): got %+v, want %+v as before", want.dumps[i].ClientID, got.dumps[i], want.dumps[i])
		}
	}
}

// snapshotFiles returns the numbers of the snapshot files in dir, in order.
func snapshotFiles(t *testing.T, dir string) []uint64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "snapshot-*.snap"))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, name := range names {
		hex := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "snapshot-"), ".snap")
		seq, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || len(hex) != 16 {
			t.Fatalf("snapshot file %s: name is not snapshot-<16 hex digits>.snap", name)
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs
}

func snapshotPath(dir string, seq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("snapshot-%016x.snap", seq))
}

func TestNotReadyBeforeLoad(t *testing.T) {
	ctx := context.Background()
	e := ev(clientA, "e1", event.Cumulative, "requests", sec(1), 1)
	calls := []struct {
		name string
		call func(s *durable.Store) error
	}{
		{"Apply", func(s *durable.Store) error { _, err := s.Apply(ctx, []event.Event{e}); return err }},
		{"View", func(s *durable.Store) error { _, err := s.View(ctx, clientA); return err }},
		{"Clients", func(s *durable.Store) error { _, err := s.Clients(ctx); return err }},
	}
	s := newStore(t, durable.Options{Dir: t.TempDir()})
	if s.Ready() {
		t.Errorf("Ready before Load: got true, want false")
	}
	for _, c := range calls {
		if err := c.call(s); !errors.Is(err, durable.ErrNotReady) {
			t.Errorf("%s before Load: got error %v, want ErrNotReady", c.name, err)
		}
	}
	if err := s.Load(ctx); err != nil {
		t.Fatalf("Load: unexpected error %v", err)
	}
	if !s.Ready() {
		t.Errorf("Ready after Load: got false, want true")
	}
	for _, c := range calls { // Apply first, so that View finds the client
		if err := c.call(s); err != nil {
			t.Errorf("%s after Load: unexpected error %v", c.name, err)
		}
	}
	closeStore(t, s)
}

// TestRestart applies events, ends the store with Close or with a crash
// (Discard: no last snapshot, the log is all there is) and loads the
// directory again, in each sync mode.
func TestRestart(t *testing.T) {
	modes := []struct {
		name     string
		sync     wal.SyncMode
		interval time.Duration
	}{
		{"always", wal.SyncAlways, 0},
		{"interval", wal.SyncInterval, 20 * time.Millisecond},
		{"never", wal.SyncNever, 0},
	}
	ends := []struct {
		name  string
		end   func(*durable.Store) error
		snaps int // snapshot files after the end
	}{
		{"close", func(s *durable.Store) error { return s.Close(context.Background()) }, 1},
		{"crash", (*durable.Store).Discard, 0},
	}
	for _, m := range modes {
		for _, e := range ends {
			t.Run(m.name+"/"+e.name, func(t *testing.T) {
				opts := durable.Options{Dir: t.TempDir(), Sync: m.sync, SyncInterval: m.interval}
				end := func(s *durable.Store) {
					t.Helper()
					if err := e.end(s); err != nil {
						t.Fatalf("%s: unexpected error %v", e.name, err)
					}
				}
				counts := make(map[string]int64)

				s := openStore(t, opts)
				if got := readState(t, s); len(got.clients) != 0 {
					t.Fatalf("Clients of an empty directory: got %v, want none", got.clients)
				}
				first := mixedEvents(0, 40)
				applyEvents(t, s, counts, append(slices.Clone(first), first[5], other(first[6])),
					append(allAccepted(len(first)), duplicate, conflicting))
				second := mixedEvents(1, 30)
				applyEvents(t, s, counts, append([]event.Event{first[7]}, second...),
					append([]outcome{duplicate}, allAccepted(len(second))...))
				before := readState(t, s)
				end(s)
				if got := snapshotFiles(t, opts.Dir); len(got) != e.snaps {
					t.Errorf("after %s: got %d snapshot files %v, want %d", e.name, len(got), got, e.snaps)
				}

				s = openStore(t, opts)
				checkState(t, s, before, counts)
				// The dedupe index is back too; new events are taken.
				again := ev(clientB, "after-restart", event.TimeSeries, "cpu", sec(-3), 7)
				applyEvents(t, s, counts,
					[]event.Event{first[0], second[3], other(first[1]), other(second[2]), again},
					[]outcome{duplicate, duplicate, conflicting, conflicting, accepted})
				before = readState(t, s)
				end(s)

				s = openStore(t, opts)
				checkState(t, s, before, counts)
				applyEvents(t, s, counts, []event.Event{again}, []outcome{duplicate})
				closeStore(t, s)
			})
		}
	}
}

// TestSnapshotRetention takes snapshots with a small segment size: the
// newest two snapshots are kept, with the log after the older one.
func TestSnapshotRetention(t *testing.T) {
	const rounds = 4
	opts := durable.Options{Dir: t.TempDir(), Sync: wal.SyncNever, SegmentBytes: 8 << 10}
	walDir := filepath.Join(opts.Dir, "wal")
	ctx := context.Background()
	counts := make(map[string]int64)
	s := openStore(t, opts)
	var history []uint64 // the snapshot each round made
	for r := range rounds {
		events := mixedEvents(r, 600)
		for chunk := range slices.Chunk(events, 100) {
			applyEvents(t, s, counts, chunk, allAccepted(len(chunk)))
		}
		if err := s.Snapshot(ctx); err != nil {
			t.Fatalf("round %d: Snapshot: unexpected error %v", r, err)
		}
		snaps := snapshotFiles(t, opts.Dir)
		if len(snaps) == 0 {
			t.Fatalf("round %d: no snapshot file after Snapshot", r)
		}
		newest := snaps[len(snaps)-1]
		if len(history) > 0 && newest < history[len(history)-1]+2 {
			t.Fatalf("round %d: snapshot %d after %d: the round should have filled more than one segment of %d bytes",
				r, newest, history[len(history)-1], opts.SegmentBytes)
		}
		history = append(history, newest)
		if want := history[max(0, r-1):]; !slices.Equal(snaps, want) {
			t.Errorf("round %d: got snapshots %v, want the newest two of %v: %v", r, snaps, history, want)
		}
		segs, err := wal.Segments(walDir)
		if err != nil {
			t.Fatalf("round %d: Segments: %v", r, err)
		}
		older := uint64(0) // segments up to it are in a kept snapshot
		if len(snaps) == 2 {
			older = snaps[0]
		}
		for _, seg := range segs {
			if seg <= older {
				t.Errorf("round %d: log segment %d is still there, but snapshot %d (kept: %v) holds it", r, seg, older, snaps)
			}
		}
		for seg := older + 1; seg <= newest; seg++ {
			if !slices.Contains(segs, seg) {
				t.Errorf("round %d: log segment %d is gone, but recovery from snapshot %d needs it (segments %v)", r, seg, older, segs)
			}
		}
	}
	before := readState(t, s)
	closeStore(t, s)

	s = openStore(t, opts)
	checkState(t, s, before, counts)
	closeStore(t, s)
}

// TestDamagedSnapshot damages the newest snapshot: Load must fail naming
// it, and once it is removed, Load starts from the snapshot before it and
// the log after that, with nothing lost.
func TestDamagedSnapshot(t *testing.T) {
	damages := []struct {
		name   string
		damage func(t *testing.T, file string)
	}{
		{"cut to half", func(t *testing.T, file string) {
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(file, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"a byte changed", func(t *testing.T, file string) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x55
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"emptied", func(t *testing.T, file string) {
			if err := os.Truncate(file, 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			opts := durable.Options{Dir: t.TempDir(), Sync: wal.SyncNever}
			counts := make(map[string]int64)
			s := openStore(t, opts)
			first := mixedEvents(0, 200)
			applyEvents(t, s, counts, first, allAccepted(len(first)))
			if err := s.Snapshot(ctx); err != nil {
				t.Fatalf("Snapshot: unexpected error %v", err)
			}
			second := mixedEvents(1, 200)
			applyEvents(t, s, counts, second, allAccepted(len(second)))
			before := readState(t, s)
			closeStore(t, s)

			snaps := snapshotFiles(t, opts.Dir)
			if len(snaps) != 2 {
				t.Fatalf("after Snapshot and Close: got snapshots %v, want 2", snaps)
			}
			newest := snapshotPath(opts.Dir, snaps[1])
			d.damage(t, newest)

			s = newStore(t, opts)
			err := s.Load(ctx)
			var damage *wal.DamageError
			if !errors.As(err, &damage) {
				t.Fatalf("Load of a damaged snapshot: got error %v, want a *wal.DamageError", err)
			}
			if damage.File != newest {
				t.Errorf("DamageError.File: got %q, want %q", damage.File, newest)
			}
			if s.Ready() {
				t.Errorf("Ready after a failed Load: got true, want false")
			}

			if err := os.Remove(newest); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, opts)
			checkState(t, s, before, counts)
			applyEvents(t, s, counts, []event.Event{first[10], second[10], other(second[11])},
				[]outcome{duplicate, duplicate, conflicting})
			closeStore(t, s)
		})
	}
}

func TestLoadRemovesLeftoverTemporary(t *testing.T) {
	dir := t.TempDir()
	leftover := filepath.Join(dir, "snapshot-00000000000000ff.snap.tmp")
	if err := os.WriteFile(leftover, []byte("montool snapshot 1\nhalf writ"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, durable.Options{Dir: dir})
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Load: stat %s: got %v, want it gone", leftover, err)
	}
	if got := readState(t, s); len(got.clients) != 0 {
		t.Errorf("Clients: got %v, want none", got.clients)
	}
	closeStore(t, s)
}
