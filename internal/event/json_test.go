package event_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/montool/montool/internal/event"
)

func TestEventMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		e    event.Event
		want string
	}{
		{"base event", baseEvent,
			`{"client_id":"c1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"cpu","event_value":1.5}`},
		{"time series with fractions", event.Event{ClientID: "c", ID: "e", Timestamp: 1763850001_123000000, Type: event.TimeSeries, Key: "mem", Value: -0.25},
			`{"client_id":"c","event_id":"e","event_timestamp":1763850001.123,"event_type":"TIME-SERIES","event_key":"mem","event_value":-0.25}`},
		{"nanoseconds and exponent values", event.Event{ClientID: "c", ID: "e", Timestamp: 1763850001_123456789, Type: event.Cumulative, Key: "k", Value: 1e21},
			`{"client_id":"c","event_id":"e","event_timestamp":1763850001.123456789,"event_type":"CUMULATIVE","event_key":"k","event_value":1e+21}`},
		{"zero timestamp and small value", event.Event{ClientID: "c", ID: "e", Timestamp: 0, Type: event.Cumulative, Key: "k", Value: 1e-7},
			`{"client_id":"c","event_id":"e","event_timestamp":0,"event_type":"CUMULATIVE","event_key":"k","event_value":1e-7}`},
		{"quotes and backslashes", event.Event{ClientID: `c"1`, ID: `e\1`, Timestamp: 1_000_000_000, Type: event.Cumulative, Key: `a"b\c`, Value: 2},
			`{"client_id":"c\"1","event_id":"e\\1","event_timestamp":1,"event_type":"CUMULATIVE","event_key":"a\"b\\c","event_value":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("MarshalJSON:\n got %s\nwant %s", got, tc.want)
			}
			b, err = json.Marshal(tc.e)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("json.Marshal:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestEventMarshalJSONStrings checks that any valid string of an event is
// written as valid JSON that encoding/json reads back to the same string.
func TestEventMarshalJSONStrings(t *testing.T) {
	tests := []struct {
		name string
		id   string
		key  string
	}{
		{"line separators", "a\u2028b\u2029c", "k\u2028\u2029"},
		{"html characters", "<script>&amp;</script>", "<>&"},
		{"quotes and backslashes", `"\"\\'`, `\"`},
		{"multi-byte runes", "日本語✓😀", "température/°C 😀"},
		{"zero-width and format characters", "a\u200b\u200e\ufeffb", "a\u200bb\u00adc"},
		{"replacement character", "\ufffd", "\ufffd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			e.ClientID, e.ID, e.Key = tc.id, tc.id, tc.key
			b, err := e.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if !json.Valid(b) {
				t.Fatalf("MarshalJSON wrote invalid JSON: %q", b)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("encoding/json cannot read %q: %v", b, err)
			}
			for field, want := range map[string]string{"client_id": tc.id, "event_id": tc.id, "event_key": tc.key} {
				if got[field] != want {
					t.Errorf("%s: got %#v, want %#v", field, got[field], want)
				}
			}
		})
	}
}

func TestEventMarshalJSONRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *event.Event)
		field  string
	}{
		{"empty client id", func(e *event.Event) { e.ClientID = "" }, event.FieldClientID},
		{"event id invalid utf-8", func(e *event.Event) { e.ID = "\xff" }, event.FieldEventID},
		{"negative timestamp", func(e *event.Event) { e.Timestamp = -1 }, event.FieldTimestamp},
		{"no type", func(e *event.Event) { e.Type = 0 }, event.FieldType},
		{"key with control character", func(e *event.Event) { e.Key = "a\nb" }, event.FieldKey},
		{"value NaN", func(e *event.Event) { e.Value = math.NaN() }, event.FieldValue},
		{"value infinite", func(e *event.Event) { e.Value = math.Inf(-1) }, event.FieldValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent
			tc.modify(&e)
			b, err := e.MarshalJSON()
			if err == nil {
				t.Fatalf("MarshalJSON: got %s and no error, want an invalid %s", b, tc.field)
			}
			checkFieldErr(t, err, tc.field)
			if _, err := json.Marshal(e); !errors.Is(err, event.ErrInvalid) {
				t.Errorf("json.Marshal: got error %v, want one matching ErrInvalid", err)
			}
		})
	}
}
