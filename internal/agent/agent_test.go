package agent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// waitLimit bounds every wait of these tests for something to happen.
const waitLimit = 10 * time.Second

// realHandler returns the handler of a real montool server over a new store.
func realHandler(t *testing.T) http.Handler {
	t.Helper()
	srv, err := server.New(server.DefaultConfig(), storetest.NewMemory(t, store.Policy{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return srv.Handler()
}

// startServer serves h on loopback until the test ends.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// newClient returns a client of the server at url.
func newClient(t *testing.T, url string) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(url, &http.Client{Timeout: waitLimit})
	if err != nil {
		t.Fatalf("apiclient.New(%q): %v", url, err)
	}
	return c
}

// closedURL returns the URL of a server that has been shut down.
func closedURL(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	return url
}

// gaugeKey and counterKey are the keys of most tests.
var (
	gaugeKey   = agent.KeySpec{Name: "cpu_usage_percent", Type: event.TimeSeries, Min: 0, Max: 100}
	counterKey = agent.KeySpec{Name: "http_requests_total", Type: event.Cumulative, Min: 1, Max: 50, Integer: true}
)

// testConfig returns a valid, fast configuration of one agent.
func testConfig(keys ...agent.KeySpec) agent.Config {
	if len(keys) == 0 {
		keys = []agent.KeySpec{gaugeKey, counterKey}
	}
	return agent.Config{
		Count:          1,
		Rate:           50,
		Batch:          1,
		FlushInterval:  time.Second,
		Keys:           keys,
		MinBackoff:     5 * time.Millisecond,
		MaxBackoff:     20 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
	}
}

// newFleet makes a fleet of cfg sending to url.
func newFleet(t *testing.T, cfg agent.Config, url string) *agent.Fleet {
	t.Helper()
	f, err := agent.NewFleet(cfg, newClient(t, url))
	if err != nil {
		t.Fatalf("NewFleet: %v", err)
	}
	return f
}

// runToEnd runs a fleet with a Duration and returns Run's error; it fails
// the test if Run does not stop by itself.
func runToEnd(t *testing.T, f *agent.Fleet) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- f.Run(t.Context()) }()
	select {
	case err := <-res:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("Run did not stop by itself within %s", waitLimit)
		return nil
	}
}

// runUntil runs a fleet until done is closed, then cancels its context and
// returns Run's error.
func runUntil(t *testing.T, f *agent.Fleet, done <-chan struct{}) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- f.Run(ctx) }()
	select {
	case <-done:
	case err := <-res:
		t.Fatalf("Run returned %v before the context was cancelled", err)
	case <-time.After(waitLimit):
		t.Errorf("the server did not see what the test waits for within %s", waitLimit)
	}
	cancel()
	select {
	case err := <-res:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return within %s of the context being cancelled", waitLimit)
		return nil
	}
}

// checkStatsAddUp checks that every event sent is counted exactly once.
func checkStatsAddUp(t *testing.T, s agent.Stats) {
	t.Helper()
	if s.Sent != s.Accepted+s.Duplicates+s.Rejected+s.Errors {
		t.Errorf("agent %s: sent %d != accepted %d + duplicates %d + rejected %d + errors %d",
			s.ClientID, s.Sent, s.Accepted, s.Duplicates, s.Rejected, s.Errors)
	}
}

// dumpOf returns the server's dump of one client.
func dumpOf(t *testing.T, c *apiclient.Client, clientID string) *event.Dump {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	d, err := c.Dump(ctx, clientID)
	if err != nil {
		t.Fatalf("Dump(%s): %v", clientID, err)
	}
	return d
}

