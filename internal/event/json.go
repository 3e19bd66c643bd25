package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Decode reads a request body: one event object, or a non-empty JSON array
// of event objects (a batch). It returns one Item per event, in order; each
// is checked on its own, so one bad event does not spoil the others.
//
// A body that is not an object or a non-empty array of objects is an *Error
// of kind ErrInvalid; a batch of more than maxEvents events (when maxEvents
// > 0) is an *Error of kind ErrTooLarge.
func Decode(body []byte, maxEvents int) ([]Item, error) {
	body = bytes.Trim(body, jsonSpace)
	if len(body) == 0 {
		return nil, &Error{Kind: ErrInvalid, Message: "request body is empty: send an event object or an array of event objects"}
	}
	var raws []json.RawMessage
	switch body[0] {
	case '{':
		raws = []json.RawMessage{body}
	case '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, badJSON(err)
		}
		if len(raws) == 0 {
			return nil, &Error{Kind: ErrInvalid, Message: "request body is an empty array: send at least one event"}
		}
		if maxEvents > 0 && len(raws) > maxEvents {
			return nil, &Error{Kind: ErrTooLarge, Message: "batch has " + strconv.Itoa(len(raws)) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
	default:
		if !json.Valid(body) {
			return nil, badJSON(json.Unmarshal(body, new(any)))
		}
		return nil, &Error{Kind: ErrInvalid, Message: "request body must be an event object or a non-empty array of event objects"}
	}
	items := make([]Item, len(raws))
	for i, raw := range raws {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, &Error{Kind: ErrInvalid, Message: "batch element " + strconv.Itoa(i) + " is not an event object"}
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, badJSON(err)
		}
		items[i].Event, items[i].RawID, items[i].Err = fromFields(fields)
	}
	return items, nil
}

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

func badJSON(err error) *Error {
	return &Error{Kind: ErrInvalid, Message: "request body is not valid JSON: " + err.Error()}
}

// Item is one event of a request body: the event when it follows every rule,
// else Err, an *Error of kind ErrInvalid that names the field at fault.
type Item struct {
	Event Event
	// RawID is the event_id as sent, when it was a string, so that a
	// rejection can name the event even when the id itself was at fault.
	RawID string
	Err   error
}

// fromFields builds an event from the fields of one JSON object, checking
// them in the order of the event's JSON form and reporting the first fault.
func fromFields(f map[string]json.RawMessage) (Event, string, error) {
	var e Event
	rawID, _ := stringField(f, FieldEventID)
	var msg string
	if e.ClientID, msg = stringField(f, FieldClientID); msg == "" {
		msg = checkID(e.ClientID)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldClientID, msg)
	}
	if e.ID, msg = stringField(f, FieldEventID); msg == "" {
		msg = checkID(e.ID)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldEventID, msg)
	}
	e.ClientID, e.ID = NormalizeID(e.ClientID), NormalizeID(e.ID)
	var num string
	if num, msg = numberField(f, FieldTimestamp); msg == "" {
		e.Timestamp, msg = parseTimestamp(num)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldTimestamp, msg)
	}
	var typ string
	if typ, msg = stringField(f, FieldType); msg == "" {
		var err error
		if e.Type, err = ParseType(typ); err != nil {
			msg = err.Error()
		}
	}
	if msg != "" {
		return e, rawID, invalidField(FieldType, msg)
	}
	if e.Key, msg = stringField(f, FieldKey); msg == "" {
		msg = checkKey(e.Key)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldKey, msg)
	}
	if num, msg = numberField(f, FieldValue); msg == "" {
		e.Value, msg = parseValue(num)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldValue, msg)
	}
	return e, rawID, nil
}

// stringField returns field name of f, which must be a JSON string.
func stringField(f map[string]json.RawMessage, name string) (string, string) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return "", "is required"
	}
	if raw[0] != '"' {
		return "", "must be a string"
	}
	if !utf8.Valid(raw) {
		return "", "must be valid UTF-8" // encoding/json would swap the bad bytes for U+FFFD
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", "must be a string"
	}
	return s, ""
}

// numberField returns the text of field name of f, which must be a JSON
// number or a string holding one.
func numberField(f map[string]json.RawMessage, name string) (string, string) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return "", "is required"
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "must be a number or a numeric string"
		}
		if _, err := parseDecimal(s); err != nil {
			return "", "must be a number or a numeric string, not " + strconv.Quote(s)
		}
		return s, ""
	case c == '-' || isDigit(c):
		return string(raw), ""
	}
	return "", "must be a number or a numeric string"
}

// MarshalJSON writes e in its canonical JSON form.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.appendJSON(nil), nil
}

func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"client_id":`...)
	b = appendString(b, e.ClientID)
	b = append(b, `,"event_id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"event_timestamp":`...)
	b = e.Timestamp.AppendJSON(b)
	b = append(b, `,"event_type":"`...)
	b = append(b, e.Type.String()...)
	b = append(b, `","event_key":`...)
	b = appendString(b, e.Key)
	b = append(b, `,"event_value":`...)
	b = AppendFloat(b, e.Value)
	return append(b, '}')
}

// UnmarshalJSON reads one event object under the rules the server applies.
func (e *Event) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	ev, _, err := fromFields(fields)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// appendString appends s as a JSON string. s must be valid UTF-8, which
// Validate ensures for every string of an event.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
				start = i + size
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DecodeNDJSON reads a newline-delimited JSON body: one event object per
// line; blank lines are skipped. Each line is checked on its own: a line
// that is not a JSON object is a rejected item, not a bad body. A body with
// no event at all is an *Error of kind ErrInvalid; more than maxEvents
// events (when maxEvents > 0) is an *Error of kind ErrTooLarge.
func DecodeNDJSON(body []byte, maxEvents int) ([]Item, error) {
	var items []Item
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.Trim(line, jsonSpace)
		if len(line) == 0 {
			continue
		}
		if maxEvents > 0 && len(items) == maxEvents {
			return nil, &Error{Kind: ErrTooLarge, Message: "body has more than " + strconv.Itoa(maxEvents) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
		var it Item
		var fields map[string]json.RawMessage
		if line[0] != '{' {
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not an event object"}
		} else if err := json.Unmarshal(line, &fields); err != nil {
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not valid JSON: " + err.Error()}
		} else {
			it.Event, it.RawID, it.Err = fromFields(fields)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, &Error{Kind: ErrInvalid, Message: "request body holds no event: send one event object per line"}
	}
	return items, nil
}
