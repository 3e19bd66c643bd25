package durable_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/wal"
)

// retentionOptions returns the options of a store over dir that keeps
// events for retention (0 for ever), with snapshots only when asked.
func retentionOptions(dir string, retention time.Duration) durable.Options {
	return durable.Options{Dir: dir, Sync: wal.SyncNever, Policy: store.Policy{Retention: retention}}
}

// applyAllAccepted applies events and fails the test unless each is
// accepted.
func applyAllAccepted(t *testing.T, s *durable.Store, events []event.Event) {
	t.Helper()
	results, err := s.Apply(context.Background(), events)
	if err != nil {
		t.Fatalf("Apply: unexpected error %v", err)
	}
	if len(results) != len(events) {
		t.Fatalf("Apply: got %d results, want %d", len(results), len(events))
	}
	for i, r := range results {
		if r.Err != nil || r.Duplicate {
			t.Fatalf("Apply: event %d (%q): got %s, want accepted", i, events[i].ID, outcomeOf(r))
		}
	}
}

// applyOne applies one event and returns its result.
func applyOne(t *testing.T, s *durable.Store, e event.Event) event.Result {
	t.Helper()
	results, err := s.Apply(context.Background(), []event.Event{e})
	if err != nil {
		t.Fatalf("Apply(%q): unexpected error %v", e.ID, err)
	}
	if len(results) != 1 {
		t.Fatalf("Apply(%q): got %d results, want 1", e.ID, len(results))
	}
	return results[0]
}

// dumpClient returns what s holds of client.
func dumpClient(t *testing.T, s *durable.Store, client string) *event.Dump {
	t.Helper()
	v, err := s.View(context.Background(), client)
	if err != nil {
		t.Fatalf("View(%q): unexpected error %v", client, err)
	}
	return v.Dump()
}

// seriesOf returns the series of key in d, failing the test if there is
// none or it is not of typ.
func seriesOf(t *testing.T, d *event.Dump, key string, typ event.Type) event.Series {
	t.Helper()
	for _, s := range d.Series {
		if s.Key == key {
			if s.Type != typ {
				t.Fatalf("series %q: got type %v, want %v", key, s.Type, typ)
			}
			return s
		}
	}
	t.Fatalf("dump of %q: no series %q", d.ClientID, key)
	return event.Series{}
}

// checkTotal checks the total, count and latest timestamp of a CUMULATIVE
// key.
func checkTotal(t *testing.T, d *event.Dump, key string, total float64, count int64, last event.Timestamp) {
	t.Helper()
	s := seriesOf(t, d, key, event.Cumulative)
	if s.Total != total {
		t.Errorf("total of %q: got %v, want %v", key, s.Total, total)
	}
	if s.Count != count {
		t.Errorf("count of %q: got %d, want %d", key, s.Count, count)
	}
	if s.Last != last {
		t.Errorf("latest timestamp of %q: got %v, want %v", key, s.Last, last)
	}
}

// checkSampleIDs checks that the TIME-SERIES key holds the samples of
// exactly the events ids, in any order.
func checkSampleIDs(t *testing.T, d *event.Dump, key string, ids []string) {
	t.Helper()
	s := seriesOf(t, d, key, event.TimeSeries)
	got := make([]string, len(s.Samples))
	for i, smp := range s.Samples {
		got[i] = smp.ID
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Errorf("samples of %q: got %d %v, want %d %v", key, len(got), abbreviate(got), len(want), abbreviate(want))
	}
}

// abbreviate shortens a long list of ids for a message.
func abbreviate(ids []string) []string {
	if len(ids) <= 12 {
		return ids
	}
	return append(slices.Clip(ids[:10]), "…", ids[len(ids)-1])
}

// idsOf returns the ids of events.
func idsOf(events []event.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// makeEvents returns n events of client and key, with ids prefix and a
// number, timestamps from ts on (a nanosecond apart) and the values value
// gives.
func makeEvents(client, prefix string, typ event.Type, key string, ts event.Timestamp, n int, value func(i int) float64) []event.Event {
	events := make([]event.Event, n)
	for i := range events {
		events[i] = ev(client, fmt.Sprintf("%s-%d", prefix, i), typ, key, ts+event.Timestamp(i), value(i))
	}
	return events
}

// resendOutcome is what a test expects of an event sent again.
type resendOutcome int

const (
	tooOld resendOutcome = iota
	isDuplicate
)

// checkResent sends each event again and checks what becomes of it.
func checkResent(t *testing.T, s *durable.Store, tests []struct {
	name  string
	event event.Event
	want  resendOutcome
}) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := applyOne(t, s, tc.event)
			switch tc.want {
			case tooOld:
				if !errors.Is(r.Err, event.ErrTooOld) || r.Duplicate {
					t.Errorf("Apply(%q) again: got %s, want %v", tc.event.ID, outcomeOf(r), event.ErrTooOld)
				}
			case isDuplicate:
				if r.Err != nil || !r.Duplicate {
					t.Errorf("Apply(%q) again: got %s, want duplicate", tc.event.ID, outcomeOf(r))
				}
			}
		})
	}
}

