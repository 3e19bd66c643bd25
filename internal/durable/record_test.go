package durable

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/montool/montool/internal/event"
)

// sameEvent reports whether a and b are equal, comparing values bit for bit
// (so that -0 and 0 differ).
func sameEvent(a, b event.Event) bool {
	return a.ClientID == b.ClientID && a.ID == b.ID && a.Timestamp == b.Timestamp &&
		a.Type == b.Type && a.Key == b.Key && math.Float64bits(a.Value) == math.Float64bits(b.Value)
}

// checkEvents fails t unless got and want hold the same events in order.
func checkEvents(t *testing.T, got, want []event.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\ngot  %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if !sameEvent(got[i], want[i]) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

var errConflict = &event.Error{Kind: event.ErrConflict, Message: "conflicts with what was sent before"}

var (
	accept    = event.Result{}
	duplicate = event.Result{Duplicate: true}
	rejected  = event.Result{Err: errConflict}
)

type roundTrip struct {
	name     string
	clientID string
	events   []event.Event
	results  []event.Result
	// want is what decodeEvents gives back.
	want []event.Event
}

func roundTrips() []roundTrip {
	const client = "client-1"
	ev := func(id string, ts event.Timestamp, typ event.Type, key string, v float64) event.Event {
		return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: typ, Key: key, Value: v}
	}
	return []roundTrip{
		{
			name:     "upper-case UUID comes back lower-case",
			clientID: client,
			events:   []event.Event{ev("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 1, event.Cumulative, "cpu", 1)},
			results:  []event.Result{accept},
			want:     []event.Event{ev("6ba7b810-9dad-11d1-80b4-00c04fd430c8", 1, event.Cumulative, "cpu", 1)},
		},
		{
			name:     "mixed-case UUID comes back lower-case",
			clientID: client,
			events:   []event.Event{ev("6ba7B810-9dAd-11d1-80b4-00c04fD430c8", 1, event.TimeSeries, "cpu", 1)},
			results:  []event.Result{accept},
			want:     []event.Event{ev("6ba7b810-9dad-11d1-80b4-00c04fd430c8", 1, event.TimeSeries, "cpu", 1)},
		},
		{
			name:     "lower-case UUID as given",
			clientID: client,
			events:   []event.Event{ev("00000000-0000-0000-0000-000000000000", 1, event.Cumulative, "k", 2)},
			results:  []event.Result{accept},
			want:     []event.Event{ev("00000000-0000-0000-0000-000000000000", 1, event.Cumulative, "k", 2)},
		},
		{
			name:     "non-UUID ids as given",
			clientID: client,
			events: []event.Event{
				ev("evt-1", 1, event.Cumulative, "a", 1),
				ev("6BA7B810-9DAD-11D1-80B4-00C04FD430CX", 2, event.Cumulative, "b", 2), // not hex at the end
				ev("6BA7B8109DAD11D180B400C04FD430C8", 3, event.TimeSeries, "c", 3),     // no dashes
				ev("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", 4, event.TimeSeries, "d", 4),
				ev("ÜNICODE-ïd", 5, event.TimeSeries, "ключ", 5),
			},
			results: []event.Result{accept, accept, accept, accept, accept},
			want: []event.Event{
				ev("evt-1", 1, event.Cumulative, "a", 1),
				ev("6BA7B810-9DAD-11D1-80B4-00C04FD430CX", 2, event.Cumulative, "b", 2),
				ev("6BA7B8109DAD11D180B400C04FD430C8", 3, event.TimeSeries, "c", 3),
				ev("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", 4, event.TimeSeries, "d", 4),
				ev("ÜNICODE-ïd", 5, event.TimeSeries, "ключ", 5),
			},
		},
		{
			name:     "timestamps zero and large",
			clientID: client,
			events: []event.Event{
				ev("a", 0, event.Cumulative, "k", 1),
				ev("b", 1<<40, event.Cumulative, "k", 1),
				ev("c", math.MaxInt64, event.TimeSeries, "k", 1),
			},
			results: []event.Result{accept, accept, accept},
			want: []event.Event{
				ev("a", 0, event.Cumulative, "k", 1),
				ev("b", 1<<40, event.Cumulative, "k", 1),
				ev("c", math.MaxInt64, event.TimeSeries, "k", 1),
			},
		},
		{
			name:     "values negative, fractional and extreme",
			clientID: client,
			events: []event.Event{
				ev("a", 1, event.Cumulative, "k", -42),
				ev("b", 2, event.TimeSeries, "k", 0.1),
				ev("c", 3, event.TimeSeries, "k", -1.5e-300),
				ev("d", 4, event.Cumulative, "k", math.MaxFloat64),
				ev("e", 5, event.Cumulative, "k", -math.MaxFloat64),
				ev("f", 6, event.TimeSeries, "k", math.SmallestNonzeroFloat64),
				ev("g", 7, event.TimeSeries, "k", math.Copysign(0, -1)),
				ev("h", 8, event.TimeSeries, "k", 0),
			},
			results: []event.Result{accept, accept, accept, accept, accept, accept, accept, accept},
			want: []event.Event{
				ev("a", 1, event.Cumulative, "k", -42),
				ev("b", 2, event.TimeSeries, "k", 0.1),
				ev("c", 3, event.TimeSeries, "k", -1.5e-300),
				ev("d", 4, event.Cumulative, "k", math.MaxFloat64),
				ev("e", 5, event.Cumulative, "k", -math.MaxFloat64),
				ev("f", 6, event.TimeSeries, "k", math.SmallestNonzeroFloat64),
				ev("g", 7, event.TimeSeries, "k", math.Copysign(0, -1)),
				ev("h", 8, event.TimeSeries, "k", 0),
			},
		},
		{
			name:     "duplicates and errors skipped",
			clientID: client,
			events: []event.Event{
				ev("dup-first", 1, event.Cumulative, "k", 1),
				ev("kept-1", 2, event.Cumulative, "k", 2),
				ev("conflict", 3, event.Cumulative, "k", 3),
				ev("DUP-UUID-6BA7B810-9DAD-11D1-80B4", 4, event.TimeSeries, "k", 4),
				ev("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 5, event.TimeSeries, "x", 5),
				ev("conflict-last", 6, event.Cumulative, "k", 6),
			},
			results: []event.Result{duplicate, accept, rejected, duplicate, accept, rejected},
			want: []event.Event{
				ev("kept-1", 2, event.Cumulative, "k", 2),
				ev("6ba7b810-9dad-11d1-80b4-00c04fd430c8", 5, event.TimeSeries, "x", 5),
			},
		},
		{
			name:     "client id from the argument, not the events",
			clientID: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
			events: []event.Event{
				{ClientID: "someone-else", ID: "a", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1},
			},
			results: []event.Result{accept},
			want: []event.Event{
				{ClientID: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", ID: "a", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1},
			},
		},
		{
			name:     "long strings",
			clientID: string(bytes.Repeat([]byte("c"), event.MaxIDLen)),
			events: []event.Event{
				ev(string(bytes.Repeat([]byte("i"), event.MaxIDLen)), 1, event.Cumulative, string(bytes.Repeat([]byte("k"), event.MaxKeyLen)), 1),
			},
			results: []event.Result{accept},
			want: []event.Event{
				{
					ClientID: string(bytes.Repeat([]byte("c"), event.MaxIDLen)),
					ID:       string(bytes.Repeat([]byte("i"), event.MaxIDLen)), Timestamp: 1, Type: event.Cumulative,
					Key: string(bytes.Repeat([]byte("k"), event.MaxKeyLen)), Value: 1,
				},
			},
		},
		{
			name:     "many events",
			clientID: client,
			events:   manyEvents(client, 120),
			results:  make([]event.Result, 120),
			want:     manyEvents(client, 120),
		},
	}
}

func manyEvents(client string, n int) []event.Event {
	events := make([]event.Event, n)
	for i := range events {
		events[i] = event.Event{
			ClientID: client, ID: fmt.Sprintf("id-%d", i), Timestamp: event.Timestamp(i) * 1e9,
			Type: event.Type(1 + i%2), Key: fmt.Sprintf("key-%d", i%7), Value: float64(i) / 3,
		}
	}
	return events
}

func TestAppendEventsRoundTrip(t *testing.T) {
	for _, tc := range roundTrips() {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			payload, n := appendEvents(append([]byte(nil), prefix...), tc.clientID, tc.events, tc.results)
			if n != len(tc.want) {
				t.Errorf("appendEvents reported %d events, want %d", n, len(tc.want))
			}
			if !bytes.HasPrefix(payload, prefix) {
				t.Fatalf("appendEvents did not keep what buf held: %q", payload[:min(len(payload), len(prefix))])
			}
			payload = payload[len(prefix):]

			got, err := decodeEvents(nil, payload)
			if err != nil {
				t.Fatalf("decodeEvents: %v", err)
			}
			checkEvents(t, got, tc.want)

			// Decoding appends to what into holds.
			before := event.Event{ClientID: "before", ID: "x", Type: event.Cumulative, Key: "k"}
			got, err = decodeEvents([]event.Event{before}, payload)
			if err != nil {
				t.Fatalf("decodeEvents into a non-empty slice: %v", err)
			}
			checkEvents(t, got, append([]event.Event{before}, tc.want...))
		})
	}
}

func TestAppendEventsNoneAccepted(t *testing.T) {
	events := []event.Event{
		{ID: "a", Timestamp: 1, Type: event.Cumulative, Key: "k", Value: 1},
		{ID: "b", Timestamp: 2, Type: event.TimeSeries, Key: "k", Value: 2},
		{ID: "c", Timestamp: 3, Type: event.TimeSeries, Key: "k", Value: 3},
	}
	for _, tc := range []struct {
		name    string
		events  []event.Event
		results []event.Result
	}{
		{"no events", nil, nil},
		{"all duplicates", events, []event.Result{duplicate, duplicate, duplicate}},
		{"all errors", events, []event.Result{rejected, rejected, rejected}},
		{"duplicates and errors", events, []event.Result{rejected, duplicate, {Duplicate: true, Err: errConflict}}},
		{"an error that is not an event.Error", events[:1], []event.Result{{Err: errors.New("disk on fire")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte("unchanged")
			got, n := appendEvents(buf, "client", tc.events, tc.results)
			if n != 0 {
				t.Errorf("appendEvents reported %d events, want 0", n)
			}
			if string(got) != "unchanged" {
				t.Errorf("appendEvents appended: buf = %q, want %q", got, "unchanged")
			}
			got, n = appendEvents(nil, "client", tc.events, tc.results)
			if n != 0 || len(got) != 0 {
				t.Errorf("appendEvents(nil) = %q, %d; want nothing, 0", got, n)
			}
		})
	}
}

func TestDecodeEventsErrors(t *testing.T) {
	valid := func() []byte {
		events := []event.Event{
			{ID: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", Timestamp: 1 << 50, Type: event.Cumulative, Key: "cpu", Value: -1.5},
			{ID: "text-id", Timestamp: 300, Type: event.TimeSeries, Key: "mem", Value: math.MaxFloat64},
		}
		payload, n := appendEvents(nil, "client-1", events, []event.Result{accept, accept})
		if n != 2 {
			t.Fatalf("appendEvents reported %d events, want 2", n)
		}
		return payload
	}
	if _, err := decodeEvents(nil, valid()); err != nil {
		t.Fatalf("decodeEvents of the valid payload: %v", err)
	}

	t.Run("every strict prefix", func(t *testing.T) {
		for _, tc := range roundTrips() {
			payload, n := appendEvents(nil, tc.clientID, tc.events, tc.results)
			if n == 0 {
				t.Fatalf("%s: no payload", tc.name)
			}
			for i := range len(payload) {
				prefix := bytes.Clone(payload[:i])
				if got, err := decodeEvents(nil, prefix); err == nil {
					t.Errorf("%s: decodeEvents of the first %d of %d bytes = %d events, nil error; want an error",
						tc.name, i, len(payload), len(got))
				}
			}
		}
	})

	// The fields of valid(), in order: kind, client id (length 8),
	// count, then the first event: its flags, key, ...
	const (
		kindAt  = 0
		countAt = 1 + 1 + len("client-1")
		flagsAt = countAt + 1
	)
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"unknown kind 0", func(b []byte) []byte { b[kindAt] = 0; return b }},
		{"unknown kind 2", func(b []byte) []byte { b[kindAt] = 2; return b }},
		{"unknown kind 255", func(b []byte) []byte { b[kindAt] = 255; return b }},
		{"one trailing byte", func(b []byte) []byte { return append(b, 0) }},
		{"trailing bytes", func(b []byte) []byte { return append(b, "more"...) }},
		{"trailing frame", func(b []byte) []byte { return append(b, valid()...) }},
		{"count one more", func(b []byte) []byte { b[countAt]++; return b }},
		{"count one less", func(b []byte) []byte { b[countAt]--; return b }},
		{"count huge", func(b []byte) []byte {
			return append(append(b[:countAt:countAt], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), b[countAt+1:]...)
		}},
		{"count varint overflows", func(b []byte) []byte {
			return append(append(b[:countAt:countAt], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), b[countAt+1:]...)
		}},
		{"client id length past the end", func(b []byte) []byte { b[1] = 0x7f; return b }},
		{"unknown flag", func(b []byte) []byte { b[flagsAt] |= 0x80; return b }},
		{"the first event's key said to be the one before", func(b []byte) []byte { b[flagsAt] |= 0x04; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.damage(valid())
			got, err := decodeEvents(nil, payload)
			if err == nil {
				t.Errorf("decodeEvents(%x) = %+v, nil error; want an error", payload, got)
			}
		})
	}
}

func TestDeleteRoundTrip(t *testing.T) {
	for _, client := range []string{"client-1", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "ÜNICODE"} {
		payload := appendDelete([]byte("pre"), client)
		if string(payload[:3]) != "pre" {
			t.Fatalf("appendDelete lost what buf held: %q", payload[:3])
		}
		payload = payload[3:]
		got, ok, err := decodeDelete(payload)
		if got != client || !ok || err != nil {
			t.Errorf("decodeDelete(appendDelete(%q)) = %q, %v, %v; want it back, true, nil", client, got, ok, err)
		}
		if _, err := decodeEvents(nil, payload); err == nil {
			t.Errorf("decodeEvents of a deletion of %q: nil error, want one", client)
		}
		for i := 1; i < len(payload); i++ {
			if got, ok, err := decodeDelete(bytes.Clone(payload[:i])); !ok || err == nil {
				t.Errorf("decodeDelete of the first %d of %d bytes = %q, %v, %v; want ok and an error", i, len(payload), got, ok, err)
			}
		}
		if _, ok, err := decodeDelete(append(bytes.Clone(payload), 0)); !ok || err == nil {
			t.Errorf("decodeDelete with a trailing byte = %v, %v; want ok and an error", ok, err)
		}
	}

	events, _ := appendEvents(nil, "client", []event.Event{{ID: "a", Type: event.Cumulative, Key: "k", Value: 1}}, []event.Result{accept})
	for _, p := range [][]byte{nil, events} {
		if got, ok, err := decodeDelete(p); ok || err != nil || got != "" {
			t.Errorf("decodeDelete(%x) = %q, %v, %v; want \"\", false, nil", p, got, ok, err)
		}
	}
}
