package ingestjson

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/montool/montool/internal/event"
)

// This file holds the scanner that reads request bodies: one pass over the
// bytes of a body for the fixed schema of an event, taking exactly the JSON
// that encoding/json takes and reading every field as encoding/json reads it
// into a map[string]json.RawMessage and then into a string. A body it
// refuses is handed to encoding/json only to word the error, so that clients
// see the messages they always have.

// maxDepth is how deep encoding/json lets arrays and objects nest: a body
// nested deeper is not valid JSON to it, so not to the scanner either.
const maxDepth = 10000

// The positions of the event fields in a fields array, in the canonical
// order in which they are checked.
const (
	fClientID = iota
	fEventID
	fTimestamp
	fType
	fKey
	fValue
	numFields
)

// fieldIndex returns the position in a fields array of the field called
// name, or -1 for a name that is no event field. Names match exactly, as
// keys of a map do.
func fieldIndex(name []byte) int {
	switch string(name) {
	case event.FieldClientID:
		return fClientID
	case event.FieldEventID:
		return fEventID
	case event.FieldTimestamp:
		return fTimestamp
	case event.FieldType:
		return fType
	case event.FieldKey:
		return fKey
	case event.FieldValue:
		return fValue
	}
	return -1
}

// rawValue is the value of one field as the scanner found it.
type rawValue struct {
	// text is the JSON text of the value; nil when the field is absent.
	text []byte
	// For a string: escaped is true when it may hold escapes, and high when
	// it may hold bytes from 0x7f up (DEL, or bytes outside ASCII, maybe not
	// UTF-8). Both true is always correct, only slower.
	escaped, high bool
}

// fields holds the values of the event fields of one JSON object. When a
// field appears more than once, the last one counts, as in a map.
type fields [numFields]rawValue

// build builds an event from f, checking the fields in the canonical order
// and reporting the first fault. It returns the event as far as it was
// built, the event_id as sent when it is a string (to name the event in a
// rejection), and the fault. The strings of the event point into the text
// of f when they could be read from it as they are.
func (f *fields) build() (event.Event, string, error) {
	var e event.Event
	id, idMsg := f[fEventID].str()
	rawID := id // "" when event_id is not a string
	var msg string
	var err error
	if e.ClientID, msg = f[fClientID].str(); msg != "" {
		return e, rawID, invalid(event.FieldClientID, msg)
	}
	if err = event.CheckText(event.FieldClientID, e.ClientID, f[fClientID].plain()); err != nil {
		return e, rawID, err
	}
	if e.ID, msg = id, idMsg; msg != "" {
		return e, rawID, invalid(event.FieldEventID, msg)
	}
	if err = event.CheckText(event.FieldEventID, e.ID, f[fEventID].plain()); err != nil {
		return e, rawID, err
	}
	e.ClientID, e.ID = event.NormalizeID(e.ClientID), event.NormalizeID(e.ID)
	var num string
	if num, msg = f[fTimestamp].number(); msg != "" {
		return e, rawID, invalid(event.FieldTimestamp, msg)
	}
	if e.Timestamp, err = event.ParseTimestamp(num); err != nil {
		return e, rawID, err
	}
	var typ string
	if typ, msg = f[fType].str(); msg != "" {
		return e, rawID, invalid(event.FieldType, msg)
	}
	if e.Type, err = event.ParseType(typ); err != nil {
		return e, rawID, invalid(event.FieldType, err.Error())
	}
	if e.Key, msg = f[fKey].str(); msg != "" {
		return e, rawID, invalid(event.FieldKey, msg)
	}
	if err = event.CheckText(event.FieldKey, e.Key, f[fKey].plain()); err != nil {
		return e, rawID, err
	}
	if num, msg = f[fValue].number(); msg != "" {
		return e, rawID, invalid(event.FieldValue, msg)
	}
	if e.Value, err = event.ParseValue(num); err != nil {
		return e, rawID, err
	}
	return e, rawID, nil
}

// invalid returns the *event.Error of kind ErrInvalid for field that msg
// words.
func invalid(field, msg string) error {
	return &event.Error{Kind: event.ErrInvalid, Field: field, Message: msg}
}

// plain reports whether v, a string, holds only bytes from 0x20 to 0x7e,
// which stand for themselves: no control character, nothing but ASCII.
func (v *rawValue) plain() bool { return !v.escaped && !v.high }

