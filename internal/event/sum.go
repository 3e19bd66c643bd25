package event

import (
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
	if math.IsInf(approx, 0) || math.Abs(approx) > nearEdge {
		next := Sum{whole: s.whole, exp: s.exp}
		next.coef.Set(&s.coef)
		next.add(v)
		if math.IsInf(next.Float64(), 0) {
			return false
		}
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

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}