// checkDump checks that d holds exactly wantEvents events (samples plus
// cumulative counts), only under keys, each with its type and values in range.
func checkDump(t *testing.T, d *event.Dump, keys []agent.KeySpec, wantEvents int64) {
	t.Helper()
	specs := make(map[string]agent.KeySpec, len(keys))
	for _, k := range keys {
		specs[k.Name] = k
	}
	var n int64
	for _, s := range d.Series {
		k, ok := specs[s.Key]
		if !ok {
			t.Errorf("client %s: key %q is not configured", d.ClientID, s.Key)
			continue
		}
		if s.Type != k.Type {
			t.Errorf("client %s: key %q has type %v, want %v", d.ClientID, s.Key, s.Type, k.Type)
			continue
		}
		switch s.Type {
		case event.TimeSeries:
			n += int64(len(s.Samples))
			var outside, fractional []float64
			for _, smp := range s.Samples {
				if smp.Value < k.Min || smp.Value > k.Max {
					outside = append(outside, smp.Value)
				}
				if k.Integer && smp.Value != math.Trunc(smp.Value) {
					fractional = append(fractional, smp.Value)
				}
			}
			if len(outside) > 0 {
				t.Errorf("client %s: key %q: %d of %d samples are outside [%g, %g]: %v", d.ClientID, s.Key, len(outside), len(s.Samples), k.Min, k.Max, outside)
			}
			if len(fractional) > 0 {
				t.Errorf("client %s: key %q: %d of %d samples are not whole numbers: %v", d.ClientID, s.Key, len(fractional), len(s.Samples), fractional)
			}
		case event.Cumulative:
			n += s.Count
			lo, hi := float64(s.Count)*k.Min, float64(s.Count)*k.Max
			if s.Total < lo || s.Total > hi {
				t.Errorf("client %s: key %q: total %g of %d increments is outside [%g, %g]", d.ClientID, s.Key, s.Total, s.Count, lo, hi)
			}
			if k.Integer && s.Total != math.Trunc(s.Total) {
				t.Errorf("client %s: key %q: total %g is not a whole number", d.ClientID, s.Key, s.Total)
			}
		}
	}
	if n != wantEvents {
		t.Errorf("client %s: dump holds %d events, want %d", d.ClientID, n, wantEvents)
	}
}

// proxy stands in front of a real handler. Each POST of events is numbered
// from 1; script may answer it itself (and return true) or leave it to next.
// done is closed once doneAfter POSTs have been answered. Once serve has
// named a fleet, POSTs from any other client (a stray agent of another test
// that still knows this port) are refused and not counted.
type proxy struct {
	next      http.Handler
	script    func(n int64, w http.ResponseWriter, r *http.Request) bool
	doneAfter int64
	done      chan struct{}

	posts    atomic.Int64
	answered atomic.Int64
	once     sync.Once

	mu    sync.Mutex
	fleet map[string]bool // client ids of the agents under test
	seen  []postSeen      // each POST, by number - 1
}

// postSeen is what the proxy saw of one POST of events.
type postSeen struct {
	at       time.Time
	clientID string   // of the first event
	ids      []string // the event ids, in order
	gzip     bool     // the body came with Content-Encoding: gzip
}

// readPost reads the events of a POST body: one event or a batch, plain or
// gzip. What it cannot read leaves the fields empty.
func readPost(r *http.Request, body []byte) postSeen {
	ps := postSeen{at: time.Now(), gzip: strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")}
	if ps.gzip {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return ps
		}
		if body, err = io.ReadAll(zr); err != nil {
			return ps
		}
	}
	type ids struct {
		ClientID string `json:"client_id"`
		ID       string `json:"event_id"`
	}
	var events []ids
	if json.Unmarshal(body, &events) != nil {
		var e ids
		json.Unmarshal(body, &e)
		events = []ids{e}
	}
	for _, e := range events {
		ps.ids = append(ps.ids, e.ID)
	}
	if len(events) > 0 {
		ps.clientID = events[0].ClientID
	}
	return ps
}

