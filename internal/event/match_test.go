package event

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// message returns the message of err, an *Error of kind ErrInvalid naming
// field, or "" for no error: the verdict of a rule as the references give
// it.
func message(t *testing.T, field string, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrInvalid || e.Field != field {
		t.Fatalf("error %v (%T), want an invalid %s", err, err, field)
	}
	return e.Message
}

// FuzzNumbersMatchReference holds the readers of numbers, timestamps and
// values to those they replace.
func FuzzNumbersMatchReference(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "1", "-1", "01", "1.", ".5", "1e", "1e+", "+1", "1.5", "-0.0", "0.000", "1e-7", "1E+21",
		"1763850000", "1763850000.5", "1763850001123", "1763850001123456", "1763850001123456789",
		"9223372036854775807", "9223372036854775808", "99999999999", "10000000000", "9223372036.854775807",
		"9223372036854775807.9", "1.7638500001e9", "0.0000000001", "1e-400", "1e400", "123456789012345678901234567890",
		"4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "999999999999999", "9999999999999999",
		"0.1", "0.3", "123.456", "12345678901234.5", "1234567890123.45", "9007199254740993", "1e22", "1e23",
		"00", "-", "", " 1", "1 ", "0x10", "NaN", "Inf", "1e99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTimestamp(s)
		msg := message(t, FieldTimestamp, err)
		wantTS, wantMsg := referenceParseTimestamp(s)
		if ts != wantTS || msg != wantMsg {
			t.Fatalf("ParseTimestamp(%q): %d %q, want %d %q", s, ts, msg, wantTS, wantMsg)
		}
		v, err := ParseValue(s)
		msg = message(t, FieldValue, err)
		wantV, wantMsg := referenceParseValue(s)
		if math.Float64bits(v) != math.Float64bits(wantV) || msg != wantMsg {
			t.Fatalf("ParseValue(%q): %v %q, want %v %q", s, v, msg, wantV, wantMsg)
		}
		checkDecimalMatches(t, s)
		if wantMsg == "" {
			checkSumMatches(t, []float64{v, 0.1, v, -v, 1e308})
		}
	})
}

// checkDecimalMatches holds parseDecimal to the reference: the same verdict
// on s, and digits × 10^exp, stripped of leading zeros, that are the exact
// value of s with its sign. Past every range montool takes the exponent is
// bounded, and the decimal need only be past it on the same side.
func checkDecimalMatches(t *testing.T, s string) {
	t.Helper()
	d, err := parseDecimal(s)
	if ok := referenceIsNumber(s); (err == nil) != ok {
		t.Fatalf("parseDecimal(%q): error %v, want a number: %t", s, err, ok)
	}
	if err != nil {
		return
	}
	want := referenceParseNumber(s)
	if d.neg != want.neg || strings.TrimLeft(d.digits, "0") != d.digits || strings.Trim(d.digits, "0123456789") != "" {
		t.Fatalf("parseDecimal(%q): %+v, want digits without leading zeros, negative: %t", s, d, want.neg)
	}
	order := len(d.digits) + d.exp // the decimal is below 10^order
	switch {
	case d.digits == "":
		if want.x == nil || want.x.Sign() != 0 {
			t.Fatalf("parseDecimal(%q): zero, want %+v", s, want)
		}
	case want.beyond > 0:
		if order <= referenceOrderBound {
			t.Fatalf("parseDecimal(%q): %+v, want a magnitude of at least 1e%d", s, d, referenceOrderBound)
		}
	case want.beyond < 0:
		if order > -referenceOrderBound {
			t.Fatalf("parseDecimal(%q): %+v, want a magnitude below 1e-%d", s, d, referenceOrderBound)
		}
	default:
		got, ok := new(big.Rat).SetString(d.digits + "e" + strconv.Itoa(d.exp))
		if ok && d.neg {
			got.Neg(got)
		}
		if !ok || got.Cmp(want.x) != 0 {
			t.Fatalf("parseDecimal(%q): %+v, want %s", s, d, want.x.RatString())
		}
	}
}

