package durable

import (
	"math"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
)

// baseOf returns a Base whose total is the Sum of values.
func baseOf(t *testing.T, client, key string, count int64, last event.Timestamp, values ...float64) *store.Base {
	t.Helper()
	b := &store.Base{ClientID: client, Key: key, Count: count, Last: last}
	for _, v := range values {
		if !b.Total.Add(v) {
			t.Fatalf("Sum.Add(%v): got false, want true", v)
		}
	}
	return b
}

// repeated returns n copies of v.
func repeated(v float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

// testBases are Bases of every shape: strings empty, long and not ASCII,
// counts and timestamps small and large, totals whole, fractional, huge,
// tiny, past the int64 range, negative and zero.
func testBases(t *testing.T) []struct {
	name string
	base *store.Base
} {
	t.Helper()
	return []struct {
		name string
		base *store.Base
	}{
		{"usual", baseOf(t, "client-a", "requests", 2048, event.Timestamp(1_763_850_000_000_000_000), repeated(1, 1024)...)},
		{"tenths", baseOf(t, "client-a", "requests", 10, 1, repeated(0.1, 10)...)},
		{"zero total", baseOf(t, "c", "k", 3, 5)},
		{"nothing at all", baseOf(t, "", "", 0, 0)},
		{"negative total", baseOf(t, "0b2b7a6e-1f0c-4c3e-9a51-2f3c1d5e6a7b", "déjà vu", 2, 7, -0.25, -3)},
		{"huge and tiny", baseOf(t, "client-b", "bytes", 2, 1<<62, 1e300, 1e-300)},
		{"wholes past the int64 range", baseOf(t, "client-b", "big", 1100, math.MaxInt64, repeated(1<<53, 1100)...)},
		{"long strings", baseOf(t, strings.Repeat("c", 300), strings.Repeat("k", 200), math.MaxInt64, 1, 0.5)},
	}
}

// TestBaseRoundTrip checks that decodeBase gives back what appendBase
// wrote, and that the Base decoded encodes the same.
func TestBaseRoundTrip(t *testing.T) {
	for _, tc := range testBases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.base
			payload := appendBase([]byte("head"), want)
			if !strings.HasPrefix(string(payload), "head") {
				t.Fatalf("appendBase did not keep what the buffer held: got %q", payload)
			}
			payload = payload[len("head"):]
			got, ok, err := decodeBase(payload)
			if err != nil || !ok {
				t.Fatalf("decodeBase: got ok %v, error %v; want ok, no error", ok, err)
			}
			if got.ClientID != want.ClientID {
				t.Errorf("ClientID: got %q, want %q", got.ClientID, want.ClientID)
			}
			if got.Key != want.Key {
				t.Errorf("Key: got %q, want %q", got.Key, want.Key)
			}
			if got.Count != want.Count {
				t.Errorf("Count: got %d, want %d", got.Count, want.Count)
			}
			if got.Last != want.Last {
				t.Errorf("Last: got %d, want %d", got.Last, want.Last)
			}
			if g, w := got.Total.Float64(), want.Total.Float64(); g != w {
				t.Errorf("Total.Float64(): got %v, want %v", g, w)
			}
			if again := appendBase(nil, got); string(again) != string(payload) {
				t.Errorf("appendBase of the decoded Base: got %x, want %x", again, payload)
			}
		})
	}
}

// eventsPayload returns the payload of n accepted events of client.
func eventsPayload(t *testing.T, client string, n int) []byte {
	t.Helper()
	events := make([]event.Event, n)
	for i := range events {
		events[i] = event.Event{ClientID: client, ID: "e" + strings.Repeat("x", i), Type: event.Cumulative, Key: "k", Timestamp: 1, Value: 1}
	}
	payload, k := appendEvents(nil, client, events, make([]event.Result, n))
	if k != n {
		t.Fatalf("appendEvents: recorded %d events, want %d", k, n)
	}
	return payload
}

// TestDecodeBaseOtherKinds checks that decodeBase reports ok false, and no
// error, for payloads that are not of a Base.
func TestDecodeBaseOtherKinds(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"events", eventsPayload(t, "client-a", 3)},
		{"delete", appendDelete(nil, "client-a")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok, err := decodeBase(tc.payload)
			if ok || err != nil || b != nil {
				t.Errorf("decodeBase(%x): got %v, ok %v, error %v; want nil, not ok, no error", tc.payload, b, ok, err)
			}
		})
	}
}

