package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Dump is everything one client holds, grouped by event key.
type Dump struct {
	ClientID string
	// Series holds one entry per key, sorted by key.
	Series []Series
}

// Series is what a client holds under one key. A CUMULATIVE key has a total
// (Total, Count, Last); a TIME-SERIES key has its samples.
type Series struct {
	Key  string
	Type Type

	// Total is the exact sum of the values of Count events, rounded to a
	// float64; Last is the latest of their timestamps. CUMULATIVE only.
	Total float64
	Count int64
	Last  Timestamp

	// Samples are the events of a TIME-SERIES key ordered by timestamp,
	// ties in order of arrival.
	Samples []Sample
}

// Sample is one stored TIME-SERIES event.
type Sample struct {
	ID        string
	Timestamp Timestamp
	Value     float64
}

// UnmarshalJSON reads a dump in the form of the dump endpoint:
//
//	{"client_id": "…", "events": {"key": {…total…} or [{…event…}, …]}}
func (d *Dump) UnmarshalJSON(b []byte) error {
	var wire struct {
		ClientID string                     `json:"client_id"`
		Events   map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	out := Dump{ClientID: wire.ClientID, Series: make([]Series, 0, len(wire.Events))}
	for key, raw := range wire.Events {
		raw = bytes.TrimSpace(raw)
		s := Series{Key: key}
		switch {
		case len(raw) > 0 && raw[0] == '{':
			var total struct {
				Value     json.Number `json:"event_value"`
				Count     int64       `json:"event_count"`
				Timestamp json.Number `json:"event_timestamp"`
			}
			if err := json.Unmarshal(raw, &total); err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			var err error
			s.Type, s.Count = Cumulative, total.Count
			if s.Total, err = ParseValue(total.Value.String()); err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			if s.Last, err = ParseTimestamp(total.Timestamp.String()); err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
		case len(raw) > 0 && raw[0] == '[':
			var events []storedEvent
			if err := json.Unmarshal(raw, &events); err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			s.Type = TimeSeries
			s.Samples = make([]Sample, len(events))
			for i, e := range events {
				smp, err := e.sample()
				if err != nil {
					return fmt.Errorf("key %q: %w", key, err)
				}
				s.Samples[i] = smp
			}
		default:
			return fmt.Errorf("key %q: neither a total object nor an array of events", key)
		}
		out.Series = append(out.Series, s)
	}
	sort.Slice(out.Series, func(i, j int) bool { return out.Series[i].Key < out.Series[j].Key })
	*d = out
	return nil
}

// storedEvent is a TIME-SERIES event of a dump. Its ids are read as the
// server holds them, not under the rules for new events: a server may hold
// ids from before a rule was added (control characters were once allowed),
// and a client must still be able to show them.
type storedEvent struct {
	ClientID  *string     `json:"client_id"`
	ID        *string     `json:"event_id"`
	Timestamp json.Number `json:"event_timestamp"`
	Type      *Type       `json:"event_type"`
	Key       *string     `json:"event_key"`
	Value     json.Number `json:"event_value"`
}

// sample returns the sample e describes, or what is wrong with e.
func (e *storedEvent) sample() (Sample, error) {
	var smp Sample
	switch {
	case e.ClientID == nil:
		return smp, invalidField(FieldClientID, "is required")
	case *e.ClientID == "":
		return smp, invalidField(FieldClientID, "must not be empty")
	case e.ID == nil:
		return smp, invalidField(FieldEventID, "is required")
	case *e.ID == "":
		return smp, invalidField(FieldEventID, "must not be empty")
	case e.Type == nil:
		return smp, invalidField(FieldType, "is required")
	case e.Key == nil:
		return smp, invalidField(FieldKey, "is required")
	}
	if err := CheckText(FieldKey, *e.Key, false); err != nil {
		return smp, err
	}
	var err error
	if smp.Timestamp, err = ParseTimestamp(e.Timestamp.String()); err != nil {
		return smp, err
	}
	if smp.Value, err = ParseValue(e.Value.String()); err != nil {
		return smp, err
	}
	smp.ID = *e.ID
	return smp, nil
}

// Result is what became of one event the store was asked to apply.
type Result struct {
	// Duplicate is true when the client had sent this event before, with
	// the same content: nothing changed.
	Duplicate bool
	// Err is an *Error of kind ErrConflict when the event contradicts what
	// the client sent before: nothing changed.
	Err error
}

// Summary is the answer to a POST of events: what became of each.
type Summary struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	// Errors lists the rejected events, the first of them when there are
	// many; ErrorsOmitted is how many more were rejected.
	Errors        []ItemError `json:"errors"`
	ErrorsOmitted int         `json:"errors_omitted,omitempty"`
}

// ItemError names one rejected event of a request and why it was rejected.
type ItemError struct {
	// Index is the event's position in the batch (0 for a single event).
	Index   int    `json:"index"`
	EventID string `json:"event_id"`
	// Code is "invalid" or "conflict".
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ClientInfo describes one known client.
type ClientInfo struct {
	ClientID string `json:"client_id"`
	// Events is the number of events the client holds: every accepted
	// event, cumulative ones included.
	Events int64 `json:"event_count"`
}
