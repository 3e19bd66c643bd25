package loadgen

import (
	"bytes"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

// streamBodies hands out every body of s in order, as a single sender
// would, and returns copies of them, inflated, with the number of
// duplicates each holds.
func streamBodies(t *testing.T, cfg Config, s *stream) ([][]byte, []int) {
	t.Helper()
	w := newWorkers(1)[0]
	var bodies [][]byte
	var dups []int
	for {
		k, n, ok := s.take()
		if !ok {
			break
		}
		data, release := s.ready(k, n, w)
		bodies = append(bodies, plainBody(t, cfg, data))
		dups = append(dups, s.dupsIn(k, n))
		if release != nil {
			release()
		}
	}
	return bodies, dups
}

// rawEvents splits a plain body into the encodings of its events: flat
// objects whose strings hold no brace.
func rawEvents(body []byte) [][]byte {
	var evs [][]byte
	for {
		i := bytes.IndexByte(body, '{')
		if i < 0 {
			return evs
		}
		j := bytes.IndexByte(body[i:], '}')
		evs = append(evs, body[i:i+j+1])
		body = body[i+j+1:]
	}
}

func TestStreamMakesValidDistinctEvents(t *testing.T) {
	tests := []struct {
		name      string
		batch     int
		format    Format
		gzip      bool
		dups      float64
		events    int64
		templates int
		first     int64 // events before, of a preload
	}{
		{name: "json batches, many rounds of the templates", batch: 10, format: JSON, events: 1000, templates: 3},
		{name: "json batches used once each", batch: 100, format: JSON, events: 1000, templates: 50},
		{name: "templates of whole rounds of the clients' keys", batch: 7, format: JSON, events: 1000, templates: 5},
		{name: "single events with duplicates", batch: 1, format: JSON, dups: 0.3, events: 300, templates: 5},
		{name: "ndjson with duplicates and a last batch not full", batch: 7, format: NDJSON, dups: 0.5, events: 500, templates: 4},
		{name: "json with a last batch not full and duplicates", batch: 30, format: JSON, dups: 0.25, events: 1000, templates: 2},
		{name: "duplicates a round of the templates apart", batch: 20, format: JSON, dups: 0.1, events: 2000, templates: 5},
		{name: "nine duplicates in ten", batch: 20, format: JSON, dups: 0.9, events: 1000, templates: 3},
		{name: "ndjson gzip with duplicates", batch: 64, format: NDJSON, gzip: true, dups: 0.3, events: 2000, templates: 3},
		{name: "after a preload", batch: 50, format: JSON, dups: 0.2, events: 1000, templates: 4, first: 12_345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Clients, cfg.Keys, cfg.Cumulative = 7, 5, 0.4
			cfg.Batch, cfg.Format, cfg.Gzip, cfg.Duplicates, cfg.Events = tt.batch, tt.format, tt.gzip, tt.dups, tt.events
			start := time.UnixMilli(1_763_850_000_000)
			con := newContent(cfg, start)
			s := newStreamOf(t.Context(), cfg, con, tt.first, tt.templates)
			if got, want := s.sameClients, int64(tt.templates*tt.batch)%35 == 0 && tt.dups == 0; got != want {
				t.Errorf("sameClients = %v, want %v", got, want)
			}
			if tt.gzip && (s.pre == nil || s.templates != nil || !s.complete) {
				t.Fatalf("gzip: the bodies were not all made before, complete %v", s.complete)
			}
			bodies, bodyDups := streamBodies(t, cfg, s)

			var all []event.Event
			var raws [][]byte
			var dups int64
			for i, b := range bodies {
				evs := decodeBody(t, cfg, b)
				raw := rawEvents(b)
				want := tt.batch
				if i == len(bodies)-1 && tt.events%int64(tt.batch) != 0 {
					want = int(tt.events % int64(tt.batch))
				}
				if len(evs) != want || len(raw) != want {
					t.Fatalf("body %d holds %d events (%d split), want %d", i, len(evs), len(raw), want)
				}
				all = append(all, evs...)
				raws = append(raws, raw...)
				dups += int64(bodyDups[i])
				// ⌊j·d⌋ of the first j events repeat one, at the end of every body.
				if got, want := dups, int64(float64(len(all))*tt.dups); got != want {
					t.Fatalf("after body %d: %d duplicates of %d events, want %d", i, got, len(all), want)
				}
			}
			if int64(len(all)) != tt.events {
				t.Fatalf("made %d events, want %d", len(all), tt.events)
			}

			type seenEvent struct {
				raw []byte
				new int // how many new events came before it
			}
			seen := map[string]seenEvent{}
			clients := map[string]bool{}
			var repeats, cumulative int64
			var lastTS event.Timestamp
			bodyOf := 0 // body of event i
			for i, ev := range all {
				if i > 0 && i%tt.batch == 0 {
					bodyOf++
				}
				if ev.Type == event.Cumulative {
					cumulative++
				}
				if prev, ok := seen[ev.ID]; ok {
					if !bytes.Equal(prev.raw, raws[i]) {
						t.Fatalf("event %d reuses id %s with other bytes:\n%s\n%s", i, ev.ID, prev.raw, raws[i])
					}
					// A repeat is of a recent event: one made into a template, or one a round of the templates before.
					if ago := len(seen) - prev.new; tt.dups <= 0.5 && ago > max(recentEvents, (tt.templates+1)*tt.batch) {
						t.Errorf("event %d repeats one %d new events before", i, ago)
					}
					repeats++
					continue
				}
				seen[ev.ID] = seenEvent{raw: raws[i], new: len(seen)}
				clients[ev.ClientID] = true
				if ev.Timestamp < lastTS {
					t.Errorf("event %d: timestamp %s before the previous new event's %s", i, ev.Timestamp, lastTS)
				}
				lastTS = ev.Timestamp
				if ev.ClientID != event.NormalizeID(ev.ClientID) || ev.ID != event.NormalizeID(ev.ID) || len(ev.ID) != 36 ||
					ev.ID[14] != '4' || !bytes.ContainsRune([]byte("89ab"), rune(ev.ID[19])) {
					t.Errorf("event %d: ids %q, %q are not lower-case version-4 UUIDs", i, ev.ClientID, ev.ID)
				}
			}
			if repeats != dups {
				t.Errorf("%d events repeat an earlier one, the bodies say %d", repeats, dups)
			}
			if len(clients) != cfg.Clients {
				t.Errorf("events of %d clients, want %d", len(clients), cfg.Clients)
			}
			// Events go round the 5 keys, 2 CUMULATIVE. (Duplicates made into
			// templates copy events drawn at random, so with them the share
			// is that of a sample, too small here to check.)
			if want := tt.events * 2 / 5; tt.dups == 0 && (cumulative < want-5 || cumulative > want+5) {
				t.Errorf("%d of %d events are CUMULATIVE, want about %d", cumulative, tt.events, want)
			}
			if got, want := all[0].Timestamp, event.FromTime(start.Add(time.Duration(tt.first/5)*time.Millisecond)); got != want {
				t.Errorf("first timestamp %s, want %s", got, want)
			}
		})
	}
}

