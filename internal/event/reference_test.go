package event

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file keeps the request-body decoder as it was before the scanner of
// json.go replaced it: encoding/json reads each event object into a map of
// raw values, and each field is then read with encoding/json. Numbers are
// read from their documented rules alone, not from the scanner's code:
// json.Valid tells a JSON number, math/big gives its exact value, and the
// event value, the timestamp and the sum of values follow from that. It is
// the oracle FuzzDecodeMatchesReference and FuzzNumbersMatchReference hold
// the scanner to, and the baseline of the benchmarks. Keep it as it is: it
// is the specification by example, changed only where the rules change
// (lone surrogate escapes and control characters in ids are refused, and so
// is a byte order mark before a body or an NDJSON line) or where it fell
// short of them (it read numbers as the scanner does, and took values from
// strconv.ParseFloat, which misreads some of over 800 characters), and then
// in its own way, not the scanner's.

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
		if !referenceIsNumber(s) {
			return "", "must be a number or a numeric string, not " + strconv.Quote(s)
		}
		return s, ""
	case referenceIsNumber(string(raw)):
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

// The numbers below are read from the documented rules alone: the JSON
// number grammar as encoding/json knows it, the value of a number as
// math/big reads it exactly, and the rules for event values and
// timestamps.

// referenceIsNumber reports whether s is one JSON number and nothing more.
// A JSON number starts with a minus sign or a digit and ends with a digit;
// json.Valid holds it to the grammar and refuses anything after it.
func referenceIsNumber(s string) bool {
	return s != "" && strings.IndexByte("-0123456789", s[0]) >= 0 &&
		strings.IndexByte("0123456789", s[len(s)-1]) >= 0 && json.Valid([]byte(s))
}

// referenceOrderBound is a decimal order of magnitude past every range of
// montool: float64 keeps no number of magnitude 1e400 or more apart from
// ±Inf, nor any nonzero one below 1e-400 apart from ±0, and a timestamp
// ends long before either.
const referenceOrderBound = 400

// referenceNumber is the exact value of a JSON number.
type referenceNumber struct {
	neg bool // the text has a minus sign: -0 is a negative zero to float64
	// beyond is +1 when the magnitude is at least 1e400, -1 when it is
	// nonzero and below 1e-400 (x is nil in both cases), else 0.
	beyond int
	x      *big.Rat
}

// referenceParseNumber reads s, a JSON number (referenceIsNumber), exactly.
// Its exponent may have any number of digits, and its digits may be
// millions long: big.Rat.SetString refuses exponents past a million, so
// the number is taken apart at its exponent and its point, and the
// magnitude bounded from the bit length of its digits before any power of
// ten is made. Zeros at either end of the digits are dropped first, or
// those millions would be multiplied out.
func referenceParseNumber(s string) referenceNumber {
	n := referenceNumber{neg: s[0] == '-'}
	mant, exp, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(s, "-")), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	var e big.Int
	if exp != "" {
		e.SetString(exp, 10) // with its sign
	}
	digits := strings.TrimLeft(whole+frac, "0")
	trimmed := strings.TrimRight(digits, "0")
	e.Add(&e, big.NewInt(int64(len(digits)-len(trimmed)-len(frac))))
	if trimmed == "" {
		n.x = new(big.Rat)
		return n
	}
	var coef big.Int
	coef.SetString(trimmed, 10)
	if n.neg {
		coef.Neg(&coef)
	}
	// |coef| is in [2^(bits-1), 2^bits): its decimal order is within
	// (bits-1)·log10(2) and bits·log10(2).
	bits := big.NewInt(int64(coef.BitLen()))
	lo := new(big.Int).Add(&e, new(big.Int).Div(new(big.Int).Mul(new(big.Int).Sub(bits, big.NewInt(1)), big.NewInt(30102)), big.NewInt(100000)))
	hi := new(big.Int).Add(&e, new(big.Int).Div(new(big.Int).Mul(bits, big.NewInt(30103)), big.NewInt(100000)))
	switch {
	case lo.Cmp(big.NewInt(referenceOrderBound)) > 0:
		n.beyond = 1
		return n
	case hi.Cmp(big.NewInt(-referenceOrderBound-1)) < 0:
		n.beyond = -1
		return n
	}
	pow := new(big.Int).Exp(big.NewInt(10), new(big.Int).Abs(&e), nil)
	if e.Sign() >= 0 {
		n.x = new(big.Rat).SetInt(coef.Mul(&coef, pow))
	} else {
		n.x = new(big.Rat).SetFrac(&coef, pow)
	}
	return n
}

