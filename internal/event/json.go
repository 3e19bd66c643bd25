package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode reads a request body: one event object, or a non-empty JSON array
// of event objects (a batch). It returns one Item per event, in order; each
// is checked on its own, so one bad event does not spoil the others.
//
// A body that is not an object or a non-empty array of objects is an *Error
// of kind ErrInvalid; a batch of more than maxEvents events (when maxEvents
// > 0) is an *Error of kind ErrTooLarge.
//
// The strings of the items may point into body: the caller must not change
// body while it uses them, and must copy any string it keeps.
func Decode(body []byte, maxEvents int) ([]Item, error) {
	items, err := AppendDecode(nil, body, maxEvents)
	if err != nil {
		return nil, err
	}
	return items, nil
}

// byteOrderMark is UTF-8's byte order mark, which a JSON text must not
// start with (RFC 8259, section 8.1).
var byteOrderMark = []byte{0xef, 0xbb, 0xbf}

// AppendDecode is Decode appending the items to items, so that a caller may
// reuse the room of an earlier batch. On error it returns items as they
// were.
func AppendDecode(items []Item, body []byte, maxEvents int) ([]Item, error) {
	body = trimSpace(body)
	if len(body) == 0 {
		return items, &Error{Kind: ErrInvalid, Message: "request body is empty: send an event object or an array of event objects"}
	}
	if bytes.HasPrefix(body, byteOrderMark) {
		return items, &Error{Kind: ErrInvalid, Message: "request body starts with a byte order mark (EF BB BF): send the JSON without one"}
	}
	s := scanner{data: body}
	switch body[0] {
	case '{':
		var f fields
		if !s.object(&f, 1) || s.pos != len(body) {
			return items, badJSON(syntaxError(body))
		}
		var it Item
		it.Event, it.RawID, it.Err = f.event()
		return append(items, it), nil
	case '[':
		return s.batch(items, maxEvents)
	}
	if !s.value(1) || s.pos != len(body) {
		return items, badJSON(syntaxError(body))
	}
	return items, &Error{Kind: ErrInvalid, Message: "request body must be an event object or a non-empty array of event objects"}
}

// batch reads a body that opens an array, s.data, appending its events to
// items. It reads the whole body, so that a body that is not valid JSON is
// refused as such whatever else is wrong with it; but it stops building
// items past maxEvents or past an element that is not an object, since the
// body is then refused.
func (s *scanner) batch(items []Item, maxEvents int) ([]Item, error) {
	base := len(items)
	items = grow(items, bytes.Count(s.data, []byte{'{'}), s.data, maxEvents)
	n := 0       // elements
	notObj := -1 // the first element that is not an object
	s.pos++      // '['
	s.skipSpace()
	if s.next() == ']' {
		s.pos++
		if s.pos != len(s.data) {
			return items[:base], badJSON(syntaxError(s.data))
		}
		return items[:base], &Error{Kind: ErrInvalid, Message: "request body is an empty array: send at least one event"}
	}
	for {
		isObj := s.next() == '{'
		if isObj && notObj < 0 && (maxEvents <= 0 || n < maxEvents) {
			var f fields
			if !s.object(&f, 2) {
				return items[:base], badJSON(syntaxError(s.data))
			}
			var it Item
			it.Event, it.RawID, it.Err = f.event()
			items = append(items, it)
		} else {
			if !isObj && notObj < 0 {
				notObj = n
			}
			if !s.value(2) {
				return items[:base], badJSON(syntaxError(s.data))
			}
		}
		n++
		s.skipSpace()
		c := s.next()
		s.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			return items[:base], badJSON(syntaxError(s.data))
		}
		s.skipSpace()
	}
	switch {
	case s.pos != len(s.data):
		return items[:base], badJSON(syntaxError(s.data))
	case maxEvents > 0 && n > maxEvents:
		return items[:base], &Error{Kind: ErrTooLarge, Message: "batch has " + strconv.Itoa(n) + " events; the limit is " + strconv.Itoa(maxEvents)}
	case notObj >= 0:
		return items[:base], &Error{Kind: ErrInvalid, Message: "batch element " + strconv.Itoa(notObj) + " is not an event object"}
	}
	return items, nil
}

// minEventLen is fewer bytes than the shortest valid event object takes,
// {"client_id":"c","event_id":"e","event_timestamp":0,...}.
const minEventLen = 100

// grow makes room in items for the events of body, which holds at most
// maxEvents (when > 0) of them, and about n: the number of '{' in a batch,
// of lines in NDJSON, which is right for most bodies. But it makes no more
// room than valid events could fill, so that the room never takes much more
// memory than body; it is too small only for bodies of short, invalid
// events, whose items make the slice grow.
func grow(items []Item, n int, body []byte, maxEvents int) []Item {
	n = min(n, len(body)/minEventLen+1)
	if maxEvents > 0 {
		n = min(n, maxEvents)
	}
	if cap(items)-len(items) >= n {
		return items
	}
	grown := make([]Item, len(items), len(items)+n)
	copy(grown, items)
	return grown
}

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
// The event does not point into b.
func (e *Event) UnmarshalJSON(b []byte) error {
	var f fields
	s := scanner{data: b}
	s.skipSpace()
	if s.next() != '{' || !s.object(&f, 1) || !s.atEnd() {
		// Not an object, or not valid JSON: encoding/json says what is
		// wrong, as it always has. A null is an object without fields.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		f = fieldsOf(m)
	}
	ev, _, err := f.event()
	if err != nil {
		return err
	}
	ev.ClientID, ev.ID, ev.Key = strings.Clone(ev.ClientID), strings.Clone(ev.ID), strings.Clone(ev.Key)
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
//
// The strings of the items may point into body: the caller must not change
// body while it uses them, and must copy any string it keeps.
func DecodeNDJSON(body []byte, maxEvents int) ([]Item, error) {
	items, err := AppendDecodeNDJSON(nil, body, maxEvents)
	if err != nil {
		return nil, err
	}
	return items, nil
}

// AppendDecodeNDJSON is DecodeNDJSON appending the items to items, so that
// a caller may reuse the room of an earlier batch. On error it returns
// items as they were.
func AppendDecodeNDJSON(items []Item, body []byte, maxEvents int) ([]Item, error) {
	base := len(items)
	lines := bytes.Count(body, []byte{'\n'})
	if len(body) > 0 && body[len(body)-1] != '\n' {
		lines++
	}
	items = grow(items, lines, body, maxEvents)
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = trimSpace(line)
		if len(line) == 0 {
			continue
		}
		if maxEvents > 0 && len(items)-base == maxEvents {
			return items[:base], &Error{Kind: ErrTooLarge, Message: "body has more than " + strconv.Itoa(maxEvents) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
		var it Item
		var f fields
		s := scanner{data: line}
		switch {
		case bytes.HasPrefix(line, byteOrderMark):
			it.Err = &Error{Kind: ErrInvalid, Message: "line starts with a byte order mark (EF BB BF): send the JSON without one"}
		case line[0] != '{':
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not an event object"}
		case !s.object(&f, 1) || s.pos != len(line):
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not valid JSON: " + syntaxError(line).Error()}
		default:
			it.Event, it.RawID, it.Err = f.event()
		}
		items = append(items, it)
	}
	if len(items) == base {
		return items, &Error{Kind: ErrInvalid, Message: "request body holds no event: send one event object per line"}
	}
	return items, nil
}
