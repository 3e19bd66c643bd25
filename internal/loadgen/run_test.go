package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

// These tests drive real servers over HTTP on 127.0.0.1.

func TestRunAgainstMontool(t *testing.T) {
	tests := []struct {
		name     string
		events   int64
		batch    int
		dups     float64
		format   Format
		gzip     bool
		wantDups int64 // ⌊events·dups⌋
	}{
		{name: "batches of new events", events: 5000, batch: 100},
		{name: "half of the events repeat earlier ones", events: 5000, batch: 100, dups: 0.5, wantDups: 2500},
		{name: "ndjson gzip with duplicates", events: 3000, batch: 250, dups: 0.25, format: NDJSON, gzip: true, wantDups: 750},
		{name: "single events with duplicates", events: 400, batch: 1, dups: 0.1, wantDups: 40},
		{name: "a last batch that is not full", events: 1050, batch: 100},
		{name: "many rounds of the templates, duplicates, a last batch not full", events: 6005, batch: 10, dups: 0.3, wantDups: 1801},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, st := newMontool(t)
			cfg := smallConfig(tt.events, tt.batch)
			cfg.Duplicates, cfg.Gzip = tt.dups, tt.gzip
			if tt.format != "" {
				cfg.Format = tt.format
			}
			res, err := Run(t.Context(), cfg, Target{Name: "montool", URL: url, Stats: true})
			if err != nil {
				t.Fatal(err)
			}
			wantRequests := (tt.events + int64(tt.batch) - 1) / int64(tt.batch)
			if res.OK != wantRequests || res.Requests != wantRequests || res.Failed() != 0 {
				t.Errorf("requests: %d answered, %d 2xx, %d failed (%v, first failure %q); want %d, all 2xx",
					res.Requests, res.OK, res.Failed(), res.Statuses, res.FirstFailure, wantRequests)
			}
			if res.Events != tt.events {
				t.Errorf("Events = %d, want %d", res.Events, tt.events)
			}
			if res.Duplicates != tt.wantDups {
				t.Errorf("Duplicates = %d, want %d", res.Duplicates, tt.wantDups)
			}
			wantStored := tt.events - tt.wantDups
			if got := storedEvents(t, st); got != wantStored {
				t.Errorf("the store holds %d events, want %d", got, wantStored)
			}
			if res.Answers.Accepted != wantStored || res.Answers.Duplicates != tt.wantDups || res.Answers.Rejected != 0 {
				t.Errorf("answers counted %+v, want %d accepted, %d duplicates, 0 rejected", res.Answers, wantStored, tt.wantDups)
			}
			if stored, ok := res.Stored(); !ok || stored != wantStored {
				t.Errorf("Stored() = %d, %v (stats error %q), want %d from /api/v1/stats", stored, ok, res.StatsError, wantStored)
			}
			// New events go round the keys of one client, then the next client.
			wantClients := min(cfg.Clients, int((wantStored+int64(cfg.Keys)-1)/int64(cfg.Keys)))
			if res.MemAfter != nil && res.MemAfter.Clients != wantClients {
				t.Errorf("the server has %d clients, want %d", res.MemAfter.Clients, wantClients)
			}
			if res.StoppedBy != "events" {
				t.Errorf("StoppedBy = %q, want events", res.StoppedBy)
			}
			if got := res.Latency.Count(); got != uint64(wantRequests) {
				t.Errorf("latencies recorded: %d, want %d", got, wantRequests)
			}
			b := res.Bodies
			if tt.gzip {
				if !b.Pregenerated || b.PreEvents != tt.events || b.PreBodies != wantRequests || b.Patched != 0 {
					t.Errorf("gzip bodies: %+v; want all %d events in %d bodies made before the clock", b, tt.events, wantRequests)
				}
			} else {
				wantPatched := max(0, tt.events-int64(b.Templates*tt.batch))
				if b.Pregenerated || b.Templates == 0 || b.Patched != wantPatched {
					t.Errorf("bodies: %+v; want templates, and %d events patched", b, wantPatched)
				}
			}
		})
	}
}

