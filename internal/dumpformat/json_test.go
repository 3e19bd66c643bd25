package dumpformat_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
)

// viewOf returns a view of d, its samples read from its slices.
func viewOf(d event.Dump) *event.View {
	v := &event.View{ClientID: d.ClientID, Series: make([]event.SeriesView, len(d.Series))}
	for i, s := range d.Series {
		v.Series[i] = event.SeriesView{Key: s.Key, Type: s.Type, Total: s.Total, Count: s.Count, Last: s.Last}
		if s.Type == event.TimeSeries {
			v.Series[i].Samples = sampleList(s.Samples)
		}
	}
	return v
}

// writeJSON returns d as WriteJSON writes it.
func writeJSON(t *testing.T, d event.Dump) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := dumpformat.WriteJSON(&buf, viewOf(d)); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	return buf.Bytes()
}

// sampleDump is a dump with one key of each type.
var sampleDump = event.Dump{
	ClientID: "c1",
	Series: []event.Series{
		{Key: "cpu", Type: event.Cumulative, Total: 1.5, Count: 3, Last: 1763850001_123000000},
		{Key: "mem", Type: event.TimeSeries, Samples: []event.Sample{
			{ID: "e1", Timestamp: 1763850000_000000000, Value: 42},
			{ID: "e2", Timestamp: 1763850000_500000000, Value: -0.5},
		}},
	},
}

