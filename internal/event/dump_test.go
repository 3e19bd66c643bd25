package event_test

import (
	"testing"

	"github.com/montool/montool/internal/event"
)

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

func TestDumpUnmarshalJSONSortsByKey(t *testing.T) {
	in := `{"client_id":"c1","events":{` +
		`"zeta":{"client_id":"c1","event_type":"CUMULATIVE","event_key":"zeta","event_value":2,"event_count":1,"event_timestamp":5},` +
		`"alpha":[{"client_id":"c1","event_id":"e1","event_timestamp":"1763850001123","event_type":"time-series","event_key":"alpha","event_value":"7"}],` +
		`"mid":{"event_value":"0.5","event_count":4,"event_timestamp":"1763850000.25"}}}`
	var got event.Dump
	if err := got.UnmarshalJSON([]byte(in)); err != nil {
		t.Fatalf("UnmarshalJSON: %v", err)
	}
	want := event.Dump{ClientID: "c1", Series: []event.Series{
		{Key: "alpha", Type: event.TimeSeries, Samples: []event.Sample{{ID: "e1", Timestamp: 1763850001_123000000, Value: 7}}},
		{Key: "mid", Type: event.Cumulative, Total: 0.5, Count: 4, Last: 1763850000_250000000},
		{Key: "zeta", Type: event.Cumulative, Total: 2, Count: 1, Last: 5_000_000_000},
	}}
	checkDumpsEqual(t, got, want)
}

func TestDumpUnmarshalJSONRejects(t *testing.T) {
	total := func(fields string) string {
		return `{"client_id":"c1","events":{"k":{` + fields + `}}}`
	}
	series := func(events string) string {
		return `{"client_id":"c1","events":{"k":[` + events + `]}}`
	}
	tests := []struct {
		name string
		in   string
	}{
		{"not JSON", `{`},
		{"not an object", `[]`},
		{"events not an object", `{"client_id":"c1","events":[]}`},
		{"entry a number", `{"client_id":"c1","events":{"k":5}}`},
		{"entry a string", `{"client_id":"c1","events":{"k":"x"}}`},
		{"entry null", `{"client_id":"c1","events":{"k":null}}`},
		{"total without value", total(`"event_count":1,"event_timestamp":1`)},
		{"total with word value", total(`"event_value":"x","event_count":1,"event_timestamp":1`)},
		{"total past float range", total(`"event_value":1e400,"event_count":1,"event_timestamp":1`)},
		{"total with boolean value", total(`"event_value":true,"event_count":1,"event_timestamp":1`)},
		{"total without timestamp", total(`"event_value":1,"event_count":1`)},
		{"total with negative timestamp", total(`"event_value":1,"event_count":1,"event_timestamp":-1`)},
		{"total with timestamp past 2262", total(`"event_value":1,"event_count":1,"event_timestamp":9223372037`)},
		{"total with text count", total(`"event_value":1,"event_count":"x","event_timestamp":1`)},
		{"series with a number", series(`5`)},
		{"series with an empty event", series(`{}`)},
		{"series with an event without id", series(`{"client_id":"c1","event_timestamp":1,"event_type":"TIME-SERIES","event_key":"k","event_value":1}`)},
		{"series with an event of an empty id", series(`{"client_id":"c1","event_id":"","event_timestamp":1,"event_type":"TIME-SERIES","event_key":"k","event_value":1}`)},
		{"series with an event of a number id", series(`{"client_id":"c1","event_id":1,"event_timestamp":1,"event_type":"TIME-SERIES","event_key":"k","event_value":1}`)},
		{"series with an event without timestamp", series(`{"client_id":"c1","event_id":"e1","event_type":"TIME-SERIES","event_key":"k","event_value":1}`)},
		{"series with an event without value", series(`{"client_id":"c1","event_id":"e1","event_timestamp":1,"event_type":"TIME-SERIES","event_key":"k"}`)},
		{"series with a bad key", series(`{"client_id":"c1","event_id":"e1","event_timestamp":1,"event_type":"TIME-SERIES","event_key":"a\u0000","event_value":1}`)},
		{"series with a bad value", series(`{"client_id":"c1","event_id":"e1","event_timestamp":1,"event_type":"TIME-SERIES","event_key":"k","event_value":"NaN"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d event.Dump
			if err := d.UnmarshalJSON([]byte(tc.in)); err == nil {
				t.Errorf("UnmarshalJSON(%s): got %+v and no error, want an error", tc.in, d)
			}
		})
	}
}