// TestRetentionPruneKeepsTotalsAcrossRestart stores events older than
// retention through a store without it, then prunes them with retention:
// the CUMULATIVE total and count stay exact through a snapshot and a
// crash, the old TIME-SERIES samples are gone, and old events sent again
// are refused as too old.
func TestRetentionPruneKeepsTotalsAcrossRestart(t *testing.T) {
	const (
		client  = "retained"
		cumKey  = "requests"
		tsKey   = "cpu"
		oldEach = 2500 // old events of each key
		pruned  = 2048 // of each key: its two full chunks of 1,024 rows
	)
	ctx := context.Background()
	dir := t.TempDir()
	old := event.FromTime(time.Now().Add(-2 * time.Hour))
	fresh := event.FromTime(time.Now())

	oldCum := makeEvents(client, "old-c", event.Cumulative, cumKey, old, oldEach, func(i int) float64 {
		if i%2 == 0 {
			return 1
		}
		return 0.5
	})
	oldTS := makeEvents(client, "old-t", event.TimeSeries, tsKey, old, oldEach, func(i int) float64 { return float64(i) })
	freshCum := makeEvents(client, "fresh-c", event.Cumulative, cumKey, fresh, 4, func(int) float64 { return 0.1 })
	freshTS := makeEvents(client, "fresh-t", event.TimeSeries, tsKey, fresh, 4, func(i int) float64 { return float64(-i) })
	// 1,250 × 1 + 1,250 × 0.5 + 4 × 0.1
	const firstTotal, firstCount = 1875.4, oldEach + 4
	firstLast := fresh + 3

	// Without retention the old events are taken and kept.
	s := openStore(t, retentionOptions(dir, 0))
	applyAllAccepted(t, s, slices.Concat(oldCum, oldTS, freshCum, freshTS))
	d := dumpClient(t, s, client)
	checkTotal(t, d, cumKey, firstTotal, firstCount, firstLast)
	if n := len(seriesOf(t, d, tsKey, event.TimeSeries).Samples); n != oldEach+len(freshTS) {
		t.Fatalf("samples of %q without retention: got %d, want %d", tsKey, n, oldEach+len(freshTS))
	}
	closeStore(t, s)

	// With retention: views leave the old samples out, Prune drops the
	// full chunks, and the total stays whole.
	s = openStore(t, retentionOptions(dir, time.Hour))
	d = dumpClient(t, s, client)
	checkTotal(t, d, cumKey, firstTotal, firstCount, firstLast)
	checkSampleIDs(t, d, tsKey, idsOf(freshTS))
	dropped, err := s.Prune(ctx, time.Now())
	if err != nil {
		t.Fatalf("Prune: unexpected error %v", err)
	}
	if dropped != 2*pruned {
		t.Errorf("Prune: dropped %d events, want %d (%d of each key)", dropped, 2*pruned, pruned)
	}
	d = dumpClient(t, s, client)
	checkTotal(t, d, cumKey, firstTotal, firstCount, firstLast)
	checkSampleIDs(t, d, tsKey, idsOf(freshTS))

	if err := s.Snapshot(ctx); err != nil {
		t.Fatalf("Snapshot: unexpected error %v", err)
	}
	later := event.FromTime(time.Now())
	laterCum := makeEvents(client, "later-c", event.Cumulative, cumKey, later, 3, func(int) float64 { return 0.25 })
	laterTS := makeEvents(client, "later-t", event.TimeSeries, tsKey, later, 2, func(i int) float64 { return float64(100 + i) })
	applyAllAccepted(t, s, slices.Concat(laterCum, laterTS))
	const total, count = firstTotal + 0.75, firstCount + 3
	last := later + 2
	if err := s.Discard(); err != nil {
		t.Fatalf("Discard: unexpected error %v", err)
	}

	// After the crash: the snapshot's base record and rows, and the log.
	s = openStore(t, retentionOptions(dir, time.Hour))
	d = dumpClient(t, s, client)
	checkTotal(t, d, cumKey, total, count, last)
	checkSampleIDs(t, d, tsKey, slices.Concat(idsOf(freshTS), idsOf(laterTS)))
	checkResent(t, s, []struct {
		name  string
		event event.Event
		want  resendOutcome
	}{
		{"pruned cumulative", oldCum[0], tooOld},
		{"last pruned cumulative", oldCum[pruned-1], tooOld},
		{"old cumulative not pruned", oldCum[oldEach-1], tooOld},
		{"pruned time series", oldTS[0], tooOld},
		{"old time series not pruned", oldTS[oldEach-1], tooOld},
		{"fresh cumulative from the snapshot", freshCum[0], isDuplicate},
		{"fresh time series from the snapshot", freshTS[3], isDuplicate},
		{"fresh cumulative from the log", laterCum[2], isDuplicate},
		{"fresh time series from the log", laterTS[0], isDuplicate},
	})
	d = dumpClient(t, s, client)
	checkTotal(t, d, cumKey, total, count, last)
	checkSampleIDs(t, d, tsKey, slices.Concat(idsOf(freshTS), idsOf(laterTS)))
	if dropped, err := s.Prune(ctx, time.Now()); err != nil || dropped != 0 {
		t.Errorf("Prune after the restart: got %d, %v; want 0 dropped, no error (no full chunk is old)", dropped, err)
	}
	closeStore(t, s)

	// Through a second snapshot, made by a store that loaded the base.
	s = openStore(t, retentionOptions(dir, time.Hour))
	d = dumpClient(t, s, client)
	checkTotal(t, d, cumKey, total, count, last)
	checkSampleIDs(t, d, tsKey, slices.Concat(idsOf(freshTS), idsOf(laterTS)))
	checkResent(t, s, []struct {
		name  string
		event event.Event
		want  resendOutcome
	}{
		{"pruned cumulative", oldCum[1], tooOld},
		{"fresh cumulative", freshCum[1], isDuplicate},
		{"later time series", laterTS[1], isDuplicate},
	})
	closeStore(t, s)
}