// checkDumpsEqual fails t when got and want differ; a nil slice and an empty
// one are taken as equal.
func checkDumpsEqual(t *testing.T, got, want event.Dump) {
	t.Helper()
	if got.ClientID != want.ClientID {
		t.Errorf("ClientID: got %q, want %q", got.ClientID, want.ClientID)
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("Series: got %d, want %d: %+v", len(got.Series), len(want.Series), got.Series)
	}
	for i := range want.Series {
		g, w := got.Series[i], want.Series[i]
		if g.Key != w.Key || g.Type != w.Type || g.Total != w.Total || g.Count != w.Count || g.Last != w.Last {
			t.Errorf("series %d: got {Key:%q Type:%v Total:%v Count:%d Last:%d}, want {Key:%q Type:%v Total:%v Count:%d Last:%d}",
				i, g.Key, g.Type, g.Total, g.Count, int64(g.Last), w.Key, w.Type, w.Total, w.Count, int64(w.Last))
		}
		if len(g.Samples) != len(w.Samples) {
			t.Errorf("series %d (%q) samples: got %d, want %d", i, w.Key, len(g.Samples), len(w.Samples))
			continue
		}
		for j := range w.Samples {
			if g.Samples[j] != w.Samples[j] {
				t.Errorf("series %d (%q) sample %d: got %+v, want %+v", i, w.Key, j, g.Samples[j], w.Samples[j])
			}
		}
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name string
		d    event.Dump
		want string
	}{
		{"one key of each type", sampleDump,
			`{"client_id":"c1","events":{` +
				`"cpu":{"client_id":"c1","event_type":"CUMULATIVE","event_key":"cpu","event_value":1.5,"event_count":3,"event_timestamp":1763850001.123},` +
				`"mem":[{"client_id":"c1","event_id":"e1","event_timestamp":1763850000,"event_type":"TIME-SERIES","event_key":"mem","event_value":42},` +
				`{"client_id":"c1","event_id":"e2","event_timestamp":1763850000.5,"event_type":"TIME-SERIES","event_key":"mem","event_value":-0.5}]}}`},
		{"no keys", event.Dump{ClientID: "c1"}, `{"client_id":"c1","events":{}}`},
		{"time series without samples", event.Dump{ClientID: "c1", Series: []event.Series{{Key: "k", Type: event.TimeSeries}}},
			`{"client_id":"c1","events":{"k":[]}}`},
		{"exponent total and nanosecond timestamp", event.Dump{ClientID: "c", Series: []event.Series{
			{Key: "k", Type: event.Cumulative, Total: 1e21, Count: 1 << 40, Last: 1763850001_123456789},
		}}, `{"client_id":"c","events":{"k":{"client_id":"c","event_type":"CUMULATIVE","event_key":"k","event_value":1e+21,"event_count":1099511627776,"event_timestamp":1763850001.123456789}}}`},
		{"zero total", event.Dump{ClientID: "c", Series: []event.Series{
			{Key: "k", Type: event.Cumulative},
		}}, `{"client_id":"c","events":{"k":{"client_id":"c","event_type":"CUMULATIVE","event_key":"k","event_value":0,"event_count":0,"event_timestamp":0}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(writeJSON(t, tc.d)); got != tc.want {
				t.Errorf("WriteJSON:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestWriteJSONRejectsUntypedSeries(t *testing.T) {
	for _, typ := range []event.Type{0, 3} {
		t.Run(typ.String(), func(t *testing.T) {
			d := event.Dump{ClientID: "c1", Series: []event.Series{{Key: "k", Type: typ}}}
			var buf bytes.Buffer
			if err := dumpformat.WriteJSON(&buf, viewOf(d)); err == nil {
				t.Errorf("WriteJSON: wrote %s and no error, want an error", buf.Bytes())
			}
		})
	}
}

func TestDumpRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		d    event.Dump
	}{
		{"one key of each type", sampleDump},
		{"no keys", event.Dump{ClientID: "c1"}},
		{"empty time series", event.Dump{ClientID: "c1", Series: []event.Series{{Key: "k", Type: event.TimeSeries}}}},
		{"uuid client and exact values", event.Dump{
			ClientID: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
			Series: []event.Series{
				{Key: "a", Type: event.Cumulative, Total: 0.3, Count: 2, Last: math.MaxInt64},
				{Key: "b", Type: event.Cumulative, Total: -math.MaxFloat64, Count: 1 << 62, Last: 1},
				{Key: "c", Type: event.TimeSeries, Samples: []event.Sample{
					{ID: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", Timestamp: 0, Value: math.SmallestNonzeroFloat64},
					{ID: "{X}", Timestamp: 1763850001_123456789, Value: 1e21},
					{ID: "  x ", Timestamp: 1763850001_123456789, Value: 1e-7},
				}},
				{Key: "d", Type: event.Cumulative, Total: 1e-300, Count: 1, Last: 1763850001_123000000},
			},
		}},
		{"many keys", func() event.Dump {
			d := event.Dump{ClientID: "c"}
			for i := range 50 {
				key := "key" + string(rune('A'+i))
				if i%2 == 0 {
					d.Series = append(d.Series, event.Series{Key: key, Type: event.Cumulative, Total: float64(i) / 10, Count: int64(i), Last: event.Timestamp(i) * 1_000_000_001})
				} else {
					d.Series = append(d.Series, event.Series{Key: key, Type: event.TimeSeries, Samples: []event.Sample{{ID: key, Timestamp: event.Timestamp(i), Value: float64(i)}}})
				}
			}
			return d
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := writeJSON(t, tc.d)
			var got event.Dump
			if err := got.UnmarshalJSON(b); err != nil {
				t.Fatalf("UnmarshalJSON(%s): %v", b, err)
			}
			checkDumpsEqual(t, got, tc.d)
			// Through encoding/json as well.
			var viaJSON event.Dump
			if err := json.Unmarshal(b, &viaJSON); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", b, err)
			}
			checkDumpsEqual(t, viaJSON, tc.d)
		})
	}
}

func TestDumpSpecialKeys(t *testing.T) {
	keys := []string{
		`a"b`, `a\b`, `"`, `\`, `\"`, `\u0041`, "a/b", "a b",
		"température", "日本語", "😀", "\ufffd",
		"a\u2028b", "\u2029", "\u2028\u2029",
		"</script>", "&<>", "a\u200bb", "\u00ad",
	}
	for _, typ := range []event.Type{event.Cumulative, event.TimeSeries} {
		t.Run(typ.String(), func(t *testing.T) {
			d := event.Dump{ClientID: `c"1\`}
			for i, k := range keys {
				s := event.Series{Key: k, Type: typ}
				if typ == event.Cumulative {
					s.Total, s.Count, s.Last = float64(i), int64(i), event.Timestamp(i)*1_000_000_000
				} else {
					s.Samples = []event.Sample{{ID: "id" + k, Timestamp: event.Timestamp(i), Value: float64(i)}}
				}
				d.Series = append(d.Series, s)
			}
			b := writeJSON(t, d)
			if !json.Valid(b) {
				t.Fatalf("WriteJSON wrote invalid JSON: %q", b)
			}
			// encoding/json reads back every key, client id and event key.
			var wire struct {
				ClientID string                     `json:"client_id"`
				Events   map[string]json.RawMessage `json:"events"`
			}
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatalf("encoding/json cannot read %q: %v", b, err)
			}
			if wire.ClientID != d.ClientID {
				t.Errorf("client_id: got %q, want %q", wire.ClientID, d.ClientID)
			}
			if len(wire.Events) != len(keys) {
				t.Errorf("events: got %d keys, want %d", len(wire.Events), len(keys))
			}
			for i, k := range keys {
				raw, ok := wire.Events[k]
				if !ok {
					t.Errorf("events: key %+q missing", k)
					continue
				}
				var inner []map[string]any
				if typ == event.Cumulative {
					var m map[string]any
					if err := json.Unmarshal(raw, &m); err != nil {
						t.Errorf("key %+q: %v", k, err)
						continue
					}
					inner = append(inner, m)
				} else if err := json.Unmarshal(raw, &inner); err != nil {
					t.Errorf("key %+q: %v", k, err)
					continue
				}
				for _, m := range inner {
					if m["event_key"] != k {
						t.Errorf("key %+q: event_key got %+q, want %+q", k, m["event_key"], k)
					}
					if m["client_id"] != d.ClientID {
						t.Errorf("key %+q: client_id got %+q, want %+q", k, m["client_id"], d.ClientID)
					}
					if typ == event.TimeSeries && m["event_id"] != "id"+k {
						t.Errorf("key %+q: event_id got %+q, want %+q", k, m["event_id"], "id"+k)
					}
					if m["event_value"] != float64(i) {
						t.Errorf("key %+q: event_value got %v, want %v", k, m["event_value"], float64(i))
					}
				}
			}
			// And the dump reads back: its series come sorted by key.
			var got event.Dump
			if err := got.UnmarshalJSON(b); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if len(got.Series) != len(keys) {
				t.Fatalf("UnmarshalJSON: got %d series, want %d", len(got.Series), len(keys))
			}
			byKey := map[string]event.Series{}
			for _, s := range got.Series {
				byKey[s.Key] = s
			}
			for i := 1; i < len(got.Series); i++ {
				if got.Series[i-1].Key >= got.Series[i].Key {
					t.Errorf("series not sorted: %+q before %+q", got.Series[i-1].Key, got.Series[i].Key)
				}
			}
			for _, want := range d.Series {
				g, ok := byKey[want.Key]
				if !ok {
					t.Errorf("series %+q missing after UnmarshalJSON", want.Key)
					continue
				}
				if g.Type != want.Type || g.Total != want.Total || g.Count != want.Count || g.Last != want.Last || len(g.Samples) != len(want.Samples) {
					t.Errorf("series %+q: got %+v, want %+v", want.Key, g, want)
					continue
				}
				for j := range want.Samples {
					if g.Samples[j] != want.Samples[j] {
						t.Errorf("series %+q sample %d: got %+v, want %+v", want.Key, j, g.Samples[j], want.Samples[j])
					}
				}
			}
		})
	}
}

// TestDumpReadsStoredIDs dumps ids a server may hold from before ids had to
// be free of control characters: they are written as valid JSON that
// encoding/json reads back to the same strings, and the dump reads back
// whole, so that a client can still show what the server holds.
func TestDumpReadsStoredIDs(t *testing.T) {
	const clientID = "web\x1b[31m-01\x7f"
	ids := []string{"a\x00\x01\x1f\t\n\r\x7f\u0085b", "\x1b]0;title\x07", "\u009b2J"}
	d := event.Dump{ClientID: clientID, Series: []event.Series{
		{Key: "cpu", Type: event.Cumulative, Total: 1, Count: 1, Last: 1_000_000_000},
		{Key: "mem", Type: event.TimeSeries},
	}}
	for i, id := range ids {
		d.Series[1].Samples = append(d.Series[1].Samples, event.Sample{ID: id, Timestamp: event.Timestamp(i+1) * 1_000_000_000, Value: float64(i)})
	}
	b := writeJSON(t, d)
	var wire struct {
		ClientID string `json:"client_id"`
		Events   struct {
			Mem []struct {
				ClientID string `json:"client_id"`
				ID       string `json:"event_id"`
			} `json:"mem"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatalf("encoding/json cannot read %q: %v", b, err)
	}
	if wire.ClientID != clientID || len(wire.Events.Mem) != len(ids) {
		t.Fatalf("encoding/json read %+v from %q", wire, b)
	}
	for i, e := range wire.Events.Mem {
		if e.ClientID != clientID || e.ID != ids[i] {
			t.Errorf("event %d: encoding/json read ids %q, %q; want %q, %q", i, e.ClientID, e.ID, clientID, ids[i])
		}
	}
	var got event.Dump
	if err := got.UnmarshalJSON(b); err != nil {
		t.Fatalf("UnmarshalJSON(%q): %v", b, err)
	}
	checkDumpsEqual(t, got, d)
}

func TestDumpTotalFromSum(t *testing.T) {
	var s event.Sum
	for range 10 {
		s.Add(0.1)
	}
	d := event.Dump{ClientID: "c", Series: []event.Series{{Key: "k", Type: event.Cumulative, Total: s.Float64(), Count: 10, Last: 1}}}
	b := writeJSON(t, d)
	if want := `"event_value":1,`; !strings.Contains(string(b), want) {
		t.Errorf("WriteJSON: got %s, want it to contain %s", b, want)
	}
}