func TestRunPreload(t *testing.T) {
	url, st := newMontool(t)
	cfg := smallConfig(1000, 100)
	cfg.Preload, cfg.Duplicates = 2500, 0.1
	res, err := Run(t.Context(), cfg, Target{Name: "montool", URL: url, Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Preloaded != 2500 || res.PreloadTime <= 0 {
		t.Errorf("preloaded %d events in %s, want 2500", res.Preloaded, res.PreloadTime)
	}
	if res.Events != 1000 || res.Duplicates != 100 || res.Answers.Accepted != 900 || res.Answers.Duplicates != 100 || res.Failed() != 0 {
		t.Errorf("the timed part: %d events, %d duplicates, answers %+v, %d failed; want 1000, 100, 900 accepted, none failed",
			res.Events, res.Duplicates, res.Answers, res.Failed())
	}
	if got := storedEvents(t, st); got != 3400 {
		t.Errorf("the store holds %d events, want 2500 + 900", got)
	}
	if stored, ok := res.Stored(); !ok || stored != 900 || res.MemBefore.Events != 2500 || res.MemAfter.Events != 3400 {
		t.Errorf("stats: %d events before, %d after: want 2500 and 3400 (stats error %q)", res.MemBefore.Events, res.MemAfter.Events, res.StatsError)
	}
	if res.MemAfter != nil && res.MemAfter.Clients != cfg.Clients {
		t.Errorf("the server has %d clients, want %d: the preload and the timed part share them", res.MemAfter.Clients, cfg.Clients)
	}
}

func TestRunPreloadFails(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Error(w, `{"error":{"code":"unavailable"}}`, http.StatusServiceUnavailable)
		}
	}))
	defer ts.Close()
	cfg := smallConfig(10, 10)
	cfg.Preload = 1500
	_, err := Run(t.Context(), cfg, Target{Name: "test", URL: ts.URL})
	if err == nil || !strings.Contains(err.Error(), "preload the test server: 2 of 2 requests failed; first failure: HTTP 503") {
		t.Errorf("got %v, want the preload's failure", err)
	}
}

// TestRunPacing checks the bounds a paced run keeps against a floor on
// 127.0.0.1: request k is not sent before k/Rate seconds, none due after
// the deadline is sent, and the run keeps close to its rate. The upper
// bounds on time are loose: the machine may be busy.
func TestRunPacing(t *testing.T) {
	f := newFloor(t, FloorDrop)
	tests := []struct {
		name        string
		rate        float64
		batch       int
		connections int
		duration    time.Duration
		events      int64
		wantStopped string
	}{
		{name: "200 a second for a second", rate: 200, batch: 1, connections: 4, duration: time.Second, wantStopped: "duration"},
		{name: "60 requests at 300 a second", rate: 300, batch: 1, connections: 2, events: 60, wantStopped: "events"},
		{name: "a fraction of a request a second", rate: 2.5, batch: 1, connections: 1, events: 3, wantStopped: "events"},
		{name: "batches at 50 a second", rate: 50, batch: 20, connections: 2, duration: 500 * time.Millisecond, wantStopped: "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Rate, cfg.Batch, cfg.Connections, cfg.Duration, cfg.Events = tt.rate, tt.batch, tt.connections, tt.duration, tt.events
			res, err := Run(t.Context(), cfg, Target{Name: "floor", URL: f.URL()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() != 0 || res.StoppedBy != tt.wantStopped || res.Rate != tt.rate {
				t.Errorf("%d failed, stopped by %q, rate %g; want none, %q, %g", res.Failed(), res.StoppedBy, res.Rate, tt.wantStopped, tt.rate)
			}
			if res.Events != res.OK*int64(tt.batch) {
				t.Errorf("%d events in %d requests of %d", res.Events, res.OK, tt.batch)
			}
			// The last request sent is not sent before it is due.
			if earliest := time.Duration(float64(res.Requests-1) / tt.rate * float64(time.Second)); res.Elapsed < earliest {
				t.Errorf("%d requests in %s at %g a second: the last went out before its time, %s", res.Requests, res.Elapsed, tt.rate, earliest)
			}
			if tt.events > 0 {
				want := tt.events / int64(tt.batch)
				if res.Requests != want {
					t.Errorf("%d requests, want %d", res.Requests, want)
				}
				if most := time.Duration(float64(want-1)/tt.rate*float64(time.Second)) + 2*time.Second; res.Elapsed > most {
					t.Errorf("%d requests at %g a second took %s, more than %s", want, tt.rate, res.Elapsed, most)
				}
			}
			if tt.duration > 0 {
				due := tt.rate * tt.duration.Seconds() // the requests due before the deadline
				if float64(res.Requests) > due+1 || float64(res.Requests) < 0.75*due {
					t.Errorf("%d requests in %s at %g a second, want at most %g and at least three quarters of it", res.Requests, tt.duration, tt.rate, due+1)
				}
			}
			if res.MaxLate > 5*time.Second || res.LateTaken > res.Late {
				t.Errorf("MaxLate %s, LateTaken %d of %d late", res.MaxLate, res.LateTaken, res.Late)
			}
		})
	}
}

func TestDrivePlanDue(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		rate float64
		k    int64
		want time.Duration
	}{
		{rate: 200, k: 0, want: 0},
		{rate: 200, k: 1, want: 5 * time.Millisecond},
		{rate: 200, k: 200, want: time.Second},
		{rate: 2.5, k: 3, want: 1200 * time.Millisecond},
		{rate: 1e7, k: 1e7, want: time.Second},
	}
	for _, tt := range tests {
		p := drivePlan{start: start, rate: tt.rate}
		if got := p.due(tt.k).Sub(start); got != tt.want {
			t.Errorf("rate %g: body %d due after %s, want %s", tt.rate, tt.k, got, tt.want)
		}
	}
}