// checkSumMatches adds values, which must be finite, to a Sum and holds
// what each Add reports and the total to the reference.
func checkSumMatches(t *testing.T, values []float64) {
	t.Helper()
	wantAdded, wantTotal := referenceSum(values)
	var sum Sum
	for i, v := range values {
		if got := sum.Add(v); got != wantAdded[i] {
			t.Fatalf("Sum of %v: Add(%v) = %t, want %t", values[:i+1], v, got, wantAdded[i])
		}
	}
	// The exact total has no sign when it is zero: 0 and -0 are both right.
	if got := sum.Float64(); got != wantTotal {
		t.Fatalf("Sum of %v: %v, want %v", values, got, wantTotal)
	}
}

// TestNumbersMatchReferenceOnLongNumbers holds the readers of numbers to
// the reference on numbers too long for the fuzzer to reach: numbers of
// many digits and an exponent, which a body of up to 8 MiB may hold.
func TestNumbersMatchReferenceOnLongNumbers(t *testing.T) {
	z := strings.Repeat
	for _, s := range []string{
		"1" + z("0", 800) + "e-800",
		"1" + z("0", 799) + "1e-800",
		"1" + z("0", 900) + "1e-901",
		"-" + z("9", 1000) + ".5e-990",
		"1" + z("0", 20000) + "e-19991",
		"1" + z("0", 20000) + "e-20400",
		"0." + z("0", 20000) + "1e20001",
		"0." + z("0", 20000) + "1e20420",
		"0." + z("0", 2_000_000) + "1e2000001",
		"0." + z("0", 2_000_000) + "1e2000010",
		"1" + z("0", 2_000_000) + "e-1999991",
		"1" + z("0", 2_000_000) + "e-2000000",
		"1.00000000000000011102230246251565404236316680908203125" + z("0", 900), // halfway: to even
		"1.00000000000000011102230246251565404236316680908203125" + z("0", 900) + "1",
		"100000000000000011102230246251565404236316680908203125" + z("0", 900) + "1e-953",
		"-0." + z("0", 900),
		"0." + z("0", 900) + "E+5",
		"0e" + z("9", 30),
		"-0." + z("0", 30) + "e-" + z("9", 30),
		"1e" + z("9", 30),
		"1e-" + z("9", 30),
	} {
		ts, err := ParseTimestamp(s)
		msg := message(t, FieldTimestamp, err)
		wantTS, wantMsg := referenceParseTimestamp(s)
		if ts != wantTS || msg != wantMsg {
			t.Errorf("ParseTimestamp(%.40q… of %d bytes): %d %q, want %d %q", s, len(s), ts, msg, wantTS, wantMsg)
		}
		v, err := ParseValue(s)
		msg = message(t, FieldValue, err)
		wantV, wantMsg := referenceParseValue(s)
		if math.Float64bits(v) != math.Float64bits(wantV) || msg != wantMsg {
			t.Errorf("ParseValue(%.40q… of %d bytes): %v %q, want %v %q", s, len(s), v, msg, wantV, wantMsg)
		}
		checkDecimalMatches(t, s)
	}
}

func TestHasControlMatchesUnicode(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := "a" + string(r) + "b"
		if got, want := hasControl(s), unicode.IsControl(r); got != want {
			t.Errorf("hasControl(%q): got %t, want %t", s, got, want)
		}
		if got, want := message(t, FieldKey, CheckText(FieldKey, s, false)), referenceCheckKey(s); got != want {
			t.Errorf("CheckText(FieldKey, %q): got %q, want %q", s, got, want)
		}
		if got, want := message(t, FieldEventID, CheckID(FieldEventID, s)), referenceCheckID(s); got != want {
			t.Errorf("CheckID(%q): got %q, want %q", s, got, want)
		}
	}
}

func TestNormalizeIDMatchesReference(t *testing.T) {
	for _, base := range []string{"6f9619ff-8b86-d011-b42d-00c04fc964ff", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "01234567-89ab-cdef-ABCD-EF0123456789"} {
		for i := 0; i < len(base); i++ {
			for c := 0; c < 256; c++ {
				s := base[:i] + string([]byte{byte(c)}) + base[i+1:]
				if got, want := NormalizeID(s), referenceNormalizeID(s); got != want {
					t.Errorf("NormalizeID(%q): got %q, want %q", s, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "x", strings.Repeat("a", 35), strings.Repeat("a", 37), strings.Repeat("a", 36), strings.Repeat("-", 36)} {
		if got, want := NormalizeID(s), referenceNormalizeID(s); got != want {
			t.Errorf("NormalizeID(%q): got %q, want %q", s, got, want)
		}
	}
}
