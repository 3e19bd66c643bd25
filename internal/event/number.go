package event

import (
	"errors"
	"math"
	"strconv"
)

// decimal is a number read exactly from its text: digits × 10^exp, with the
// digits stripped of leading zeros ("" for zero).
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// maxExp bounds the exponent read from text; any number beyond it is out of
// every range montool takes, and the bound keeps the arithmetic safe.
const maxExp = 1 << 20

var errSyntax = errors.New("not a number")

// decimalText is the text of a number split into its parts: the digits
// before and after its point, and its exponent.
type decimalText struct {
	neg      bool
	intPart  string // "0", or digits that do not start with 0
	fracPart string
	exp      int // at most about 10 × maxExp in magnitude
}

// readDecimal splits s, which must follow the JSON number grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, into its parts.
func readDecimal(s string) (decimalText, bool) {
	var d decimalText
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
		return d, false
	}
	d.intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fs {
			return d, false
		}
		d.fracPart = s[fs:i]
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if d.exp < maxExp {
				d.exp = d.exp*10 + int(s[i]-'0')
			}
			i++
		}
		if i == es {
			return d, false
		}
		if eneg {
			d.exp = -d.exp
		}
	}
	return d, i == len(s)
}

// digits returns the digits of d without leading or trailing zeros, as the
// range [lo, hi) of the digits of intPart followed by those of fracPart
// (read them with digit), and the exponent of the last one.
func (d *decimalText) digits() (lo, hi, exp int) {
	hi = len(d.intPart) + len(d.fracPart)
	exp = d.exp - len(d.fracPart)
	for lo < hi && d.digit(lo) == '0' {
		lo++
	}
	for hi > lo && d.digit(hi-1) == '0' {
		hi--
		exp++
	}
	return lo, hi, exp
}

// digit returns digit i of intPart followed by fracPart.
func (d *decimalText) digit(i int) byte {
	if i < len(d.intPart) {
		return d.intPart[i]
	}
	return d.fracPart[i-len(d.intPart)]
}

// parseDecimal reads s, which must follow the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func parseDecimal(s string) (decimal, error) {
	t, ok := readDecimal(s)
	if !ok {
		return decimal{}, errSyntax
	}
	lo, hi, exp := t.digits()
	if lo == hi {
		return decimal{neg: t.neg}, nil
	}
	return decimal{neg: t.neg, digits: (t.intPart + t.fracPart)[lo:hi], exp: exp}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// float64pow10 holds the powers of ten ParseValue divides by, all exact.
var float64pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// ParseValue reads an event value written as a JSON number ("3", "-0.5",
// "1e3"): the same rule the server applies to event_value.
func ParseValue(s string) (float64, error) {
	// Fast path: a number without an exponent and of at most 15 digits, as
	// values mostly are. The digits are then a whole number m that float64
	// holds exactly, as it does 10^k for the k decimals: m / 10^k, rounded
	// once, is what ParseFloat returns.
	i := 0
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		i++
	}
	first := i
	var m uint64
	digits, point := 0, -1
	for ; i < len(s); i++ {
		if c := s[i]; isDigit(c) {
			m = m*10 + uint64(c-'0')
			digits++
		} else if c == '.' && point < 0 {
			point = digits
		} else {
			break // an exponent, or no number
		}
	}
	whole := digits // the digits before the point
	if point >= 0 {
		whole = point
	}
	// Not past the fast path's reach: no digit missing before or after the
	// point, and no leading zero, which JSON refuses.
	if i == len(s) && digits <= 15 && whole > 0 && point != digits && (whole == 1 || s[first] != '0') {
		f := float64(m)
		if point >= 0 {
			f /= float64pow10[digits-point]
		}
		if neg {
			f = -f
		}
		return f, nil
	}
	if _, ok := readDecimal(s); !ok {
		return 0, invalidField(FieldValue, "must be a number")
	}
	if len(s) > maxParseFloatText {
		s = shortText(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, invalidField(FieldValue, "must be a finite number")
	}
	return f, nil
}

// maxParseFloatText is the longest number text strconv.ParseFloat is
// trusted with as it is: it keeps 800 digits, and past them it loses count
// of the digits before the point, so that "1" and 900 zeros then "e-900"
// reads as 1e-101.
const maxParseFloatText = 800

// shortText returns s, a number that follows the JSON number grammar, as
// [-]0.digits e exponent: without the zeros at either end of its digits,
// and with none of them before the point, the form ParseFloat reads right
// whatever its length.
func shortText(s string) string {
	d, _ := parseDecimal(s)
	switch {
	case d.digits == "" && d.neg:
		return "-0"
	case d.digits == "":
		return "0"
	}
	b := make([]byte, 0, len(d.digits)+24)
	if d.neg {
		b = append(b, '-')
	}
	b = append(b, "0."...)
	b = append(b, d.digits...)
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(d.exp+len(d.digits)), 10)
	return string(b)
}

// AppendFloat appends f the way encoding/json writes a float64: the
// shortest text that reads back as f, with an exponent only for very small
// or very large magnitudes.
func AppendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 becomes 1e-7.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
