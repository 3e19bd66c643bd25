package event_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/montool/montool/internal/event"
)

// repeatValue returns n copies of v.
func repeatValue(v float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

// addAll returns a Sum built with Add over values, and fails the test if
// Add refuses one.
func addAll(t *testing.T, values []float64) *event.Sum {
	t.Helper()
	s := new(event.Sum)
	for i, v := range values {
		if !s.Add(v) {
			t.Fatalf("Add(%v) #%d: got false, want true", v, i)
		}
	}
	return s
}

// encodeSum returns the binary form of s.
func encodeSum(t *testing.T, s *event.Sum) []byte {
	t.Helper()
	b, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatalf("AppendBinary: unexpected error %v", err)
	}
	return b
}

// errPanicked stands for a panic of UnmarshalBinary.
var errPanicked = errors.New("panicked")

// unmarshalSum decodes data into into (a new Sum when nil), reporting a
// panic as a test error. data is clipped, so that a read past its end
// panics rather than reading what lies after it.
func unmarshalSum(t *testing.T, into *event.Sum, data []byte) (s *event.Sum, err error) {
	t.Helper()
	if into == nil {
		into = new(event.Sum)
	}
	data = data[:len(data):len(data)]
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("UnmarshalBinary(%x) panicked: %v", data, r)
			s, err = nil, errPanicked
		}
	}()
	return into, into.UnmarshalBinary(data)
}

// sameFloat reports whether a and b are the same float64, telling -0 from
// 0 apart and counting NaN equal to itself.
func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// checkSameSum checks that got and want hold the same total, and still do
// after each of more is added to both, with Add reporting the same.
func checkSameSum(t *testing.T, got, want *event.Sum, more []float64) {
	t.Helper()
	if g, w := got.Float64(), want.Float64(); !sameFloat(g, w) {
		t.Errorf("Float64(): got %v, want %v", g, w)
	}
	for _, v := range more {
		okGot, okWant := got.Add(v), want.Add(v)
		if okGot != okWant {
			t.Errorf("Add(%v): got %v, want %v (total now %v, want %v)", v, okGot, okWant, got.Float64(), want.Float64())
			return // the two differ from here on
		}
		if g, w := got.Float64(), want.Float64(); !sameFloat(g, w) {
			t.Errorf("Float64() after Add(%v): got %v, want %v", v, g, w)
			return
		}
	}
}

// sumCases are sums of every shape, with values that, added afterwards,
// bring out what the exact state holds.
func sumCases() []struct {
	name   string
	values []float64
	more   []float64
} {
	return []struct {
		name   string
		values []float64
		more   []float64
	}{
		{"zero", nil, []float64{0.1, 1, -1e300, 1e300}},
		{"wholes", []float64{1, 2, 3, -7, 1 << 52}, []float64{1, 0.5, -(1 << 52)}},
		{"one tenth", []float64{0.1}, []float64{0.2, -0.3}},
		{"fractions", repeatValue(0.1, 1000), []float64{0.1, -100, 1e-20}},
		{"huge", []float64{1e300, 3e300}, []float64{-4e300, 1e-300}},
		{"tiny", []float64{1e-300, 2e-300, 5e-324}, []float64{1, -1, 1e-300}},
		{"huge and tiny", []float64{1e300, 1e-300}, []float64{-1e300, 2}},
		{"wholes past the int64 range", repeatValue(1<<53, 1100), []float64{1, -1100 * (1 << 53), 0.5}},
		{"negative wholes past the int64 range", repeatValue(-(1 << 53), 1100), []float64{-1, 1100 * (1 << 53)}},
		{"negative total", []float64{-5, -0.25, -1e10}, []float64{0.25, 1e10, 5}},
		{"negative fractions", repeatValue(-0.7, 30), []float64{21, 0.01}},
		{"whole and fraction", []float64{7, 0.3}, []float64{-7, -0.3}},
		{"near the edge of float64", []float64{1e308, 7e307}, []float64{1e308, -1.7e308, 1}},
		{"largest float", []float64{math.MaxFloat64}, []float64{math.MaxFloat64, -math.MaxFloat64}},
	}
}

