package ingestjson

import (
	"bytes"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// byteOrderMark is UTF-8's byte order mark, which a JSON text must not
// start with (RFC 8259, section 8.1).
const byteOrderMark = "\xef\xbb\xbf"

// startsWithBOM reports whether b starts with a byte order mark.
func startsWithBOM(b []byte) bool {
	return len(b) >= len(byteOrderMark) && string(b[:len(byteOrderMark)]) == byteOrderMark
}

// appendJSON reads a JSON body: one event object, or a non-empty JSON array
// of event objects (a batch), appending one Item per event to items, in
// order; each is checked on its own, so one bad event does not spoil the
// others. A body that is not an object or a non-empty array of objects is
// an *event.Error of kind ErrInvalid; a batch of more than maxEvents events
// (when maxEvents > 0) is one of kind ErrTooLarge. On error it returns
// items as they were.
func appendJSON(items []Item, body []byte, maxEvents int) ([]Item, error) {
	body = trimSpace(body)
	if len(body) == 0 {
		return items, &event.Error{Kind: event.ErrInvalid, Message: "request body is empty: send an event object or an array of event objects"}
	}
	if startsWithBOM(body) {
		return items, &event.Error{Kind: event.ErrInvalid, Message: "request body starts with a byte order mark (EF BB BF): send the JSON without one"}
	}
	s := scanner{data: body}
	switch body[0] {
	case '{':
		var f fields
		if !s.object(&f, 1) || s.pos != len(body) {
			return items, badJSON(syntaxError(body))
		}
		var it Item
		it.Event, it.RawID, it.Err = f.build()
		return append(items, it), nil
	case '[':
		return s.batch(items, maxEvents)
	}
	if !s.value(1) || s.pos != len(body) {
		return items, badJSON(syntaxError(body))
	}
	return items, &event.Error{Kind: event.ErrInvalid, Message: "request body must be an event object or a non-empty array of event objects"}
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
		return items[:base], &event.Error{Kind: event.ErrInvalid, Message: "request body is an empty array: send at least one event"}
	}
	for {
		isObj := s.next() == '{'
		if isObj && notObj < 0 && (maxEvents <= 0 || n < maxEvents) {
			var f fields
			if !s.object(&f, 2) {
				return items[:base], badJSON(syntaxError(s.data))
			}
			var it Item
			it.Event, it.RawID, it.Err = f.build()
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
		return items[:base], &event.Error{Kind: event.ErrTooLarge, Message: "batch has " + strconv.Itoa(n) + " events; the limit is " + strconv.Itoa(maxEvents)}
	case notObj >= 0:
		return items[:base], &event.Error{Kind: event.ErrInvalid, Message: "batch element " + strconv.Itoa(notObj) + " is not an event object"}
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

func badJSON(err error) *event.Error {
	return &event.Error{Kind: event.ErrInvalid, Message: "request body is not valid JSON: " + err.Error()}
}

// appendNDJSON reads a newline-delimited JSON body, appending its items to
// items: one event object per line; blank lines are skipped. Each line is
// checked on its own: a line that is not a JSON object is a rejected item,
// not a bad body. A body with no event at all is an *event.Error of kind
// ErrInvalid; more than maxEvents events (when maxEvents > 0) is one of
// kind ErrTooLarge. On error it returns items as they were.
func appendNDJSON(items []Item, body []byte, maxEvents int) ([]Item, error) {
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
			return items[:base], &event.Error{Kind: event.ErrTooLarge, Message: "body has more than " + strconv.Itoa(maxEvents) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
		var it Item
		var f fields
		s := scanner{data: line}
		switch {
		case startsWithBOM(line):
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line starts with a byte order mark (EF BB BF): send the JSON without one"}
		case line[0] != '{':
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line is not an event object"}
		case !s.object(&f, 1) || s.pos != len(line):
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line is not valid JSON: " + syntaxError(line).Error()}
		default:
			it.Event, it.RawID, it.Err = f.build()
		}
		items = append(items, it)
	}
	if len(items) == base {
		return items, &event.Error{Kind: event.ErrInvalid, Message: "request body holds no event: send one event object per line"}
	}
	return items, nil
}
