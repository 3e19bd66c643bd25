package event

import (
	"math"
	"strconv"
	"time"
)

// Timestamp is a moment in nanoseconds since the Unix epoch. It is kept to
// the nanosecond and written as Unix seconds with a fraction only when there
// is one.
type Timestamp int64

// Magnitude thresholds that tell the unit of a numeric timestamp. A value
// below SecondsBelow is in seconds (up to the year 5138), below MillisBelow in
// milliseconds, below MicrosBelow in microseconds, and in nanoseconds from
// there on. Any unit may carry a fraction; digits finer than a nanosecond are
// dropped.
const (
	SecondsBelow = 1e11
	MillisBelow  = 1e14
	MicrosBelow  = 1e17
)

// FromTime returns the timestamp of t.
func FromTime(t time.Time) Timestamp { return Timestamp(t.UnixNano()) }

// Time returns ts as a time.Time in UTC.
func (ts Timestamp) Time() time.Time { return time.Unix(0, int64(ts)).UTC() }

// ParseTimestamp reads a Unix timestamp written as a JSON number, in
// seconds, milliseconds, microseconds or nanoseconds told apart by magnitude
// (see SecondsBelow). It must not be negative and must fall before the year
// 2262, the end of what nanoseconds in 64 bits can hold.
func ParseTimestamp(s string) (Timestamp, error) {
	ts, msg := parseTimestamp(s)
	if msg != "" {
		return 0, invalidField(FieldTimestamp, msg)
	}
	return ts, nil
}

func parseTimestamp(s string) (Timestamp, string) {
	d, err := parseDecimal(s)
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

// AppendJSON appends ts as Unix seconds: a JSON number with a fraction only
// when there is one, written exactly (1763850001123000000 becomes
// 1763850001.123).
func (ts Timestamp) AppendJSON(b []byte) []byte {
	ns := int64(ts)
	if ns < 0 {
		b = append(b, '-')
		ns = -ns // never MinInt64: Validate keeps timestamps non-negative
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := ns % 1e9
	if frac == 0 {
		return b
	}
	var buf [9]byte
	for i := 8; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 9
	for buf[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, buf[:n]...)
}

// String returns ts as Unix seconds, as AppendJSON writes it.
func (ts Timestamp) String() string { return string(ts.AppendJSON(nil)) }

// MarshalJSON writes ts as Unix seconds.
func (ts Timestamp) MarshalJSON() ([]byte, error) { return ts.AppendJSON(nil), nil }