func TestRunCountsLateRequests(t *testing.T) {
	// One connection to a server that takes 20 ms an answer cannot keep
	// up with 200 requests a second: the requests go out late, and are
	// counted so.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			time.Sleep(20 * time.Millisecond) // a slow server
		}
	}))
	defer ts.Close()
	cfg := smallConfig(30, 1)
	cfg.Connections, cfg.Rate = 1, 200
	res, err := Run(t.Context(), cfg, Target{Name: "slow", URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 30 || res.Late < 25 || res.MaxLate < 100*time.Millisecond {
		t.Errorf("%d requests, %d late, the latest by %s; want 30, nearly all late, by over 100ms", res.Requests, res.Late, res.MaxLate)
	}
}

func TestRunForADuration(t *testing.T) {
	f := newFloor(t, FloorDecode)
	cfg := DefaultConfig()
	cfg.Batch, cfg.Connections, cfg.Duration = 20, 2, 300*time.Millisecond
	var progress atomic.Int64
	cfg.Progress = func(Progress) { progress.Add(1) }
	start := time.Now()
	res, err := Run(t.Context(), cfg, Target{Name: "floor", URL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a 300ms run took %s", took)
	}
	if res.StoppedBy != "duration" {
		t.Errorf("StoppedBy = %q, want duration", res.StoppedBy)
	}
	if res.Elapsed < 300*time.Millisecond || res.Events == 0 || res.Failed() != 0 {
		t.Errorf("Elapsed %s, Events %d, Failed %d: want at least 300ms, some events, no failure", res.Elapsed, res.Events, res.Failed())
	}
	if res.Answers.Accepted != res.Events {
		t.Errorf("the floor accepted %d events, the run counted %d", res.Answers.Accepted, res.Events)
	}
	if res.MemBefore != nil || res.StatsError != "" {
		t.Errorf("stats read from a target without them: %+v %q", res.MemBefore, res.StatsError)
	}
	if b := res.Bodies; b.Templates != templateCount(cfg) || b.Pregenerated {
		t.Errorf("bodies %+v, want %d templates", b, templateCount(cfg))
	}
}

func TestRunInterrupted(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(t.Context())
	var posts atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 3 {
			once.Do(cancel) // the interrupt comes while requests are in flight
		}
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(50 * time.Millisecond):
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer ts.Close()
	defer close(release)
	cfg := DefaultConfig()
	cfg.Batch, cfg.Connections, cfg.Duration = 10, 2, time.Minute
	start := time.Now()
	res, err := Run(ctx, cfg, Target{Name: "slow", URL: ts.URL})
	if err != nil {
		t.Fatalf("an interrupted run returned an error: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("an interrupted run took %s to return", took)
	}
	if res.StoppedBy != "interrupted" {
		t.Errorf("StoppedBy = %q, want interrupted", res.StoppedBy)
	}
	if res.TransportErrors != 0 {
		t.Errorf("requests cut short by the interrupt counted as %d transport errors", res.TransportErrors)
	}
}

func TestRunCountsFailures(t *testing.T) {
	var posts atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return
		}
		switch posts.Add(1) % 3 {
		case 0:
			w.WriteHeader(http.StatusAccepted)
		case 1:
			http.Error(w, `{"error":{"code":"invalid","message":"no"}}`, http.StatusBadRequest)
		case 2:
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot hijack")
				return
			}
			conn, _, _ := hj.Hijack()
			conn.Close() // no answer at all
		}
	}))
	defer ts.Close()
	cfg := smallConfig(300, 10) // 30 requests
	cfg.Connections = 1
	res, err := Run(t.Context(), cfg, Target{Name: "flaky", URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 10 || res.Statuses[400] != 10 || res.TransportErrors != 10 {
		t.Errorf("got %d 2xx, statuses %v, %d transport errors; want 10 of each", res.OK, res.Statuses, res.TransportErrors)
	}
	if res.Failed() != 20 || res.FailedEvents != 200 || res.Events != 100 {
		t.Errorf("Failed %d, FailedEvents %d, Events %d; want 20, 200, 100", res.Failed(), res.FailedEvents, res.Events)
	}
	if !strings.Contains(res.FirstFailure, "HTTP 400") {
		t.Errorf("FirstFailure = %q, want the 400 answer", res.FirstFailure)
	}
}

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		cfg     func(*Config)
		wantErr string
	}{
		{name: "a host off this machine", url: "http://192.0.2.1:8080", wantErr: "loopback"},
		{name: "a name that is not localhost", url: "http://example.com", wantErr: "loopback"},
		{name: "not http", url: "ftp://127.0.0.1/", wantErr: "http://"},
		{name: "https", url: "https://127.0.0.1:8443", wantErr: "plain HTTP only"},
		{name: "not a URL", url: "http://[::1", wantErr: "server URL"},
		{name: "nothing listening", url: closedURL(t), wantErr: "cannot reach the test server"},
		{name: "a bad config", url: "http://127.0.0.1:1", cfg: func(c *Config) { c.Batch = 0 }, wantErr: "batch 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smallConfig(10, 10)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			_, err := Run(t.Context(), cfg, Target{Name: "test", URL: tt.url})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDialerRefusesOtherHosts(t *testing.T) {
	client := newHTTPClient(smallConfig(1, 1))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1:9/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Do(req)
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("got %v, want errNotLoopback", err)
	}
}

