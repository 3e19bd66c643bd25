package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestResultFigures(t *testing.T) {
	stats := func(events int64) *ServerStats { return &ServerStats{Events: events} }
	tests := []struct {
		name             string
		r                Result
		wantEPS, wantRPS float64
		wantFailed       int64
		wantCPU          time.Duration
		wantWait         float64
		wantStored       int64
		wantStoredKnown  bool
	}{
		{name: "nothing ran", r: Result{}},
		{name: "two seconds of batches",
			r:       Result{Requests: 12, OK: 10, Events: 10_000, TransportErrors: 3, Elapsed: 2 * time.Second, CPU: 5 * time.Millisecond, Connections: 4},
			wantEPS: 5000, wantRPS: 5, wantFailed: 5, wantCPU: 500},
		{name: "senders waited a tenth of their time",
			r:        Result{Elapsed: time.Second, Connections: 4, Bodies: BodyStats{SenderWait: 400 * time.Millisecond}},
			wantWait: 0.1},
		{name: "no connections counts as one",
			r:        Result{Elapsed: time.Second, Bodies: BodyStats{SenderWait: 250 * time.Millisecond}},
			wantWait: 0.25},
		{name: "stored from the stats before and after",
			r:          Result{MemBefore: stats(2500), MemAfter: stats(3400)},
			wantStored: 900, wantStoredKnown: true},
		{name: "no stats after", r: Result{MemBefore: stats(2500)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &tt.r
			if got := r.EventsPerSecond(); got != tt.wantEPS {
				t.Errorf("EventsPerSecond() = %g, want %g", got, tt.wantEPS)
			}
			if got := r.RequestsPerSecond(); got != tt.wantRPS {
				t.Errorf("RequestsPerSecond() = %g, want %g", got, tt.wantRPS)
			}
			if got := r.Failed(); got != tt.wantFailed {
				t.Errorf("Failed() = %d, want %d", got, tt.wantFailed)
			}
			if got := r.CPUPerEvent(); got != tt.wantCPU {
				t.Errorf("CPUPerEvent() = %s, want %s", got, tt.wantCPU)
			}
			if got := r.WaitFraction(); got != tt.wantWait {
				t.Errorf("WaitFraction() = %g, want %g", got, tt.wantWait)
			}
			if got, ok := r.Stored(); got != tt.wantStored || ok != tt.wantStoredKnown {
				t.Errorf("Stored() = %d, %v; want %d, %v", got, ok, tt.wantStored, tt.wantStoredKnown)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	round := func(target string, n int, eps float64, stopped string) *Result {
		events := int64(eps)
		return &Result{Target: target, Round: n, Events: events, OK: events / 100, Elapsed: time.Second, StoppedBy: stopped,
			CPU: time.Duration(events) * 2, Latency: latencies(time.Duration(n) * time.Millisecond)}
	}
	tests := []struct {
		name    string
		results []*Result
		want    []Summary
	}{
		{name: "nothing", want: []Summary{}},
		{name: "medians by target, in the order first run",
			results: []*Result{
				round("montool", 1, 3000, "duration"), round("floor", 1, 100, "duration"),
				round("montool", 2, 1000, "duration"), round("floor", 2, 300, "duration"),
				round("montool", 3, 2000, "duration"), round("floor", 3, 200, "duration"),
			},
			want: []Summary{
				{Target: "montool", Rounds: 3, EventsPerSecond: 2000, RequestsPerSecond: 20, P50: 2 * time.Millisecond, P99: 2 * time.Millisecond, CPUPerEvent: 2},
				{Target: "floor", Rounds: 3, EventsPerSecond: 200, RequestsPerSecond: 2, P50: 2 * time.Millisecond, P99: 2 * time.Millisecond, CPUPerEvent: 2},
			}},
		{name: "an interrupted round is left out when there are others",
			results: []*Result{round("montool", 1, 3000, "events"), round("montool", 2, 1000, "events"), round("montool", 3, 10, "interrupted")},
			want:    []Summary{{Target: "montool", Rounds: 2, EventsPerSecond: 2000, RequestsPerSecond: 20, P50: 1500 * time.Microsecond, P99: 1500 * time.Microsecond, CPUPerEvent: 2}}},
		{name: "but counts when it is the only one",
			results: []*Result{round("montool", 1, 10, "interrupted")},
			want:    []Summary{{Target: "montool", Rounds: 1, EventsPerSecond: 10, RequestsPerSecond: 0, P50: time.Millisecond, P99: time.Millisecond, CPUPerEvent: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.results)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d summaries, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("summary %d\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// freshMontool returns a server whose every round starts a fresh montool
// server on 127.0.0.1, as bench --in-process does, and counts the starts
// and stops.
func freshMontool(t *testing.T, name string, starts, stops *int, stopErr error) Server {
	t.Helper()
	return Server{Target: Target{Name: name, Stats: true}, Start: func(context.Context) (string, func() error, error) {
		*starts++
		url, _ := newMontool(t)
		return url, func() error { *stops++; return stopErr }, nil
	}}
}

func TestRounds(t *testing.T) {
	f := newFloor(t, FloorDecode)
	floor := Server{Target: Target{Name: "floor", NoPreload: true}, Start: func(context.Context) (string, func() error, error) {
		return f.URL(), func() error { return nil }, nil
	}}
	tests := []struct {
		name      string
		rounds    int
		durable   bool  // a second montool server, as --compare-durable
		stopErr   error // what stopping montool returns
		cancelAt  int   // cancel the context after this many results; 0 for never
		wantOrder string
		wantErr   string
	}{
		{name: "montool and the floor alternate", rounds: 2, wantOrder: "1 montool, 1 floor, 2 montool, 2 floor"},
		{name: "three servers take turns", rounds: 2, durable: true, wantOrder: "1 montool, 1 durable, 1 floor, 2 montool, 2 durable, 2 floor"},
		{name: "an interrupt stops between runs, with no error", rounds: 3, cancelAt: 3, wantOrder: "1 montool, 1 floor, 2 montool"},
		{name: "a server that fails to stop ends the rounds", rounds: 2, stopErr: errors.New("port still bound"),
			wantOrder: "", wantErr: "stop the montool server: port still bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var starts, stops, dStarts, dStops int
			servers := []Server{freshMontool(t, "montool", &starts, &stops, tt.stopErr)}
			if tt.durable {
				servers = append(servers, freshMontool(t, "durable", &dStarts, &dStops, nil))
			}
			servers = append(servers, floor)
			var done []string
			results, err := Rounds(ctx, smallConfig(300, 50), tt.rounds, servers, func(r *Result) {
				done = append(done, r.Target)
				if len(done) == tt.cancelAt {
					cancel()
				}
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, r := range results {
				order = append(order, fmt.Sprintf("%d %s", r.Round, r.Target))
				if r.Events != 300 || r.Failed() != 0 {
					t.Errorf("round %d %s: %d events, %d failed; want 300, none", r.Round, r.Target, r.Events, r.Failed())
				}
			}
			if got := strings.Join(order, ", "); got != tt.wantOrder {
				t.Errorf("rounds run %q, want %q", got, tt.wantOrder)
			}
			if len(done) != len(results) {
				t.Errorf("done called %d times for %d results", len(done), len(results))
			}
			if starts != stops || dStarts != dStops {
				t.Errorf("montool started %d times, stopped %d; durable %d and %d: want every start stopped", starts, stops, dStarts, dStops)
			}
		})
	}
}
