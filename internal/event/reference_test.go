package event

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file keeps the request-body decoder as it was before the scanner of
// json.go replaced it: encoding/json reads each event object into a map of
// raw values, and each field is then read with encoding/json. It is the
// oracle FuzzDecodeMatchesReference holds the scanner to, and the baseline
// of the benchmarks. Keep it as it is: it is the specification by example,
// changed only where the rules change (lone surrogate escapes and control
// characters in ids are refused, and so is a byte order mark before a body
// or an NDJSON line), and then in its own way, not the scanner's.

// jsonSpace is the white space JSON allows around values.
const jsonSpace = " \t\r\n"

// decodeReference is Decode as it was.
func decodeReference(body []byte, maxEvents int) ([]Item, error) {
	body = bytes.Trim(body, jsonSpace)
	if len(body) == 0 {
		return nil, &Error{Kind: ErrInvalid, Message: "request body is empty: send an event object or an array of event objects"}
	}
	if strings.HasPrefix(string(body), "\ufeff") {
		return nil, &Error{Kind: ErrInvalid, Message: "request body starts with a byte order mark (EF BB BF): send the JSON without one"}
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
			return nil, &Error{Kind: ErrTooLarge, Message: "body has more than " + strconv.Itoa(maxEvents) + " events; the limit is " + strconv.Itoa(maxEvents)}
		}
		var it Item
		var fields map[string]json.RawMessage
		if strings.HasPrefix(string(line), "\ufeff") {
			it.Err = &Error{Kind: ErrInvalid, Message: "line starts with a byte order mark (EF BB BF): send the JSON without one"}
		} else if line[0] != '{' {
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not an event object"}
		} else if err := json.Unmarshal(line, &fields); err != nil {
			it.Err = &Error{Kind: ErrInvalid, Message: "line is not valid JSON: " + err.Error()}
		} else {
			it.Event, it.RawID, it.Err = referenceFromFields(fields)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, &Error{Kind: ErrInvalid, Message: "request body holds no event: send one event object per line"}
	}
	return items, nil
}

// unmarshalReference is Event.UnmarshalJSON as it was.
func unmarshalReference(e *Event, b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	ev, _, err := referenceFromFields(fields)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// referenceFromFields builds an event from the fields of one JSON object,
// checking them in the order of the event's JSON form and reporting the
// first fault.
func referenceFromFields(f map[string]json.RawMessage) (Event, string, error) {
	var e Event
	rawID, _ := referenceStringField(f, FieldEventID)
	var msg string
	if e.ClientID, msg = referenceStringField(f, FieldClientID); msg == "" {
		msg = referenceCheckID(e.ClientID)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldClientID, msg)
	}
	if e.ID, msg = referenceStringField(f, FieldEventID); msg == "" {
		msg = referenceCheckID(e.ID)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldEventID, msg)
	}
	e.ClientID, e.ID = referenceNormalizeID(e.ClientID), referenceNormalizeID(e.ID)
	var num string
	if num, msg = referenceNumberField(f, FieldTimestamp); msg == "" {
		e.Timestamp, msg = referenceParseTimestamp(num)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldTimestamp, msg)
	}
	var typ string
	if typ, msg = referenceStringField(f, FieldType); msg == "" {
		var err error
		if e.Type, err = ParseType(typ); err != nil {
			msg = err.Error()
		}
	}
	if msg != "" {
		return e, rawID, invalidField(FieldType, msg)
	}
	if e.Key, msg = referenceStringField(f, FieldKey); msg == "" {
		msg = referenceCheckKey(e.Key)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldKey, msg)
	}
	if num, msg = referenceNumberField(f, FieldValue); msg == "" {
		e.Value, msg = referenceParseValue(num)
	}
	if msg != "" {
		return e, rawID, invalidField(FieldValue, msg)
	}
	return e, rawID, nil
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
		if _, err := referenceParseDecimal(s); err != nil {
			return "", "must be a number or a numeric string, not " + strconv.Quote(s)
		}
		return s, ""
	case c == '-' || isDigit(c):
		return string(raw), ""
	}
	return "", "must be a number or a numeric string"
}

// referenceNormalizeID is NormalizeID as it was.
func referenceNormalizeID(s string) string {
	if len(s) != 36 {
		return s
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return s
	}
	return u.String()
}

// referenceCheckID is checkID: the rules of referenceCheckKey, with ids'
// own limit.
func referenceCheckID(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxIDLen:
		return "must be at most " + strconv.Itoa(MaxIDLen) + " bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// referenceCheckKey is checkKey as it was.
func referenceCheckKey(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxKeyLen:
		return "must be at most " + strconv.Itoa(MaxKeyLen) + " bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// referenceDecimal is decimal as it was.
type referenceDecimal struct {
	neg    bool
	digits string
	exp    int
}

// referenceParseDecimal is parseDecimal as it was: it reads s, which must
// follow the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func referenceParseDecimal(s string) (referenceDecimal, error) {
	var d referenceDecimal
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return d, errSyntax
	}
	intPart := s[start:i]
	fracPart := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fs {
			return d, errSyntax
		}
		fracPart = s[fs:i]
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if exp < maxExp {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return d, errSyntax
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, errSyntax
	}
	digits := intPart + fracPart
	exp -= len(fracPart)
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if digits == "" {
		exp = 0
	}
	d.digits, d.exp = digits, exp
	return d, nil
}

// intDigits returns how many digits d has before its decimal point.
func (d referenceDecimal) intDigits() int {
	if d.digits == "" {
		return 0
	}
	return max(len(d.digits)+d.exp, 0)
}

// referenceParseValue is parseValue as it was: it reads an event value from
// the text of a JSON number.
func referenceParseValue(s string) (float64, string) {
	if _, err := referenceParseDecimal(s); err != nil {
		return 0, "must be a number"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, "must be a finite number"
	}
	return f, ""
}

// referenceParseTimestamp is parseTimestamp as it was.
func referenceParseTimestamp(s string) (Timestamp, string) {
	d, err := referenceParseDecimal(s)
	if err != nil {
		return 0, "must be a Unix timestamp (a number)"
	}
	if d.digits == "" {
		return 0, ""
	}
	if d.neg {
		return 0, "must not be negative"
	}
	// Scale to nanoseconds by the unit the magnitude tells.
	shift := d.exp
	switch n := d.intDigits(); {
	case n <= 11: // below 1e11: seconds
		shift += 9
	case n <= 14: // milliseconds
		shift += 6
	case n <= 17: // microseconds
		shift += 3
	}
	digits := d.digits
	if shift < 0 {
		if -shift >= len(digits) {
			return 0, ""
		}
		digits = digits[:len(digits)+shift]
		shift = 0
	}
	if len(digits)+shift > 19 {
		return 0, "is out of range (must be before the year 2262)"
	}
	var ns uint64
	for i := 0; i < len(digits); i++ {
		ns = ns*10 + uint64(digits[i]-'0')
	}
	for range shift {
		ns *= 10
	}
	if ns > math.MaxInt64 {
		return 0, "is out of range (must be before the year 2262)"
	}
	return Timestamp(ns), ""
}