func TestStreamSeriesAreConsistent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clients, cfg.Keys, cfg.Cumulative, cfg.Batch, cfg.Events = 3, 8, 0.25, 24, 24*10
	s := newStreamOf(t.Context(), cfg, newContent(cfg, time.Now()), 0, 3)
	bodies, _ := streamBodies(t, cfg, s)
	types := map[string]event.Type{}
	for _, b := range bodies {
		for _, ev := range decodeBody(t, cfg, b) {
			if typ, ok := types[ev.Key]; ok && typ != ev.Type {
				t.Fatalf("key %q is both %s and %s: the server would reject it as a conflict", ev.Key, typ, ev.Type)
			}
			types[ev.Key] = ev.Type
		}
	}
	if len(types) != 8 {
		t.Errorf("%d keys, want 8: %v", len(types), types)
	}
	var names []string
	for k, typ := range types {
		if typ == event.Cumulative {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if want := []string{"errors_total", "http_requests_total"}; !slices.Equal(names, want) {
		t.Errorf("CUMULATIVE keys %v, want %v", names, want)
	}
}

func TestStreamGzipBudget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Batch, cfg.Gzip, cfg.Events, cfg.PregenerateBytes = 100, true, 100_000, 20_000
	s := newStreamOf(t.Context(), cfg, newContent(cfg, time.Now()), 0, 4)
	if s.complete || s.count == 0 || s.count >= 1000 {
		t.Fatalf("a budget of 20 kB made %d bodies, complete %v: want some, not all", s.count, s.complete)
	}
	if size := int64(len(s.pre)); size < cfg.PregenerateBytes || size > 2*cfg.PregenerateBytes {
		t.Errorf("%d bytes of bodies, want the budget of %d and at most one body more", size, cfg.PregenerateBytes)
	}
	bodies, _ := streamBodies(t, cfg, s)
	if int64(len(bodies)) != s.count {
		t.Errorf("handed out %d bodies, made %d", len(bodies), s.count)
	}
	if !s.exhausted() {
		t.Error("not exhausted after every body was taken")
	}

	cfg.Events, cfg.Duration = 0, time.Second // no limit in count: as many as fit
	s = newStreamOf(t.Context(), cfg, newContent(cfg, time.Now()), 0, 4)
	if s.complete || s.count == 0 {
		t.Errorf("a stream without end made %d bodies, complete %v", s.count, s.complete)
	}
}

func TestTemplateTurns(t *testing.T) {
	// Bodies 0 and 2 share a template of two: body 2 waits for body 0 to give it back.
	cfg := DefaultConfig()
	cfg.Batch, cfg.Events = 10, 40
	s := newStreamOf(t.Context(), cfg, newContent(cfg, time.Now()), 0, 2)
	workers := newWorkers(2)
	_, release0 := s.ready(0, 10, workers[0])
	var released atomic.Bool
	done := make(chan []byte)
	go func() {
		data, release := s.ready(2, 10, workers[1])
		if !released.Load() {
			t.Error("body 2 was readied while body 0 held the template")
		}
		done <- bytes.Clone(data)
		release()
	}()
	released.Store(true)
	release0()
	if b := <-done; len(rawEvents(b)) != 10 {
		t.Errorf("body 2 holds %d events", len(rawEvents(b)))
	}
	s.skip(1) // taken but not sent: body 3 must not wait for it
	_, release3 := s.ready(3, 10, workers[0])
	release3()
}

func TestTemplateCount(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   int
	}{
		{name: "defaults: 2 for each of 4 senders", change: func(*Config) {}, want: 8},
		{name: "single events: 4,096 events", change: func(c *Config) { c.Batch, c.Connections = 1, 32 }, want: 4096},
		{name: "many senders", change: func(c *Config) { c.Batch, c.Connections = 100, 100 }, want: 200},
		{name: "every key among the new events", change: func(c *Config) { c.Batch, c.Keys, c.Duplicates = 1000, 10_000, 0.5 }, want: 20},
		{name: "huge batches: within the budget", change: func(c *Config) { c.Batch = 100_000 }, want: 2},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.change(&cfg)
		if got := templateCount(cfg); got != tt.want {
			t.Errorf("%s: templateCount = %d, want %d", tt.name, got, tt.want)
		}
	}
}