// TestSumBinaryRoundTrip checks that UnmarshalBinary gives back exactly
// the Sum that AppendBinary wrote: the same total, the same totals after
// further additions, and the same binary form.
func TestSumBinaryRoundTrip(t *testing.T) {
	for _, tc := range sumCases() {
		t.Run(tc.name, func(t *testing.T) {
			targets := []struct {
				name string
				into func() *event.Sum
			}{
				{"into a zero Sum", func() *event.Sum { return new(event.Sum) }},
				{"into a Sum holding something", func() *event.Sum { return addAll(t, []float64{12345.678, 1 << 53, 1 << 53}) }},
			}
			for _, target := range targets {
				t.Run(target.name, func(t *testing.T) {
					orig := addAll(t, tc.values)
					enc := encodeSum(t, orig)
					got, err := unmarshalSum(t, target.into(), enc)
					if err != nil {
						t.Fatalf("UnmarshalBinary(%x): unexpected error %v", enc, err)
					}
					if again := encodeSum(t, got); string(again) != string(enc) {
						t.Errorf("AppendBinary of the decoded Sum: got %x, want %x", again, enc)
					}
					checkSameSum(t, got, orig, tc.more)
				})
			}
		})
	}
}

// TestSumAppendBinaryAppends checks that AppendBinary keeps what the
// buffer held.
func TestSumAppendBinaryAppends(t *testing.T) {
	s := addAll(t, []float64{0.1, 0.2})
	alone := encodeSum(t, s)
	got, err := s.AppendBinary([]byte("head"))
	if err != nil {
		t.Fatalf("AppendBinary: unexpected error %v", err)
	}
	if want := "head" + string(alone); string(got) != want {
		t.Errorf("AppendBinary(\"head\"): got %x, want %x", got, want)
	}
}

// checkPrefixesRejected checks that UnmarshalBinary refuses every strict
// prefix of enc.
func checkPrefixesRejected(t *testing.T, enc []byte) {
	t.Helper()
	for n := range len(enc) {
		if _, err := unmarshalSum(t, nil, enc[:n]); err == nil {
			t.Errorf("UnmarshalBinary of the first %d of %d bytes of %x: got no error, want one", n, len(enc), enc)
		}
	}
}

// TestSumUnmarshalBinaryRejectsPrefixes cuts the binary form of each sum
// short at every length.
func TestSumUnmarshalBinaryRejectsPrefixes(t *testing.T) {
	for _, tc := range sumCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkPrefixesRejected(t, encodeSum(t, addAll(t, tc.values)))
		})
	}
	t.Run("a magnitude of more than 127 bytes", func(t *testing.T) {
		// 1e300 + 1e-300 has a coefficient of 601 digits: its length
		// takes two bytes.
		checkPrefixesRejected(t, encodeSum(t, addAll(t, []float64{1e300, 1e-300})))
	})
}

// sumForm builds a binary form of a Sum field by field, in the layout
// AppendBinary writes: whole and exponent (varints), the float64
// approximation (8 bytes, little endian), the coefficient's sign plus one
// (a byte), and the length and bytes of its magnitude (big endian).
type sumForm struct {
	whole, exp int64
	approx     float64
	sign       byte
	size       uint64
	mag        []byte
	extra      []byte
}

func (f sumForm) bytes() []byte {
	b := binary.AppendVarint(nil, f.whole)
	b = binary.AppendVarint(b, f.exp)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.approx))
	b = append(b, f.sign)
	b = binary.AppendUvarint(b, f.size)
	b = append(b, f.mag...)
	return append(b, f.extra...)
}

// TestSumUnmarshalBinaryRejectsCorrupt checks corrupted binary forms are
// refused with an error and no panic. The forms are variations of one
// valid form, 2 + 3×10^-1, which is checked first.
func TestSumUnmarshalBinaryRejectsCorrupt(t *testing.T) {
	valid := sumForm{whole: 2, exp: -1, approx: 2.3, sign: 2, size: 1, mag: []byte{3}}
	s, err := unmarshalSum(t, nil, valid.bytes())
	if err != nil {
		t.Fatalf("UnmarshalBinary of the valid form %x: unexpected error %v", valid.bytes(), err)
	}
	if got := s.Float64(); got != 2.3 {
		t.Fatalf("UnmarshalBinary of the valid form: Float64() = %v, want 2.3", got)
	}
	zero := sumForm{sign: 1}
	if s, err := unmarshalSum(t, nil, zero.bytes()); err != nil || s.Float64() != 0 {
		t.Fatalf("UnmarshalBinary of the zero form %x: got %v, %v; want 0, no error", zero.bytes(), s, err)
	}

	overlong := make([]byte, 0, 12)
	for range 11 {
		overlong = append(overlong, 0x80)
	}
	overlong = append(overlong, 0)

	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"sign byte 3", func() sumForm { f := valid; f.sign = 3; return f }().bytes()},
		{"sign byte 255", func() sumForm { f := valid; f.sign = 255; return f }().bytes()},
		{"zero sign with a magnitude", func() sumForm { f := valid; f.sign = 1; return f }().bytes()},
		{"positive sign without a magnitude", func() sumForm { f := zero; f.sign = 2; return f }().bytes()},
		{"negative sign without a magnitude", func() sumForm { f := zero; f.sign = 0; return f }().bytes()},
		{"length one more than the magnitude", func() sumForm { f := valid; f.size = 2; return f }().bytes()},
		{"length one less than the magnitude", func() sumForm { f := valid; f.size = 0; return f }().bytes()},
		{"huge length", func() sumForm { f := valid; f.size = math.MaxUint64; return f }().bytes()},
		{"a byte after the magnitude", func() sumForm { f := valid; f.extra = []byte{0}; return f }().bytes()},
		{"a byte after a zero", func() sumForm { f := zero; f.extra = []byte{7}; return f }().bytes()},
		{"exponent past int32", func() sumForm { f := valid; f.exp = math.MaxInt32 + 1; return f }().bytes()},
		{"exponent below int32", func() sumForm { f := valid; f.exp = math.MinInt32 - 1; return f }().bytes()},
		{"overlong whole varint", append(overlong, valid.bytes()[1:]...)},
		{"only the whole and exponent", valid.bytes()[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := unmarshalSum(t, nil, tc.data); err == nil {
				t.Errorf("UnmarshalBinary(%x): got no error, want one", tc.data)
			}
		})
	}
}

