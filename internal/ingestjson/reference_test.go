package ingestjson

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/montool/montool/internal/event"
)

// This file keeps the request-body decoder as it was before the scanner of
// scan.go replaced it: encoding/json reads each event object into a map of
// raw values, and each field is then read with encoding/json; a JSON number
// is what json.Valid says is one. The texts of the fields are then held to
// the rules of package event, whose own tests hold them to the documented
// rules alone (event's reference_test.go). It is the oracle
// FuzzDecodeMatchesReference holds the scanner to, and the baseline of the
// benchmarks. Keep it as it is: it is the specification by example,
// changed only where the rules change (lone surrogate escapes are refused,
// and so is a byte order mark before a body or an NDJSON line), and then in
// its own way, not the scanner's.

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

// decodeReference is Decode as it was.
func decodeReference(body []byte, maxEvents int) ([]Item, error) {
	body = bytes.Trim(body, jsonSpace)
	if len(body) == 0 {
		return nil, &event.Error{Kind: event.ErrInvalid, Message: "request body is empty: send an event object or an array of event objects"}
	}
	if strings.HasPrefix(string(body), "\ufeff") {
		return nil, &event.Error{Kind: event.ErrInvalid, Message: "request body starts with a byte order mark (EF BB BF): send the JSON without one"}
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
			return nil, &event.Error{Kind: event.ErrInvalid, Message: "request body is an empty array: send at least one event"}
		}
		if maxEvents > 0 && len(raws) > maxEvents {
			return nil, &event.Error{Kind: event.ErrTooLarge, Message: "batch has " + strconv.Itoa(len(raws)) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
	default:
		if !json.Valid(body) {
			return nil, badJSON(json.Unmarshal(body, new(any)))
		}
		return nil, &event.Error{Kind: event.ErrInvalid, Message: "request body must be an event object or a non-empty array of event objects"}
	}
	items := make([]Item, len(raws))
	for i, raw := range raws {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, &event.Error{Kind: event.ErrInvalid, Message: "batch element " + strconv.Itoa(i) + " is not an event object"}
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, badJSON(err)
		}
		items[i].Event, items[i].RawID, items[i].Err = referenceFromFields(fields)
	}
	return items, nil
}