func newProxy(next http.Handler, doneAfter int64, script func(n int64, w http.ResponseWriter, r *http.Request) bool) *proxy {
	return &proxy{next: next, script: script, doneAfter: doneAfter, done: make(chan struct{})}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" {
		p.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	ps := readPost(r, body)
	p.mu.Lock()
	if p.fleet != nil && !p.fleet[ps.clientID] {
		p.mu.Unlock()
		http.Error(w, "not an agent of this test", http.StatusForbidden)
		return
	}
	n := p.posts.Add(1)
	p.seen = append(p.seen, ps)
	p.mu.Unlock()

	if p.script == nil || !p.script(n, w, r) {
		p.next.ServeHTTP(w, r)
	}
	if p.answered.Add(1) >= p.doneAfter {
		p.once.Do(func() { close(p.done) })
	}
}

// serve makes p count only the POSTs of the agents of f.
func (p *proxy) serve(f *agent.Fleet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fleet = make(map[string]bool)
	for _, a := range f.Agents() {
		p.fleet[a.ClientID()] = true
	}
}

// post returns the arrival time and the first event id of POST number n
// (from 1).
func (p *proxy) post(t *testing.T, n int) (time.Time, string) {
	t.Helper()
	ps := p.postsSeen()
	if n > len(ps) {
		t.Fatalf("the server saw %d POSTs, want at least %d", len(ps), n)
	}
	if len(ps[n-1].ids) == 0 {
		return ps[n-1].at, ""
	}
	return ps[n-1].at, ps[n-1].ids[0]
}

// postsSeen returns what the proxy saw of every POST so far.
func (p *proxy) postsSeen() []postSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func TestConfigValidateRejects(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*agent.Config)
		wantMsg string // a word the error must contain
	}{
		{"count 0", func(c *agent.Config) { c.Count = 0 }, "count"},
		{"negative count", func(c *agent.Config) { c.Count = -1 }, "count"},
		{"rate 0", func(c *agent.Config) { c.Rate = 0 }, "rate"},
		{"negative rate", func(c *agent.Config) { c.Rate = -2 }, "rate"},
		{"NaN rate", func(c *agent.Config) { c.Rate = math.NaN() }, "rate"},
		{"infinite rate", func(c *agent.Config) { c.Rate = math.Inf(1) }, "rate"},
		{"negative duration", func(c *agent.Config) { c.Duration = -time.Second }, "duration"},
		{"client prefix too long", func(c *agent.Config) { c.ClientPrefix = strings.Repeat("p", 93) }, "client prefix must be at most 92 bytes, not 93"},
		{"identities not one for each agent", func(c *agent.Config) {
			c.Count, c.Identities = 2, []agent.Identity{{ClientID: "a"}}
		}, "1 identities for 2 agents"},
		{"identity with an empty client id", func(c *agent.Config) {
			c.Count, c.Identities = 2, []agent.Identity{{ClientID: "a"}, {}}
		}, "identity 2: client_id: must not be empty"},
		{"two agents of one client id", func(c *agent.Config) {
			c.Count, c.Identities = 2, []agent.Identity{{ClientID: "a"}, {ClientID: "a"}}
		}, `identity 2: client id "a" is another agent's too`},
		{"no keys", func(c *agent.Config) { c.Keys = nil }, "key"},
		{"empty key list", func(c *agent.Config) { c.Keys = []agent.KeySpec{} }, "key"},
		{"duplicate key names", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{gaugeKey, counterKey, {Name: "cpu_usage_percent", Type: event.TimeSeries, Min: 1, Max: 2}}
		}, "cpu_usage_percent"},
		{"empty key name", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "", Type: event.TimeSeries, Min: 0, Max: 1}}
		}, "event_key"},
		{"key name with a newline", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu\nload", Type: event.TimeSeries, Min: 0, Max: 1}}
		}, "event_key"},
		{"key name with a NUL", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu\x00", Type: event.TimeSeries, Min: 0, Max: 1}}
		}, "event_key"},
		{"key name not UTF-8", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu\xff", Type: event.TimeSeries, Min: 0, Max: 1}}
		}, "event_key"},
		{"key name too long", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: strings.Repeat("k", 257), Type: event.TimeSeries, Min: 0, Max: 1}}
		}, "event_key"},
		{"type 0", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Min: 0, Max: 1}}
		}, "event_type"},
		{"type 3", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Type: 3, Min: 0, Max: 1}}
		}, "event_type"},
		{"max below min", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Type: event.TimeSeries, Min: 10, Max: 5}}
		}, "max"},
		{"NaN max", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Type: event.TimeSeries, Min: 0, Max: math.NaN()}}
		}, "max"},
		{"infinite max", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Type: event.Cumulative, Min: 0, Max: math.Inf(1)}}
		}, "max"},
		{"whole key with no whole number between min and max", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "ratio_whole", Type: event.TimeSeries, Min: 0.2, Max: 0.4, Integer: true}}
		}, "ratio_whole"},
		{"NaN min", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{{Name: "cpu", Type: event.TimeSeries, Min: math.NaN(), Max: 1}}
		}, "cpu"},
		{"bad key after a good one", func(c *agent.Config) {
			c.Keys = []agent.KeySpec{gaugeKey, {Name: "late", Type: event.Cumulative, Min: 3, Max: 1}}
		}, "late"},
		{"min backoff 0", func(c *agent.Config) { c.MinBackoff = 0 }, "backoff"},
		{"negative min backoff", func(c *agent.Config) { c.MinBackoff = -time.Millisecond }, "backoff"},
		{"max backoff below min", func(c *agent.Config) {
			c.MinBackoff, c.MaxBackoff = 50*time.Millisecond, 10*time.Millisecond
		}, "backoff"},
		{"attempt timeout 0", func(c *agent.Config) { c.AttemptTimeout = 0 }, "timeout"},
		{"batch 0", func(c *agent.Config) { c.Batch = 0 }, "batch"},
		{"negative batch", func(c *agent.Config) { c.Batch = -5 }, "-5"},
		{"batch over the limit", func(c *agent.Config) { c.Batch = agent.MaxBatch + 1 }, "10001"},
		{"flush interval 0", func(c *agent.Config) { c.FlushInterval = 0 }, "flush interval"},
		{"negative flush interval", func(c *agent.Config) { c.FlushInterval = -time.Second }, "flush interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil for %+v; want an error", cfg)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Validate() = %q; want it to mention %q", err, tt.wantMsg)
			}
			f, err := agent.NewFleet(cfg, newClient(t, "http://127.0.0.1:1"))
			if err == nil {
				t.Errorf("NewFleet accepted a config that Validate rejects")
			}
			if f != nil {
				t.Errorf("NewFleet returned a fleet along with error %v", err)
			}
		})
	}
}

func TestConfigValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		cfg  agent.Config
	}{
		{"DefaultConfig", agent.DefaultConfig()},
		{"test config", testConfig()},
		{"with a duration", func() agent.Config { c := testConfig(); c.Duration = time.Minute; return c }()},
		{"min equal to max", testConfig(agent.KeySpec{Name: "flat", Type: event.TimeSeries, Min: 3, Max: 3})},
		{"negative range", testConfig(agent.KeySpec{Name: "temp_celsius", Type: event.TimeSeries, Min: -40, Max: -10})},
		{"largest batch, gzip", func() agent.Config {
			c := testConfig()
			c.Batch, c.Gzip = agent.MaxBatch, true
			return c
		}()},
		{"equal backoffs", func() agent.Config {
			c := testConfig()
			c.MinBackoff, c.MaxBackoff = time.Second, time.Second
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestDefaultKeys(t *testing.T) {
	keys := agent.DefaultKeys()
	if len(keys) < 5 {
		t.Errorf("DefaultKeys has %d keys, want at least 5", len(keys))
	}
	types := map[event.Type]int{}
	names := map[string]bool{}
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			t.Errorf("key %q: Validate() = %v", k.Name, err)
		}
		if names[k.Name] {
			t.Errorf("key %q is listed twice", k.Name)
		}
		names[k.Name] = true
		types[k.Type]++
	}
	if types[event.Cumulative] == 0 {
		t.Error("DefaultKeys has no CUMULATIVE key")
	}
	if types[event.TimeSeries] == 0 {
		t.Error("DefaultKeys has no TIME-SERIES key")
	}
	if got := len(agent.DefaultConfig().Keys); got != len(keys) {
		t.Errorf("DefaultConfig has %d keys, want the %d of DefaultKeys", got, len(keys))
	}
}

func TestNewFleetClientPrefix(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.ClientPrefix = 3, "lab-"
	for i, a := range newFleet(t, cfg, "http://127.0.0.1:1").Agents() {
		id, ok := strings.CutPrefix(a.ClientID(), "lab-")
		if _, err := uuid.Parse(id); !ok || err != nil {
			t.Errorf("agent %d: client id %q, want lab- and a UUID", i, a.ClientID())
		}
	}
}

func TestNewFleetGivesDistinctUUIDs(t *testing.T) {
	cfg := testConfig()
	cfg.Count = 20
	f := newFleet(t, cfg, "http://127.0.0.1:1")
	agents := f.Agents()
	if len(agents) != 20 {
		t.Fatalf("fleet has %d agents, want 20", len(agents))
	}
	seen := map[string]bool{}
	for i, a := range agents {
		id := a.ClientID()
		u, err := uuid.Parse(id)
		if err != nil {
			t.Errorf("agent %d: client id %q is not a UUID: %v", i, id, err)
		} else if u.String() != id {
			t.Errorf("agent %d: client id %q is not in canonical form %q", i, id, u.String())
		}
		if seen[id] {
			t.Errorf("agent %d: client id %q is used twice", i, id)
		}
		seen[id] = true
		s := a.Stats()
		if s.ClientID != id {
			t.Errorf("agent %d: Stats().ClientID = %q, want %q", i, s.ClientID, id)
		}
		if s != (agent.Stats{ClientID: id}) {
			t.Errorf("agent %d: Stats() before Run = %+v, want all zero", i, s)
		}
	}
}

func TestFleetRunAgainstRealServer(t *testing.T) {
	ts := startServer(t, realHandler(t))
	keys := agent.DefaultKeys()
	cfg := testConfig(keys...)
	cfg.Count, cfg.Rate, cfg.Duration = 3, 50, 300*time.Millisecond
	f := newFleet(t, cfg, ts.URL)

	start := time.Now()
	if err := runToEnd(t, f); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("Run returned after %s, before the 300ms duration", elapsed)
	}

	c := newClient(t, ts.URL)
	for _, a := range f.Agents() {
		s := a.Stats()
		checkStatsAddUp(t, s)
		if s.Accepted <= 0 {
			t.Errorf("agent %s: accepted %d events, want some", s.ClientID, s.Accepted)
		}
		if s.Duplicates != 0 || s.Rejected != 0 || s.Errors != 0 || s.Retries != 0 {
			t.Errorf("agent %s: stats %+v; want no duplicates, rejections, errors or retries from a healthy server", s.ClientID, s)
		}
		checkDump(t, dumpOf(t, c, a.ClientID()), keys, s.Accepted)
	}

	infos, err := c.Clients(t.Context())
	if err != nil {
		t.Fatalf("Clients: %v", err)
	}
	if len(infos) != 3 {
		t.Errorf("server knows %d clients, want 3: %+v", len(infos), infos)
	}
}

