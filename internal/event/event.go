// Package event holds montool's event model: what an event is, the rules
// every event follows, how its numbers and timestamps are read and
// written, and the JSON form it is written in. The server, the store and
// every client command share it, so an event means the same thing
// everywhere. Reading events from request bodies, under these rules, is
// package ingestjson's; writing dumps in their formats, dumpformat's.
package event

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on the strings an event carries, in bytes.
const (
	MaxIDLen  = 128
	MaxKeyLen = 256
)

// The field names of an event in its JSON form.
const (
	FieldClientID  = "client_id"
	FieldEventID   = "event_id"
	FieldTimestamp = "event_timestamp"
	FieldType      = "event_type"
	FieldKey       = "event_key"
	FieldValue     = "event_value"
)

// Type is the kind of an event: how the store treats its value.
type Type uint8

const (
	// Cumulative events are summed per key: a counter.
	Cumulative Type = iota + 1
	// TimeSeries events are each kept: samples.
	TimeSeries
)

// String returns the canonical upper-case name of t.
func (t Type) String() string {
	switch t {
	case Cumulative:
		return "CUMULATIVE"
	case TimeSeries:
		return "TIME-SERIES"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType reads a type name in any letter case (ASCII letters only).
func ParseType(s string) (Type, error) {
	switch {
	case equalFoldASCII(s, "CUMULATIVE"):
		return Cumulative, nil
	case equalFoldASCII(s, "TIME-SERIES"):
		return TimeSeries, nil
	}
	return 0, fmt.Errorf("must be CUMULATIVE or TIME-SERIES, not %q", s)
}

// equalFoldASCII reports whether s equals upper, an upper-case ASCII
// string, but for the case of ASCII letters.
func equalFoldASCII(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// MarshalText writes the canonical name of t.
func (t Type) MarshalText() ([]byte, error) {
	if t != Cumulative && t != TimeSeries {
		return nil, fmt.Errorf("event type %d is not CUMULATIVE or TIME-SERIES", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads a type name in any letter case.
func (t *Type) UnmarshalText(b []byte) error {
	v, err := ParseType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Event is one monitoring event sent by an agent.
type Event struct {
	ClientID  string
	ID        string
	Timestamp Timestamp
	Type      Type
	Key       string
	Value     float64
}

// Validate reports the first rule e breaks, as an *Error of kind ErrInvalid
// naming the field, or nil when e is a valid event. It does not change e:
// use NormalizeID on ids built by hand.
func (e *Event) Validate() error {
	if err := CheckID(FieldClientID, e.ClientID); err != nil {
		return err
	}
	if err := CheckID(FieldEventID, e.ID); err != nil {
		return err
	}
	if e.Timestamp < 0 {
		return invalidField(FieldTimestamp, "must not be negative")
	}
	if e.Type != Cumulative && e.Type != TimeSeries {
		return invalidField(FieldType, "must be CUMULATIVE or TIME-SERIES")
	}
	if err := CheckText(FieldKey, e.Key, false); err != nil {
		return err
	}
	if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
		return invalidField(FieldValue, "must be a finite number")
	}
	return nil
}

// NormalizeID returns the canonical form of a client or event id: a UUID in
// its 36-character text form, in any letter case, becomes lower case; any
// other string is returned as it is.
func NormalizeID(s string) string {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return s
	}
	// The other bytes must be hex digits: read them eight at a time, in
	// words that overlap at the end, the dashes counted as digits.
	const dashes1, dashes2 = 0x80<<(0*8) | 0x80<<(5*8), 0x80<<(2*8) | 0x80<<(7*8)
	hex0, upper0 := hexDigits(load64(s[0:]))
	hex1, upper1 := hexDigits(load64(s[8:]))
	hex2, upper2 := hexDigits(load64(s[16:]))
	hex3, upper3 := hexDigits(load64(s[24:]))
	hex4, upper4 := hexDigits(load64(s[28:]))
	switch {
	case hex0&(hex1|dashes1)&(hex2|dashes2)&hex3&hex4 != 0x8080808080808080:
		return s
	case upper0|upper1|upper2|upper3|upper4 == 0:
		return s // already canonical: no copy
	}
	return strings.ToLower(s)
}

// load64 returns the first eight bytes of s as a little-endian word.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hexDigits returns, for each byte of the word x, the top bit set in hex
// when it is a hex digit, and in upper when it is an upper-case one.
func hexDigits(x uint64) (hex, upper uint64) {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	if x&tops != 0 {
		return 0, 0 // not ASCII; below, sums cannot carry from byte to byte
	}
	// The top bit of x + ones*(0x80-c) is set in each byte from c up.
	upper = (x + ones*(0x80-'A')) &^ (x + ones*(0x80-'G'))
	hex = (x+ones*(0x80-'0'))&^(x+ones*(0x80-'9'-1)) | upper | (x+ones*(0x80-'a'))&^(x+ones*(0x80-'g'))
	return hex & tops, upper & tops
}

// CheckID returns an *Error of kind ErrInvalid for field, FieldClientID or
// FieldEventID, if s is not a client or event id the server takes, else
// nil.
func CheckID(field, s string) error { return CheckText(field, s, false) }

// CheckText returns an *Error of kind ErrInvalid for field if s is not a
// string the server takes as that field, else nil: an event key for
// FieldKey, a client or event id for FieldClientID and FieldEventID. It is
// the one list of the rules for the strings whose identity matters.
// printable says that s is known to hold only printable ASCII, bytes 0x20
// to 0x7e, as a decoder knows of a string it has just read: s is then UTF-8
// and free of control characters without a look.
func CheckText(field, s string, printable bool) error {
	maxLen := MaxIDLen
	if field == FieldKey {
		maxLen = MaxKeyLen
	}
	var msg string
	switch {
	case s == "":
		msg = "must not be empty"
	case len(s) > maxLen:
		msg = "must be at most " + strconv.Itoa(maxLen) + " bytes"
	case printable:
		return nil
	case !utf8.ValidString(s):
		msg = "must be valid UTF-8"
	case hasControl(s):
		msg = "must not contain control characters"
	default:
		return nil
	}
	return invalidField(field, msg)
}

// hasControl reports whether s, which must be valid UTF-8, holds a control
// character (unicode.IsControl): U+0000 to U+001F, or U+007F to U+009F.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		// U+0080 to U+009F are 0xc2 followed by 0x80 to 0x9f.
		if c := s[i]; c < 0x20 || c == 0x7f || c == 0xc2 && i+1 < len(s) && s[i+1] < 0xa0 {
			return true
		}
	}
	return false
}

// The kinds of domain error. Match them with errors.Is.
var (
	// ErrInvalid: an event or a request body breaks a rule.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: an event contradicts what the client sent before.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no such client.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: a request holds more than the server takes.
	ErrTooLarge = errors.New("too large")
	// ErrLimit: the event would take the store past a limit on its clients
	// or keys.
	ErrLimit = errors.New("limit exceeded")
	// ErrStorageFull: the store holds as much as it may.
	ErrStorageFull = errors.New("storage full")
	// ErrTooOld: the event is older than the server keeps events.
	ErrTooOld = errors.New("too old")
	// ErrForbidden: the caller may not do this, or not for this client.
	ErrForbidden = errors.New("forbidden")
)

// Error is a domain error: its kind (one of the Err sentinels), the event
// field at fault if there is one, and a message for people.
type Error struct {
	Kind    error
	Field   string
	Message string
}

// Error returns the message, prefixed by the field when there is one.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the kind, so that errors.Is(err, ErrInvalid) works.
func (e *Error) Unwrap() error { return e.Kind }

func invalidField(field, msg string) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Message: msg}
}

// codes are the API's names for the kinds of error, as the JSON error
// objects of the HTTP API carry them.
var codes = []struct {
	kind error
	code string
}{
	{ErrInvalid, "invalid"},
	{ErrConflict, "conflict"},
	{ErrNotFound, "not_found"},
	{ErrTooLarge, "too_large"},
	{ErrLimit, "limit_exceeded"},
	{ErrStorageFull, "insufficient_storage"},
	{ErrTooOld, "too_old"},
	{ErrForbidden, "forbidden"},
}

// Code returns the API's name for the kind of err: "invalid", "conflict",
// "not_found", "too_large", "limit_exceeded", "insufficient_storage",
// "too_old" or "forbidden"; "internal" for any other error.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.kind) {
			return c.code
		}
	}
	return "internal"
}

// KindOf returns the kind named by an API error code, or nil for a code
// that names none.
func KindOf(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.kind
		}
	}
	return nil
}