// randomValue returns a random finite value: small and large wholes,
// cents, normal spreads, and values from 2^-600 to 2^600, of either sign.
func randomValue(rng *rand.Rand) float64 {
	var v float64
	switch rng.IntN(6) {
	case 0:
		v = float64(rng.IntN(1000))
	case 1:
		v = float64(rng.Int64N(1<<53 + 1))
	case 2:
		v = 1 << 53
	case 3:
		v = float64(rng.IntN(100000)) / 100
	case 4:
		v = rng.NormFloat64() * 1e6
	default:
		v = math.Ldexp(rng.Float64(), rng.IntN(1200)-600)
	}
	if rng.IntN(3) == 0 {
		v = -v
	}
	return v
}

// randomValues returns up to max random values.
func randomValues(rng *rand.Rand, max int) []float64 {
	values := make([]float64, rng.IntN(max+1))
	for i := range values {
		values[i] = randomValue(rng)
	}
	return values
}

// TestSumBinaryRandom round-trips random sums, and cuts their binary
// forms short at every length.
func TestSumBinaryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20251122, 7))
	for i := range 200 {
		values := randomValues(rng, 60)
		more := randomValues(rng, 5)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			orig := addAll(t, values)
			enc := encodeSum(t, orig)
			got, err := unmarshalSum(t, nil, enc)
			if err != nil {
				t.Fatalf("UnmarshalBinary(%x) of the sum of %v: unexpected error %v", enc, values, err)
			}
			checkSameSum(t, got, orig, more)
			checkPrefixesRejected(t, enc)
		})
	}
}

// checkAddSum splits values at k into two Sums built with Add, and checks
// that AddSum-ing them gives the Sum of all the values, leaves the Sum
// added unchanged, and stays equal to it after more is added.
func checkAddSum(t *testing.T, values []float64, k int, more []float64) {
	t.Helper()
	whole := addAll(t, values)
	first, second := addAll(t, values[:k]), addAll(t, values[k:])
	secondBefore := encodeSum(t, second)
	first.AddSum(second)
	if got := encodeSum(t, second); string(got) != string(secondBefore) {
		t.Errorf("AddSum changed the Sum added: got %x, want %x", got, secondBefore)
	}
	checkSameSum(t, first, whole, more)
}

// TestSumAddSum checks that AddSum of the Sums of two parts of a sequence
// is the Sum of the whole sequence.
func TestSumAddSum(t *testing.T) {
	const big53 = 1 << 53
	tests := []struct {
		name   string
		values []float64
		split  int
		more   []float64
	}{
		{"nothing", nil, 0, []float64{1, 0.1}},
		{"to a zero Sum", []float64{1, 0.1, 1e-300}, 0, []float64{-1}},
		{"a zero Sum", []float64{1, 0.1, 1e-300}, 3, []float64{-1}},
		{"wholes", []float64{1, 2, 3, 4}, 2, []float64{-10}},
		{"tenths", repeatValue(0.1, 20), 7, []float64{-2}},
		{"whole and fraction", []float64{3, 0.25, 0.5, 4}, 2, []float64{-7.75}},
		{"fraction and whole", []float64{0.25, 3, 4, 0.5}, 2, []float64{-7.75}},
		{"huge and tiny", []float64{1e300, 1e-300, -1e300, 3e-300}, 2, []float64{1}},
		{"exponents far apart", []float64{1e-300, 1e-300, 1e300, 1e300}, 2, []float64{-2e300}},
		// 1,000 × 2^53 fits in an int64, 2,000 × 2^53 does not.
		{"wholes past the int64 range together", repeatValue(big53, 2000), 1000, []float64{1, -2000 * big53}},
		{"negative wholes past the int64 range together", repeatValue(-big53, 2000), 1000, []float64{-1, 2000 * big53}},
		{"wholes past the int64 range with fractions", append(append(repeatValue(big53, 1000), 0.1, 0.7), repeatValue(big53, 1000)...), 1001, []float64{-2000 * big53, -0.8}},
		{"each half past the int64 range", repeatValue(big53, 2200), 1100, []float64{-2200 * big53, 0.5}},
		{"halves of opposite signs", append(repeatValue(big53, 1000), repeatValue(-big53, 1001)...), 1000, []float64{big53}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkAddSum(t, tc.values, tc.split, tc.more)
		})
	}
}