// The values of a key must stay in [Min, Max] whatever bounds the key has.
func TestFleetRunValuesStayInRange(t *testing.T) {
	tests := []struct {
		name string
		key  agent.KeySpec
	}{
		{"gauge with two-decimal bounds", agent.KeySpec{Name: "load", Type: event.TimeSeries, Min: 0.25, Max: 0.75}},
		{"gauge with negative bounds", agent.KeySpec{Name: "temp", Type: event.TimeSeries, Min: -40.5, Max: -10}},
		{"flat gauge", agent.KeySpec{Name: "flat", Type: event.TimeSeries, Min: 7, Max: 7}},
		{"whole gauge", agent.KeySpec{Name: "threads", Type: event.TimeSeries, Min: 1, Max: 3, Integer: true}},
		{"counter with fractional increments", agent.KeySpec{Name: "kwh", Type: event.Cumulative, Min: 0.5, Max: 1.5}},
		{"gauge with bounds finer than 0.01", agent.KeySpec{Name: "ratio", Type: event.TimeSeries, Min: 0.001, Max: 0.004}},
		{"counter with bounds finer than 0.01", agent.KeySpec{Name: "tiny_total", Type: event.Cumulative, Min: 0.001, Max: 0.004}},
		{"whole gauge with fractional bounds", agent.KeySpec{Name: "replicas", Type: event.TimeSeries, Min: 0.5, Max: 2.5, Integer: true}},
		{"whole counter with fractional bounds", agent.KeySpec{Name: "retries_total", Type: event.Cumulative, Min: 0.5, Max: 2.5, Integer: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, realHandler(t))
			cfg := testConfig(tt.key)
			cfg.Duration = 150 * time.Millisecond
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v; the key is meant to be valid", err)
			}
			f := newFleet(t, cfg, ts.URL)
			if err := runToEnd(t, f); err != nil {
				t.Fatalf("Run: %v", err)
			}
			a := f.Agents()[0]
			s := a.Stats()
			checkStatsAddUp(t, s)
			if s.Accepted <= 0 {
				t.Fatalf("accepted %d events, want some", s.Accepted)
			}
			checkDump(t, dumpOf(t, newClient(t, ts.URL), a.ClientID()), []agent.KeySpec{tt.key}, s.Accepted)
		})
	}
}