// float64 returns n rounded to the nearest float64, and whether that is
// finite.
func (n referenceNumber) float64() (float64, bool) {
	var f float64
	switch n.beyond {
	case 1:
		return 0, false
	case 0:
		f, _ = n.x.Float64() // ±Inf when it rounds past the largest float64
	}
	if f == 0 && n.neg {
		f = math.Copysign(0, -1)
	}
	return f, !math.IsInf(f, 0)
}

// referenceParseValue reads an event value from the text of a JSON number:
// "a finite number", the number rounded to the nearest float64.
func referenceParseValue(s string) (float64, string) {
	if !referenceIsNumber(s) {
		return 0, "must be a number"
	}
	f, ok := referenceParseNumber(s).float64()
	if !ok {
		return 0, "must be a finite number"
	}
	return f, ""
}

// The unit thresholds of a timestamp and the nanoseconds in each unit.
var referenceUnits = []struct {
	below *big.Rat
	ns    int64
}{
	{big.NewRat(SecondsBelow, 1), 1e9},
	{big.NewRat(MillisBelow, 1), 1e6},
	{big.NewRat(MicrosBelow, 1), 1e3},
}

// referenceParseTimestamp reads a timestamp from the text of a JSON number:
// not negative, in the unit its magnitude tells, to the nanosecond with
// finer digits dropped, and before the year 2262 (at most math.MaxInt64
// nanoseconds).
func referenceParseTimestamp(s string) (Timestamp, string) {
	const outOfRange = "is out of range (must be before the year 2262)"
	if !referenceIsNumber(s) {
		return 0, "must be a Unix timestamp (a number)"
	}
	n := referenceParseNumber(s)
	switch {
	case n.x != nil && n.x.Sign() == 0:
		return 0, "" // -0 too: it is not below zero
	case n.neg:
		return 0, "must not be negative"
	case n.beyond > 0:
		return 0, outOfRange
	case n.beyond < 0:
		return 0, "" // far below a nanosecond
	}
	ns := new(big.Rat).Set(n.x)
	scale := int64(1)
	for _, u := range referenceUnits {
		if n.x.Cmp(u.below) < 0 {
			scale = u.ns
			break
		}
	}
	ns.Mul(ns, new(big.Rat).SetInt64(scale))
	whole := new(big.Int).Quo(ns.Num(), ns.Denom()) // drops the fraction of a nanosecond
	if !whole.IsInt64() {
		return 0, outOfRange
	}
	return Timestamp(whole.Int64()), ""
}

// referenceSum adds values the way Sum's documentation says: each at its
// shortest decimal form, exactly, an addition that would take the total
// past the float64 range being refused. It returns what each addition
// reported and the total rounded to the nearest float64.
func referenceSum(values []float64) ([]bool, float64) {
	total := new(big.Rat)
	added := make([]bool, len(values))
	for i, v := range values {
		shortest, ok := new(big.Rat).SetString(strconv.FormatFloat(v, 'g', -1, 64))
		if !ok {
			panic("no decimal form for " + strconv.FormatFloat(v, 'g', -1, 64))
		}
		next := new(big.Rat).Add(total, shortest)
		if f, _ := next.Float64(); !math.IsInf(f, 0) {
			total, added[i] = next, true
		}
	}
	f, _ := total.Float64()
	return added, f
}
