package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// exportClients are the clients fillForExport fills.
var exportClients = []string{"client-a", "7d444840-9dc0-11d1-b245-5ffdce74fad2", "client-c"}

// fillForExport fills m with three clients, CUMULATIVE and TIME-SERIES
// keys, UUID and other ids, out-of-order timestamps and one series of
// 2,500 events, and returns the ids of that series in order of arrival.
func fillForExport(t *testing.T, m *store.Memory) []string {
	t.Helper()
	const big = 2500
	a, b, c := exportClients[0], exportClients[1], exportClients[2]
	uuids := eventIDs(big)
	cpuIDs := make([]string, big)
	var events []event.Event
	for i := range big {
		cpuIDs[i] = uuids[i]
		if i%3 == 0 {
			cpuIDs[i] = fmt.Sprintf("cpu-%d", i)
		}
		// 1,000 distinct timestamps out of order: ties too.
		events = append(events, timeSeries(a, cpuIDs[i], "cpu", sec(int64(i*37%1000)), float64(i)/8))
	}
	for i := range 10 {
		events = append(events, cumulative(a, fmt.Sprintf("req-%d", i), "requests", sec(int64(10-i)), 0.1))
	}
	for i := range 5 {
		events = append(events, timeSeries(b, fmt.Sprintf("mem-%d", i), "mem", sec(int64(i%2)), float64(100+i)))
	}
	for i := range 3 {
		events = append(events, cumulative(b, uuids[i], "bytes", sec(int64(3-i)), 2.5))
	}
	events = append(events, cumulative(c, "only", "errors", sec(0), -4))
	applyOK(t, m, events...)
	// Rejected events leave nothing to export.
	results := apply(t, m,
		timeSeries(a, cpuIDs[0], "cpu", sec(0), 0),  // duplicate
		timeSeries(a, cpuIDs[1], "cpu", sec(0), 99), // conflict
		timeSeries(b, "mem-9", "bytes", sec(0), 1),  // type conflict
		cumulative(c, "only", "errors", sec(0), -4), // duplicate
	)
	checkResults(t, results, []outcome{duplicate, conflict(event.FieldEventID), conflict(event.FieldType), duplicate})
	return cpuIDs
}

func TestExportRebuildsStore(t *testing.T) {
	ctx := context.Background()
	src := storetest.NewMemory(t, store.Policy{})
	cpuIDs := fillForExport(t, src)

	dst := storetest.NewMemory(t, store.Policy{})
	arrival := make(map[string][]string) // client and key → ids, as exported
	var (
		series []string // client and key of each batch, when it changes
		runs   []string // client of each batch, when it changes
		total  int
	)
	err := src.Export(ctx, func(events []event.Event) error {
		if len(events) == 0 || len(events) > 1024 {
			t.Errorf("Export gave a batch of %d events, want 1 to 1,024", len(events))
		}
		first := events[0]
		sk := first.ClientID + "/" + first.Key
		for _, e := range events {
			if e.ClientID != first.ClientID || e.Key != first.Key {
				t.Errorf("Export gave a batch that mixes series: %s/%s and %s", e.ClientID, e.Key, sk)
			}
			arrival[sk] = append(arrival[sk], strings.Clone(e.ID))
		}
		if len(series) == 0 || series[len(series)-1] != sk {
			series = append(series, sk)
		}
		if len(runs) == 0 || runs[len(runs)-1] != first.ClientID {
			runs = append(runs, strings.Clone(first.ClientID))
		}
		total += len(events)
		results, err := dst.Apply(ctx, events)
		if err != nil {
			return err
		}
		for i, r := range results {
			if r.Err != nil || r.Duplicate {
				t.Errorf("Apply of exported event %s/%s %q: got %+v, want accepted", events[i].ClientID, events[i].Key, events[i].ID, r)
			}
		}
		return nil
	}, noBase(t))
	if err != nil {
		t.Fatalf("Export: unexpected error %v", err)
	}

	// Client by client, series by series: none comes back after another began.
	if got := len(runs); got != len(exportClients) {
		t.Errorf("Export: the client changed %d times between batches (%v), want %d: one run per client", got, runs, len(exportClients))
	}
	if got, want := len(series), 5; got != want {
		t.Errorf("Export: the series changed %d times between batches (%v), want %d: one run per series", got, series, want)
	}
	if want := 2500 + 10 + 5 + 3 + 1; total != want {
		t.Errorf("Export gave %d events, want %d", total, want)
	}
	if got := arrival["client-a/cpu"]; !slices.Equal(got, cpuIDs) {
		t.Errorf("Export of client-a/cpu: ids not in order of arrival (got %d ids, want %d)", len(got), len(cpuIDs))
	}
	if got, want := arrival[exportClients[1]+"/mem"], []string{"mem-0", "mem-1", "mem-2", "mem-3", "mem-4"}; !slices.Equal(got, want) {
		t.Errorf("Export of mem: got ids %v, want %v", got, want)
	}

	checkClients(t, dst, clients(t, src))
	for _, c := range exportClients {
		checkSeries(t, c, dump(t, dst, c).Series, dump(t, src, c).Series)
	}
	// The dedupe index came along with the rows.
	checkResults(t, apply(t, dst,
		timeSeries("client-a", cpuIDs[0], "cpu", sec(0), 0),
		timeSeries("client-a", cpuIDs[2499], "cpu", sec(int64(2499*37%1000)), 2499.0/8),
		timeSeries("client-a", cpuIDs[1], "cpu", sec(0), 99),
	), []outcome{duplicate, duplicate, conflict(event.FieldEventID)})
}

// noBase is an Export callback for a store without retention, where no key
// holds a total beyond its rows.
func noBase(t *testing.T) func(*store.Base) error {
	return func(b *store.Base) error {
		t.Errorf("Export gave a key total beyond its rows, %s/%s, from a store without retention", b.ClientID, b.Key)
		return nil
	}
}

func TestExportStops(t *testing.T) {
	errStop := errors.New("stop here")
	src := storetest.NewMemory(t, store.Policy{})
	fillForExport(t, src)
	batches := 0
	if err := src.Export(context.Background(), func([]event.Event) error { batches++; return nil }, noBase(t)); err != nil {
		t.Fatalf("Export: unexpected error %v", err)
	}

	tests := []struct {
		name string
		// fn is the function given to Export; cancel cancels its context.
		fn         func(cancel context.CancelFunc) error
		cancelling bool // the context is cancelled before Export
		wantErr    error
		maxCalls   int
	}{
		{
			name:     "at the first error of fn",
			fn:       func(context.CancelFunc) error { return errStop },
			wantErr:  errStop,
			maxCalls: 1,
		},
		{
			name:       "with a cancelled context",
			fn:         func(context.CancelFunc) error { return nil },
			cancelling: true,
			wantErr:    context.Canceled,
			maxCalls:   0,
		},
		{
			name: "once the context is cancelled meanwhile",
			fn: func(cancel context.CancelFunc) error {
				cancel()
				return nil
			},
			wantErr: context.Canceled,
			// It checks the context between clients: at most the batches
			// of the first client, client-a having the most, 4.
			maxCalls: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelling {
				cancel()
			}
			calls := 0
			err := src.Export(ctx, func([]event.Event) error {
				calls++
				return tt.fn(cancel)
			}, noBase(t))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Export: got error %v, want %v", err, tt.wantErr)
			}
			if calls > tt.maxCalls || calls >= batches {
				t.Errorf("Export called fn %d times, want at most %d (of %d batches in all)", calls, tt.maxCalls, batches)
			}
		})
	}
}