// TestSumAddSumRandom splits random sequences at random points.
func TestSumAddSumRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 4242))
	for i := range 300 {
		values := randomValues(rng, 80)
		if i%10 == 0 { // halves whose whole parts overflow an int64 together
			values = append(values, repeatValue(1<<53, 1500+rng.IntN(1000))...)
			rng.Shuffle(len(values), func(a, b int) { values[a], values[b] = values[b], values[a] })
		}
		k := rng.IntN(len(values) + 1)
		more := randomValues(rng, 5)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkAddSum(t, values, k, more)
		})
	}
}

// TestSumInclude checks that Include adds exactly past the float64 range,
// where Add refuses, and that the total comes back when the values are
// taken away again.
func TestSumInclude(t *testing.T) {
	tests := []struct {
		name  string
		start []float64
		up    float64 // included three times, then its opposite three times
	}{
		{"from zero", nil, 1e308},
		{"from zero down", nil, -1e308},
		{"from a whole", []float64{5}, 1e308},
		{"from a fraction", []float64{0.1, 0.2}, 1e308},
		{"from a tiny value", []float64{1e-300}, 1e308},
		{"from a negative total", []float64{-2.5}, -1e308},
		{"from wholes past the int64 range", repeatValue(1<<53, 1100), 1e308},
		{"by the largest float", []float64{1}, math.MaxFloat64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := addAll(t, tc.start).Float64()

			// Add refuses the second step: the total would pass the range.
			added := addAll(t, tc.start)
			if !added.Add(tc.up) {
				t.Fatalf("Add(%v) once: got false, want true", tc.up)
			}
			atOne := added.Float64()
			if added.Add(tc.up) {
				t.Errorf("Add(%v) twice: got true, want false (total %v)", tc.up, added.Float64())
			}
			if got := added.Float64(); got != atOne {
				t.Errorf("Float64() after a refused Add: got %v, want %v", got, atOne)
			}

			s := addAll(t, tc.start)
			for range 3 {
				s.Include(tc.up)
			}
			if got, inf := s.Float64(), math.Inf(int(math.Copysign(1, tc.up))); got != inf {
				t.Errorf("Float64() past the range: got %v, want %v", got, inf)
			}
			for range 3 {
				s.Include(-tc.up)
			}
			if got := s.Float64(); !sameFloat(got, want) {
				t.Errorf("Float64() back from past the range: got %v, want %v", got, want)
			}
			// Back in range, Add behaves as on a Sum that never left it.
			checkSameSum(t, s, addAll(t, tc.start), []float64{tc.up, tc.up, -tc.up, 0.1})
		})
	}
}

// TestSumAddSumOfIncludedParts adds up two parts of a total, each made
// with Include and each past the float64 range, whose whole is in range:
// the Sum must then behave as one built with Add over the same values.
func TestSumAddSumOfIncludedParts(t *testing.T) {
	tests := []struct {
		name          string
		first, second []float64
	}{
		{"opposite parts", []float64{1e308, 1e308}, []float64{-1e308, -1e308}},
		{"opposite parts with a rest", []float64{1e308, 1e308, 3}, []float64{-1e308, -1e308, 0.5}},
		{"one part past the range", []float64{1e308, 1e308}, []float64{-1e308}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, second := new(event.Sum), new(event.Sum)
			want := new(big.Float).SetPrec(2000)
			for _, v := range tc.first {
				first.Include(v)
				want.Add(want, big.NewFloat(v))
			}
			for _, v := range tc.second {
				second.Include(v)
				want.Add(want, big.NewFloat(v))
			}
			first.AddSum(second)
			wantF, _ := want.Float64()
			if got := first.Float64(); got != wantF {
				t.Fatalf("Float64() of the parts added up: got %v, want %v", got, wantF)
			}
			// A Sum built with Add, holding the same total.
			ref := addAll(t, []float64{wantF})
			checkSameSum(t, first, ref, []float64{1e308, 1e308, -1e308, -1e308, -1e308, 1})
		})
	}
}
