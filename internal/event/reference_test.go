package event

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// This file keeps the rules of event strings and numbers as they are
// documented, apart from the code that applies them: the ids and keys as
// they were checked with package unicode, and the numbers read from their
// documented rules alone: json.Valid tells a JSON number, math/big gives
// its exact value, and the event value, the timestamp and the sum of
// values follow from that. It is the oracle FuzzNumbersMatchReference and
// the tests beside it hold the readers to. Keep it as it is: it is the
// specification by example, changed only where the rules change (control
// characters in ids are refused) or where it fell short of them (it read
// numbers as the readers do, and took values from strconv.ParseFloat,
// which misreads some of over 800 characters), and then in its own way,
// not the readers'.

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

// referenceCheckID is CheckID: the rules of referenceCheckKey, with ids'
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

// referenceCheckKey is CheckText of a key as it was.
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
