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
	const tooLate = "is out of range (must be before the year 2262)"
	if n := len(s); n <= 19 && (n == 1 || n > 1 && s[0] != '0') {
		// Fast path: a whole number of at most 19 digits, as timestamps
		// mostly are, scaled by the unit its number of digits tells.
		var v uint64
		i := 0
		for ; i < n && isDigit(s[i]); i++ {
			v = v*10 + uint64(s[i]-'0')
		}
		if i == n {
			scale, zeros := uint64(1e9), 9
			switch {
			case n > 17:
				scale, zeros = 1, 0
			case n > 14:
				scale, zeros = 1e3, 3
			case n > 11:
				scale, zeros = 1e6, 6
			}
			if n+zeros > 19 || v*scale > math.MaxInt64 {
				return 0, invalidField(FieldTimestamp, tooLate)
			}
			return Timestamp(v * scale), nil
		}
	}
	t, ok := readDecimal(s)
	if !ok {
		return 0, invalidField(FieldTimestamp, "must be a Unix timestamp (a number)")
	}
	lo, hi, exp := t.digits() // the number is digits lo to hi × 10^exp
	if lo == hi {
		return 0, nil
	}
	if t.neg {
		return 0, invalidField(FieldTimestamp, "must not be negative")
	}
	// Scale to nanoseconds by the unit the magnitude tells: n is the number
	// of digits before the point.
	shift := exp
	switch n := max(hi-lo+exp, 0); {
	case n <= 11: // below 1e11: seconds
		shift += 9
	case n <= 14: // milliseconds
		shift += 6
	case n <= 17: // microseconds
		shift += 3
	}
	if shift < 0 {
		if -shift >= hi-lo {
			return 0, nil
		}
		hi += shift // digits finer than a nanosecond are dropped
		shift = 0
	}
	if hi-lo+shift > 19 {
		return 0, invalidField(FieldTimestamp, tooLate)
	}
	var ns uint64
	for i := lo; i < hi; i++ {
		ns = ns*10 + uint64(t.digit(i)-'0')
	}
	for range shift {
		ns *= 10
	}
	if ns > math.MaxInt64 {
		return 0, invalidField(FieldTimestamp, tooLate)
	}
	return Timestamp(ns), nil
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