// closedURL returns the URL of a loopback server that is no longer
// listening.
func closedURL(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.NotFoundHandler())
	u := ts.URL
	ts.Close()
	return u
}

func TestRoundsAlternate(t *testing.T) {
	f := newFloor(t, FloorDecode)
	var montoolRounds int
	var order []string
	servers := []Server{
		{Target: Target{Name: "montool", Stats: true}, Start: func(context.Context) (string, func() error, error) {
			montoolRounds++
			url, _ := newMontool(t) // a fresh server each round, as bench --in-process
			return url, func() error { return nil }, nil
		}},
		{Target: Target{Name: "floor", NoPreload: true}, Start: func(context.Context) (string, func() error, error) {
			return f.URL(), func() error { return nil }, nil
		}},
	}
	cfg := smallConfig(500, 50)
	cfg.Preload = 300
	results, err := Rounds(t.Context(), cfg, 2, servers, func(r *Result) { order = append(order, r.Target) })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), "montool floor montool floor"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if montoolRounds != 2 || len(results) != 4 || results[2].Round != 2 {
		t.Fatalf("montool started %d times, %d results; want 2 and 4", montoolRounds, len(results))
	}
	for _, r := range results {
		if r.Events != 500 || r.Failed() != 0 {
			t.Errorf("round %d %s: %d events, %d failed", r.Round, r.Target, r.Events, r.Failed())
		}
		if want := map[string]int64{"montool": 300, "floor": 0}[r.Target]; r.Preloaded != want {
			t.Errorf("round %d %s: %d events preloaded, want %d", r.Round, r.Target, r.Preloaded, want)
		}
	}
	sums := Summarize(results)
	if len(sums) != 2 || sums[0].Target != "montool" || sums[1].Target != "floor" || sums[0].Rounds != 2 {
		t.Fatalf("summaries %+v", sums)
	}
	if want := Median([]float64{results[0].EventsPerSecond(), results[2].EventsPerSecond()}); sums[0].EventsPerSecond != want {
		t.Errorf("median events/s %g, want %g", sums[0].EventsPerSecond, want)
	}

	if _, err := Rounds(t.Context(), cfg, 0, servers, nil); err == nil {
		t.Error("0 rounds: no error")
	}
	failing := []Server{{Target: Target{Name: "broken"}, Start: func(context.Context) (string, func() error, error) {
		return "", nil, errors.New("no port")
	}}}
	if _, err := Rounds(t.Context(), cfg, 1, failing, nil); err == nil || !strings.Contains(err.Error(), "start the broken server: no port") {
		t.Errorf("got %v, want the start error", err)
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		in     string
		want   event.Summary
		wantOK bool
	}{
		{`{"accepted":1000,"duplicates":0,"rejected":0,"errors":[]}`, event.Summary{Accepted: 1000, Duplicates: 0, Rejected: 0}, true},
		{`{"accepted":0,"duplicates":1,"rejected":0,"errors":[]}`, event.Summary{Accepted: 0, Duplicates: 1, Rejected: 0}, true},
		{`{"accepted":3,"duplicates":2,"rejected":1,"errors":[{"index":1}],"error":{"code":"invalid"}}`, event.Summary{Accepted: 3, Duplicates: 2, Rejected: 1}, true},
		{`{ "accepted": 7, "duplicates": 1, "rejected": 2 }`, event.Summary{Accepted: 7, Duplicates: 1, Rejected: 2}, true}, // through encoding/json
		{`{"rejected":2,"accepted":7}`, event.Summary{Accepted: 7, Duplicates: 0, Rejected: 2}, true},
		{`{"accepted":}`, event.Summary{}, false},
		{`{"error":{"code":"too_large"}}`, event.Summary{}, true}, // JSON without counts: zeros
		{`not json`, event.Summary{}, false},
		{``, event.Summary{}, false},
	}
	for _, tt := range tests {
		got, ok := parseAnswer([]byte(tt.in))
		counts := func(s event.Summary) [3]int { return [3]int{s.Accepted, s.Duplicates, s.Rejected} }
		if counts(got) != counts(tt.want) || ok != tt.wantOK {
			t.Errorf("parseAnswer(%s) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestRunSendsToken checks that every request carries the token, when one
// is set, and none otherwise.
func TestRunSendsToken(t *testing.T) {
	for _, token := range []string{"", "mt_secret"} {
		t.Run("token "+token, func(t *testing.T) {
			var with, without atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Authorization"); got == "Bearer "+token && token != "" {
					with.Add(1)
				} else if got == "" {
					without.Add(1)
				} else {
					t.Errorf("Authorization = %q, want %q", got, "Bearer "+token)
				}
				if r.Method == http.MethodPost {
					w.WriteHeader(http.StatusAccepted)
				}
			}))
			defer ts.Close()
			cfg := smallConfig(30, 10)
			cfg.Token = token
			if _, err := Run(t.Context(), cfg, Target{Name: "server", URL: ts.URL}); err != nil {
				t.Fatal(err)
			}
			if token != "" && (with.Load() == 0 || without.Load() != 0) {
				t.Errorf("%d requests with the token, %d without; want all with it", with.Load(), without.Load())
			}
			if token == "" && (without.Load() == 0 || with.Load() != 0) {
				t.Errorf("%d requests with a token, %d without; want none with one", with.Load(), without.Load())
			}
		})
	}
}
