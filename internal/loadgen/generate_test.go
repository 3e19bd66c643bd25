package loadgen

import (
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

// decodeBody decodes a body the way the server does and returns its events,
// failing the test on any invalid one.
func decodeBody(t *testing.T, cfg Config, data []byte) []event.Event {
	t.Helper()
	if cfg.Gzip {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.Format == JSON && cfg.Batch == 1 && (len(data) == 0 || data[0] != '{') {
		t.Fatalf("a body of --batch 1 is not a single object: %.40s", data)
	}
	decode := event.Decode
	if cfg.Format == NDJSON {
		decode = event.DecodeNDJSON
	}
	items, err := decode(data, 0)
	if err != nil {
		t.Fatalf("the server's decoder refuses a body: %v", err)
	}
	events := make([]event.Event, len(items))
	for i, it := range items {
		if it.Err != nil {
			t.Fatalf("event %d is invalid: %v", i, it.Err)
		}
		events[i] = it.Event
	}
	return events
}

func TestGeneratorMakesValidDistinctEvents(t *testing.T) {
	tests := []struct {
		name   string
		batch  int
		format Format
		gzip   bool
		dups   float64
		events int64
	}{
		{name: "json batches", batch: 100, format: JSON, events: 1000},
		{name: "json single events", batch: 1, format: JSON, events: 50},
		{name: "ndjson gzip with duplicates", batch: 64, format: NDJSON, gzip: true, dups: 0.3, events: 1000},
		{name: "json with a partial last batch and duplicates", batch: 300, format: JSON, dups: 0.5, events: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Clients, cfg.Keys, cfg.Cumulative = 7, 5, 0.4
			cfg.Batch, cfg.Format, cfg.Gzip, cfg.Duplicates, cfg.Events = tt.batch, tt.format, tt.gzip, tt.dups, tt.events
			start := time.UnixMilli(1_763_850_000_000)
			g := newGenerator(cfg, start)

			var all []event.Event
			var bodies, dups int64
			for range 10_000 { // far more than enough
				b, ok := g.nextBody(0)
				if !ok {
					break
				}
				evs := decodeBody(t, cfg, b.data)
				if len(evs) != b.events {
					t.Fatalf("body %d holds %d events, says %d", bodies, len(evs), b.events)
				}
				bodies++
				dups += int64(b.dups)
				all = append(all, evs...)
			}
			if int64(len(all)) != tt.events {
				t.Fatalf("made %d events, want %d", len(all), tt.events)
			}
			if want := int64(float64(tt.events) * tt.dups); dups != want {
				t.Errorf("%d duplicates, want %d", dups, want)
			}

			seen := map[string]event.Event{}
			clients := map[string]bool{}
			var repeats, cumulative int64
			var lastTS event.Timestamp
			for i, ev := range all {
				if prev, ok := seen[ev.ID]; ok {
					if prev != ev {
						t.Fatalf("event %d reuses id %s with other content: %+v, then %+v", i, ev.ID, prev, ev)
					}
					repeats++
					continue
				}
				seen[ev.ID] = ev
				clients[ev.ClientID] = true
				if ev.Timestamp < lastTS {
					t.Errorf("event %d: timestamp %s before the previous new event's %s", i, ev.Timestamp, lastTS)
				}
				lastTS = ev.Timestamp
				if ev.Type == event.Cumulative {
					cumulative++
				}
				if ev.ClientID != event.NormalizeID(ev.ClientID) || ev.ID != event.NormalizeID(ev.ID) || len(ev.ID) != 36 {
					t.Errorf("event %d: ids %q, %q are not lower-case UUIDs", i, ev.ClientID, ev.ID)
				}
			}
			if repeats != dups {
				t.Errorf("%d events repeat an earlier one, the bodies say %d", repeats, dups)
			}
			if len(clients) != cfg.Clients {
				t.Errorf("events of %d clients, want %d", len(clients), cfg.Clients)
			}
			news := int64(len(seen))
			if want := news * 2 / 5; cumulative < want-5 || cumulative > want+5 { // 2 of 5 keys
				t.Errorf("%d of %d new events are CUMULATIVE, want about %d", cumulative, news, want)
			}
			if first := all[0].Timestamp; first != event.FromTime(start) {
				t.Errorf("first timestamp %s, want %s", first, event.FromTime(start))
			}
		})
	}
}

func TestGeneratorSeriesAreConsistent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clients, cfg.Keys, cfg.Cumulative, cfg.Batch, cfg.Events = 3, 8, 0.25, 24, 24*10
	g := newGenerator(cfg, time.Now())
	types := map[string]event.Type{}
	for {
		b, ok := g.nextBody(0)
		if !ok {
			break
		}
		for _, ev := range decodeBody(t, cfg, b.data) {
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

func TestKeySet(t *testing.T) {
	keys := keySet(9, 4)
	var got []string
	for _, k := range keys {
		got = append(got, k.Name+":"+k.Type.String())
	}
	want := []string{
		"http_requests_total:CUMULATIVE", "errors_total:CUMULATIVE", "bytes_sent_total:CUMULATIVE", "http_requests_total_2:CUMULATIVE",
		"cpu_usage_percent:TIME-SERIES", "memory_used_bytes:TIME-SERIES", "request_latency_ms:TIME-SERIES",
		"cpu_usage_percent_2:TIME-SERIES", "memory_used_bytes_2:TIME-SERIES",
	}
	if !slices.Equal(got, want) {
		t.Errorf("keySet(9, 4) =\n%v\nwant\n%v", got, want)
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		v       float64
		integer bool
		want    string
	}{
		{37.5, false, "37.50"},
		{0, false, "0.00"},
		{0.004, false, "0.00"},
		{0.005, false, "0.01"},
		{799.99, false, "799.99"},
		{-0.5, false, "-0.50"},
		{12, true, "12"},
		{8 << 30, true, "8589934592"},
	}
	for _, tt := range tests {
		if got := string(appendValue(nil, tt.v, tt.integer)); got != tt.want {
			t.Errorf("appendValue(%g, %v) = %s, want %s", tt.v, tt.integer, got, tt.want)
		}
	}
}