// str returns the value of a field that must be a JSON string, or a message
// saying why it is not one. Raw bytes that are not UTF-8 are refused, where
// encoding/json would swap them for U+FFFD.
func (v *rawValue) str() (string, string) {
	raw := v.text
	if raw == nil || string(raw) == "null" {
		return "", "is required"
	}
	if raw[0] != '"' {
		return "", "must be a string"
	}
	s := raw[1 : len(raw)-1]
	if v.high && !utf8.Valid(s) {
		return "", "must be valid UTF-8"
	}
	if !v.escaped {
		return alias(s), ""
	}
	text, lone := unquote(s)
	if lone >= 0 {
		return "", loneSurrogate(string(s[lone : lone+6])) // a copy: the message outlives the body
	}
	return text, ""
}

// loneSurrogate returns the message for a string that holds esc, the \u
// escape of half a UTF-16 surrogate pair without the other half: it stands
// for no character, and encoding/json would read it as U+FFFD, so that two
// strings that differ in it would be taken for one.
func loneSurrogate(esc string) string {
	return "must be valid UTF-8: " + esc + " is half of a UTF-16 surrogate pair; send both halves, or the character itself"
}

// number returns the text of the value of a field that must be a JSON number
// or a string holding one, or a message saying why it is not.
func (v *rawValue) number() (string, string) {
	raw := v.text
	if raw == nil || string(raw) == "null" {
		return "", "is required"
	}
	switch c := raw[0]; {
	case c == '"':
		s := raw[1 : len(raw)-1]
		if v.escaped || v.high {
			s, _ = appendUnquoted(make([]byte, 0, len(s)), s) // bytes that are not UTF-8 become U+FFFD, as encoding/json has them
		}
		num := alias(s)
		if !isNumber(s) {
			return "", "must be a number or a numeric string, not " + strconv.Quote(num)
		}
		return num, ""
	case c == '-' || isDigit(c):
		return alias(raw), ""
	}
	return "", "must be a number or a numeric string"
}

// isNumber reports whether b is one JSON number and nothing more.
func isNumber(b []byte) bool {
	s := scanner{data: b}
	return s.number() && s.pos == len(b)
}

// alias returns the bytes of b as a string without copying them: b must not
// change while the string is in use. It is how the strings of a Batch point
// into its body, and the lifetime documented on Batch is what makes that
// safe; the only other bytes it is given are those of unquoted strings,
// which nothing changes.
func alias(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// unquote returns the text of a JSON string, s without its quotes, with its
// escapes decoded as encoding/json decodes them: an escaped UTF-16 surrogate
// that is not part of a pair, and any raw byte that is not UTF-8, become
// U+FFFD. It also returns where in s the first escape of such a lone
// surrogate starts, or -1. s must be valid JSON string content.
func unquote(s []byte) (string, int) {
	b, lone := appendUnquoted(make([]byte, 0, len(s)), s)
	return alias(b), lone // b is not used again
}

// appendUnquoted appends the text of the JSON string content s to b, as
// unquote decodes it, and returns where the first escape of a lone
// surrogate starts in s, or -1.
func appendUnquoted(b, s []byte) ([]byte, int) {
	lone := -1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair when a \u escape of the other half follows;
					// else U+FFFD, and what follows is read on its own.
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if pair := utf16.DecodeRune(r, hex4(s[i+2:])); pair != utf8.RuneError {
							r = pair
							i += 6
						}
					}
					if utf16.IsSurrogate(r) {
						r = utf8.RuneError
						if lone < 0 {
							lone = i - 6
						}
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\' or '/'
				b = append(b, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			b = utf8.AppendRune(b, r)
			i += size
		}
	}
	return b, lone
}

// hex4 reads the four hex digits that start s, which the scanner checked.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		r = r<<4 | rune(unhex(c))
	}
	return r
}

// unhex returns the value of the hex digit c, or 0xff when c is none.
func unhex(c byte) byte {
	switch lower := c | 0x20; {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= lower && lower <= 'f':
		return lower - 'a' + 10
	}
	return 0xff
}