// decodeNDJSONReference is DecodeNDJSON as it was.
func decodeNDJSONReference(body []byte, maxEvents int) ([]Item, error) {
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
			return nil, &event.Error{Kind: event.ErrTooLarge, Message: "body has more than " + strconv.Itoa(maxEvents) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
		var it Item
		var fields map[string]json.RawMessage
		if strings.HasPrefix(string(line), "\ufeff") {
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line starts with a byte order mark (EF BB BF): send the JSON without one"}
		} else if line[0] != '{' {
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line is not an event object"}
		} else if err := json.Unmarshal(line, &fields); err != nil {
			it.Err = &event.Error{Kind: event.ErrInvalid, Message: "line is not valid JSON: " + err.Error()}
		} else {
			it.Event, it.RawID, it.Err = referenceFromFields(fields)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, &event.Error{Kind: event.ErrInvalid, Message: "request body holds no event: send one event object per line"}
	}
	return items, nil
}

// referenceFromFields builds an event from the fields of one JSON object,
// checking them in the order of the event's JSON form and reporting the
// first fault.
func referenceFromFields(f map[string]json.RawMessage) (event.Event, string, error) {
	var e event.Event
	rawID, _ := referenceStringField(f, event.FieldEventID)
	var msg string
	var err error
	if e.ClientID, msg = referenceStringField(f, event.FieldClientID); msg != "" {
		return e, rawID, referenceInvalid(event.FieldClientID, msg)
	}
	if err = event.CheckID(event.FieldClientID, e.ClientID); err != nil {
		return e, rawID, err
	}
	if e.ID, msg = referenceStringField(f, event.FieldEventID); msg != "" {
		return e, rawID, referenceInvalid(event.FieldEventID, msg)
	}
	if err = event.CheckID(event.FieldEventID, e.ID); err != nil {
		return e, rawID, err
	}
	e.ClientID, e.ID = event.NormalizeID(e.ClientID), event.NormalizeID(e.ID)
	var num string
	if num, msg = referenceNumberField(f, event.FieldTimestamp); msg != "" {
		return e, rawID, referenceInvalid(event.FieldTimestamp, msg)
	}
	if e.Timestamp, err = event.ParseTimestamp(num); err != nil {
		return e, rawID, err
	}
	var typ string
	if typ, msg = referenceStringField(f, event.FieldType); msg != "" {
		return e, rawID, referenceInvalid(event.FieldType, msg)
	}
	if e.Type, err = event.ParseType(typ); err != nil {
		return e, rawID, referenceInvalid(event.FieldType, err.Error())
	}
	if e.Key, msg = referenceStringField(f, event.FieldKey); msg != "" {
		return e, rawID, referenceInvalid(event.FieldKey, msg)
	}
	if err = event.CheckText(event.FieldKey, e.Key, false); err != nil {
		return e, rawID, err
	}
	if num, msg = referenceNumberField(f, event.FieldValue); msg != "" {
		return e, rawID, referenceInvalid(event.FieldValue, msg)
	}
	if e.Value, err = event.ParseValue(num); err != nil {
		return e, rawID, err
	}
	return e, rawID, nil
}

// referenceInvalid returns the error of a field that is not what its
// rule says.
func referenceInvalid(field, msg string) error {
	return &event.Error{Kind: event.ErrInvalid, Field: field, Message: msg}
}

// referenceStringField returns field name of f, which must be a JSON
// string.
func referenceStringField(f map[string]json.RawMessage, name string) (string, string) {
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
	if esc := referenceLoneSurrogate(raw); esc != "" {
		return "", loneSurrogate(esc) // encoding/json would swap it for U+FFFD too
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", "must be a string"
	}
	return s, ""
}

// referenceEscape matches one escape of a JSON string: the matches of a
// string, found left to right, are its escapes, an escaped backslash being
// one escape and not the start of another.
var referenceEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

// referenceLoneSurrogate returns the first \u escape in raw, a valid JSON
// string, of half a UTF-16 surrogate pair that is not followed (for a high
// half) or preceded (for a low half) by an escape of the other half; "" when
// there is none.
func referenceLoneSurrogate(raw []byte) string {
	escapes := referenceEscape.FindAllIndex(raw, -1)
	half := func(i int) uint64 { // the code unit of escape i, or 0
		if i >= len(escapes) || escapes[i][1]-escapes[i][0] != 6 {
			return 0
		}
		u, _ := strconv.ParseUint(string(raw[escapes[i][0]+2:escapes[i][1]]), 16, 16)
		return u
	}
	for i := 0; i < len(escapes); i++ {
		switch u := half(i); {
		case 0xd800 <= u && u <= 0xdbff:
			adjacent := i+1 < len(escapes) && escapes[i+1][0] == escapes[i][1]
			if next := half(i + 1); adjacent && 0xdc00 <= next && next <= 0xdfff {
				i++ // a pair
				continue
			}
			return string(raw[escapes[i][0]:escapes[i][1]])
		case 0xdc00 <= u && u <= 0xdfff:
			return string(raw[escapes[i][0]:escapes[i][1]])
		}
	}
	return ""
}

// referenceNumberField returns the text of field name of f, which must be a
// JSON number or a string holding one.
func referenceNumberField(f map[string]json.RawMessage, name string) (string, string) {
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
		if !referenceIsNumber(s) {
			return "", "must be a number or a numeric string, not " + strconv.Quote(s)
		}
		return s, ""
	case referenceIsNumber(string(raw)):
		return string(raw), ""
	}
	return "", "must be a number or a numeric string"
}

// referenceIsNumber reports whether s is one JSON number and nothing more.
// A JSON number starts with a minus sign or a digit and ends with a digit;
// json.Valid holds it to the grammar and refuses anything after it.
func referenceIsNumber(s string) bool {
	return s != "" && strings.IndexByte("-0123456789", s[0]) >= 0 &&
		strings.IndexByte("0123456789", s[len(s)-1]) >= 0 && json.Valid([]byte(s))
}
