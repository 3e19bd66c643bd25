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

// parseDecimal reads s, which must follow the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func parseDecimal(s string) (decimal, error) {
	var d decimal
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// intDigits returns how many digits d has before its decimal point.
func (d decimal) intDigits() int {
	if d.digits == "" {
		return 0
	}
	return max(len(d.digits)+d.exp, 0)
}

// parseValue reads an event value from the text of a JSON number.
func parseValue(s string) (float64, string) {
	if _, err := parseDecimal(s); err != nil {
		return 0, "must be a number"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, "must be a finite number"
	}
	return f, ""
}

// ParseValue reads an event value written as a JSON number ("3", "-0.5",
// "1e3"): the same rule the server applies to event_value.
func ParseValue(s string) (float64, error) {
	v, msg := parseValue(s)
	if msg != "" {
		return 0, invalidField(FieldValue, msg)
	}
	return v, nil
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
