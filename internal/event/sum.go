package event

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"strconv"
)

// Sum is an exact running total of event values. Each value is taken at its
// shortest decimal form (0.1 is 0.1, not the binary fraction nearest to it)
// and added exactly, so ten values of 0.1 total exactly 1 and 0.1 + 0.2 is
// 0.3. The zero Sum is zero and ready to use.
type Sum struct {
	// whole is the total of the whole values of magnitude at most 2^53
	// while it fits in an int64: counters are mostly whole, and adding
	// them here costs an addition instead of a decimal conversion.
	whole  int64
	coef   big.Int // the total is whole + coef × 10^exp
	exp    int
	approx float64 // the total in floating point, to tell when it nears the edge of float64
}

// maxExactWhole is the largest magnitude below which every whole number is
// a float64, so that a whole value's shortest decimal form is the number
// itself.
const maxExactWhole = 1 << 53

// nearEdge is a magnitude of approx past which Add checks exactly that the
// total still fits in a float64.
const nearEdge = 1e300

// Add adds v, which must be finite, and reports true; or, when the total
// would no longer fit in a float64, leaves the total as it was and reports
// false.
func (s *Sum) Add(v float64) bool {
	approx := s.approx + v
	if math.Abs(approx) <= nearEdge && math.Abs(v) <= maxExactWhole && v == math.Trunc(v) {
		if w := s.whole + int64(v); (w < s.whole) == (v < 0) { // else it overflowed
			s.whole, s.approx = w, approx
			return true
		}
	}
	if !(math.Abs(approx) <= nearEdge) { // near the edge, past it, or NaN
		next := Sum{whole: s.whole, exp: s.exp}
		next.coef.Set(&s.coef)
		next.add(v)
		f := next.Float64()
		if math.IsInf(f, 0) {
			return false
		}
		approx = f // exact, where the running estimate may have drifted off
	}
	s.add(v)
	s.approx = approx
	return true
}

func (s *Sum) add(v float64) {
	var buf [32]byte
	// Shortest form in scientific notation: [-]d[.ddd]e±dd.
	txt := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	d, err := parseDecimal(string(txt))
	if err != nil || d.digits == "" {
		return // zero, or not a finite number (excluded by Validate)
	}
	m, _ := strconv.ParseInt(d.digits, 10, 64) // at most 17 digits
	if d.neg {
		m = -m
	}
	var add big.Int
	add.SetInt64(m)
	switch {
	case s.coef.Sign() == 0:
		s.exp = d.exp
	case d.exp < s.exp:
		s.coef.Mul(&s.coef, pow10(s.exp-d.exp))
		s.exp = d.exp
	case d.exp > s.exp:
		add.Mul(&add, pow10(d.exp-s.exp))
	}
	s.coef.Add(&s.coef, &add)
}

// Float64 returns the total rounded to the nearest float64.
func (s *Sum) Float64() float64 {
	if s.coef.Sign() == 0 {
		return float64(s.whole) // correctly rounded
	}
	coef, exp := &s.coef, s.exp
	if s.whole != 0 { // whole + coef × 10^exp as one decimal
		var w big.Int
		w.SetInt64(s.whole)
		coef = new(big.Int)
		if exp >= 0 {
			coef.Mul(&s.coef, pow10(exp))
			exp = 0
		} else {
			coef.Set(&s.coef)
			w.Mul(&w, pow10(-exp))
		}
		coef.Add(coef, &w)
	}
	txt := coef.Append(nil, 10)
	txt = append(txt, 'e')
	txt = strconv.AppendInt(txt, int64(exp), 10)
	// ParseFloat rounds correctly; past the float64 range it returns ±Inf.
	f, _ := strconv.ParseFloat(string(txt), 64)
	return f
}

// Include adds v, which must be finite, exactly, whatever the total
// becomes: for a part of a total whose whole stays in range.
func (s *Sum) Include(v float64) {
	if math.Abs(v) <= maxExactWhole && v == math.Trunc(v) {
		if w := s.whole + int64(v); (w < s.whole) == (v < 0) {
			s.whole, s.approx = w, s.approx+v
			return
		}
	}
	s.add(v)
	s.approx += v
}

// AddSum adds the total of o to s, exactly.
func (s *Sum) AddSum(o *Sum) {
	if w := s.whole + o.whole; (w < s.whole) == (o.whole < 0) {
		s.whole = w
	} else { // past the int64 range: o's whole part joins the decimal one
		s.addDecimal(big.NewInt(o.whole), 0)
	}
	s.addDecimal(&o.coef, o.exp)
	if s.approx += o.approx; math.IsNaN(s.approx) { // +Inf and -Inf parts
		s.approx = s.Float64()
	}
}

// addDecimal adds c × 10^e to the decimal part of s.
func (s *Sum) addDecimal(c *big.Int, e int) {
	switch {
	case c.Sign() == 0:
	case s.coef.Sign() == 0:
		s.coef.Set(c)
		s.exp = e
	case e < s.exp:
		s.coef.Mul(&s.coef, pow10(s.exp-e))
		s.exp = e
		s.coef.Add(&s.coef, c)
	default:
		s.coef.Add(&s.coef, new(big.Int).Mul(c, pow10(e-s.exp)))
	}
}

// AppendBinary appends s in a form UnmarshalBinary reads back exactly.
func (s *Sum) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendVarint(b, s.whole)
	b = binary.AppendVarint(b, int64(s.exp))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.approx))
	b = append(b, byte(s.coef.Sign()+1))
	mag := s.coef.Bytes()
	b = binary.AppendUvarint(b, uint64(len(mag)))
	return append(b, mag...), nil
}

// errSumBinary says a Sum's binary form does not decode.
var errSumBinary = errors.New("event: bad binary form of a sum")

// UnmarshalBinary sets s to the Sum that AppendBinary wrote in data.
func (s *Sum) UnmarshalBinary(data []byte) error {
	whole, n := binary.Varint(data)
	if n <= 0 {
		return errSumBinary
	}
	data = data[n:]
	exp, n := binary.Varint(data)
	if n <= 0 || exp < math.MinInt32 || exp > math.MaxInt32 || len(data[n:]) < 9 {
		return errSumBinary
	}
	data = data[n:]
	approx := math.Float64frombits(binary.LittleEndian.Uint64(data))
	sign := int(data[8]) - 1
	data = data[9:]
	size, n := binary.Uvarint(data)
	if n <= 0 || sign < -1 || sign > 1 || uint64(len(data[n:])) != size || (size == 0) != (sign == 0) {
		return errSumBinary
	}
	*s = Sum{whole: whole, exp: int(exp), approx: approx}
	s.coef.SetBytes(data[n:])
	if sign < 0 {
		s.coef.Neg(&s.coef)
	}
	return nil
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}