func TestFleetRunStopsWhenContextIsCancelled(t *testing.T) {
	p := newProxy(realHandler(t), 3, nil)
	ts := startServer(t, p)
	cfg := testConfig()
	cfg.Count = 2 // Duration 0: until the context ends
	f := newFleet(t, cfg, ts.URL)
	p.serve(f)

	if err := runUntil(t, f, p.done); err != nil {
		t.Errorf("Run = %v, want nil after the context is cancelled", err)
	}
	c := newClient(t, ts.URL)
	for _, a := range f.Agents() {
		s := a.Stats()
		checkStatsAddUp(t, s)
		if s.Errors != 0 {
			t.Errorf("agent %s: %d errors, want 0", s.ClientID, s.Errors)
		}
		if s.Accepted > 0 {
			checkDump(t, dumpOf(t, c, a.ClientID()), cfg.Keys, s.Accepted)
		}
	}
}

func TestFleetRunWithCancelledContext(t *testing.T) {
	ts := startServer(t, realHandler(t))
	f := newFleet(t, testConfig(), ts.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := make(chan error, 1)
	go func() { res <- f.Run(ctx) }()
	select {
	case err := <-res:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run with a cancelled context did not return within %s", waitLimit)
	}
	if s := f.Agents()[0].Stats(); s.Sent != 0 {
		t.Errorf("stats %+v; want nothing sent with a cancelled context", s)
	}
}

func TestFleetRunFinishesRequestInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	p := newProxy(realHandler(t), 1, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			close(started)
			<-release
		}
		return false // then let the real server answer
	})
	ts := startServer(t, p)
	f := newFleet(t, testConfig(gaugeKey), ts.URL)
	p.serve(f)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- f.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(waitLimit):
		close(release)
		t.Fatalf("no request reached the server within %s", waitLimit)
	}
	cancel()
	select {
	case err := <-res:
		close(release)
		t.Fatalf("Run returned %v while a request was still in flight", err)
	case <-time.After(100 * time.Millisecond): // Run must still be waiting
	}
	close(release)
	select {
	case err := <-res:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return within %s", waitLimit)
	}
	a := f.Agents()[0]
	s := a.Stats()
	want := agent.Stats{ClientID: a.ClientID(), Sent: 1, Accepted: 1}
	if s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
	checkDump(t, dumpOf(t, newClient(t, ts.URL), a.ClientID()), []agent.KeySpec{gaugeKey}, 1)
}

func TestRetryOnServerErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
	}{
		{"503 plain text", http.StatusServiceUnavailable, "text/plain", "overloaded\n"},
		{"503 JSON error without summary", http.StatusServiceUnavailable, "application/json", `{"error":{"code":"internal","message":"try later"}}`},
		{"500 JSON error with empty summary", http.StatusInternalServerError, "application/json",
			`{"accepted":0,"duplicates":0,"rejected":0,"errors":[],"error":{"code":"internal","message":"internal server error"}}`},
		{"502 from a proxy", http.StatusBadGateway, "text/html", "<html>bad gateway</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := realHandler(t)
			// The first two POSTs fail; then two more are answered by the real server.
			p := newProxy(h, 4, func(n int64, w http.ResponseWriter, r *http.Request) bool {
				if n > 2 {
					return false
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
				return true
			})
			ts := startServer(t, p)
			f := newFleet(t, testConfig(), ts.URL)
			p.serve(f)

			if err := runUntil(t, f, p.done); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			a := f.Agents()[0]
			s := a.Stats()
			checkStatsAddUp(t, s)
			if s.Retries < 2 {
				t.Errorf("retries = %d, want at least 2", s.Retries)
			}
			if s.Errors != 0 || s.Rejected != 0 || s.Duplicates != 0 {
				t.Errorf("stats = %+v; want no errors, rejections or duplicates", s)
			}
			if s.Accepted != s.Sent {
				t.Errorf("accepted %d of %d events, want all", s.Accepted, s.Sent)
			}
			_, firstID := p.post(t, 1)
			_, secondID := p.post(t, 2)
			_, thirdID := p.post(t, 3)
			if firstID == "" || secondID != firstID || thirdID != firstID {
				t.Errorf("event ids of the first three POSTs = %q, %q, %q; want the same event retried", firstID, secondID, thirdID)
			}
			checkDump(t, dumpOf(t, newClient(t, startServer(t, h).URL), a.ClientID()), testConfig().Keys, s.Accepted)
		})
	}
}

// killAfterApply makes a script that lets the real server apply the first
// POST, then drops the connection before the answer is written.
func killAfterApply(t *testing.T, next http.Handler) func(n int64, w http.ResponseWriter, r *http.Request) bool {
	t.Helper()
	return func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n != 1 {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			t.Errorf("the real server answered the first POST with %d, want 202: %s", rec.Code, rec.Body)
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return true
		}
		conn.Close()
		return true
	}
}