// TestRetentionReplaySkipsPruned checks that, after a snapshot of a
// pruned store and a crash, replay counts every accepted event once:
// the count of a CUMULATIVE key is the number of distinct events it was
// ever sent, through further prunes, snapshots and crashes.
func TestRetentionReplaySkipsPruned(t *testing.T) {
	const (
		client  = "counted"
		key     = "requests"
		oldN    = 2100 // two full chunks of them are pruned
		pruned  = 2048
		freshN  = 2
		laterN  = 5
		laterN2 = 3
	)
	ends := []struct {
		name string
		end  func(*testing.T, *durable.Store)
	}{
		{"close", closeStore},
		{"crash", func(t *testing.T, s *durable.Store) {
			t.Helper()
			if err := s.Discard(); err != nil {
				t.Fatalf("Discard: unexpected error %v", err)
			}
		}},
	}
	for _, end := range ends {
		t.Run("old events stored, then "+end.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			old := event.FromTime(time.Now().Add(-2 * time.Hour))
			one := func(int) float64 { return 1 }
			half := func(int) float64 { return 0.5 }

			// check checks the key's count, and the client's, against
			// the events accepted so far.
			check := func(t *testing.T, s *durable.Store, accepted int64, total float64) {
				t.Helper()
				s0 := seriesOf(t, dumpClient(t, s, client), key, event.Cumulative)
				if s0.Count != accepted || s0.Total != total {
					t.Errorf("key %q: got count %d, total %v; want %d, %v (the events accepted)", key, s0.Count, s0.Total, accepted, total)
				}
				infos, err := s.Clients(ctx)
				if err != nil {
					t.Fatalf("Clients: unexpected error %v", err)
				}
				if want := []event.ClientInfo{{ClientID: client, Events: accepted}}; !slices.Equal(infos, want) {
					t.Errorf("Clients: got %v, want %v", infos, want)
				}
			}

			s := openStore(t, retentionOptions(dir, 0))
			applyAllAccepted(t, s, makeEvents(client, "old", event.Cumulative, key, old, oldN, one))
			applyAllAccepted(t, s, makeEvents(client, "fresh", event.Cumulative, key, event.FromTime(time.Now()), freshN, half))
			end.end(t, s)

			s = openStore(t, retentionOptions(dir, time.Hour))
			dropped, err := s.Prune(ctx, time.Now())
			if err != nil || dropped != pruned {
				t.Fatalf("Prune: got %d, %v; want %d dropped, no error", dropped, err, pruned)
			}
			if err := s.Snapshot(ctx); err != nil {
				t.Fatalf("Snapshot: unexpected error %v", err)
			}
			applyAllAccepted(t, s, makeEvents(client, "later", event.Cumulative, key, event.FromTime(time.Now()), laterN, half))
			accepted := int64(oldN + freshN + laterN)
			total := oldN + 0.5*(freshN+laterN)
			check(t, s, accepted, total)
			if err := s.Discard(); err != nil {
				t.Fatalf("Discard: unexpected error %v", err)
			}

			s = openStore(t, retentionOptions(dir, time.Hour))
			check(t, s, accepted, total)
			if dropped, err := s.Prune(ctx, time.Now()); err != nil || dropped != 0 {
				t.Errorf("Prune again: got %d, %v; want 0 dropped, no error", dropped, err)
			}
			if err := s.Snapshot(ctx); err != nil {
				t.Fatalf("Snapshot: unexpected error %v", err)
			}
			applyAllAccepted(t, s, makeEvents(client, "later2", event.Cumulative, key, event.FromTime(time.Now()), laterN2, half))
			accepted += laterN2
			total += 0.5 * laterN2
			if err := s.Discard(); err != nil {
				t.Fatalf("Discard: unexpected error %v", err)
			}

			s = openStore(t, retentionOptions(dir, time.Hour))
			check(t, s, accepted, total)
			closeStore(t, s)

			s = openStore(t, retentionOptions(dir, time.Hour))
			check(t, s, accepted, total)
			closeStore(t, s)
		})
	}
}