// plainByte marks the bytes that stand for themselves inside a JSON string
// and need no further look: ASCII, not a control character, quote or
// backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// isSpace reports whether c is JSON white space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// trimSpace returns b without the JSON white space around it.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// syntaxError returns encoding/json's description of what is wrong with
// data, which the scanner refused as JSON.
func syntaxError(data []byte) error {
	if err := json.Unmarshal(data, new(any)); err != nil {
		return err
	}
	// Unreachable while the scanner takes exactly the JSON encoding/json
	// takes, which FuzzDecodeMatchesReference checks.
	return errors.New("the JSON decoder and encoding/json disagree")
}

// scanner reads JSON from data, starting at pos. Its methods return false
// when what they read is not valid JSON; pos is then past the point where it
// stopped making sense, and nothing more is to be read.
type scanner struct {
	data []byte
	pos  int
}

// skipSpace moves past JSON white space.
// colon reads the colon after a member's name, and the space around it.
func (s *scanner) colon() bool {
	s.skipSpace()
	if s.next() != ':' {
		return false
	}
	s.pos++
	s.skipSpace()
	return true
}

func (s *scanner) skipSpace() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return // the usual case, in compact JSON
	}
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
}

// next returns the byte at pos, or 0 at the end of data.
func (s *scanner) next() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// object reads an object, at nesting depth depth, into f: the values of the
// event fields, the others skipped. f must be empty.
func (s *scanner) object(f *fields, depth int) bool {
	s.pos++ // '{'
	s.skipSpace()
	if s.next() == '}' {
		s.pos++
		return true
	}
	for {
		i, ok := s.key()
		if !ok || !s.colon() {
			return false
		}
		switch {
		case i < 0:
			ok = s.value(depth + 1)
		case s.next() == '"':
			v, start := &f[i], s.pos
			v.escaped, v.high, ok = s.string()
			v.text = s.data[start:s.pos]
		default:
			v, start := &f[i], s.pos
			v.escaped, v.high = false, false
			if c := s.next(); c == '-' || isDigit(c) {
				ok = s.number()
			} else {
				ok = s.value(depth + 1)
			}
			v.text = s.data[start:s.pos]
		}
		if !ok {
			return false
		}
		s.skipSpace()
		switch s.next() {
		case ',':
			s.pos++
			s.skipSpace()
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// key reads an object key and returns the position in a fields array of the
// event field it names, or -1.
func (s *scanner) key() (int, bool) {
	if s.next() != '"' {
		return 0, false
	}
	if i, n := knownKey(s.data[s.pos+1:]); n > 0 {
		s.pos += 1 + n
		return i, true
	}
	start := s.pos + 1
	escaped, _, ok := s.string()
	if !ok {
		return 0, false
	}
	name := s.data[start : s.pos-1]
	if escaped {
		// Decoded as encoding/json decodes map keys; no field name is
		// longer than 15 bytes.
		var buf [16]byte
		name, _ = appendUnquoted(buf[:0], name)
	}
	return fieldIndex(name), true
}

// knownKey is the fast path of key: when rest, what follows the opening
// quote of a key, starts with the name of an event field as it is mostly
// written, with no escapes, and the closing quote, it returns the field and
// the length of the name with its quote; else 0 for that length.
func knownKey(rest []byte) (int, int) {
	if len(rest) < len(event.FieldTimestamp)+1 { // too close to the end to bother
		return 0, 0
	}
	switch rest[0] {
	case 'c':
		if string(rest[:10]) == event.FieldClientID+`"` {
			return fClientID, 10
		}
	case 'e':
		switch rest[6] {
		case 'i':
			if string(rest[:9]) == event.FieldEventID+`"` {
				return fEventID, 9
			}
		case 't':
			if string(rest[:16]) == event.FieldTimestamp+`"` {
				return fTimestamp, 16
			}
			if string(rest[:11]) == event.FieldType+`"` {
				return fType, 11
			}
		case 'k':
			if string(rest[:10]) == event.FieldKey+`"` {
				return fKey, 10
			}
		case 'v':
			if string(rest[:12]) == event.FieldValue+`"` {
				return fValue, 12
			}
		}
	}
	return 0, 0
}

// string reads a string and reports whether it holds escapes, and bytes
// from 0x7f up.
func (s *scanner) string() (escaped, high, ok bool) {
	data := s.data
	i := s.pos + 1 // '"'
	for {
		if i+8 <= len(data) {
			// Move past plain bytes eight at a time. special has the top
			// bit set of each byte below 0x20 or from 0xa0 up (those of
			// y = x - 0x20), from 0x7f to 0x9f (y + 0x21), and of each
			// quote and backslash (the bytes of quote or backslash that
			// are 0). A borrow or a carry may mark a byte wrongly, but
			// only one past a byte marked rightly.
			const ones, tops = 0x0101010101010101, 0x8080808080808080
			x := binary.LittleEndian.Uint64(data[i:])
			y := x - ones*0x20
			quote, backslash := x^(ones*'"'), x^(ones*'\\')
			special := (y | (y + ones*0x21) | (quote-ones)&^quote | (backslash-ones)&^backslash) & tops
			if special == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(special) / 8
		} else {
			for i < len(data) && plainByte[data[i]] {
				i++
			}
			if i >= len(data) {
				return false, false, false
			}
		}
		switch c := data[i]; {
		case c == '"':
			s.pos = i + 1
			return escaped, high, true
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return false, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || unhex(data[i+2])|unhex(data[i+3])|unhex(data[i+4])|unhex(data[i+5]) > 15 {
					return false, false, false
				}
				i += 6
			default:
				return false, false, false
			}
		case c < 0x20: // control characters must be escaped
			return false, false, false
		default:
			high = true
			i++
		}
	}
}

// value reads a value of any kind, at nesting depth depth when it is an
// array or an object.
func (s *scanner) value(depth int) bool {
	if c := s.next(); c == '{' || c == '[' {
		return s.nested(depth)
	}
	return s.scalar()
}

// scalar reads a string, a number or a literal.
func (s *scanner) scalar() bool {
	switch s.next() {
	case '"':
		_, _, ok := s.string()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// literal reads the literal lit.
func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	data, i := s.data, s.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = skipDigits(data, i+1)
	default:
		return false
	}
	if i < len(data) && data[i] == '.' {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return false
		}
		i = j
	}
	s.pos = i
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipDigits returns the position of the first byte of data from i on that
// is not a decimal digit.
func skipDigits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

// nested reads an array or an object of any content, the outermost at
// nesting depth depth. It does not recurse, so that no body can grow the
// stack: a bit per level tells an object from an array, and no level past
// maxDepth is opened. The labels are the states of the reading.
func (s *scanner) nested(depth int) bool {
	var objects levels
	level := -1
	var isObject bool
	var c byte
open: // s.data[s.pos] opens a level
	level++
	if depth+level > maxDepth {
		return false
	}
	isObject = s.data[s.pos] == '{'
	objects.set(level, isObject)
	s.pos++
	s.skipSpace()
	if c = s.next(); c == '}' && isObject || c == ']' && !isObject {
		s.pos++
		goto closed
	}
member: // at the start of a member of the level
	if isObject {
		if s.next() != '"' {
			return false
		}
		if _, _, ok := s.string(); !ok || !s.colon() {
			return false
		}
	}
	if c = s.next(); c == '{' || c == '[' {
		goto open
	}
	if !s.scalar() {
		return false
	}
afterMember: // past a member of the level
	s.skipSpace()
	c = s.next()
	s.pos++
	switch {
	case c == ',':
		s.skipSpace()
		goto member
	case c == '}' && isObject, c == ']' && !isObject:
		goto closed
	}
	return false
closed: // past the end of the level
	level--
	if level < 0 {
		return true
	}
	isObject = objects.get(level)
	goto afterMember
}

// levels holds a bit for each level of nesting, from 0 up: the first 64 in
// a word, the others in words allocated only for bodies nested that deep.
type levels struct {
	low  uint64
	high []uint64
}

// set sets the bit of level n to bit; the levels below n must have theirs.
func (l *levels) set(n int, bit bool) {
	word, mask := &l.low, uint64(1)<<(n%64)
	if n >= 64 {
		if i := n/64 - 1; i == len(l.high) {
			l.high = append(l.high, 0)
		}
		word = &l.high[n/64-1]
	}
	if bit {
		*word |= mask
	} else {
		*word &^= mask
	}
}

// get returns the bit of level n.
func (l *levels) get(n int) bool {
	word := l.low
	if n >= 64 {
		word = l.high[n/64-1]
	}
	return word&(1<<(n%64)) != 0
}
