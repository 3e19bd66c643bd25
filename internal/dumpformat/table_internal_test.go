package dumpformat

import "testing"

// TestTableNumber: the table rounds values to six significant digits,
// keeps whole numbers whole, and never widens a column with the last
// digits of a float.
func TestTableNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{-0.9984950306638146, "-0.998495"},
		{47.4, "47.4"},
		{51.06666666666667, "51.0667"},
		{123456.789, "123457"},
		{1514214, "1514214"},
		{8589934592, "8589934592"},
		{3880169544.25, "3880169544"},
		{0.000012345678, "1.23457e-05"},
		{0, "0"},
		{1e300, "1e+300"},
	}
	for _, tt := range tests {
		if got := number(tt.in); got != tt.want {
			t.Errorf("number(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