// TestDecodeBaseRejects checks that decodeBase reports an error, and ok,
// for every strict prefix of a Base payload but the empty one, and for a
// payload with a byte too many.
func TestDecodeBaseRejects(t *testing.T) {
	for _, tc := range testBases(t) {
		t.Run(tc.name, func(t *testing.T) {
			payload := appendBase(nil, tc.base)
			for n := 1; n < len(payload); n++ {
				prefix := payload[:n:n]
				if b, ok, err := decodeBase(prefix); err == nil || !ok || b != nil {
					t.Errorf("decodeBase of the first %d of %d bytes: got %v, ok %v, error %v; want nil, ok, an error", n, len(payload), b, ok, err)
				}
			}
			longer := append(payload[:len(payload):len(payload)], 0)
			if b, ok, err := decodeBase(longer); err == nil || !ok || b != nil {
				t.Errorf("decodeBase with a byte too many: got %v, ok %v, error %v; want nil, ok, an error", b, ok, err)
			}
		})
	}
}

// TestDeletePayloadRoundTrip checks that decodeDelete gives back the
// client id that appendDelete wrote, and refuses what is cut short or has
// a byte too many.
func TestDeletePayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		client string
	}{
		{"named", "client-a"},
		{"uuid", "0b2b7a6e-1f0c-4c3e-9a51-2f3c1d5e6a7b"},
		{"empty", ""},
		{"not ASCII", "clïent ☃"},
		{"long", strings.Repeat("c", 1000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := appendDelete([]byte("head"), tc.client)
			if !strings.HasPrefix(string(payload), "head") {
				t.Fatalf("appendDelete did not keep what the buffer held: got %q", payload)
			}
			payload = payload[len("head"):]
			got, ok, err := decodeDelete(payload)
			if err != nil || !ok || got != tc.client {
				t.Errorf("decodeDelete: got %q, ok %v, error %v; want %q, ok, no error", got, ok, err, tc.client)
			}
			for n := 1; n < len(payload); n++ {
				if got, ok, err := decodeDelete(payload[:n:n]); err == nil || !ok {
					t.Errorf("decodeDelete of the first %d of %d bytes: got %q, ok %v, error %v; want ok and an error", n, len(payload), got, ok, err)
				}
			}
			longer := append(payload[:len(payload):len(payload)], 'x')
			if got, ok, err := decodeDelete(longer); err == nil || !ok {
				t.Errorf("decodeDelete with a byte too many: got %q, ok %v, error %v; want ok and an error", got, ok, err)
			}
		})
	}
}

// TestDecodeDeleteOtherKinds checks that decodeDelete reports ok false,
// and no error, for payloads that are not of a deletion.
func TestDecodeDeleteOtherKinds(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"events", eventsPayload(t, "client-a", 2)},
		{"base", appendBase(nil, baseOf(t, "client-a", "requests", 1, 1, 1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := decodeDelete(tc.payload)
			if ok || err != nil || got != "" {
				t.Errorf("decodeDelete(%x): got %q, ok %v, error %v; want \"\", not ok, no error", tc.payload, got, ok, err)
			}
		})
	}
}

// TestDecodeEventsRejectsBaseAndDelete checks that decodeEvents refuses
// payloads of the other kinds, and appends nothing.
func TestDecodeEventsRejectsBaseAndDelete(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"base", appendBase(nil, baseOf(t, "client-a", "requests", 2, 1, 0.5, 0.5))},
		{"base of nothing", appendBase(nil, baseOf(t, "", "", 0, 0))},
		{"delete", appendDelete(nil, "client-a")},
		{"delete of an empty id", appendDelete(nil, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			into := []event.Event{{ClientID: "kept"}}
			got, err := decodeEvents(into, tc.payload)
			if err == nil {
				t.Errorf("decodeEvents(%x): got no error, want one", tc.payload)
			}
			if len(got) != 1 || got[0].ClientID != "kept" {
				t.Errorf("decodeEvents(%x): got events %v, want only the one given", tc.payload, got)
			}
		})
	}
	// The events payload the others are told from decodes.
	if got, err := decodeEvents(nil, eventsPayload(t, "client-a", 2)); err != nil || len(got) != 2 {
		t.Errorf("decodeEvents of an events payload: got %d events, error %v; want 2, no error", len(got), err)
	}
}