// TestRetentionRefusesOldEvents checks that a store with retention
// refuses an event older than it as too old, and stores nothing of it:
// not in the views, not in the dedupe index, not in the log.
func TestRetentionRefusesOldEvents(t *testing.T) {
	const known, newcomer = "known", "newcomer"
	now := time.Now()
	old := event.FromTime(now.Add(-2 * time.Hour))
	tests := []struct {
		name  string
		event event.Event
	}{
		{"cumulative of a new client", ev(newcomer, "n-1", event.Cumulative, "requests", old, 1)},
		{"time series of a new client", ev(newcomer, "n-2", event.TimeSeries, "cpu", old, 1)},
		{"cumulative of a known key", ev(known, "k-1", event.Cumulative, "requests", old, 1)},
		{"time series of a known key", ev(known, "k-2", event.TimeSeries, "cpu", old, 1)},
		{"new key of a known client", ev(known, "k-3", event.TimeSeries, "mem", old, 1)},
		{"a minute past retention", ev(known, "k-4", event.Cumulative, "requests", event.FromTime(now.Add(-time.Hour-time.Minute)), 1)},
		{"known id", ev(known, "seed-c", event.Cumulative, "requests", old, 2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			fresh := event.FromTime(time.Now())
			s := openStore(t, retentionOptions(dir, time.Hour))
			applyAllAccepted(t, s, []event.Event{
				ev(known, "seed-c", event.Cumulative, "requests", fresh, 2),
				ev(known, "seed-t", event.TimeSeries, "cpu", fresh, 3),
			})
			before := dumpClient(t, s, known)

			// checkNothingStored checks that s holds what it held before.
			checkNothingStored := func(t *testing.T, s *durable.Store) {
				t.Helper()
				if got := dumpClient(t, s, known); !reflect.DeepEqual(got, before) {
					t.Errorf("View(%q).Dump(): got %+v, want %+v as before", known, got, before)
				}
				if _, err := s.View(ctx, newcomer); !errors.Is(err, event.ErrNotFound) {
					t.Errorf("View(%q): got error %v, want %v", newcomer, err, event.ErrNotFound)
				}
				infos, err := s.Clients(ctx)
				if err != nil {
					t.Fatalf("Clients: unexpected error %v", err)
				}
				if want := []event.ClientInfo{{ClientID: known, Events: 2}}; !slices.Equal(infos, want) {
					t.Errorf("Clients: got %v, want %v", infos, want)
				}
			}

			r := applyOne(t, s, tc.event)
			if !errors.Is(r.Err, event.ErrTooOld) || r.Duplicate {
				t.Errorf("Apply(%q): got %s, want %v", tc.event.ID, outcomeOf(r), event.ErrTooOld)
			}
			checkNothingStored(t, s)
			if err := s.Discard(); err != nil {
				t.Fatalf("Discard: unexpected error %v", err)
			}

			// Nothing of it was logged either.
			s = openStore(t, retentionOptions(dir, time.Hour))
			checkNothingStored(t, s)
			// Sent again within retention, it is new unless its id was
			// taken before it was refused.
			again := tc.event
			again.Timestamp = event.FromTime(time.Now())
			r = applyOne(t, s, again)
			if tc.event.ID == "seed-c" {
				if r.Err == nil && !r.Duplicate {
					t.Errorf("Apply(%q) of a taken id: got %s, want it not taken as new", again.ID, outcomeOf(r))
				}
			} else if r.Err != nil || r.Duplicate {
				t.Errorf("Apply(%q) within retention: got %s, want accepted", again.ID, outcomeOf(r))
			}
			closeStore(t, s)
		})
	}
}

