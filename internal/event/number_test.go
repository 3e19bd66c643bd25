package event_test

import (
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
)

func TestParseValueAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want float64
	}{
		{"zero", "0", 0},
		{"integer", "3", 3},
		{"negative fraction", "-0.5", -0.5},
		{"tenth", "0.1", 0.1},
		{"exponent", "1e3", 1000},
		{"upper-case exponent", "1E3", 1000},
		{"exponent with plus", "1e+3", 1000},
		{"negative exponent", "1e-3", 0.001},
		{"fraction and exponent", "-2.5e-2", -0.025},
		{"large integer", "9007199254740993", 9007199254740992},
		{"many digits", "123456789012345678901234567890", 1.2345678901234568e29},
		{"largest float", "1.7976931348623157e308", math.MaxFloat64},
		{"smallest subnormal", "5e-324", math.SmallestNonzeroFloat64},
		{"underflow rounds to zero", "1e-400", 0},
		{"over 800 whole digits and an exponent", "1" + strings.Repeat("0", 900) + "e-900", 1},
		{"over 800 whole digits, a fraction and an exponent", "1" + strings.Repeat("0", 900) + ".5e-900", 1},
		{"over 800 whole digits and an exponent, rounded", "1" + strings.Repeat("0", 899) + "1e-900", 1},
		{"over 800 digits with leading fraction zeros", "0." + strings.Repeat("0", 900) + "25e900", 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.ParseValue(tc.in)
			if err != nil {
				t.Fatalf("ParseValue(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseValue(%q): got %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseValueNegativeZero(t *testing.T) {
	got, err := event.ParseValue("-0")
	if err != nil {
		t.Fatalf("ParseValue(-0): %v", err)
	}
	if got != 0 || !math.Signbit(got) {
		t.Errorf("ParseValue(-0): got %v (sign bit %v), want -0", got, math.Signbit(got))
	}
}

func TestParseValueRejects(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		message string // a part of the message, when the spec names it
	}{
		{"past float range", "1e400", "must be a finite number"},
		{"negative past float range", "-1e400", "must be a finite number"},
		{"just past largest float", "1.8e308", "must be a finite number"},
		{"Inf", "Inf", ""},
		{"Infinity", "Infinity", ""},
		{"NaN", "NaN", ""},
		{"hex", "0x10", ""},
		{"empty", "", ""},
		{"leading space", " 1", ""},
		{"trailing space", "1 ", ""},
		{"plus sign", "+1", ""},
		{"trailing dot", "1.", ""},
		{"leading dot", ".5", ""},
		{"leading zero", "01", ""},
		{"exponent without digits", "1e", ""},
		{"minus alone", "-", ""},
		{"comma decimal", "1,5", ""},
		{"word", "true", ""},
		{"quoted", `"1"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.ParseValue(tc.in)
			if err == nil {
				t.Fatalf("ParseValue(%q): got %v and no error, want an error", tc.in, got)
			}
			checkFieldErr(t, err, event.FieldValue)
			if tc.message != "" && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("ParseValue(%q) error: got %q, want it to contain %q", tc.in, err, tc.message)
			}
		})
	}
}

// floatCases returns many finite float64 values: edge cases, values around
// the limits where encoding/json switches to exponent form, and random ones.
func floatCases() []float64 {
	vals := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 0.2, 0.3, 1.5, -2.25, 100, 1e6, 123456789,
		1e20, 1e21, 1e22, 9.999999999999999e20, 1e-6, 1e-7, 9.999999999999999e-7,
		1.000000000000001e-6, 1e-5, 1e-10, 1e-100, 1e100, 1e300, 1e-300,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		2.2250738585072014e-308, 9007199254740992, 9007199254740993, 1 << 62, -(1 << 62),
		0.30000000000000004, 1.7976931348623157e308, 5e-324, 12345.6789, -0.000001, -1e21,
		1763850001.123, 1763850001.123456789,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for len(vals) < 20000 {
		// Random bit patterns cover every exponent.
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			vals = append(vals, f)
		}
		// Short decimals of every magnitude near the switch points.
		exp := rng.IntN(60) - 30
		vals = append(vals, float64(rng.IntN(100000))*math.Pow(10, float64(exp)))
		vals = append(vals, -float64(rng.Int64N(1<<53)))
	}
	return vals
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range floatCases() {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", f, err)
		}
		if got := event.AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%b): got %s, want %s", f, got, want)
		}
	}
}

func TestAppendFloatAppends(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		f      float64
		want   string
	}{
		{"after text", `"v":`, 1.5, `"v":1.5`},
		{"small exponent", `[`, 1e-7, `[1e-7`},
		{"large exponent", `x`, 1e21, `x1e+21`},
		{"negative zero", ``, math.Copysign(0, -1), `-0`},
		{"integer", `a=`, 100, `a=100`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(event.AppendFloat([]byte(tc.prefix), tc.f)); got != tc.want {
				t.Errorf("AppendFloat(%q, %v): got %s, want %s", tc.prefix, tc.f, got, tc.want)
			}
		})
	}
}

func repeat(v float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

func TestSum(t *testing.T) {
	tests := []struct {
		name string
		adds []float64
		want float64
	}{
		{"nothing added", nil, 0},
		{"one value", []float64{2.5}, 2.5},
		{"ten tenths", repeat(0.1, 10), 1},
		{"ten thousand tenths", repeat(0.1, 10000), 1000},
		{"thousand cents", repeat(0.01, 1000), 10},
		{"point one plus point two", []float64{0.1, 0.2}, 0.3},
		{"point one plus point seven", []float64{0.1, 0.7}, 0.8},
		{"negative tenths", repeat(-0.1, 3), -0.3},
		{"cancel to zero", []float64{0.1, -0.1}, 0},
		{"large cancels small survives", []float64{1e20, 1, -1e20}, 1},
		{"small survives huge", []float64{1e300, 1e-300, -1e300}, 1e-300},
		{"two to the 53 plus ones", []float64{9007199254740992, 1, 1}, 9007199254740994},
		{"large integers rounded once", []float64{9007199254740991, 9007199254740991, 9007199254740991}, 27021597764222972},
		{"mixed signs", []float64{1.5, 2.25, -0.75}, 3},
		{"largest floats cancel", []float64{1e308, -1e308, 5}, 5},
		{"subnormals", []float64{5e-324, 5e-324}, 1e-323},
		{"largest float", []float64{math.MaxFloat64}, math.MaxFloat64},
		{"near the edge", []float64{1e308, 7e307}, 1.7e308},
		{"zeros", []float64{0, math.Copysign(0, -1), 0}, 0},
		{"whole and fractions mixed", []float64{3, 0.1, 4, 0.2}, 7.3},
		{"fraction cancels wholes", []float64{2, 0.5, -2.5}, 0},
		{"wholes past the int64 range", repeat(1<<53, 1100), 1100 << 53},
		{"negative wholes past the int64 range", repeat(-(1 << 53), 1100), -1100 << 53},
		{"wholes past the int64 range and back", append(repeat(1<<53, 1100), repeat(-(1<<53), 1099)...), 1 << 53},
		{"whole and a tiny fraction", []float64{1, 1e-300}, 1},
		{"whole and a huge value", []float64{5, 1e300, -1e300}, 5},
		{"whole over 2^53 is taken as a decimal", []float64{1 << 60, 1, -(1 << 60)}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s event.Sum
			for i, v := range tc.adds {
				if !s.Add(v) {
					t.Fatalf("Add(%v) #%d: got false, want true", v, i)
				}
			}
			if got := s.Float64(); got != tc.want {
				t.Errorf("Float64(): got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSumMatchesRationals adds random mixes of whole and fractional values
// and checks each total against the exact sum of the values' shortest
// decimal forms, rounded once.
func TestSumMatchesRationals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []func() float64{
		func() float64 { return float64(rng.IntN(1000)) },
		func() float64 { return -float64(rng.Int64N(1 << 53)) },
		func() float64 { return float64(rng.Int64N(1 << 53)) },
		func() float64 { return float64(rng.IntN(100000)) / 100 },
		func() float64 { return rng.NormFloat64() * 1e6 },
		func() float64 { return math.Ldexp(rng.Float64(), rng.IntN(200)-100) },
	}
	for round := range 200 {
		var s event.Sum
		var exact big.Rat
		for i := range rng.IntN(50) + 1 {
			v := values[rng.IntN(len(values))]()
			if !s.Add(v) {
				t.Fatalf("round %d, Add(%v) #%d: got false, want true", round, v, i)
			}
			var r big.Rat
			r.SetString(strconv.FormatFloat(v, 'g', -1, 64))
			exact.Add(&exact, &r)
			if want, _ := exact.Float64(); s.Float64() != want {
				t.Fatalf("round %d, after Add(%v) #%d: Float64() = %v, want %v", round, v, i, s.Float64(), want)
			}
		}
	}
}

func TestSumOverflow(t *testing.T) {
	type step struct {
		v    float64
		ok   bool    // what Add reports
		want float64 // the total after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"largest twice", []step{
			{math.MaxFloat64, true, math.MaxFloat64},
			{math.MaxFloat64, false, math.MaxFloat64},
		}},
		{"smallest twice", []step{
			{-math.MaxFloat64, true, -math.MaxFloat64},
			{-math.MaxFloat64, false, -math.MaxFloat64},
		}},
		{"largest then 1e300", []step{
			{math.MaxFloat64, true, math.MaxFloat64},
			{1e300, false, math.MaxFloat64},
		}},
		{"two 1e308", []step{
			{1e308, true, 1e308},
			{1e308, false, 1e308},
			{-1e308, true, 0},
		}},
		{"total usable after a refusal", []step{
			{math.MaxFloat64, true, math.MaxFloat64},
			{math.MaxFloat64, false, math.MaxFloat64},
			{-1e308, true, 7.976931348623157e307},
			{1e308, true, math.MaxFloat64},
		}},
		{"largest then its opposite", []step{
			{math.MaxFloat64, true, math.MaxFloat64},
			{math.MaxFloat64, false, math.MaxFloat64},
			{-math.MaxFloat64, true, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s event.Sum
			for i, st := range tc.steps {
				if got := s.Add(st.v); got != st.ok {
					t.Errorf("step %d Add(%v): got %v, want %v", i, st.v, got, st.ok)
				}
				if got := s.Float64(); got != st.want {
					t.Errorf("step %d Float64(): got %v, want %v", i, got, st.want)
				}
			}
		})
	}
}