func TestRetryAfterLostAnswerIsADuplicate(t *testing.T) {
	tests := []struct {
		name string
		key  agent.KeySpec
	}{
		{"TIME-SERIES", gaugeKey},
		{"CUMULATIVE", counterKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := realHandler(t)
			// POST 1 is applied but its answer lost, POST 2 is its retry, POST 3 a new event.
			p := newProxy(h, 3, killAfterApply(t, h))
			ts := startServer(t, p)
			f := newFleet(t, testConfig(tt.key), ts.URL)
			p.serve(f)

			if err := runUntil(t, f, p.done); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
			a := f.Agents()[0]
			s := a.Stats()
			checkStatsAddUp(t, s)
			if s.Duplicates != 1 {
				t.Errorf("duplicates = %d, want 1 (the retry of the event whose answer was lost)", s.Duplicates)
			}
			if s.Retries < 1 {
				t.Errorf("retries = %d, want at least 1", s.Retries)
			}
			if s.Errors != 0 || s.Rejected != 0 {
				t.Errorf("stats = %+v; want no errors or rejections", s)
			}
			if s.Accepted+s.Duplicates != s.Sent {
				t.Errorf("accepted %d + duplicates %d != sent %d", s.Accepted, s.Duplicates, s.Sent)
			}
			_, firstID := p.post(t, 1)
			_, retryID := p.post(t, 2)
			if firstID == "" || retryID != firstID {
				t.Errorf("POST 2 carries event %q, want the retry of %q", retryID, firstID)
			}

			// The server holds every event once: the first (applied, though
			// its answer was lost and its retry counted as a duplicate) and
			// the accepted ones.
			d := dumpOf(t, newClient(t, startServer(t, h).URL), a.ClientID())
			checkDump(t, d, []agent.KeySpec{tt.key}, s.Sent)
			if tt.key.Type == event.TimeSeries {
				copies := 0
				for _, series := range d.Series {
					for _, smp := range series.Samples {
						if smp.ID == firstID {
							copies++
						}
					}
				}
				if copies != 1 {
					t.Errorf("event %s is in the dump %d times, want 1", firstID, copies)
				}
			}
		})
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	h := realHandler(t)
	p := newProxy(h, 2, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n != 1 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"code":"rate_limited","message":"slow down"}}`)
		return true
	})
	ts := startServer(t, p)
	f := newFleet(t, testConfig(), ts.URL) // backoff at most 20ms: the wait comes from Retry-After
	p.serve(f)

	if err := runUntil(t, f, p.done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	first, firstID := p.post(t, 1)
	second, secondID := p.post(t, 2)
	if secondID != firstID {
		t.Errorf("POST 2 carries event %q, want the retry of %q", secondID, firstID)
	}
	if wait := second.Sub(first); wait < 950*time.Millisecond || wait > 5*time.Second {
		t.Errorf("the retry came %s after the 429, want about 1s (Retry-After: 1)", wait)
	}
	if since := time.Since(first); since < 950*time.Millisecond {
		t.Errorf("Run ended %s after the 429, want at least about 1s", since)
	}
	s := f.Agents()[0].Stats()
	checkStatsAddUp(t, s)
	if s.Retries != 1 {
		t.Errorf("retries = %d, want 1", s.Retries)
	}
	if s.Errors != 0 || s.Accepted < 1 {
		t.Errorf("stats = %+v; want the event accepted and no errors", s)
	}
}

func TestUnreachableServer(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.Duration = 2, 200*time.Millisecond
	f := newFleet(t, cfg, closedURL(t))

	err := runToEnd(t, f)
	if err == nil {
		t.Fatal("Run = nil; want an error saying no event reached the server")
	}
	if !strings.Contains(err.Error(), "no event reached the server") {
		t.Errorf("Run = %q; want it to say no event reached the server", err)
	}
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		t.Errorf("Run error %v wraps a *apiclient.Error; want the network error", err)
	}
	for _, a := range f.Agents() {
		s := a.Stats()
		checkStatsAddUp(t, s)
		if s.Errors <= 0 {
			t.Errorf("agent %s: errors = %d, want some", s.ClientID, s.Errors)
		}
		if s.Accepted != 0 || s.Duplicates != 0 || s.Rejected != 0 {
			t.Errorf("agent %s: stats = %+v; want no answers", s.ClientID, s)
		}
		if s.Retries <= 0 {
			t.Errorf("agent %s: retries = %d, want some", s.ClientID, s.Retries)
		}
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	p := newProxy(realHandler(t), 3, func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html><body>404 page not found</body></html>")
		return true
	})
	ts := startServer(t, p)
	f := newFleet(t, testConfig(), ts.URL)
	p.serve(f)

	err := runUntil(t, f, p.done)
	t.Logf("Run = %v", err)
	s := f.Agents()[0].Stats()
	checkStatsAddUp(t, s)
	if s.Retries != 0 {
		t.Errorf("retries = %d, want 0: a 404 cannot succeed later", s.Retries)
	}
	if s.Sent < 3 || s.Errors != s.Sent {
		t.Errorf("stats = %+v; want at least 3 events sent, each counted as an error", s)
	}
	if s.Accepted != 0 || s.Duplicates != 0 || s.Rejected != 0 {
		t.Errorf("stats = %+v; want no answers counted", s)
	}
	// Each POST carries a new event: none was sent twice.
	seen := map[string]bool{}
	for n := 1; n <= 3; n++ {
		_, id := p.post(t, n)
		if seen[id] {
			t.Errorf("event %q was sent twice", id)
		}
		seen[id] = true
	}
}