// TestRetentionTakesRecentEvents checks, against the test above, that an
// event just within retention is taken and kept across a restart.
func TestRetentionTakesRecentEvents(t *testing.T) {
	dir := t.TempDir()
	e := ev("recent", "r-1", event.TimeSeries, "cpu", event.FromTime(time.Now().Add(-59*time.Minute)), 4)
	s := openStore(t, retentionOptions(dir, time.Hour))
	if r := applyOne(t, s, e); r.Err != nil || r.Duplicate {
		t.Fatalf("Apply(%q) 59 minutes old: got %s, want accepted", e.ID, outcomeOf(r))
	}
	if err := s.Discard(); err != nil {
		t.Fatalf("Discard: unexpected error %v", err)
	}
	s = openStore(t, retentionOptions(dir, time.Hour))
	checkSampleIDs(t, dumpClient(t, s, "recent"), "cpu", []string{"r-1"})
	if r := applyOne(t, s, e); !r.Duplicate {
		t.Errorf("Apply(%q) again: got %s, want duplicate", e.ID, outcomeOf(r))
	}
	closeStore(t, s)
}

// TestRetentionReplayKeepsEventsTakenAfterSnapshot checks that replay
// leaves out only what the snapshot pruned: an event accepted after the
// snapshot, by a store that keeps events longer than the one that pruned,
// is in the log and must come back after a crash, however old it is.
func TestRetentionReplayKeepsEventsTakenAfterSnapshot(t *testing.T) {
	tests := []struct {
		name  string
		first time.Duration // retention of the store that prunes and snapshots
		later time.Duration // of the store that takes the events
	}{
		{"retention raised to three hours", time.Hour, 3 * time.Hour},
		{"retention lifted", time.Hour, 0},
		// The control: no cutoff in the snapshot, nothing left out.
		{"no retention before", 0, 3 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()

			// A store keeping an hour prunes, and its snapshot records
			// the cutoff.
			s := openStore(t, retentionOptions(dir, tc.first))
			applyAllAccepted(t, s, []event.Event{ev("other", "o-1", event.Cumulative, "requests", event.FromTime(time.Now()), 1)})
			if _, err := s.Prune(ctx, time.Now()); err != nil {
				t.Fatalf("Prune: unexpected error %v", err)
			}
			if err := s.Snapshot(ctx); err != nil {
				t.Fatalf("Snapshot: unexpected error %v", err)
			}
			closeStore(t, s)

			// A store keeping longer takes two-hour-old events, then
			// crashes before any snapshot.
			old := event.FromTime(time.Now().Add(-2 * time.Hour))
			taken := []event.Event{
				ev("late", "l-1", event.Cumulative, "requests", old, 1),
				ev("late", "l-2", event.TimeSeries, "cpu", old, 2),
			}
			s = openStore(t, retentionOptions(dir, tc.later))
			applyAllAccepted(t, s, taken)
			if err := s.Discard(); err != nil {
				t.Fatalf("Discard: unexpected error %v", err)
			}

			s = openStore(t, retentionOptions(dir, tc.later))
			defer closeStore(t, s)
			v, err := s.View(ctx, "late")
			if err != nil {
				t.Fatalf("View(%q) after the crash: got error %v, want the %d events accepted before it", "late", err, len(taken))
			}
			d := v.Dump()
			checkTotal(t, d, "requests", 1, 1, old)
			checkSampleIDs(t, d, "cpu", []string{"l-2"})
		})
	}
}
