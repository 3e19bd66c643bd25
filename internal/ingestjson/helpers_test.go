package ingestjson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/ingestjson"
)

// omit, as a field value given to eventJSON, leaves the field out.
const omit = "\x00omit"

// eventFields lists the fields of an event object in their canonical order.
var eventFields = []string{"client_id", "event_id", "event_timestamp", "event_type", "event_key", "event_value"}

// baseValues are the raw JSON values of a valid event.
var baseValues = map[string]string{
	"client_id":       `"c1"`,
	"event_id":        `"e1"`,
	"event_timestamp": `1763850000`,
	"event_type":      `"CUMULATIVE"`,
	"event_key":       `"cpu"`,
	"event_value":     `1.5`,
}

// baseEvent is the event baseValues describe.
var baseEvent = event.Event{
	ClientID:  "c1",
	ID:        "e1",
	Timestamp: 1763850000000000000,
	Type:      event.Cumulative,
	Key:       "cpu",
	Value:     1.5,
}

// eventJSON writes an event object: the fields of baseValues, each replaced
// by the raw JSON value given for it in overrides (name, value, name, value…),
// or left out when that value is omit. Names not in the canonical list are
// appended as extra fields.
func eventJSON(overrides ...string) string {
	vals := make(map[string]string, len(baseValues))
	for k, v := range baseValues {
		vals[k] = v
	}
	var extra []string
	for i := 0; i+1 < len(overrides); i += 2 {
		name := overrides[i]
		if _, known := baseValues[name]; !known {
			extra = append(extra, name)
		}
		vals[name] = overrides[i+1]
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, name := range append(append([]string(nil), eventFields...), extra...) {
		v := vals[name]
		if v == omit {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + name + `":` + v)
	}
	b.WriteByte('}')
	return b.String()
}

// checkFieldErr reports whether err is an *Error of kind ErrInvalid naming
// field, and fails t otherwise.
func checkFieldErr(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want an invalid %s", field)
		return
	}
	if !errors.Is(err, event.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
	}
	var e *event.Error
	if !errors.As(err, &e) {
		t.Errorf("errors.As(%v, *Error): got false, want true", err)
		return
	}
	if e.Field != field {
		t.Errorf("Error.Field of %q: got %q, want %q", err, e.Field, field)
	}
}

// decode decodes body into a new Batch, as NDJSON when ndjson says so, else
// as JSON, and returns its items, or nil with the error. A batch that holds
// items after an error fails t.
func decode(t *testing.T, ndjson bool, body []byte, maxEvents int) ([]ingestjson.Item, error) {
	t.Helper()
	var b ingestjson.Batch
	decode := b.DecodeJSON
	if ndjson {
		decode = b.DecodeNDJSON
	}
	if err := decode(body, maxEvents); err != nil {
		if n := len(b.Items()); n != 0 {
			t.Errorf("decode: %d items with the error %v, want none", n, err)
		}
		return nil, err
	}
	return b.Items(), nil
}
